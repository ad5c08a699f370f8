//! Standard `OTEL_*` switches: `OTEL_SDK_DISABLED=true` pushes nothing while the
//! service keeps serving and logging to stderr; `OTEL_TRACES_SAMPLER=always_off`
//! drops spans but not logs and metrics.

use crate::support::ask_iss_distance;
use e2e::{prom_text, Protocol, StackBuilder};
use otlp_receiver::OtlpReceiver;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otel_sdk_disabled_and_an_always_off_sampler_are_honoured() {
    let disabled_receiver = OtlpReceiver::start().unwrap();
    let unsampled_receiver = OtlpReceiver::start().unwrap();
    let disabled = StackBuilder::new("sdk-disabled")
        .otlp(&disabled_receiver.endpoint(), Protocol::Grpc)
        .env("OTEL_SDK_DISABLED", "true");
    let unsampled = StackBuilder::new("sampler-always-off")
        .otlp(&unsampled_receiver.endpoint(), Protocol::Grpc)
        .env("OTEL_TRACES_SAMPLER", "always_off");
    let (mut disabled, mut unsampled) = tokio::join!(
        disabled.start_one("iss-distance"),
        unsampled.start_one("iss-distance")
    );
    for process in [&disabled, &unsampled] {
        ask_iss_distance(process).await;
    }
    let disabled_families = prom_text::parse(&disabled.scrape().await).expect("valid exposition");
    assert!(
        !disabled_families.contains_key("incoming_requests_total"),
        "no SDK, no metrics: {:?}",
        disabled_families.keys()
    );
    let unsampled_families = prom_text::parse(&unsampled.scrape().await).expect("valid exposition");
    assert_eq!(
        unsampled_families["incoming_requests_total"].samples[0].value,
        1.0
    );

    // Once the processes have exited (flushing on the way), nothing more can arrive.
    for process in [&mut disabled, &mut unsampled] {
        let status = process.stop(Duration::from_secs(30)).await;
        assert_eq!(status.code(), Some(0), "{}", process.stderr());
    }
    assert!(
        disabled
            .stderr()
            .contains("received request from IP address 127.0.0.1"),
        "stderr logs stay"
    );
    let nothing = disabled_receiver.snapshot();
    assert!(
        nothing.requests.is_empty(),
        "OTEL_SDK_DISABLED pushed {}",
        nothing.summary()
    );

    let received = unsampled_receiver.snapshot();
    assert!(
        received.spans.is_empty(),
        "always_off exported {} spans",
        received.spans.len()
    );
    assert!(
        received
            .logs
            .iter()
            .any(|l| l.body.starts_with("received request from IP address")),
        "{}",
        received.summary()
    );
    assert_eq!(
        received.latest_total("iss-distance-service", "incoming.requests", &[]),
        1.0
    );
}
