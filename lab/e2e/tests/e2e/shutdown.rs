//! SIGTERM while requests are in flight: every request that got a response
//! has its spans and logs at the collector, and every service exits 0.

use crate::support::{LOAD, SERVICES};
use e2e::{Outcome, Protocol, StackBuilder, TracedClient};
use otlp_receiver::{OtlpReceiver, SpanKind};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const WORKERS: usize = 6;
/// Responses to see before the signal, so the services are busy when it arrives.
const RESPONSES_BEFORE_SIGNAL: usize = 40;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_under_load_flushes_every_answered_request_and_exits_0_over_grpc() {
    sigterm_under_load(Protocol::Grpc, "sigterm-grpc").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_under_load_flushes_every_answered_request_and_exits_0_over_http_protobuf() {
    sigterm_under_load(Protocol::HttpProtobuf, "sigterm-http").await;
}

async fn sigterm_under_load(protocol: Protocol, test_name: &str) {
    let _load = LOAD.lock().await;
    let receiver = OtlpReceiver::start().unwrap();
    let mut stack = StackBuilder::new(test_name)
        .otlp(&receiver.endpoint(), protocol)
        .start()
        .await;
    let client = TracedClient::new();
    let url = stack.frontend_page_url("Paris");
    let answered = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..WORKERS)
        .map(|_| {
            let (client, url, answered) = (client.clone(), url.clone(), answered.clone());
            // Back-to-back requests until the frontend no longer answers at all.
            tokio::spawn(async move {
                let mut outcomes: Vec<Outcome> = Vec::new();
                let deadline = Instant::now() + Duration::from_secs(120);
                while Instant::now() < deadline {
                    let outcome = client.get(&url, &[]).await;
                    let refused = outcome.status.is_none();
                    if !refused {
                        answered.fetch_add(1, Ordering::SeqCst);
                    }
                    outcomes.push(outcome);
                    if refused {
                        break;
                    }
                }
                outcomes
            })
        })
        .collect();

    let deadline = Instant::now() + Duration::from_secs(60);
    while answered.load(Ordering::SeqCst) < RESPONSES_BEFORE_SIGNAL {
        assert!(
            Instant::now() < deadline,
            "the stack did not answer {RESPONSES_BEFORE_SIGNAL} requests in time"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    for process in stack.processes() {
        process.terminate();
    }
    for process in stack.processes_mut() {
        let status = process.wait_exit(Duration::from_secs(60)).await;
        assert_eq!(
            status.code(),
            Some(0),
            "{} exits 0 after SIGTERM; stderr:\n{}",
            process.name(),
            process.stderr()
        );
    }
    let mut outcomes = Vec::new();
    for worker in workers {
        outcomes.extend(worker.await.unwrap());
    }

    // The services are gone: whatever they flushed has arrived, nothing more will.
    let received = receiver.snapshot();
    let answered: Vec<&Outcome> = outcomes.iter().filter(|o| o.status.is_some()).collect();
    let ok = answered.iter().filter(|o| o.status == Some(200)).count();
    assert!(ok >= RESPONSES_BEFORE_SIGNAL, "{ok} answers of 200");
    for outcome in &answered {
        let spans = received.spans_in_trace(&outcome.trace_id);
        let logs = received.logs_in_trace(&outcome.trace_id);
        let frontend = spans
            .iter()
            .find(|s| s.service_name() == "frontend" && s.kind == SpanKind::Server)
            .unwrap_or_else(|| {
                panic!(
                    "answered {:?} but its frontend span was lost: {outcome:?}",
                    outcome.status
                )
            });
        assert_eq!(
            frontend.attr_i64("http.response.status_code"),
            outcome.status.map(i64::from)
        );
        assert!(
            logs.iter()
                .any(|l| l.service_name() == "frontend" && l.body.starts_with("received request")),
            "the frontend's log of {} was lost",
            outcome.trace_id
        );
        if outcome.status == Some(200) {
            assert_eq!(
                spans.len(),
                10,
                "all spans of answered trace {}: {spans:#?}",
                outcome.trace_id
            );
            let logged: std::collections::BTreeSet<&str> = logs
                .iter()
                .filter(|l| l.body.starts_with("received request"))
                .map(|l| l.service_name())
                .collect();
            assert_eq!(
                logged.len(),
                4,
                "every service's request log of {}: {logged:?}",
                outcome.trace_id
            );
        }
    }
    for service in SERVICES {
        assert!(
            received
                .logs_of(service)
                .iter()
                .any(|l| l.body.starts_with("stopped serving")),
            "{service} flushed the logs it wrote while shutting down"
        );
    }
    eprintln!(
        "{test_name}: {} requests answered ({ok} with 200), {} not answered",
        answered.len(),
        outcomes.len() - answered.len()
    );
}

/// `docker stop` sends SIGKILL 10 s after SIGTERM unless told otherwise; a clean exit must come first.
const STOP_GRACE: Duration = Duration::from_secs(9);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_collector_cannot_hold_up_shutdown_past_the_stop_grace_period() {
    let _load = LOAD.lock().await;
    let mut cases = Vec::new();
    for (protocol, black_hole) in [
        (Protocol::Grpc, true),
        (Protocol::HttpProtobuf, true),
        (Protocol::Grpc, false),
        (Protocol::HttpProtobuf, false),
    ] {
        let receiver = OtlpReceiver::start().unwrap();
        let name = format!(
            "dead-collector-{}-{}",
            protocol.env_value().replace('/', "-"),
            if black_hole { "black-hole" } else { "refused" }
        );
        let process = StackBuilder::new(&name)
            .otlp(&receiver.endpoint(), protocol)
            .start_one("iss-distance")
            .await;
        cases.push((name, receiver, process, black_hole));
    }
    let client = TracedClient::new();
    for (name, receiver, process, black_hole) in &cases {
        if *black_hole {
            receiver.set_fault(otlp_receiver::Fault::BlackHole);
        } else {
            receiver.stop().await;
        }
        // Telemetry the dead collector will never take: the final flush has something to try.
        let url = format!("{}?latitude=48.85&longitude=2.35", process.url());
        for outcome in client.get_many(&url, 20, 4).await {
            assert_eq!(outcome.status, Some(200), "{name}: {outcome:?}");
        }
    }
    let signalled = Instant::now();
    for (_, _, process, _) in &cases {
        process.terminate();
    }
    for (name, _, process, _) in &mut cases {
        let status = process.wait_exit(Duration::from_secs(60)).await;
        let took = signalled.elapsed();
        eprintln!("{name}: exited with {status} {took:?} after SIGTERM");
        assert_eq!(
            status.code(),
            Some(0),
            "{name}; stderr:\n{}",
            process.stderr()
        );
        assert!(
            took < STOP_GRACE,
            "{name}: shutdown took {took:?}, docker stop would have killed it; stderr:\n{}",
            process.stderr()
        );
    }
}
