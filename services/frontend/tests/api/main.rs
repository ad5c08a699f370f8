//! Black-box tests of the frontend: the real app on port 0, the gateway replaced by wiremock.
//! (The page in a real browser is tested in `lab/browser`.)

use frontend::{startup, Config};
use html::{attribute, elements, text};
use serde_json::{json, Value};
use service_kit::EnvReader;
use std::time::Duration;
use url::Url;
use wiremock::matchers::{header, method, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

mod html;
mod page;
mod properties;

/// The frontend's own defaults, on an OS-chosen port, calling `gateway`.
fn test_config(gateway: &Url) -> Config {
    Config::from_env(&EnvReader::from_pairs([
        ("PORT", "0"),
        ("GATEWAY_URL", gateway.as_str()),
        ("GATEWAY_TIMEOUT_MS", "2000"),
    ]))
    .expect("valid test configuration")
}

struct TestApp {
    address: String,
    gateway: MockServer,
}

async fn spawn_app() -> TestApp {
    let gateway = MockServer::start().await;
    let address = start(test_config(&Url::parse(&gateway.uri()).unwrap()));
    TestApp { address, gateway }
}

/// Starts the app with the telemetry its configuration asks for; returns its base URL.
fn start(config: frontend::Config) -> String {
    let telemetry =
        telemetry::init(frontend::SERVICE, &config.telemetry).expect("telemetry starts");
    let app = startup::build(config, &telemetry).expect("app builds");
    let address = format!("http://127.0.0.1:{}/", app.port());
    tokio::spawn(async move {
        let _telemetry = telemetry;
        app.run_until_stopped().await
    });
    address
}

async fn page(response: reqwest::Response) -> (u16, String) {
    let status = response.status().as_u16();
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(content_type, "text/html; charset=utf-8");
    (status, response.text().await.unwrap())
}

async fn get(url: &str) -> (u16, String) {
    page(reqwest::get(url).await.unwrap()).await
}

async fn post_form(app: &TestApp, body: String) -> (u16, String) {
    let response = reqwest::Client::new()
        .post(&app.address)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

fn answer(place_name: &str) -> Value {
    json!({
        "distance": 7301.254, "location": { "latitude": 12.3456, "longitude": -45.6789 }, "source": "sgp4",
        "timestamp": 1_700_000_000,
        "elements": { "epoch": "2023-10-30T06:00:00Z", "age_days": 15.3 },
        "ground_track": [
            { "latitude": 10.0, "longitude": 170.0 }, { "latitude": 11.0, "longitude": 179.0 },
            { "latitude": 12.0, "longitude": -179.0 }, { "latitude": 12.3456, "longitude": -45.6789 }
        ],
        "place": { "latitude": 48.85, "longitude": 2.35, "name": place_name, "source": "gazetteer" }
    })
}

async fn gateway_answers(app: &TestApp, response: ResponseTemplate) {
    Mock::given(method("GET"))
        .respond_with(response)
        .mount(&app.gateway)
        .await;
}

#[tokio::test]
async fn the_home_page_is_the_form() {
    let app = spawn_app().await;
    let (status, html) = get(&app.address).await;
    assert_eq!(status, 200);
    assert!(html.contains(r#"<form id="location-form" method="post" action="/">"#));
    assert!(html.contains(r#"name="location""#));
    assert!(text(&html, "answer").is_none() && text(&html, "error").is_none());
}

#[tokio::test]
async fn a_place_gets_the_answer_sentence_and_the_map() {
    let app = spawn_app().await;
    Mock::given(method("GET"))
        .and(query_param("location", "Paris"))
        // The map draws the track, which the gateway sends only when asked.
        .and(query_param("ground_track", "true"))
        // Asked on the visitor's behalf: the gateway may record who asked (TRUSTED_PROXIES).
        .and(header("x-forwarded-for", "127.0.0.1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(answer("Paris, France")))
        .expect(2)
        .mount(&app.gateway)
        .await;
    for (status, html) in [
        get(&format!("{}?location=Paris", app.address)).await,
        post_form(&app, "location=Paris".into()).await,
    ] {
        assert_eq!(status, 200, "{html}");
        assert!(
            html.contains("The ISS is at 12.35, -45.68. It is 7,301.25 km from Paris, France."),
            "{html}"
        );
        assert!(html.contains(r#"<svg id="map" viewBox="0 0 360 180""#));
        assert!(
            html.contains(r#"<circle id="iss-marker" cx="134.32" cy="77.65""#),
            "ISS at lon+180, 90-lat"
        );
        assert!(html.contains(r#"<circle id="place-marker" cx="182.35" cy="41.15""#));
        assert!(
            html.contains("SGP4"),
            "the page says where the position came from"
        );
        // A map that explains itself: a title and description for screen readers,
        // the track (cut at the antimeridian), the shortest path and a legend.
        assert!(
            html.contains(r#"aria-labelledby="map-title map-desc""#),
            "{html}"
        );
        assert!(html
            .contains(r#"<title id="map-title">World map of the ISS and Paris, France</title>"#));
        assert!(html.contains(
            "The dashed line is the shortest path over the Earth between them, 7,301.25 km."
        ));
        let track = &html[html.find(r#"<g id="ground-track""#).unwrap()..];
        let track = &track[..track.find("</g>").unwrap()];
        assert_eq!(
            track.matches("<polyline").count(),
            2,
            "cut where it crosses 180°: {track}"
        );
        assert!(html.contains(r#"<g id="shortest-path""#) && html.contains("<polyline"));
        let legend = &html[html.find(r#"<ul id="map-legend""#).unwrap()..];
        for entry in [
            "The ISS now",
            "Paris, France",
            "Predicted ground track",
            "Shortest path over the Earth, 7,301.25 km",
        ] {
            assert!(legend.contains(entry), "legend lacks {entry}: {legend}");
        }
        assert!(
            html.contains("Rough estimate") && html.contains("15 days old (epoch 2023-10-30)"),
            "the page says the position is an estimate from two-week-old elements: {html}"
        );
    }
}

#[tokio::test]
async fn markup_in_the_input_or_in_answers_comes_back_inert() {
    let app = spawn_app().await;
    let attack = "<script>alert('x')</script>";
    gateway_answers(
        &app,
        ResponseTemplate::new(200).set_body_json(answer("<img src=x onerror=alert(1)>")),
    )
    .await;
    let mut url = Url::parse(&app.address).unwrap();
    url.query_pairs_mut().append_pair("location", attack);
    let (status, html) = get(url.as_str()).await;
    assert_eq!(status, 200);
    let tags = elements(&html);
    assert!(
        !tags.contains(&"script".to_owned()) && !tags.contains(&"img".to_owned()),
        "{html}"
    );
    assert_eq!(
        attribute(&html, "location", "value").as_deref(),
        Some(attack)
    );
    assert!(
        text(&html, "answer")
            .unwrap()
            .ends_with("km from <img src=x onerror=alert(1)>."),
        "{html}"
    );
    assert_eq!(
        text(&html, "map-title").as_deref(),
        Some("World map of the ISS and <img src=x onerror=alert(1)>")
    );

    let app = spawn_app().await;
    let message = format!("No coordinates found for location '{attack}'");
    gateway_answers(
        &app,
        ResponseTemplate::new(404).set_body_json(json!({ "error": message })),
    )
    .await;
    let (status, html) = post_form(
        &app,
        format!(
            "location={}",
            url::form_urlencoded::byte_serialize(attack.as_bytes()).collect::<String>()
        ),
    )
    .await;
    assert_eq!(status, 404);
    assert!(!elements(&html).contains(&"script".to_owned()), "{html}");
    assert_eq!(text(&html, "error"), Some(message));
}

#[tokio::test]
async fn gateway_errors_render_as_readable_messages_with_their_status() {
    let cases = [
        (
            ResponseTemplate::new(404)
                .set_body_json(json!({"error": "No coordinates found for location 'Qq'"})),
            404,
            "No coordinates found for location 'Qq'",
        ),
        (
            ResponseTemplate::new(502)
                .set_body_json(json!({"error": "The iss-distance service is unavailable."})),
            502,
            "The iss-distance service is unavailable.",
        ),
        (
            ResponseTemplate::new(500).set_body_string("boom"),
            500,
            "The service failed (HTTP 500).",
        ),
        (
            ResponseTemplate::new(200).set_body_json(json!({"distance": "far"})),
            502,
            "The service gave an unusable answer.",
        ),
        (
            ResponseTemplate::new(200).set_delay(Duration::from_secs(5)),
            504,
            "The service took too long to answer.",
        ),
    ];
    for (response, expected_status, expected_text) in cases {
        let app = spawn_app().await;
        gateway_answers(&app, response).await;
        let (status, html) = get(&format!("{}?location=Qq", app.address)).await;
        assert_eq!(status, expected_status, "{html}");
        let shown = text(&html, "error").unwrap_or_default();
        assert!(shown.contains(expected_text), "{expected_text}: {html}");
    }
}

#[tokio::test]
async fn an_unreachable_gateway_is_a_502_page() {
    // Bound but never listening: connections are refused, and the port stays ours.
    let closed = testkit::ClosedPort::new();
    let gateway = Url::parse(&format!("http://{}/", closed.address())).unwrap();
    let address = format!("{}?location=Paris", start(test_config(&gateway)));
    let (status, html) = get(&address).await;
    assert_eq!(status, 502);
    let shown = text(&html, "error").unwrap_or_default();
    assert!(
        shown.contains("The service is unavailable right now."),
        "{html}"
    );
}

#[tokio::test]
async fn bad_form_input_is_a_4xx_page_never_a_5xx() {
    let app = spawn_app().await;
    gateway_answers(
        &app,
        ResponseTemplate::new(404).set_body_json(json!({"error": "No coordinates found"})),
    )
    .await;
    for body in [
        "",
        "location=",
        "location=%20",
        "other=1",
        "location=a&location=b",
    ] {
        let (status, html) = post_form(&app, body.into()).await;
        assert_eq!(status, 400, "{body}: {html}");
        assert!(text(&html, "error").is_some(), "{body}: {html}");
    }
    let (status, _) = post_form(&app, format!("location={}", "x".repeat(20_000))).await;
    assert_eq!(status, 413, "bodies over the 16 KiB limit are refused");
    for body in [
        "location=%ZZ%FF",
        "location=%00%07",
        "location=\u{2603}",
        "%%%&&&===",
    ] {
        let (status, _) = post_form(&app, body.into()).await;
        assert!((400..500).contains(&status), "{body}: {status}");
    }
}
