//! The scaled-out collector pipeline with real collectors on loopback: one
//! agent (otel-collector/agent.yaml) in front of two gateways
//! (otel-collector/gateway.yaml), both configs unchanged, built from
//! otel-collector/builder-config.yaml. Each gateway exports traces to its
//! own in-process OTLP receiver standing in for Tempo, so a test sees which
//! gateway a span came through; metrics and logs go to a third receiver
//! standing in for Prometheus' and Loki's OTLP endpoints.
//!
//! The agent finds the gateways by DNS, as in compose and the chart: the
//! processes share a hosts file in which one name has both gateways'
//! addresses, and a test removes one by rewriting it.
//!
//! Traffic is an OTLP generator: traces of three spans over two services
//! (a server root, a client child, the downstream's server span), each
//! layer of spans sent in its own export, so the agent has to bring a
//! trace's spans together. Error traces have an error span; slow traces
//! last 1.5s (the gateway's slow threshold is 1s).
//!
//! - whole traces: every trace arrives complete, through one gateway only;
//! - sampling: at a 20 % share every error and slow trace arrives, ordinary
//!   ones at the share, and the span metrics still count every span;
//! - crash: a gateway SIGKILLed while its backend is down loses nothing it
//!   had decided on (file queue), and what the agent held for it meanwhile
//!   arrives too: every span exactly once;
//! - gone for good: with one gateway removed from DNS and killed, the agent
//!   routes everything to the other; the loss is bounded and the agent's own
//!   metrics show the change.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{
    span, status, ResourceSpans, ScopeSpans, Span, Status,
};
use otlp_receiver::{OtlpReceiver, Received, GRPC_DEFAULT_MAX_MESSAGE_BYTES};
use platform::local::{platform_tool, Hosts};
use platform::*;
use prost::Message;
use testkit::Process;

const SPANS_PER_TRACE: usize = 3;
/// Short, so a test need not wait the compose default's 20s per decision.
const DECISION_WAIT: &str = "2s";

/// A loopback address of a test's own: tests run in parallel, each on
/// 127.0.<net>.x with the collectors' usual ports.
fn ip(net: u8, host: u8) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, net, host)
}

struct Dir(PathBuf);

