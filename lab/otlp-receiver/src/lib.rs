//! An in-process OTLP receiver for tests: what a collector would get from the
//! services, recorded and queryable.
//!
//! One loopback port speaks both OTLP/gRPC (the three collector services, via
//! the tonic servers generated in `opentelemetry-proto`) and OTLP/HTTP with
//! protobuf bodies (`POST /v1/traces`, `/v1/metrics`, `/v1/logs`, also under
//! Loki's `/otlp` prefix), so the same
//! [`endpoint`](OtlpReceiver::endpoint) works for `OTEL_EXPORTER_OTLP_PROTOCOL`
//! `grpc` and `http/protobuf`. Every accepted export is flattened into
//! [`Received`]; tests read it with [`read`](OtlpReceiver::read) or wait for a
//! condition with [`wait_until`](OtlpReceiver::wait_until).
//!
//! Faults a collector can have: [`stop`](OtlpReceiver::stop) (nothing listens:
//! connections are refused), [`Fault::BlackHole`] (connections are accepted,
//! nothing is ever answered), [`Fault::Slow`] (answers come late), and
//! [`restart`](OtlpReceiver::restart) (gone, then back on the same port).
//!
//! The receiver runs on its own small tokio runtime, so it keeps serving
//! whatever the test's own runtime (or thread) is doing.

mod model;

pub use model::{
    hex, Attributes, Event, LogRecord, MetricKind, MetricPoint, PointValue, Received, Resource,
    Scope, Signal, Span, SpanKind, StatusCode, Transport, Value,
};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{CONTENT_ENCODING, CONTENT_TYPE};
use hyper::{Method, Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_server::{
    LogsService, LogsServiceServer,
};
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message;
use std::convert::Infallible;
use std::fmt;
use std::io::{self, Read};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, watch};
use tokio::task::{JoinHandle, JoinSet};
use tonic::codec::CompressionEncoding;
use tonic::codegen::Service;

/// Largest export accepted over either transport (the SDK's batches are far smaller).
const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// The largest message a gRPC server takes unless configured otherwise
/// (grpc-go's default, and so the collector's OTLP receiver's and Tempo's).
pub const GRPC_DEFAULT_MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024;

/// How the receiver misbehaves while it listens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Answers every export at once.
    None,
    /// Accepts connections and requests but never answers (a hung collector or a
    /// dropped route). Stays that way for the connections it took, even after the
    /// fault is cleared, until [`OtlpReceiver::stop`] or [`OtlpReceiver::restart`].
    BlackHole,
    /// Answers each export (and records it) only after this delay.
    Slow(Duration),
}

/// A condition did not become true in time.
pub struct WaitTimeout {
    what: String,
    waited: Duration,
    summary: String,
}

impl fmt::Display for WaitTimeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "timed out after {:?} waiting for {}; received so far: {}",
            self.waited, self.what, self.summary
        )
    }
}

// `expect` prints Debug: make it the readable message.
impl fmt::Debug for WaitTimeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for WaitTimeout {}

struct Shared {
    received: Mutex<Received>,
    fault: Mutex<Fault>,
    /// Bumped on every recorded export, so waiters wake on news instead of polling.
    changes: watch::Sender<u64>,
    /// Largest gRPC export message taken; a larger one is refused with
    /// RESOURCE_EXHAUSTED, as a gRPC server does.
    grpc_max_message: AtomicUsize,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A test that panicked while reading must not hide what the others recorded.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    fn fault(&self) -> Fault {
        *lock(&self.fault)
    }

    fn record(&self, add: impl FnOnce(&mut Received)) {
        add(&mut lock(&self.received));
        self.changes.send_modify(|generation| *generation += 1);
    }
}

