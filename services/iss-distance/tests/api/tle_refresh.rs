use iss_distance::config::{Config, PositionMode};
use iss_distance::locator::IssLocator;
use iss_distance::sgp4_model::{Sgp4Model, SHIPPED_TLE};
use iss_distance::tle_refresh::{refresh_once, RefreshError};
use std::time::{Duration, Instant};
use telemetry::client::TracedClient;
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

fn locator() -> IssLocator {
    IssLocator::new(
        PositionMode::Sgp4,
        Url::parse("http://127.0.0.1:9/").unwrap(),
        Sgp4Model::from_tle(SHIPPED_TLE).unwrap(),
    )
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
    let locator = locator();
    let client = TracedClient::new("test", Duration::from_secs(1), 4096);
    let shipped_epoch = locator.tle_epoch();

    let (_server, url) = serving(ResponseTemplate::new(200).set_body_string(shifted_tle(1))).await;
    assert!(refresh_once(&locator, &client, &url).await.unwrap());
    assert!((locator.tle_epoch() - shipped_epoch - 86_400.0).abs() < 0.01);

    let (_server, url) = serving(ResponseTemplate::new(200).set_body_string(SHIPPED_TLE)).await;
    assert!(
        !refresh_once(&locator, &client, &url).await.unwrap(),
        "an older TLE is not taken"
    );

    let (_server, url) =
        serving(ResponseTemplate::new(200).set_body_string("<html>rate limited</html>")).await;
    assert!(matches!(
        refresh_once(&locator, &client, &url).await,
        Err(RefreshError::Invalid(_))
    ));
    let (_server, url) = serving(ResponseTemplate::new(404)).await;
    assert!(matches!(
        refresh_once(&locator, &client, &url).await,
        Err(RefreshError::Status(404))
    ));
    assert!(
        (locator.tle_epoch() - shipped_epoch - 86_400.0).abs() < 0.01,
        "failures keep the current TLE"
    );
}

#[tokio::test]
async fn the_service_fetches_the_tle_at_start_when_a_url_is_configured() {
    let (server, url) = serving(ResponseTemplate::new(200).set_body_string(shifted_tle(2))).await;
    let mut config = Config::for_tests(
        PositionMode::Sgp4,
        Url::parse("http://127.0.0.1:9/").unwrap(),
    );
    config.tle_url = Some(url);
    let app = iss_distance::startup::build(config, telemetry::MetricsRegistry::default()).unwrap();
    tokio::spawn(app.run_until_stopped());
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