impl Drop for Dir {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

fn scratch_dir(test: &str) -> Dir {
    let dir = target_dir()
        .join("platform-e2e")
        .join(format!("{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    Dir(dir)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Ordinary,
    Error,
    Slow,
    /// Ordinary, with a 3 KiB attribute on every span.
    Large,
}

/// One pipeline: an agent, two gateways, their backends.
struct Pipeline {
    net: u8,
    dir: PathBuf,
    hosts: Hosts,
    gateway_name: String,
    /// Kept to be killed with the pipeline.
    _agent: Option<Process>,
    gateways: [Option<Process>; 2],
    tempo: [OtlpReceiver; 2],
    sink: OtlpReceiver,
    sampling_percentage: String,
    retry: String,
    /// More settings for the gateways (a fault to provoke).
    gateway_env: Vec<(&'static str, String)>,
    client: reqwest::Client,
}

impl Pipeline {
    async fn start(
        test: &str,
        net: u8,
        dir: &Path,
        sampling_percentage: &str,
        retry: &str,
        gateway_env: &[(&'static str, &str)],
    ) -> Self {
        let gateway_name = format!("otel-gateway-{net}");
        let hosts = Hosts::write_with(
            dir,
            &[
                (gateway_name.as_str(), ip(net, 2)),
                (gateway_name.as_str(), ip(net, 3)),
            ],
        );
        // Tempo's OTLP receiver keeps gRPC's default message limit.
        let tempo = [
            OtlpReceiver::start().unwrap(),
            OtlpReceiver::start().unwrap(),
        ];
        for backend in &tempo {
            backend.limit_grpc_messages(GRPC_DEFAULT_MAX_MESSAGE_BYTES);
        }
        let sink = OtlpReceiver::start().unwrap();
        let mut pipeline = Self {
            net,
            dir: dir.to_path_buf(),
            hosts,
            gateway_name,
            _agent: None,
            gateways: [None, None],
            tempo,
            sink,
            sampling_percentage: sampling_percentage.to_string(),
            retry: retry.to_string(),
            gateway_env: gateway_env
                .iter()
                .map(|(k, v)| (*k, v.to_string()))
                .collect(),
            client: reqwest::Client::new(),
        };
        for index in 0..2 {
            pipeline.start_gateway(index).await;
        }
        pipeline._agent = Some(pipeline.start_agent(test).await);
        pipeline
    }

    fn collector_env(&self, host: u8) -> Vec<(&'static str, String)> {
        let ip = ip(self.net, host);
        vec![
            ("OTELCOL_OTLP_GRPC_ENDPOINT", format!("{ip}:4317")),
            ("OTELCOL_OTLP_HTTP_ENDPOINT", format!("{ip}:4318")),
            ("OTELCOL_HEALTH_CHECK_ENDPOINT", format!("{ip}:13133")),
            ("OTELCOL_TELEMETRY_HOST", ip.to_string()),
        ]
    }

    async fn spawn(&self, name: &str, config: &str, host: u8, env: Vec<(&str, String)>) -> Process {
        let config = repo_root().join("otel-collector").join(config);
        let mut process = self.hosts.spawn(
            name,
            &platform_tool("otelcol-iss"),
            &[format!("--config={}", config.display())],
            &env,
            &self.dir,
        );
        let health = format!("http://{}:13133/", ip(self.net, host));
        if let Err(error) = process
            .wait_until_ready(&health, Duration::from_secs(60), |_| true)
            .await
        {
            panic!("{error}");
        }
        process
    }

    /// Gateway `index` (0 or 1) on 127.0.<net>.<2 + index>, with the queue
    /// directory it keeps across restarts.
    async fn start_gateway(&mut self, index: usize) {
        let host = 2 + index as u8;
        let mut env = self.collector_env(host);
        let tempo = self.tempo[index].endpoint();
        env.extend([
            (
                "OTELCOL_QUEUE_DIRECTORY",
                self.dir
                    .join(format!("queue-{index}"))
                    .display()
                    .to_string(),
            ),
            (
                "TEMPO_OTLP_GRPC_ENDPOINT",
                tempo.trim_start_matches("http://").to_string(),
            ),
            ("PROMETHEUS_OTLP_ENDPOINT", self.sink.endpoint()),
            (
                "LOKI_OTLP_ENDPOINT",
                format!("{}/otlp", self.sink.endpoint()),
            ),
            ("OTELCOL_SAMPLING_DECISION_WAIT", DECISION_WAIT.to_string()),
            (
                "OTELCOL_SAMPLING_PERCENTAGE",
                self.sampling_percentage.clone(),
            ),
            ("OTELCOL_RETRY_MAX_ELAPSED_TIME", self.retry.clone()),
            // As compose names its gateways otel-gateway-1 and -2.
            ("OTELCOL_INSTANCE_ID", format!("gateway-{index}")),
        ]);
        env.extend(self.gateway_env.iter().cloned());
        let name = format!("gateway-{index}");
        let process = self.spawn(&name, "gateway.yaml", host, env).await;
        self.gateways[index] = Some(process);
    }

    async fn start_agent(&self, test: &str) -> Process {
        let mut env = self.collector_env(1);
        env.extend([
            ("OTELCOL_GATEWAY_HOSTNAME", self.gateway_name.clone()),
            ("OTELCOL_RESOLVER_INTERVAL", "1s".to_string()),
            ("OTELCOL_BATCH_TIMEOUT", "200ms".to_string()),
            ("OTELCOL_GATEWAY_RETRY_MAX_ELAPSED_TIME", self.retry.clone()),
            ("OTELCOL_RETRY_MAX_ELAPSED_TIME", self.retry.clone()),
        ]);
        self.spawn(&format!("{test}-agent"), "agent.yaml", 1, env)
            .await
    }

    /// Sends `traces` to the agent over OTLP/HTTP, one export per span layer.
    async fn send(&self, traces: &[([u8; 16], Kind)]) {
        for layer in 0..SPANS_PER_TRACE {
            let body = export_request(traces, layer).encode_to_vec();
            let response = self
                .client
                .post(format!("http://{}:4318/v1/traces", ip(self.net, 1)))
                .header("content-type", "application/x-protobuf")
                .body(body)
                .send()
                .await
                .expect("the agent answers");
            assert_eq!(response.status(), 200, "the agent accepts every export");
        }
    }

    /// A collector's own metrics, summed over the series matching `labels`.
    async fn metric(&self, host: u8, name: &str, labels: &[(&str, &str)]) -> f64 {
        metric_sum(&self.exposition(host).await, name, labels)
    }

    /// A collector's own metrics as Prometheus scrapes them ("" when it is down).
    async fn exposition(&self, host: u8) -> String {
        let url = format!("http://{}:8888/metrics", ip(self.net, host));
        match self.client.get(url).send().await {
            Ok(response) => response.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    /// Every span at either Tempo stand-in, as (trace id -> gateway index -> span ids).
    /// Sends batches of ordinary traces until the agent's ring has `want`
    /// gateways (the DNS resolver noticed a change); returns what it sent.
    async fn send_until_backends(&self, want: f64) -> Vec<([u8; 16], Kind)> {
        let mut sent = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let batch = traces(10, Kind::Ordinary);
            self.send(&batch).await;
            sent.extend(batch);
            // One gauge per resolver type: both exporters resolve the same name.
            let backends = self
                .metric(
                    1,
                    "otelcol_loadbalancer_num_backends",
                    &[("resolver", "dns")],
                )
                .await;
            if backends == want {
                return sent;
            }
            assert!(
                Instant::now() < deadline,
                "the agent uses {backends} backends, not {want}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    fn arrived(&self) -> BTreeMap<String, BTreeMap<usize, Vec<String>>> {
        let mut arrived: BTreeMap<String, BTreeMap<usize, Vec<String>>> = BTreeMap::new();
        for (index, tempo) in self.tempo.iter().enumerate() {
            tempo.read(|r| {
                for span in &r.spans {
                    arrived
                        .entry(span.trace_id.clone())
                        .or_default()
                        .entry(index)
                        .or_default()
                        .push(span.span_id.clone());
                }
            });
        }
        arrived
    }

    /// Waits until `done` holds for what arrived (re-checked every 200ms).
    async fn wait_arrived(
        &self,
        within: Duration,
        what: &str,
        done: impl Fn(&BTreeMap<String, BTreeMap<usize, Vec<String>>>) -> bool,
    ) {
        let deadline = Instant::now() + within;
        loop {
            let arrived = self.arrived();
            if done(&arrived) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{what}: not within {within:?}; {} traces arrived",
                arrived.len()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Waits until the gateways have decided on `traces` traces in all.
    async fn wait_decided(&self, traces: usize, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            let mut decided = 0.0;
            for host in [2, 3] {
                decided += self
                    .metric(
                        host,
                        "otelcol_processor_tail_sampling_global_count_traces_sampled",
                        &[],
                    )
                    .await;
            }
            if decided as usize >= traces {
                assert_eq!(decided as usize, traces, "decisions on traces never sent");
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the gateways decided on {decided} of {traces} traces within {within:?}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

fn now_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// `count` traces of `kind` with random ids.
fn traces(count: usize, kind: Kind) -> Vec<([u8; 16], Kind)> {
    let mut state = now_nanos() ^ (kind as u64).wrapping_mul(0x51_7cc1_b727_220a);
    (0..count)
        .map(|_| {
            let mut id = [0u8; 16];
            id[..8].copy_from_slice(&splitmix(&mut state).to_be_bytes());
            id[8..].copy_from_slice(&splitmix(&mut state).to_be_bytes());
            (id, kind)
        })
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Span `layer` (0 root, 1 client child, 2 downstream server) of a trace.
fn span_id(trace: &[u8; 16], layer: usize) -> [u8; 8] {
    let mut id = [0u8; 8];
    id.copy_from_slice(&trace[8..]);
    id[0] ^= 0x10 * (layer as u8 + 1);
    id[7] |= 1;
    id
}

fn string_kv(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.into())),
        }),
        ..Default::default()
    }
}

/// Layer `layer` of every trace as one export: the root and its client
/// child come from "frontend", the downstream server span from "gateway".
fn export_request(traces: &[([u8; 16], Kind)], layer: usize) -> ExportTraceServiceRequest {
    let service = if layer == 2 { "gateway" } else { "frontend" };
    let now = now_nanos();
    let spans = traces
        .iter()
        .map(|(trace, kind)| {
            let total: u64 = match kind {
                Kind::Slow => 1_500_000_000,
                _ => 10_000_000,
            };
            let start = now - total;
            let (name, span_kind, parent, begin, end) = match layer {
                0 => ("GET /", span::SpanKind::Server, None, start, now),
                1 => (
                    "GET",
                    span::SpanKind::Client,
                    Some(span_id(trace, 0)),
                    start + 1_000_000,
                    now - 1_000_000,
                ),
                _ => (
                    "GET /",
                    span::SpanKind::Server,
                    Some(span_id(trace, 1)),
                    start + 2_000_000,
                    now - 2_000_000,
                ),
            };
            let error = *kind == Kind::Error && layer == 2;
            Span {
                trace_id: trace.to_vec(),
                span_id: span_id(trace, layer).to_vec(),
                parent_span_id: parent.map(|p| p.to_vec()).unwrap_or_default(),
                name: name.into(),
                kind: span_kind as i32,
                start_time_unix_nano: begin,
                end_time_unix_nano: end,
                attributes: if *kind == Kind::Large {
                    vec![
                        string_kv("http.request.method", "GET"),
                        string_kv("app.payload", &"x".repeat(3 * 1024)),
                    ]
                } else {
                    vec![string_kv("http.request.method", "GET")]
                },
                status: Some(Status {
                    code: if error {
                        status::StatusCode::Error as i32
                    } else {
                        status::StatusCode::Unset as i32
                    },
                    message: String::new(),
                }),
                ..Default::default()
            }
        })
        .collect();
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![string_kv("service.name", service)],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// The sum of the samples of `name` in a Prometheus text exposition whose
/// labels include `labels`.
fn metric_sum(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let (metric, label_text) = match series.split_once('{') {
                Some((metric, rest)) => (metric, rest.trim_end_matches('}')),
                None => (series, ""),
            };
            if metric != name {
                return None;
            }
            let matches = labels
                .iter()
                .all(|(key, value)| label_text.contains(&format!("{key}=\"{value}\"")));
            matches.then(|| value.parse::<f64>().ok()).flatten()
        })
        .sum::<f64>()
        // An empty sum of floats is -0; reports read better with 0.
        + 0.0
}

/// The trace ids of `traces` as the receivers write them.
fn ids(traces: &[([u8; 16], Kind)]) -> BTreeSet<String> {
    traces.iter().map(|(id, _)| hex(id)).collect()
}

/// Whether each of `expected` arrived whole: all its spans, once, from one gateway.
fn assert_whole(
    arrived: &BTreeMap<String, BTreeMap<usize, Vec<String>>>,
    expected: &BTreeSet<String>,
) {
    for trace in expected {
        let Some(by_gateway) = arrived.get(trace) else {
            panic!("trace {trace} never arrived");
        };
        assert_eq!(
            by_gateway.len(),
            1,
            "trace {trace} came through more than one gateway: {by_gateway:?}"
        );
        let spans = by_gateway.values().next().unwrap();
        let unique: BTreeSet<&String> = spans.iter().collect();
        assert_eq!(
            unique.len(),
            SPANS_PER_TRACE,
            "trace {trace} is partial: {spans:?}"
        );
    }
}

fn complete(arrived: &BTreeMap<String, BTreeMap<usize, Vec<String>>>, trace: &str) -> bool {
    arrived.get(trace).is_some_and(|by_gateway| {
        by_gateway.values().flatten().collect::<BTreeSet<_>>().len() == SPANS_PER_TRACE
    })
}

/// The spanmetrics connector's call count over both gateways: the latest
/// cumulative value of every series (its attributes include the gateway's
/// collector.instance.id, which tells the gateways' series apart).
fn spanmetrics_calls(received: &Received) -> f64 {
    let mut latest: BTreeMap<(String, Vec<String>), (u64, f64)> = BTreeMap::new();
    for point in received
        .metrics
        .iter()
        .filter(|p| p.name == "traces.spanmetrics.calls")
    {
        let key = (point.service_name().to_string(), point.series_key());
        let entry = latest.entry(key).or_insert((0, 0.0));
        if point.time_unix_nano >= entry.0 {
            *entry = (point.time_unix_nano, point.value.as_f64());
        }
    }
    latest.values().map(|(_, value)| value).sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_trace_arrives_whole_through_one_gateway() {
    let dir = scratch_dir("pipeline-whole");
    let pipeline = Pipeline::start("whole", 21, &dir.0, "100", "60s", &[]).await;
    let mut sent = Vec::new();
    for round in 0..10 {
        let kind = [Kind::Ordinary, Kind::Error, Kind::Slow][round % 3];
        let batch = traces(20, kind);
        pipeline.send(&batch).await;
        sent.extend(batch);
    }
    let expected = ids(&sent);
    pipeline
        .wait_arrived(Duration::from_secs(90), "all 200 traces", |a| {
            expected.iter().all(|t| complete(a, t))
        })
        .await;
    let arrived = pipeline.arrived();
    assert_whole(&arrived, &expected);
    assert_eq!(arrived.len(), expected.len(), "only the traces sent arrive");
    let per_gateway: Vec<usize> = (0..2)
        .map(|g| arrived.values().filter(|b| b.contains_key(&g)).count())
        .collect();
    assert!(
        per_gateway.iter().all(|n| *n > 20),
        "the agent spreads traces over both gateways: {per_gateway:?}"
    );
    eprintln!(
        "whole traces: {} traces, per gateway {per_gateway:?}",
        expected.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_and_slow_traces_are_all_kept_and_the_rest_at_the_share() {
    let dir = scratch_dir("pipeline-sampling");
    let pipeline = Pipeline::start("sampling", 22, &dir.0, "20", "60s", &[]).await;
    let errors = traces(60, Kind::Error);
    let slow = traces(60, Kind::Slow);
    let ordinary = traces(600, Kind::Ordinary);
    for chunk in 0..6 {
        let range = chunk * 100..(chunk + 1) * 100;
        pipeline.send(&ordinary[range]).await;
        pipeline.send(&errors[chunk * 10..(chunk + 1) * 10]).await;
        pipeline.send(&slow[chunk * 10..(chunk + 1) * 10]).await;
    }
    let total = errors.len() + slow.len() + ordinary.len();
    let must_keep: BTreeSet<String> = ids(&errors).into_iter().chain(ids(&slow)).collect();
    pipeline
        .wait_arrived(Duration::from_secs(90), "every error and slow trace", |a| {
            must_keep.iter().all(|t| complete(a, t))
        })
        .await;
    pipeline.wait_decided(total, Duration::from_secs(60)).await;
    // Decided traces are exported within the queue's 2s flush; wait for the
    // kept ordinary ones to settle (no new arrivals for a few seconds).
    let ordinary_ids = ids(&ordinary);
    let mut last = usize::MAX;
    let mut stable_since = Instant::now();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let count = pipeline.arrived().len();
        if count != last {
            last = count;
            stable_since = Instant::now();
        } else if stable_since.elapsed() > Duration::from_secs(5) {
            break;
        }
        assert!(Instant::now() < deadline, "arrivals never settled");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let arrived = pipeline.arrived();
    let kept: BTreeSet<String> = arrived
        .keys()
        .filter(|t| ordinary_ids.contains(*t))
        .cloned()
        .collect();
    assert_whole(&arrived, &must_keep);
    assert_whole(&arrived, &kept);
    // Binomial(600, 0.2): mean 120, standard deviation ~9.8; the tolerance
    // of 6 points (36 traces) is more than 3.5 deviations.
    let share = kept.len() as f64 / ordinary.len() as f64 * 100.0;
    assert!(
        (share - 20.0).abs() <= 6.0,
        "ordinary traces kept: {share:.1} % (want 20 % +- 6)"
    );
    // The span metrics are computed before sampling: they count every span.
    let spans_sent = (total * SPANS_PER_TRACE) as f64;
    pipeline
        .sink
        .wait_until(
            // The connectors flush every 15s (gateway.yaml).
            Duration::from_secs(150),
            "span metrics counting every span sent",
            |r| (spanmetrics_calls(r) == spans_sent).then_some(()),
        )
        .await
        .unwrap();
    // Both gateways compute service-graph edges (each from the traces routed
    // to it) and name their series, which carry no resource: without the
    // name, Prometheus would take two gateways' counters for one series.
    let both = BTreeSet::from(["gateway-0".to_string(), "gateway-1".to_string()]);
    let named_by = |r: &Received, metric: &str| -> BTreeSet<String> {
        r.metrics
            .iter()
            .filter(|m| m.name == metric)
            .map(|m| {
                m.attributes
                    .get("collector.instance.id")
                    .map(|v| v.to_string())
                    .unwrap_or_default()
            })
            .collect()
    };
    pipeline
        .sink
        .wait_until(
            Duration::from_secs(150),
            "the service graph computed at both gateways, each naming itself",
            |r| (named_by(r, "traces_service_graph_request_total") == both).then_some(()),
        )
        .await
        .unwrap();
    let received = pipeline.sink.snapshot();
    assert_eq!(
        named_by(&received, "traces.spanmetrics.calls"),
        both,
        "span metrics named by their gateway"
    );
    eprintln!(
        "sampling: kept {} of {} ordinary traces ({share:.1} %), all {} error and slow traces",
        kept.len(),
        ordinary.len(),
        must_keep.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_large_spans_reaches_a_tempo_with_grpcs_default_limit() {
    let dir = scratch_dir("pipeline-large");
    let pipeline = Pipeline::start("large", 27, &dir.0, "100", "60s", &[]).await;
    // 2,000 traces of three 3 KiB spans at once: about 18 MiB, decided
    // together, far more than one 4 MiB gRPC message to Tempo.
    let burst = traces(2000, Kind::Large);
    pipeline.send(&burst).await;
    let burst_ids = ids(&burst);
    pipeline
        .wait_arrived(Duration::from_secs(90), "every large trace, whole", |a| {
            burst_ids.iter().all(|t| complete(a, t))
        })
        .await;
    assert_whole(&pipeline.arrived(), &burst_ids);
    for host in [2, 3] {
        let failed = pipeline
            .metric(host, "otelcol_exporter_send_failed_spans", &[])
            .await;
        assert_eq!(failed, 0.0, "gateway on .{host} failed to export spans");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_killed_while_its_backend_is_down_loses_no_span() {
    let dir = scratch_dir("pipeline-crash");
    // Retries outlast the outage, so nothing is given up on.
    let mut pipeline = Pipeline::start("crash", 23, &dir.0, "100", "300s", &[]).await;
    pipeline.tempo[1].stop().await;

    // Phase 1: the second gateway takes its share and decides on it; with its
    // backend down, what it decided waits in its file queue.
    let first = traces(150, Kind::Ordinary);
    pipeline.send(&first).await;
    let spans = (first.len() * SPANS_PER_TRACE) as f64;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let accepted = pipeline
            .metric(2, "otelcol_receiver_accepted_spans", &[])
            .await
            + pipeline
                .metric(3, "otelcol_receiver_accepted_spans", &[])
                .await;
        let accepted_1 = pipeline
            .metric(3, "otelcol_receiver_accepted_spans", &[])
            .await;
        let decided_1 = pipeline
            .metric(
                3,
                "otelcol_processor_tail_sampling_global_count_traces_sampled",
                &[],
            )
            .await;
        if accepted == spans && accepted_1 > 0.0 && decided_1 * SPANS_PER_TRACE as f64 == accepted_1
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "gateways accepted {accepted} of {spans} spans; the second decided on {decided_1} traces of its {accepted_1} spans"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // SIGKILL: no shutdown, nothing flushed.
    pipeline.gateways[1].as_mut().unwrap().kill();
    // Phase 2, mid-outage: the agent holds the dead gateway's share and retries.
    let second = traces(150, Kind::Ordinary);
    pipeline.send(&second).await;
    pipeline.start_gateway(1).await;
    pipeline.tempo[1].resume().await.unwrap();

    let expected: BTreeSet<String> = ids(&first).into_iter().chain(ids(&second)).collect();
    pipeline
        .wait_arrived(
            Duration::from_secs(180),
            "every trace after the restart",
            |a| expected.iter().all(|t| complete(a, t)),
        )
        .await;
    let arrived = pipeline.arrived();
    assert_whole(&arrived, &expected);
    let through_killed = arrived
        .iter()
        .filter(|(t, b)| ids(&first).contains(*t) && b.contains_key(&1))
        .count();
    assert!(
        through_killed > 0,
        "some of the first traces went through the killed gateway"
    );
    // Delivery is at least once: a batch whose acknowledgement was lost to the
    // SIGKILL or to the outage (sent, never confirmed) is sent again, so a span
    // may arrive twice. The distinct spans must be exactly the ones sent (none
    // lost, none invented); the copies are counted and reported.
    let received_spans: usize = arrived
        .values()
        .flat_map(|b| b.values())
        .map(Vec::len)
        .sum();
    let distinct_spans: usize = arrived
        .values()
        .map(|b| b.values().flatten().collect::<BTreeSet<_>>().len())
        .sum();
    assert_eq!(
        distinct_spans,
        expected.len() * SPANS_PER_TRACE,
        "every span the agent sent arrives"
    );
    eprintln!(
        "crash: {through_killed} traces survived the SIGKILL in the file queue; \
         {distinct_spans} distinct spans arrived, {} of them again as a resent copy",
        received_spans - distinct_spans
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_one_gateway_gone_the_agent_routes_to_the_other() {
    let dir = scratch_dir("pipeline-gone");
    // The shortest retry budget the collector accepts (no less than the
    // 30s max_interval): what the gone gateway cannot take goes back to the
    // load balancer, which re-routes it on the new ring.
    let mut pipeline = Pipeline::start("gone", 24, &dir.0, "100", "30s", &[]).await;
    let before = traces(60, Kind::Ordinary);
    pipeline.send(&before).await;

    // Everything sent so far has arrived: the second gateway holds nothing.
    let before_ids = ids(&before);
    pipeline
        .wait_arrived(Duration::from_secs(60), "the first traces", |a| {
            before_ids.iter().all(|t| complete(a, t))
        })
        .await;

    // The second gateway leaves DNS and dies, mid-load.
    let killed_at = Instant::now();
    pipeline
        .hosts
        .update(&[(pipeline.gateway_name.as_str(), ip(pipeline.net, 2))]);
    pipeline.gateways[1].as_mut().unwrap().kill();
    let during = pipeline.send_until_backends(1.0).await;
    let switched_after = killed_at.elapsed();
    let after = traces(100, Kind::Ordinary);
    pipeline.send(&after).await;

    let after_ids = ids(&after);
    pipeline
        .wait_arrived(
            Duration::from_secs(60),
            "the traces sent after the change",
            |a| after_ids.iter().all(|t| complete(a, t)),
        )
        .await;
    // What the agent re-routes or gives up on settles within its retry budgets.
    let failed_metric = "otelcol_exporter_send_failed_spans";
    let during_ids = ids(&during);
    // Both retry budgets (the gateway's sub-exporter, then the load balancer).
    let deadline = Instant::now() + Duration::from_secs(120);
    let (arrived, lost_spans, failed) = loop {
        let arrived = pipeline.arrived();
        let lost_spans: usize = during_ids
            .iter()
            .map(|t| {
                let got: BTreeSet<&String> = arrived
                    .get(t)
                    .map(|b| b.values().flatten().collect())
                    .unwrap_or_default();
                SPANS_PER_TRACE - got.len()
            })
            .sum();
        let failed = pipeline.metric(1, failed_metric, &[]).await;
        if failed >= lost_spans as f64 {
            break (arrived, lost_spans, failed);
        }
        assert!(
            Instant::now() < deadline,
            "{lost_spans} spans lost, only {failed} reported in {failed_metric}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_whole(&arrived, &before_ids);
    assert_whole(&arrived, &after_ids);
    assert!(
        after_ids.iter().all(|t| arrived[t].keys().all(|g| *g == 0)),
        "after the change every trace goes through the remaining gateway"
    );
    // The gone gateway exported nothing after the change: no trace is split.
    for trace in &during_ids {
        if let Some(by_gateway) = arrived.get(trace) {
            assert_eq!(by_gateway.len(), 1, "{trace} split over gateways");
        }
    }
    eprintln!(
        "gone for good: the agent dropped the gateway after {switched_after:?}; of {} traces sent meanwhile {lost_spans} spans were lost, {failed} reported failed by the agent",
        during.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_joining_takes_its_share_and_nothing_is_lost() {
    let dir = scratch_dir("pipeline-join");
    let pipeline = Pipeline::start("join", 26, &dir.0, "100", "30s", &[]).await;
    // One gateway in DNS to begin with.
    pipeline
        .hosts
        .update(&[(pipeline.gateway_name.as_str(), ip(pipeline.net, 2))]);
    let mut before = pipeline.send_until_backends(1.0).await;
    let more = traces(60, Kind::Ordinary);
    pipeline.send(&more).await;
    before.extend(more);

    // The second gateway joins (scale up: its address appears in DNS), mid-load.
    pipeline.hosts.update(&[
        (pipeline.gateway_name.as_str(), ip(pipeline.net, 2)),
        (pipeline.gateway_name.as_str(), ip(pipeline.net, 3)),
    ]);
    let during = pipeline.send_until_backends(2.0).await;
    let after = traces(100, Kind::Ordinary);
    pipeline.send(&after).await;

    // Every span of every trace arrives, before, during and after the change.
    let all: BTreeSet<String> = ids(&before)
        .into_iter()
        .chain(ids(&during))
        .chain(ids(&after))
        .collect();
    pipeline
        .wait_arrived(Duration::from_secs(90), "every trace, whole", |a| {
            all.iter().all(|t| complete(a, t))
        })
        .await;
    let arrived = pipeline.arrived();
    // After the change each trace goes through one gateway, and the
    // newcomer takes a share.
    let after_ids = ids(&after);
    assert_whole(&arrived, &after_ids);
    let through_new = after_ids
        .iter()
        .filter(|t| arrived[*t].contains_key(&1))
        .count();
    assert!(
        (20..=80).contains(&through_new),
        "the new gateway took {through_new} of 100 traces"
    );
    // A trace whose spans were sent across a change may be split over the
    // two gateways (each then samples its part): complete, counted here.
    let split = ids(&before)
        .iter()
        .chain(&ids(&during))
        .filter(|t| arrived[*t].len() > 1)
        .count();
    eprintln!(
        "join: the new gateway took {through_new} of 100 traces after the change; {split} of {} traces sent around the changes were split over both gateways, none lost",
        before.len() + during.len()
    );
}

/// Every label name of the samples of `name` in an exposition.
fn exposed_labels(text: &str, name: &str) -> Option<BTreeSet<String>> {
    let mut found = None;
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some((series, _)) = line.rsplit_once(' ') else {
            continue;
        };
        let (metric, labels) = match series.split_once('{') {
            Some((metric, rest)) => (metric, rest.trim_end_matches('}')),
            None => (series, ""),
        };
        if metric != name {
            continue;
        }
        let names = found.get_or_insert_with(BTreeSet::new);
        for pair in labels.split("\",").filter(|p| !p.is_empty()) {
            if let Some((key, _)) = pair.split_once('=') {
                names.insert(key.trim_start_matches(',').to_string());
            }
        }
    }
    found
}

/// The agent's and gateways' own metrics the dashboards and alerts use
/// (origins `agent` and `gateway` of lab/platform/emitted-metrics.txt)
/// exist, named and labelled as the real collectors expose them, once a full
/// queue and a full sampler have been provoked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_and_a_full_sampler_show_in_the_metrics_the_alerts_use() {
    let dir = scratch_dir("pipeline-metrics");
    let pipeline = Pipeline::start(
        "metrics",
        25,
        &dir.0,
        "100",
        "300s",
        &[
            // One request in each Tempo queue and one consumer retrying the
            // batch before it, and room for 20 traces awaiting a decision.
            ("OTELCOL_TRACES_QUEUE_SIZE", "1"),
            ("OTELCOL_TRACES_QUEUE_CONSUMERS", "1"),
            ("OTELCOL_SAMPLING_NUM_TRACES", "20"),
        ],
    )
    .await;
    for tempo in &pipeline.tempo {
        tempo.stop().await;
    }
    // A burst the sampler cannot hold: the oldest traces are dropped undecided.
    pipeline.send(&traces(200, Kind::Ordinary)).await;
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        // A trickle the sampler decides on, which the full queue refuses.
        pipeline.send(&traces(4, Kind::Ordinary)).await;
        let mut enqueue_failed = 0.0;
        let mut dropped = 0.0;
        for host in [2, 3] {
            enqueue_failed += pipeline
                .metric(host, "otelcol_exporter_enqueue_failed_spans", &[])
                .await;
            dropped += pipeline
                .metric(
                    host,
                    "otelcol_processor_tail_sampling_sampling_trace_dropped_too_early",
                    &[],
                )
                .await;
        }
        if enqueue_failed > 0.0 && dropped > 0.0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "enqueue failures {enqueue_failed}, traces dropped undecided {dropped}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // A full queue is full against its capacity.
    let size = pipeline
        .metric(
            2,
            "otelcol_exporter_queue_size",
            &[("exporter", "otlp_grpc/tempo")],
        )
        .await;
    let capacity = pipeline
        .metric(
            2,
            "otelcol_exporter_queue_capacity",
            &[("exporter", "otlp_grpc/tempo")],
        )
        .await;
    assert_eq!(capacity, 1.0);
    assert!(size <= capacity);

    let gateways = format!(
        "{}{}",
        pipeline.exposition(2).await,
        pipeline.exposition(3).await
    );
    let agent = pipeline.exposition(1).await;
    let mut problems = Vec::new();
    for metric in emitted_metrics() {
        let text = match metric.origin.as_str() {
            "gateway" => &gateways,
            "agent" => &agent,
            _ => continue,
        };
        // The same exporterhelper counter as the spans' one, for signals
        // this test does not overflow.
        if [
            "otelcol_exporter_enqueue_failed_metric_points",
            "otelcol_exporter_enqueue_failed_log_records",
        ]
        .contains(&metric.name.as_str())
        {
            continue;
        }
        match exposed_labels(text, &metric.name) {
            None => problems.push(format!(
                "{} ({}) is not exposed",
                metric.name, metric.origin
            )),
            Some(labels) => {
                for label in &metric.labels {
                    if !labels.contains(label) {
                        problems.push(format!("{} has no label {label}: {labels:?}", metric.name));
                    }
                }
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}