/// The accept loop currently listening, and how to end it.
struct Listening {
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

/// See the crate documentation.
pub struct OtlpReceiver {
    shared: Arc<Shared>,
    port: u16,
    ip: std::net::IpAddr,
    /// `Option` only so `Drop` can shut it down without blocking (tests drop it inside async code).
    runtime: Option<tokio::runtime::Runtime>,
    handle: tokio::runtime::Handle,
    listening: Mutex<Option<Listening>>,
}

impl OtlpReceiver {
    /// Starts listening on a free loopback port.
    pub fn start() -> io::Result<Self> {
        Self::start_at(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
    }

    /// Starts listening on `address`: where a test stands in for a named
    /// backend at its real port (Tempo's 4317, Loki's 3100) on a loopback
    /// address of its own.
    pub fn start_at(address: SocketAddr) -> io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("otlp-receiver")
            .enable_all()
            .build()?;
        let listener = std::net::TcpListener::bind(address)?;
        let address = listener.local_addr()?;
        let port = address.port();
        let receiver = Self {
            shared: Arc::new(Shared {
                received: Mutex::new(Received::default()),
                fault: Mutex::new(Fault::None),
                changes: watch::Sender::new(0),
                grpc_max_message: AtomicUsize::new(MAX_BODY_BYTES),
            }),
            port,
            ip: address.ip(),
            handle: runtime.handle().clone(),
            runtime: Some(runtime),
            listening: Mutex::new(None),
        };
        receiver.listen(listener)?;
        Ok(receiver)
    }

