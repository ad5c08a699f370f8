//! Sustained load while the collector is a black hole: what cannot be exported
//! is dropped at the SDK's queue bounds, so memory levels off instead of
//! growing with the load.

use crate::support::LOAD;
use e2e::{Process, Protocol, StackBuilder, TracedClient};
use otlp_receiver::{Fault, OtlpReceiver};

/// Requests per phase. The first phase fills the span and log queues (2,048 each by default;
/// three spans and one log per request), the second must then add next to nothing.
const PHASE: usize = 3000;
/// Every server span carries it as `user_agent.original`: the second phase alone would keep
/// PHASE x 8 KiB = 24 MiB more if spans piled up somewhere.
const USER_AGENT_BYTES: usize = 8 * 1024;
const GROWTH_LIMIT_KIB: u64 = 12 * 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_levels_off_under_load_while_the_collector_is_a_black_hole() {
    let _load = LOAD.lock().await;
    let grpc_receiver = OtlpReceiver::start().unwrap();
    let http_receiver = OtlpReceiver::start().unwrap();
    // Black holes from the start: no export can ever complete.
    grpc_receiver.set_fault(Fault::BlackHole);
    http_receiver.set_fault(Fault::BlackHole);
    let grpc = StackBuilder::new("memory-grpc").otlp(&grpc_receiver.endpoint(), Protocol::Grpc);
    let http =
        StackBuilder::new("memory-http").otlp(&http_receiver.endpoint(), Protocol::HttpProtobuf);
    let (grpc, http) = tokio::join!(
        grpc.start_one("iss-distance"),
        http.start_one("iss-distance")
    );

    let client = TracedClient::new();
    let agent = "a".repeat(USER_AGENT_BYTES);
    let phase = |process: &Process| {
        let url = format!("{}?latitude=48.85&longitude=2.35", process.url());
        let requests = (0..PHASE)
            .map(|_| (url.clone(), vec![("user-agent".to_owned(), agent.clone())]))
            .collect();
        client.get_all(requests, 4)
    };
    let mut levels = Vec::new();
    for _ in 0..2 {
        let (grpc_outcomes, http_outcomes) = tokio::join!(phase(&grpc), phase(&http));
        for outcome in grpc_outcomes.iter().chain(&http_outcomes) {
            assert_eq!(outcome.status, Some(200), "{outcome:?}");
        }
        levels.push((grpc.rss_kib(), http.rss_kib()));
    }
    eprintln!("RSS (KiB) after each phase, gRPC and HTTP exporters: {levels:?}");
    let [(grpc_first, http_first), (grpc_second, http_second)] = levels[..] else {
        unreachable!()
    };
    for (exporter, first, second) in [
        ("gRPC", grpc_first, grpc_second),
        ("HTTP", http_first, http_second),
    ] {
        assert!(
            second.saturating_sub(first) < GROWTH_LIMIT_KIB,
            "with the {exporter} exporter RSS grew from {first} KiB to {second} KiB in the second phase"
        );
    }
    assert_eq!(
        grpc_receiver.read(|r| r.requests.len()),
        0,
        "the black holes answered nothing"
    );
    assert_eq!(http_receiver.read(|r| r.requests.len()), 0);
}
