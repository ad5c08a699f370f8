use crate::helpers::test_config;
use iss_distance::config::PositionMode;
use iss_distance::sgp4_model::{CurrentModel, Sgp4Model, SHIPPED_TLE};
use iss_distance::tle_refresh::{RefreshError, TleSource};
use std::time::{Duration, Instant};
use telemetry::client::{ClientTelemetry, TracedClient, UpstreamError};
use url::Url;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The shipped TLE moved `days` later, with a valid checksum: a stand-in for a fresher TLE.
fn shifted_tle(days: u32) -> String {
    let lines: Vec<&str> = SHIPPED_TLE.lines().collect();
    let line1 = lines[1].trim_end();
    let day: f64 = line1[20..32].trim().parse().unwrap();
    let mut shifted = format!(
        "{}{:12.8}{}",
        &line1[..20],
        day + f64::from(days),
        &line1[32..68]
    );
    let checksum: u32 = shifted
        .chars()
        .map(|c| {
            if c == '-' {
                1
            } else {
                c.to_digit(10).unwrap_or(0)
            }
        })
        .sum::<u32>()
        % 10;
    shifted.push_str(&checksum.to_string());
    format!("{}\n{shifted}\n{}\n", lines[0], lines[2])
}

fn source(url: Url) -> TleSource {
    let client = TracedClient::new(
        &ClientTelemetry::default(),
        "test",
        Duration::from_secs(1),
        4096,
    );
    TleSource::new(client, url)
}

async fn serving(response: ResponseTemplate) -> (MockServer, Url) {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(response)
        .mount(&server)
        .await;
    let url = Url::parse(&format!("{}/tle", server.uri())).unwrap();
    (server, url)
}

#[actix_web::test]
async fn a_newer_tle_replaces_the_shipped_one_and_an_older_or_broken_one_does_not() {
    let model = CurrentModel::new(Sgp4Model::from_tle(SHIPPED_TLE).unwrap());
    let shipped_epoch = model.epoch_unix_seconds();

    let (_server, url) = serving(ResponseTemplate::new(200).set_body_string(shifted_tle(1))).await;
    assert!(source(url).refresh_once(&model).await.unwrap());
    assert!((model.epoch_unix_seconds() - shipped_epoch - 86_400.0).abs() < 0.01);

    let (_server, url) = serving(ResponseTemplate::new(200).set_body_string(SHIPPED_TLE)).await;
    assert!(
        !source(url).refresh_once(&model).await.unwrap(),
        "an older TLE is not taken"
    );

    let (_server, url) =
        serving(ResponseTemplate::new(200).set_body_string("<html>rate limited</html>")).await;
    assert!(matches!(
        source(url).refresh_once(&model).await,
        Err(RefreshError::Invalid(_))
    ));
    let (_server, url) = serving(ResponseTemplate::new(404)).await;
    assert!(matches!(
        source(url).refresh_once(&model).await,
        Err(RefreshError::Upstream(UpstreamError::Status { status, .. })) if status == 404
    ));
    assert!(
        (model.epoch_unix_seconds() - shipped_epoch - 86_400.0).abs() < 0.01,
        "failures keep the current TLE"
    );
}

#[tokio::test]
async fn the_service_fetches_the_tle_at_start_when_a_url_is_configured() {
    let (server, url) = serving(ResponseTemplate::new(200).set_body_string(shifted_tle(2))).await;
    let mut config = test_config(
        PositionMode::Sgp4,
        &Url::parse("http://127.0.0.1:9/").unwrap(),
    );
    config.tle_url = Some(url);
    let telemetry = telemetry::Telemetry::disabled();
    let app = iss_distance::startup::build(config, &telemetry).unwrap();
    tokio::spawn(async move {
        let _telemetry = telemetry;
        app.run_until_stopped().await
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    while server
        .received_requests()
        .await
        .unwrap_or_default()
        .is_empty()
    {
        assert!(Instant::now() < deadline, "no TLE fetch at start");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