    /// `http://<ip>:<port>`: the value for `OTEL_EXPORTER_OTLP_ENDPOINT`, whatever the protocol.
    pub fn endpoint(&self) -> String {
        format!("http://{}", SocketAddr::new(self.ip, self.port))
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Whether something listens on the port (false between [`stop`](Self::stop) and [`resume`](Self::resume)).
    pub fn is_listening(&self) -> bool {
        lock(&self.listening).is_some()
    }

    /// Changes how new connections and requests are treated.
    pub fn set_fault(&self, fault: Fault) {
        *lock(&self.shared.fault) = fault;
    }

    /// Refuses gRPC exports larger than `bytes` (after decompression), as a
    /// backend left at gRPC's default does with
    /// [`GRPC_DEFAULT_MAX_MESSAGE_BYTES`]. The default here is 64 MiB.
    pub fn limit_grpc_messages(&self, bytes: usize) {
        self.shared.grpc_max_message.store(bytes, Ordering::Relaxed);
    }

    /// Stops listening and closes every open connection: from now on connections are refused.
    pub async fn stop(&self) {
        let listening = lock(&self.listening).take();
        if let Some(Listening { stop, task }) = listening {
            let _ = stop.send(());
            // Once the task is over, the listener and every connection are closed.
            let _ = task.await;
        }
    }

    /// Listens again on the same port, with no fault.
    pub async fn resume(&self) -> io::Result<()> {
        if self.is_listening() {
            return Ok(());
        }
        self.set_fault(Fault::None);
        let address = SocketAddr::new(self.ip, self.port);
        // The port was just ours; a moment of TIME_WAIT or a closing socket is the only contention.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        let listener = loop {
            match std::net::TcpListener::bind(address) {
                Ok(listener) => break listener,
                Err(error) if tokio::time::Instant::now() >= deadline => return Err(error),
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        };
        self.listen(listener)
    }

    /// A collector restart: [`stop`](Self::stop), then [`resume`](Self::resume) on the same port.
    pub async fn restart(&self) -> io::Result<()> {
        self.stop().await;
        self.resume().await
    }

    /// Forgets everything received so far.
    pub fn clear(&self) {
        *lock(&self.shared.received) = Received::default();
    }

    /// Runs `query` over what was received so far.
    pub fn read<T>(&self, query: impl FnOnce(&Received) -> T) -> T {
        query(&lock(&self.shared.received))
    }

    /// A copy of what was received so far.
    pub fn snapshot(&self) -> Received {
        self.read(Clone::clone)
    }

    /// Waits until `probe` returns `Some` (re-evaluated whenever an export arrives) or
    /// `within` has passed. `what` names the condition in the timeout error.
    /// Call it from a tokio runtime with timers enabled (as `#[tokio::test]` has).
    pub async fn wait_until<T>(
        &self,
        within: Duration,
        what: &str,
        mut probe: impl FnMut(&Received) -> Option<T>,
    ) -> Result<T, WaitTimeout> {
        let deadline = tokio::time::Instant::now() + within;
        let mut changes = self.shared.changes.subscribe();
        loop {
            // Marked seen before probing, so an export landing during the probe wakes us.
            changes.borrow_and_update();
            if let Some(found) = self.read(&mut probe) {
                return Ok(found);
            }
            if tokio::time::timeout_at(deadline, changes.changed())
                .await
                .is_err()
            {
                return self.read(&mut probe).ok_or_else(|| WaitTimeout {
                    what: what.to_owned(),
                    waited: within,
                    summary: self.read(Received::summary),
                });
            }
        }
    }

    fn listen(&self, listener: std::net::TcpListener) -> io::Result<()> {
        listener.set_nonblocking(true)?;
        let (stop, stopped) = oneshot::channel();
        let shared = self.shared.clone();
        let task = self.handle.spawn(async move {
            match TcpListener::from_std(listener) {
                Ok(listener) => serve(listener, shared, stopped).await,
                Err(error) => eprintln!("otlp-receiver: cannot listen: {error}"),
            }
        });
        *lock(&self.listening) = Some(Listening { stop, task });
        Ok(())
    }
}

impl Drop for OtlpReceiver {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// Accepts until told to stop; then every connection task is ended before returning.
async fn serve(listener: TcpListener, shared: Arc<Shared>, mut stopped: oneshot::Receiver<()>) {
    // Tells requests parked by a fault that the server is gone, so they end with it.
    let (closing, closed) = watch::channel(false);
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut stopped => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    connections.spawn(connection(stream, shared.clone(), closed.clone()));
                }
                Err(error) => eprintln!("otlp-receiver: accept failed: {error}"),
            },
            // Reap finished connections so a long test does not accumulate them.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    let _ = closing.send(true);
    drop(listener);
    connections.shutdown().await;
}

async fn connection(stream: TcpStream, shared: Arc<Shared>, closed: watch::Receiver<bool>) {
    if shared.fault() == Fault::BlackHole {
        // Holds the socket without reading from it or answering, until the server stops.
        let _held = stream;
        wait_closed(closed).await;
        return;
    }
    let service = hyper::service::service_fn(move |request| {
        let shared = shared.clone();
        let closed = closed.clone();
        async move { Ok::<_, Infallible>(respond(request, shared, closed).await) }
    });
    // HTTP/1.1 for OTLP/HTTP, HTTP/2 with prior knowledge for gRPC, told apart by the preface.
    let _ = auto::Builder::new(TokioExecutor::new())
        .serve_connection(TokioIo::new(stream), service)
        .await;
}

async fn wait_closed(mut closed: watch::Receiver<bool>) {
    let _ = closed.wait_for(|closed| *closed).await;
}

type ResponseBody = tonic::body::Body;

async fn respond(
    request: Request<Incoming>,
    shared: Arc<Shared>,
    closed: watch::Receiver<bool>,
) -> Response<ResponseBody> {
    match shared.fault() {
        Fault::None => {}
        Fault::BlackHole => {
            wait_closed(closed).await;
            return status_response(503, "the receiver stopped");
        }
        Fault::Slow(delay) => {
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = wait_closed(closed) => return status_response(503, "the receiver stopped"),
            }
        }
    }
    let path = request.uri().path().to_owned();
    let gzipped = ["grpc-encoding", "content-encoding"].iter().any(|name| {
        request
            .headers()
            .get(*name)
            .is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"gzip"))
    });
    if gzipped {
        shared.record(|r| r.gzip_requests += 1);
    }
    let grpc = Grpc(shared.clone());
    // By default exports as large as the HTTP path takes: tests with big
    // attributes must not hit tonic's 4 MiB default unless they ask to.
    let grpc_max = shared.grpc_max_message.load(Ordering::Relaxed);
    let answered = if path.starts_with("/opentelemetry.proto.collector.trace.v1.TraceService/") {
        TraceServiceServer::new(grpc)
            .max_decoding_message_size(grpc_max)
            .accept_compressed(CompressionEncoding::Gzip)
            .call(request)
            .await
    } else if path.starts_with("/opentelemetry.proto.collector.metrics.v1.MetricsService/") {
        MetricsServiceServer::new(grpc)
            .max_decoding_message_size(grpc_max)
            .accept_compressed(CompressionEncoding::Gzip)
            .call(request)
            .await
    } else if path.starts_with("/opentelemetry.proto.collector.logs.v1.LogsService/") {
        LogsServiceServer::new(grpc)
            .max_decoding_message_size(grpc_max)
            .accept_compressed(CompressionEncoding::Gzip)
            .call(request)
            .await
    } else {
        Ok(http_export(request, &path, &shared).await)
    };
    answered.unwrap_or_else(|never: Infallible| match never {})
}

