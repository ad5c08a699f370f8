//! The HTML page: form, answer sentence or error, world map, trace link.
//! Everything that came from a user or a service is escaped.

use crate::html::escape;
use api::{Distance, GatewayAnswer, PositionSource};
use url::Url;

/// The land masses (Natural Earth 110m, public domain) as one SVG path in an
/// equirectangular projection: x = longitude + 180, y = 90 - latitude.
const WORLD_LAND_PATH: &str = include_str!("../assets/world-land.svgpath");

/// Grafana datasource uid of Tempo, as provisioned in `grafana/provisioning/datasources`.
const TEMPO_DATASOURCE_UID: &str = "tempo";

#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Nothing asked yet: just the form.
    Form,
    Answer(GatewayAnswer),
    Error(String),
}

/// The whole page for `location` (echoed in the form) and `outcome`.
/// `trace` is the request's trace id and its Grafana link.
pub fn render(location: &str, outcome: &Outcome, trace: Option<(&str, &str)>) -> String {
    let body = match outcome {
        Outcome::Form => String::new(),
        Outcome::Answer(answer) => answer_html(answer),
        Outcome::Error(message) => format!(
            "<p id=\"error\" class=\"error\" role=\"alert\">{}</p>",
            escape(message)
        ),
    };
    let trace = trace
        .map(|(id, href)| {
            format!(
                "<p class=\"trace\">Trace <code id=\"trace-id\">{}</code>: <a id=\"trace-link\" href=\"{}\">open in Grafana</a></p>",
                escape(id),
                escape(href)
            )
        })
        .unwrap_or_default();
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Where is the ISS?</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 46rem; margin: 2rem auto; padding: 0 1rem; color: #1b1f24; }}
form {{ display: flex; gap: .5rem; }}
input {{ flex: 1; padding: .5rem; font-size: 1rem; }}
button {{ padding: .5rem 1rem; font-size: 1rem; }}
.answer {{ font-size: 1.25rem; }}
.error {{ color: #a40e26; font-weight: 600; }}
.note, .trace {{ color: #57606a; font-size: .9rem; }}
svg {{ width: 100%; height: auto; border: 1px solid #d0d7de; }}
.legend {{ list-style: none; padding: 0; margin: .5rem 0; display: flex; flex-wrap: wrap; gap: .25rem 1.25rem; font-size: .9rem; }}
.legend svg.key {{ width: 1.5rem; height: .75rem; border: none; vertical-align: middle; }}
</style>
</head>
<body>
<h1>How far is the ISS from you?</h1>
<form id="location-form" method="post" action="/">
<input id="location" name="location" type="text" placeholder="A city, &quot;City, Country&quot; or &quot;lat, lon&quot;" value="{location}" required maxlength="200" autofocus>
<button id="submit" type="submit">Find the ISS</button>
</form>
{body}
{trace}
</body>
</html>
"#,
        location = escape(location),
    )
}

/// Elements older than this make the estimate rough, and the page says so plainly.
const FRESH_ELEMENTS_DAYS: f64 = 7.0;

/// Where the position comes from, and for an SGP4 estimate how old its elements are.
fn position_note(distance: &Distance) -> String {
    let elements = match (distance.source, &distance.elements) {
        (PositionSource::Live, _) => return "Position from the live ISS API.".to_owned(),
        (PositionSource::Sgp4, None) => {
            return "Estimated position: computed by SGP4 from the ISS orbital elements (the live API was not used or not available).".to_owned()
        }
        (PositionSource::Sgp4, Some(elements)) => elements,
    };
    let days = elements.age_days;
    let epoch = elements.epoch.get(..10).unwrap_or(&elements.epoch);
    let age = if days < 1.0 {
        "less than a day old".to_owned()
    } else {
        format!("{days:.0} days old")
    };
    if days > FRESH_ELEMENTS_DAYS {
        format!(
            "Rough estimate: computed by SGP4 from ISS orbital elements that are {age} (epoch {epoch}). SGP4's error grows by kilometres a day and jumps at every reboost, so the ISS may be hundreds or thousands of kilometres from this point."
        )
    } else {
        format!(
            "Estimated position: computed by SGP4 from ISS orbital elements that are {age} (epoch {epoch}); the live API was not used or not available."
        )
    }
}

fn answer_html(answer: &GatewayAnswer) -> String {
    let (iss, place) = (&answer.distance.location, &answer.place);
    let (iss_x, iss_y) = project(iss.latitude, iss.longitude);
    let (place_x, place_y) = project(place.latitude, place.longitude);
    let source = escape(&position_note(&answer.distance));
    let distance = thousands(answer.distance.distance);
    let track: Vec<(f64, f64)> = answer
        .distance
        .ground_track
        .iter()
        .map(|point| (point.latitude, point.longitude))
        .collect();
    let path = great_circle(
        (place.latitude, place.longitude),
        (iss.latitude, iss.longitude),
        GREAT_CIRCLE_POINTS,
    );
    let track_legend = if track.is_empty() {
        String::new()
    } else {
        format!("<li>{TRACK_KEY} Predicted ground track, 45 minutes either side (SGP4)</li>")
    };
    let track_desc = if track.is_empty() {
        ""
    } else {
        " The red line is its predicted ground track from 45 minutes ago to 45 minutes ahead."
    };
    format!(
        r##"<p id="answer" class="answer">The ISS is at {iss_lat:.2}, {iss_lon:.2}. It is {distance} km from {place}.</p>
<p id="position-source" class="note">{source}</p>
<svg id="map" viewBox="0 0 360 180" role="img" aria-labelledby="map-title map-desc">
<title id="map-title">World map of the ISS and {place}</title>
<desc id="map-desc">The ISS, in red, is above {iss_lat:.2}, {iss_lon:.2}; {place}, in blue, is at {place_lat:.2}, {place_lon:.2}.{track_desc} The dashed line is the shortest path over the Earth between them, {distance} km.</desc>
<rect width="360" height="180" fill="#dbeafe"/>
<path d="{land}" fill="#cbd5c0" stroke="#94a38a" stroke-width="0.2"/>
<g id="ground-track" fill="none" stroke="#dc2626" stroke-width="0.8" stroke-opacity="0.75">{track}</g>
<g id="shortest-path" fill="none" stroke="#1b1f24" stroke-width="0.6" stroke-dasharray="2 1.5">{path}</g>
<circle id="place-marker" cx="{place_x:.2}" cy="{place_y:.2}" r="2.5" fill="#2563eb"><title>{place}</title></circle>
<circle id="iss-marker" cx="{iss_x:.2}" cy="{iss_y:.2}" r="3" fill="#dc2626" stroke="#fff" stroke-width="0.8"><title>ISS</title></circle>
</svg>
<ul id="map-legend" class="legend" aria-label="Map legend">
<li>{ISS_KEY} The ISS now</li>
<li>{PLACE_KEY} {place}</li>
{track_legend}
<li>{PATH_KEY} Shortest path over the Earth, {distance} km</li>
</ul>"##,
        iss_lat = iss.latitude,
        iss_lon = iss.longitude,
        place_lat = place.latitude,
        place_lon = place.longitude,
        place = escape(&place.name),
        land = WORLD_LAND_PATH.trim(),
        track = polylines(&track),
        path = polylines(&path),
    )
}

/// Legend keys: the map's own symbols, hidden from screen readers (the text says it).
const ISS_KEY: &str = r##"<svg class="key" viewBox="0 0 16 8" aria-hidden="true"><circle cx="8" cy="4" r="3" fill="#dc2626"/></svg>"##;
const PLACE_KEY: &str = r##"<svg class="key" viewBox="0 0 16 8" aria-hidden="true"><circle cx="8" cy="4" r="2.5" fill="#2563eb"/></svg>"##;
const TRACK_KEY: &str = r##"<svg class="key" viewBox="0 0 16 8" aria-hidden="true"><line x1="1" y1="4" x2="15" y2="4" stroke="#dc2626" stroke-width="1.5"/></svg>"##;
const PATH_KEY: &str = r##"<svg class="key" viewBox="0 0 16 8" aria-hidden="true"><line x1="1" y1="4" x2="15" y2="4" stroke="#1b1f24" stroke-width="1.2" stroke-dasharray="3 2"/></svg>"##;

/// Enough points that the great circle looks smooth at the map's scale.
const GREAT_CIRCLE_POINTS: usize = 48;

/// `points` (latitude, longitude) as SVG polylines on the map, cut where a
/// step crosses the antimeridian: the line runs to one edge and goes on from
/// the other, at the latitude where it crosses, never across the whole map.
fn polylines(points: &[(f64, f64)]) -> String {
    let mut segments: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
    let mut previous: Option<(f64, f64)> = None;
    for &(latitude, longitude) in points {
        if let Some((previous_latitude, previous_longitude)) = previous {
            if (longitude - previous_longitude).abs() > 180.0 {
                // Eastward over 180 (or westward over -180), unwrapped so the step is short.
                let (edge, unwrapped) = if previous_longitude > 0.0 {
                    (180.0, longitude + 360.0)
                } else {
                    (-180.0, longitude - 360.0)
                };
                let t = (edge - previous_longitude) / (unwrapped - previous_longitude);
                let crossing = previous_latitude + t * (latitude - previous_latitude);
                if let Some(segment) = segments.last_mut() {
                    segment.push(project(crossing, edge));
                }
                segments.push(vec![project(crossing, -edge)]);
            }
        }
        if let Some(segment) = segments.last_mut() {
            segment.push(project(latitude, longitude));
        }
        previous = Some((latitude, longitude));
    }
    segments
        .iter()
        .filter(|segment| segment.len() > 1)
        .map(|segment| {
            let coordinates: Vec<String> = segment
                .iter()
                .map(|(x, y)| format!("{x:.2},{y:.2}"))
                .collect();
            format!("<polyline points=\"{}\"/>", coordinates.join(" "))
        })
        .collect()
}

/// `count` points along the great circle from `from` to `to` (degrees), by
/// spherical interpolation: on this projection the shortest path is a curve.
fn great_circle(from: (f64, f64), to: (f64, f64), count: usize) -> Vec<(f64, f64)> {
    let unit = |(latitude, longitude): (f64, f64)| {
        let (lat, lon) = (latitude.to_radians(), longitude.to_radians());
        [lat.cos() * lon.cos(), lat.cos() * lon.sin(), lat.sin()]
    };
    let (a, b) = (unit(from), unit(to));
    let dot = (a[0] * b[0] + a[1] * b[1] + a[2] * b[2]).clamp(-1.0, 1.0);
    let angle = dot.acos();
    // Same point, or antipodes (every great circle is shortest): nothing to draw.
    if angle < 1e-9 || (std::f64::consts::PI - angle) < 1e-9 {
        return Vec::new();
    }
    (0..count)
        .map(|i| {
            let t = i as f64 / (count - 1) as f64;
            let (wa, wb) = (
                ((1.0 - t) * angle).sin() / angle.sin(),
                (t * angle).sin() / angle.sin(),
            );
            let p = [0, 1, 2].map(|k| wa * a[k] + wb * b[k]);
            (
                p[2].atan2(p[0].hypot(p[1])).to_degrees(),
                p[1].atan2(p[0]).to_degrees(),
            )
        })
        .collect()
}

/// Equirectangular projection onto the 360 x 180 map.
fn project(latitude: f64, longitude: f64) -> (f64, f64) {
    (
        longitude.clamp(-180.0, 180.0) + 180.0,
        90.0 - latitude.clamp(-90.0, 90.0),
    )
}

/// `12345.6` -> `12,345.60`.
fn thousands(value: f64) -> String {
    let fixed = format!("{:.2}", value.abs());
    let (whole, fraction) = fixed.split_once('.').unwrap_or((&fixed, "00"));
    let mut grouped = String::new();
    for (i, digit) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    let sign = if value < 0.0 { "-" } else { "" };
    format!("{sign}{grouped}.{fraction}")
}

/// Grafana Explore on Tempo with this trace id.
pub fn grafana_trace_link(grafana: &Url, trace_id: &str) -> String {
    let panes = serde_json::json!({
        "iss": {
            "datasource": TEMPO_DATASOURCE_UID,
            "queries": [{
                "refId": "A",
                "datasource": { "type": "tempo", "uid": TEMPO_DATASOURCE_UID },
                "queryType": "traceql",
                "query": trace_id,
            }],
            "range": { "from": "now-1h", "to": "now" },
        }
    });
    // `join` replaces the last path segment unless the base ends in '/': keep a sub-path like `/grafana`.
    let mut base = grafana.clone();
    if !base.path().ends_with('/') {
        base.set_path(&format!("{}/", base.path()));
    }
    let mut url = base.join("explore").unwrap_or(base);
    url.query_pairs_mut()
        .append_pair("schemaVersion", "1")
        .append_pair("orgId", "1")
        .append_pair("panes", &panes.to_string());
    url.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_estimate_says_how_old_its_elements_are_and_warns_past_a_week() {
        let sgp4 = |age_days: f64| Distance {
            distance: 1.0,
            location: api::IssPosition {
                latitude: 0.0,
                longitude: 0.0,
            },
            source: PositionSource::Sgp4,
            timestamp: 0,
            elements: Some(api::OrbitalElements {
                epoch: "2026-10-09T12:00:00Z".into(),
                age_days,
            }),
            ground_track: Vec::new(),
        };
        let fresh = position_note(&sgp4(2.4));
        assert!(fresh.starts_with("Estimated position"), "{fresh}");
        assert!(fresh.contains("2 days old (epoch 2026-10-09)"), "{fresh}");
        let stale = position_note(&sgp4(54.2));
        assert!(stale.starts_with("Rough estimate"), "{stale}");
        assert!(stale.contains("54 days old"), "{stale}");
        assert!(position_note(&sgp4(0.3)).contains("less than a day old"));
        let live = Distance {
            source: PositionSource::Live,
            elements: None,
            ..sgp4(0.0)
        };
        assert_eq!(position_note(&live), "Position from the live ISS API.");
    }

    #[test]
    fn numbers_get_thousands_separators() {
        assert_eq!(thousands(12345.6), "12,345.60");
        assert_eq!(thousands(999.999), "1,000.00");
        assert_eq!(thousands(0.5), "0.50");
        assert_eq!(thousands(1234567.0), "1,234,567.00");
    }

    #[test]
    fn lines_are_cut_at_the_antimeridian_and_great_circles_end_at_both_points() {
        let across = polylines(&[(0.0, 170.0), (1.0, 179.0), (2.0, -179.0), (3.0, -170.0)]);
        assert_eq!(across.matches("<polyline").count(), 2, "{across}");
        // To the east edge at the crossing's latitude (1.5), on from the west edge.
        assert!(
            across.contains(r#"points="350.00,90.00 359.00,89.00 360.00,88.50""#),
            "{across}"
        );
        assert!(
            across.contains(r#"points="0.00,88.50 1.00,88.00 10.00,87.00""#),
            "{across}"
        );
        let westward = polylines(&[(0.0, -179.0), (2.0, 179.0)]);
        assert!(
            westward.contains(r#"points="1.00,90.00 0.00,89.00""#)
                && westward.contains(r#"points="360.00,89.00 359.00,88.00""#),
            "{westward}"
        );
        let path = great_circle((51.5, -0.12), (40.71, -74.01), 48);
        let (first, last) = (path[0], path[47]);
        assert!((first.0 - 51.5).abs() < 1e-9 && (first.1 + 0.12).abs() < 1e-9);
        assert!((last.0 - 40.71).abs() < 1e-9 && (last.1 + 74.01).abs() < 1e-9);
        // London to New York bends north of both ends on this projection.
        assert!(path[24].0 > 51.5, "{:?}", path[24]);
        assert!(great_circle((10.0, 20.0), (10.0, 20.0), 48).is_empty());
    }

    #[test]
    fn the_map_places_markers_by_longitude_and_latitude() {
        assert_eq!(project(0.0, 0.0), (180.0, 90.0));
        assert_eq!(project(90.0, -180.0), (0.0, 0.0));
        assert_eq!(project(-90.0, 180.0), (360.0, 180.0));
    }

    #[test]
    fn user_text_is_escaped_in_the_form_and_in_errors() {
        let page = render(
            "<b>x</b>",
            &Outcome::Error("No coordinates found for location '<b>x</b>'".into()),
            None,
        );
        assert!(!page.contains("<b>x</b>"));
        assert_eq!(page.matches("&lt;b&gt;x&lt;/b&gt;").count(), 2);
    }

    #[test]
    fn the_trace_id_is_shown_with_its_link_and_a_grafana_sub_path_is_kept() {
        let link = grafana_trace_link(&Url::parse("http://host/grafana").unwrap(), "abc");
        assert!(link.starts_with("http://host/grafana/explore?"), "{link}");
        let page = render(
            "x",
            &Outcome::Form,
            Some((
                "4bf92f3577b34da6a3ce929d0e0e4736",
                "http://g/explore?a=1&b=2",
            )),
        );
        assert!(page.contains(r#"<code id="trace-id">4bf92f3577b34da6a3ce929d0e0e4736</code>"#));
        assert!(page.contains(r#"href="http://g/explore?a=1&amp;b=2""#));
    }

    #[test]
    fn the_trace_link_opens_tempo_with_the_trace_id() {
        let link = grafana_trace_link(
            &Url::parse("http://127.0.0.1:3000/").unwrap(),
            "4bf92f3577b34da6a3ce929d0e0e4736",
        );
        assert!(
            link.starts_with("http://127.0.0.1:3000/explore?schemaVersion=1&orgId=1&panes="),
            "{link}"
        );
        let panes = Url::parse(&link)
            .unwrap()
            .query_pairs()
            .find(|(k, _)| k == "panes")
            .unwrap()
            .1
            .into_owned();
        let panes: serde_json::Value = serde_json::from_str(&panes).unwrap();
        assert_eq!(
            panes["iss"]["queries"][0]["query"],
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
    }
}
