//! `client.address` and the "received request from IP address" log line take
//! `X-Forwarded-For` only from a trusted proxy (`TRUSTED_PROXIES`, empty by
//! default): anyone else would choose what is recorded about them.

use e2e::{Protocol, StackBuilder};
use otlp_receiver::{OtlpReceiver, SpanKind};
use std::time::Duration;

const FORWARDED: &str = "203.0.113.7";

async fn client_address_seen(trusted: Option<&str>, test: &str) -> (String, String) {
    let receiver = OtlpReceiver::start().unwrap();
    let mut builder = StackBuilder::new(test).otlp(&receiver.endpoint(), Protocol::Grpc);
    if let Some(trusted) = trusted {
        builder = builder.env("TRUSTED_PROXIES", trusted);
    }
    let mut process = builder.start_one("iss-distance").await;
    let answer = reqwest::Client::new()
        .get(format!("{}?latitude=48.85&longitude=2.35", process.url()))
        .header("x-forwarded-for", FORWARDED)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let status = process.stop(Duration::from_secs(30)).await;
    assert_eq!(status.code(), Some(0), "{}", process.stderr());
    let span_address = receiver
        .wait_until(Duration::from_secs(10), "the server span of GET /", |r| {
            r.spans
                .iter()
                .find(|s| s.kind == SpanKind::Server && s.name == "GET /")
                .and_then(|s| s.attributes.get("client.address").and_then(|v| v.as_str()))
                .map(str::to_owned)
        })
        .await
        .unwrap();
    let logged = process
        .stderr()
        .lines()
        .find_map(|l| {
            l.split_once("received request from IP address ")
                .map(|(_, a)| a.trim().to_owned())
        })
        .expect("the per-request log line");
    (span_address, logged)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn x_forwarded_for_is_believed_only_from_a_trusted_proxy() {
    let (span, log) = client_address_seen(None, "client-address-untrusted").await;
    assert_eq!((span.as_str(), log.as_str()), ("127.0.0.1", "127.0.0.1"));

    let (span, log) =
        client_address_seen(Some("10.0.0.0/8, 127.0.0.1"), "client-address-trusted").await;
    assert_eq!((span.as_str(), log.as_str()), (FORWARDED, FORWARDED));
}
