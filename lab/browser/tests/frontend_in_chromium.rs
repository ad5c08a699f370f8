//! The frontend as a person uses it: real headless Chromium (through
//! ChromeDriver) against the four real service binaries on offline defaults
//! (SGP4 ISS position, gazetteer geocoder). Needs `apt-get install -y chromium
//! chromium-driver` and `cargo build --workspace --bins` first.

mod support;

use fantoccini::elements::Element;
use fantoccini::{Client, Locator};
use regex::Regex;
use std::time::Duration;
use support::{artifact_path, Browser, GRAFANA_URL};

/// Longest wait for a result page: one request through three services, debug builds.
const RESULT_DEADLINE: Duration = Duration::from_secs(30);

/// `The ISS is at <lat>, <lon>. It is <km> km from <place>.` with the ISS position captured.
fn answer_sentence(place: &str) -> Regex {
    Regex::new(&format!(
        r"^The ISS is at (-?\d+\.\d+), (-?\d+\.\d+)\. It is ([\d,]+(?:\.\d+)?) km from {}\.$",
        regex::escape(place)
    ))
    .expect("a valid regex")
}

/// Types `location` into the form and submits it with the button.
async fn submit_form(client: &Client, frontend_url: &str, location: &str) {
    client.goto(frontend_url).await.expect("open the frontend");
    let input = client
        .find(Locator::Css("form#location-form input#location"))
        .await
        .expect("the form has the location input");
    assert_eq!(
        input.attr("name").await.unwrap().as_deref(),
        Some("location")
    );
    input.send_keys(location).await.expect("type the location");
    client
        .find(Locator::Css("form#location-form button#submit"))
        .await
        .expect("the form has a submit button")
        .click()
        .await
        .expect("submit the form");
}

/// Waits for the result page and returns its `#answer` or `#error` element.
async fn result(client: &Client) -> Element {
    client
        .wait()
        .at_most(RESULT_DEADLINE)
        .for_element(Locator::Css("#answer, #error"))
        .await
        .expect("the page shows an answer or an error")
}

async fn expect_answer(client: &Client) -> Element {
    let shown = result(client).await;
    let id = shown.attr("id").await.unwrap();
    assert_eq!(
        id.as_deref(),
        Some("answer"),
        "expected an answer, the page says: {}",
        shown.text().await.unwrap()
    );
    shown
}

async fn expect_error(client: &Client) -> Element {
    let shown = result(client).await;
    assert_eq!(
        shown.attr("id").await.unwrap().as_deref(),
        Some("error"),
        "expected an error, the page says: {}",
        shown.text().await.unwrap()
    );
    assert!(
        client
            .find_all(Locator::Css("#answer"))
            .await
            .unwrap()
            .is_empty(),
        "an error page has no answer"
    );
    shown
}

/// The `(cx, cy)` of a map marker.
async fn marker_position(map: &Element, id: &str) -> (f64, f64) {
    let marker = map
        .find(Locator::Css(&format!("circle#{id}")))
        .await
        .unwrap_or_else(|_| panic!("the map has a circle#{id}"));
    let coordinate = |value: Option<String>| -> f64 {
        value
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("#{id} has numeric cx and cy"))
    };
    (
        coordinate(marker.attr("cx").await.unwrap()),
        coordinate(marker.attr("cy").await.unwrap()),
    )
}

/// Great-circle distance in km on a sphere of the mean Earth radius.
fn haversine_km((lat1, lon1): (f64, f64), (lat2, lon2): (f64, f64)) -> f64 {
    let (phi1, phi2) = (lat1.to_radians(), lat2.to_radians());
    let dphi = phi2 - phi1;
    let dlambda = (lon2 - lon1).to_radians();
    let a = (dphi / 2.0).sin().powi(2) + phi1.cos() * phi2.cos() * (dlambda / 2.0).sin().powi(2);
    2.0 * 6371.0088 * a.sqrt().asin()
}

async fn save_screenshot(client: &Client, file: &str) {
    let png = client.screenshot().await.expect("take a screenshot");
    let path = artifact_path(file);
    std::fs::write(&path, png).expect("write the screenshot");
    eprintln!("screenshot: {}", path.display());
}