fn status_response(status: u16, message: &str) -> Response<ResponseBody> {
    Response::builder()
        .status(status)
        .header(CONTENT_TYPE, "text/plain")
        .body(ResponseBody::new(Full::new(Bytes::from(
            message.to_owned(),
        ))))
        .expect("a static response is valid")
}

/// OTLP/HTTP with binary protobuf bodies, optionally gzip-compressed.
async fn http_export(
    request: Request<Incoming>,
    path: &str,
    shared: &Shared,
) -> Response<ResponseBody> {
    // Loki takes OTLP under /otlp (the collector's otlp_http exporter appends
    // /v1/logs to the configured http://loki:3100/otlp).
    let signal = match path.strip_prefix("/otlp").unwrap_or(path) {
        "/v1/traces" => Signal::Traces,
        "/v1/metrics" => Signal::Metrics,
        "/v1/logs" => Signal::Logs,
        _ => return status_response(404, "not an OTLP path"),
    };
    if request.method() != Method::POST {
        return status_response(405, "OTLP/HTTP takes POST");
    }
    let header = |name| {
        request
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_ascii_lowercase()
    };
    if !header(CONTENT_TYPE).starts_with("application/x-protobuf") {
        return status_response(415, "only application/x-protobuf is supported");
    }
    let gzipped = header(CONTENT_ENCODING) == "gzip";
    let body = match Limited::new(request.into_body(), MAX_BODY_BYTES)
        .collect()
        .await
    {
        Ok(collected) => collected.to_bytes(),
        Err(error) => return status_response(400, &format!("cannot read the body: {error}")),
    };
    let body = if gzipped {
        let mut plain = Vec::new();
        if let Err(error) = flate2::read::GzDecoder::new(&body[..]).read_to_end(&mut plain) {
            return status_response(400, &format!("bad gzip body: {error}"));
        }
        Bytes::from(plain)
    } else {
        body
    };
    let decoded = match signal {
        Signal::Traces => ExportTraceServiceRequest::decode(body).map(|request| {
            shared.record(|r| r.add_traces(&request, Transport::HttpProtobuf));
            ExportTraceServiceResponse::default().encode_to_vec()
        }),
        Signal::Metrics => ExportMetricsServiceRequest::decode(body).map(|request| {
            shared.record(|r| r.add_metrics(&request, Transport::HttpProtobuf));
            ExportMetricsServiceResponse::default().encode_to_vec()
        }),
        Signal::Logs => ExportLogsServiceRequest::decode(body).map(|request| {
            shared.record(|r| r.add_logs(&request, Transport::HttpProtobuf));
            ExportLogsServiceResponse::default().encode_to_vec()
        }),
    };
    match decoded {
        Ok(answer) => Response::builder()
            .status(200)
            .header(CONTENT_TYPE, "application/x-protobuf")
            .body(ResponseBody::new(Full::new(Bytes::from(answer))))
            .expect("a protobuf response is valid"),
        Err(error) => status_response(400, &format!("not an OTLP protobuf message: {error}")),
    }
}

/// The three gRPC collector services over one store.
struct Grpc(Arc<Shared>);

#[tonic::async_trait]
impl TraceService for Grpc {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let request = request.into_inner();
        self.0.record(|r| r.add_traces(&request, Transport::Grpc));
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

#[tonic::async_trait]
impl MetricsService for Grpc {
    async fn export(
        &self,
        request: tonic::Request<ExportMetricsServiceRequest>,
    ) -> Result<tonic::Response<ExportMetricsServiceResponse>, tonic::Status> {
        let request = request.into_inner();
        self.0.record(|r| r.add_metrics(&request, Transport::Grpc));
        Ok(tonic::Response::new(ExportMetricsServiceResponse::default()))
    }
}

#[tonic::async_trait]
impl LogsService for Grpc {
    async fn export(
        &self,
        request: tonic::Request<ExportLogsServiceRequest>,
    ) -> Result<tonic::Response<ExportLogsServiceResponse>, tonic::Status> {
        let request = request.into_inner();
        self.0.record(|r| r.add_logs(&request, Transport::Grpc));
        Ok(tonic::Response::new(ExportLogsServiceResponse::default()))
    }
}
