//! The HTML page: form, answer sentence or error, world map, the request's trace.
//!
//! The markup lives in `templates/` (`page.html`, which includes the map,
//! `map.svg`) and is compiled into the binary by askama, which escapes every
//! value it writes: text from a user or a service reaches the page as text.
//! Askama rather than maud because its templates stay HTML and SVG, so the
//! page reads (and can be copied) as the markup a browser gets, where maud
//! would rewrite it in a Rust macro syntax. With default features off it
//! needs no configuration file, so no TOML or serde at build time.

use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use api::{Distance, GatewayAnswer, PositionSource};
use askama::Template;
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

/// The request's trace, shown at the foot of the page so the request can be looked up.
#[derive(Debug, Clone, PartialEq)]
pub struct Trace {
    pub id: String,
    /// Grafana's view of the trace, when the frontend knows a Grafana to send people to.
    pub grafana_link: Option<String>,
}

impl Trace {
    pub fn new(id: String, grafana: Option<&Url>) -> Self {
        let grafana_link = grafana.map(|grafana| grafana_trace_link(grafana, &id));
        Self { id, grafana_link }
    }
}

#[derive(Template)]
#[template(path = "page.html")]
struct Page<'a> {
    /// Echoed in the form, so it can be corrected.
    location: &'a str,
    error: Option<&'a str>,
    answer: Option<AnswerView<'a>>,
    trace: Option<&'a Trace>,
}

/// An answer as the page and its map show it.
struct AnswerView<'a> {
    /// Latitude and longitude.
    iss: (f64, f64),
    place: &'a str,
    place_position: (f64, f64),
    /// Map coordinates of the markers.
    iss_xy: (f64, f64),
    place_xy: (f64, f64),
    /// Kilometres with thousands separators.
    distance: String,
    /// Where the position comes from.
    note: String,
    land: &'static str,
    /// Each polyline's `points`: the ground track, cut at the antimeridian, and the shortest path.
    track: Vec<String>,
    path: Vec<String>,
}

impl<'a> AnswerView<'a> {
    fn new(answer: &'a GatewayAnswer) -> Self {
        let (iss, place) = (&answer.distance.location, &answer.place);
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
        Self {
            iss: (iss.latitude, iss.longitude),
            place: &place.name,
            place_position: (place.latitude, place.longitude),
            iss_xy: project(iss.latitude, iss.longitude),
            place_xy: project(place.latitude, place.longitude),
            distance: thousands(answer.distance.distance),
            note: position_note(&answer.distance),
            land: WORLD_LAND_PATH.trim(),
            track: polylines(&track),
            path: polylines(&path),
        }
    }
}

/// The whole page for `location` (echoed in the form), `outcome` and the request's `trace`.
pub fn render(
    location: &str,
    outcome: &Outcome,
    trace: Option<&Trace>,
) -> Result<String, askama::Error> {
    let (error, answer) = match outcome {
        Outcome::Form => (None, None),
        Outcome::Error(message) => (Some(message.as_str()), None),
        Outcome::Answer(answer) => (None, Some(AnswerView::new(answer))),
    };
    Page {
        location,
        error,
        answer,
        trace,
    }
    .render()
}

/// The page as an HTTP response with `status`.
pub fn respond(
    status: StatusCode,
    location: &str,
    outcome: &Outcome,
    trace: Option<&Trace>,
) -> HttpResponse {
    match render(location, outcome, trace) {
        Ok(page) => HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .body(page),
        // Only a failing `Display` of a value on the page gets here.
        Err(error) => {
            log::error!("the page could not be rendered: {error}");
            HttpResponse::InternalServerError().finish()
        }
    }
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

/// Enough points that the great circle looks smooth at the map's scale.
const GREAT_CIRCLE_POINTS: usize = 48;

/// `points` (latitude, longitude) as the `points` of SVG polylines on the map,
/// cut where a step crosses the antimeridian: the line runs to one edge and
/// goes on from the other, at the latitude where it crosses, never across the
/// whole map.
fn polylines(points: &[(f64, f64)]) -> Vec<String> {
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
            coordinates.join(" ")
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
        // To the east edge at the crossing's latitude (1.5), on from the west edge.
        assert_eq!(
            across,
            [
                "350.00,90.00 359.00,89.00 360.00,88.50",
                "0.00,88.50 1.00,88.00 10.00,87.00"
            ]
        );
        let westward = polylines(&[(0.0, -179.0), (2.0, 179.0)]);
        assert_eq!(
            westward,
            ["1.00,90.00 0.00,89.00", "360.00,89.00 359.00,88.00"]
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
    fn a_grafana_sub_path_is_kept() {
        let link = grafana_trace_link(&Url::parse("http://host/grafana").unwrap(), "abc");
        assert!(link.starts_with("http://host/grafana/explore?"), "{link}");
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