#[tokio::test]
async fn a_place_typed_into_the_form_gets_the_distance_sentence_and_a_map_with_both_markers() {
    let browser = Browser::start("answer_from_the_form").await;
    let client = browser.client();
    submit_form(client, &browser.frontend_url, "São Paulo").await;

    let sentence = expect_answer(client).await.text().await.unwrap();
    let captures = answer_sentence("São Paulo, Brazil")
        .captures(&sentence)
        .unwrap_or_else(|| panic!("unexpected answer sentence: {sentence:?}"));
    let iss: (f64, f64) = (captures[1].parse().unwrap(), captures[2].parse().unwrap());
    let distance: f64 = captures[3].replace(',', "").parse().unwrap();

    let map = client
        .find(Locator::Css("svg#map"))
        .await
        .expect("the answer page has the map");
    assert_eq!(
        map.attr("viewBox").await.unwrap().as_deref(),
        Some("0 0 360 180")
    );
    // Equirectangular: x = longitude + 180, y = 90 - latitude, as the sentence says.
    let (iss_x, iss_y) = marker_position(&map, "iss-marker").await;
    assert!(
        (iss_x - (iss.1 + 180.0)).abs() < 0.01 && (iss_y - (90.0 - iss.0)).abs() < 0.01,
        "the ISS marker ({iss_x}, {iss_y}) is not at {iss:?}"
    );
    // São Paulo is at about 23.55 S, 46.63 W.
    let (place_x, place_y) = marker_position(&map, "place-marker").await;
    assert!(
        (place_x - 133.37).abs() < 0.5 && (place_y - 113.55).abs() < 0.5,
        "the place marker ({place_x}, {place_y}) is not on São Paulo"
    );
    // The WGS84 geodesic and the spherical distance differ by well under 1%.
    let expected = haversine_km(iss, (-23.55, -46.63));
    assert!(
        (distance - expected).abs() < expected * 0.01 + 50.0,
        "{distance} km from São Paulo does not fit the ISS at {iss:?} (about {expected:.0} km)"
    );

    // GRAFANA_URL is set, so the page links to this request's trace in Grafana's Explore.
    let href = client
        .find(Locator::Css("a#trace-link"))
        .await
        .expect("the answer page links to its trace")
        .attr("href")
        .await
        .unwrap()
        .unwrap_or_default();
    assert!(
        href.starts_with(&format!("{GRAFANA_URL}/explore?")),
        "the trace link does not lead into Grafana: {href}"
    );
    let trace_id = Regex::new(r#""query"\s*:\s*"([0-9a-f]{32})""#).unwrap();
    let panes = reqwest::Url::parse(&href)
        .unwrap()
        .query_pairs()
        .find(|(key, _)| key == "panes")
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default();
    let linked = trace_id
        .captures(&panes)
        .map(|id| id[1].to_owned())
        .filter(|id| *id != "0".repeat(32))
        .unwrap_or_else(|| panic!("the trace link carries no trace id: {href}"));
    // ... and that trace exists: the frontend's server span was exported under that id.
    browser
        .receiver
        .wait_until(RESULT_DEADLINE, "the linked trace's spans", |received| {
            received
                .spans_in_trace(&linked)
                .iter()
                .any(|span| span.service_name() == "frontend")
                .then_some(())
        })
        .await
        .unwrap_or_else(|error| panic!("{error}"));
    assert_map_explains_itself(client).await;
    save_screenshot(client, "frontend-answer.png").await;

    // On a phone-width screen the page still fits: no sideways scrolling, the map scales down.
    client
        .set_window_size(390, 1100)
        .await
        .expect("resize to a phone's width");
    let (page_width, viewport_width, map_width): (f64, f64, f64) = {
        let sizes = client
            .execute(
                "const map = document.querySelector('svg#map').getBoundingClientRect();\
                 return [document.documentElement.scrollWidth, window.innerWidth, map.width];",
                vec![],
            )
            .await
            .expect("measure the page");
        let number = |i: usize| sizes[i].as_f64().unwrap_or(f64::NAN);
        (number(0), number(1), number(2))
    };
    assert!(
        viewport_width <= 400.0,
        "the window is phone-sized: {viewport_width}"
    );
    assert!(
        page_width <= viewport_width && map_width <= viewport_width,
        "at phone width the page ({page_width}) or the map ({map_width}) is wider than the screen ({viewport_width})"
    );
    assert_map_explains_itself(client).await;
    save_screenshot(client, "frontend-answer-phone.png").await;
    browser.close().await;
}

/// The map says what it shows: an accessible title and description, the
/// ground track and the shortest path drawn, and a visible legend naming them.
async fn assert_map_explains_itself(client: &Client) {
    let title = client
        .find(Locator::Css("svg#map > title#map-title"))
        .await
        .expect("the map has a title")
        .html(true)
        .await
        .unwrap();
    assert!(title.contains("ISS"), "{title}");
    let described = client
        .find(Locator::Css("svg#map"))
        .await
        .unwrap()
        .attr("aria-labelledby")
        .await
        .unwrap();
    assert_eq!(described.as_deref(), Some("map-title map-desc"));
    for drawn in ["#ground-track polyline", "#shortest-path polyline"] {
        assert!(
            !client
                .find_all(Locator::Css(drawn))
                .await
                .unwrap()
                .is_empty(),
            "the map draws {drawn}"
        );
    }
    let legend = client
        .find(Locator::Css("ul#map-legend"))
        .await
        .expect("the map has a legend");
    assert!(
        legend.is_displayed().await.unwrap(),
        "the legend is visible"
    );
    let text = legend.text().await.unwrap();
    for entry in [
        "The ISS now",
        "São Paulo",
        "Predicted ground track",
        "Shortest path",
    ] {
        assert!(text.contains(entry), "the legend names {entry}: {text}");
    }
}

#[tokio::test]
async fn an_unknown_place_shows_a_readable_error_and_no_answer() {
    let browser = Browser::start("unknown_place").await;
    let client = browser.client();
    submit_form(client, &browser.frontend_url, "Xyzzyplugh-not-a-place").await;

    let message = expect_error(client).await.text().await.unwrap();
    assert!(
        message.contains("No coordinates found for location")
            && message.contains("Xyzzyplugh-not-a-place"),
        "unexpected error message: {message:?}"
    );
    assert!(
        client
            .find_all(Locator::Css("svg#map"))
            .await
            .unwrap()
            .is_empty(),
        "an error page draws no map"
    );
    // The form keeps what was typed, so it can be corrected.
    let typed = client
        .find(Locator::Css("input#location"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap();
    assert_eq!(typed.as_deref(), Some("Xyzzyplugh-not-a-place"));
    save_screenshot(client, "frontend-error.png").await;
    browser.close().await;
}

#[tokio::test]
async fn markup_typed_into_the_form_is_shown_as_text_and_never_runs() {
    const MARKUP: &str = "<script>window.__pwned=1</script>";
    let browser = Browser::start("markup_in_the_form").await;
    let client = browser.client();
    submit_form(client, &browser.frontend_url, MARKUP).await;

    let message = expect_error(client).await.text().await.unwrap();
    assert!(
        message.contains(MARKUP),
        "the error does not show the input literally: {message:?}"
    );
    let pwned = client
        .execute("return typeof window.__pwned;", vec![])
        .await
        .unwrap();
    assert_eq!(pwned, "undefined", "the injected script ran");
    let injected_scripts = client
        .execute(
            "return Array.from(document.querySelectorAll('script'))
                .filter(s => s.textContent.includes('__pwned')).length;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(injected_scripts, 0, "a <script> element carries the input");
    let echoed = client
        .find(Locator::Css("input#location"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap();
    assert_eq!(
        echoed.as_deref(),
        Some(MARKUP),
        "the form echoes the input as text"
    );
    browser.close().await;
}

#[tokio::test]
async fn a_location_in_the_url_gets_the_answer_without_the_form() {
    let browser = Browser::start("location_in_the_url").await;
    let client = browser.client();
    client
        .goto(&format!("{}?location=London", browser.frontend_url))
        .await
        .expect("open the frontend with a location");

    let sentence = expect_answer(client).await.text().await.unwrap();
    assert!(
        answer_sentence("London, United Kingdom").is_match(&sentence),
        "unexpected answer sentence: {sentence:?}"
    );
    browser.close().await;
}
