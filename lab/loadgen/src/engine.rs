//! The two load models and the HTTP/1.1 exchange.
//!
//! Open loop: request `i` is due at `t0 + i / rate` whatever happened before,
//! and its latency counts from that due time. A service that stalls for a
//! second is thereby charged for every request that should have been sent
//! during the stall (no coordinated omission), as a real user population would
//! see it. Due times come from a dedicated OS thread sleeping with
//! `thread::sleep` (tens of µs of slack) rather than the 1 ms tokio timer
//! wheel, so the generator adds little lateness of its own.
//!
//! Closed loop: `concurrency` clients each send the next request as soon as
//! the previous one is answered; latency counts from send. It measures the
//! throughput a service sustains, not what users wait.

use crate::report::{new_histogram, Percentiles, Report};
use crate::targets::{Plan, Prepared};
use bytes::Bytes;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::http1::SendRequest;
use hyper::http::{header, Request};
use hyper_util::rt::TokioIo;
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, Mutex};

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mode {
    /// Fixed arrival rate (requests per second) over a pool of connections.
    Open { rate: f64, connections: usize },
    /// Fixed number of requests in flight, one connection each.
    Closed { concurrency: usize },
}

#[derive(Debug, Clone)]
pub struct LoadConfig {
    pub mode: Mode,
    /// Stop scheduling after this long.
    pub duration: Duration,
    /// Stop after this many requests (open loop: defaults to `rate * duration`).
    pub max_requests: Option<u64>,
    /// Deadline per request; in the open loop it runs from the due time.
    pub timeout: Duration,
    /// Load applied and discarded before measuring (connections, caches and JIT-like warm-up).
    pub warmup: Duration,
    pub progress: bool,
}

/// What one worker saw.
struct Tally {
    latency: Histogram<u64>,
    service: Histogram<u64>,
    ok: u64,
    errors: BTreeMap<String, u64>,
    bytes: u64,
}

impl Tally {
    fn new() -> Self {
        Self {
            latency: new_histogram(),
            service: new_histogram(),
            ok: 0,
            errors: BTreeMap::new(),
            bytes: 0,
        }
    }

    fn merge(&mut self, other: Tally) {
        self.latency.add(&other.latency).expect("same bounds");
        self.service.add(&other.service).expect("same bounds");
        self.ok += other.ok;
        for (kind, n) in other.errors {
            *self.errors.entry(kind).or_default() += n;
        }
        self.bytes += other.bytes;
    }

    fn error(&mut self, kind: String, progress: &Progress) {
        *self.errors.entry(kind).or_default() += 1;
        progress.errors.fetch_add(1, Ordering::Relaxed);
        progress.done.fetch_add(1, Ordering::Relaxed);
    }

    fn success(&mut self, latency: Duration, service: Duration, bytes: u64, progress: &Progress) {
        let micros =
            |d: Duration| (d.as_micros() as u64).clamp(1, crate::report::HISTOGRAM_MAX_MICROS);
        self.latency.record(micros(latency)).expect("clamped");
        self.service.record(micros(service)).expect("clamped");
        self.ok += 1;
        self.bytes += bytes;
        progress.done.fetch_add(1, Ordering::Relaxed);
    }
}

#[derive(Default)]
struct Progress {
    sent: AtomicU64,
    done: AtomicU64,
    errors: AtomicU64,
}

/// Why a request failed before a status came back.
#[derive(Debug)]
enum ExchangeError {
    Connect,
    Io,
}

/// One keep-alive HTTP/1.1 connection, reopened after any failure.
struct Connection {
    address: SocketAddr,
    sender: Option<SendRequest<Empty<Bytes>>>,
}

impl Connection {
    fn new(address: SocketAddr) -> Self {
        Self {
            address,
            sender: None,
        }
    }

    async fn open(&mut self) -> Result<&mut SendRequest<Empty<Bytes>>, ExchangeError> {
        if self.sender.as_ref().is_some_and(|s| !s.is_closed()) {
            return Ok(self.sender.as_mut().expect("checked"));
        }
        let stream = TcpStream::connect(self.address)
            .await
            .map_err(|_| ExchangeError::Connect)?;
        // Requests are tiny: without NODELAY, Nagle + delayed ACK add up to 40 ms.
        stream
            .set_nodelay(true)
            .map_err(|_| ExchangeError::Connect)?;
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|_| ExchangeError::Io)?;
        tokio::spawn(async move {
            // Ends when the sender is dropped or the peer closes; errors surface on the sender.
            let _ = connection.await;
        });
        Ok(self.sender.insert(sender))
    }

    /// Sends `request` and reads the whole body; returns (status, body bytes).
    async fn exchange(&mut self, request: &Prepared) -> Result<(u16, u64), ExchangeError> {
        let result = self.try_exchange(request).await;
        if result.is_err() {
            self.sender = None;
        }
        result
    }

    async fn try_exchange(&mut self, request: &Prepared) -> Result<(u16, u64), ExchangeError> {
        let sender = self.open().await?;
        sender.ready().await.map_err(|_| ExchangeError::Io)?;
        let http_request = Request::get(request.path_and_query.clone())
            .header(header::HOST, request.host.clone())
            .header(
                header::USER_AGENT,
                concat!("loadgen/", env!("CARGO_PKG_VERSION")),
            )
            .body(Empty::<Bytes>::new())
            .expect("valid request parts");
        let response = sender
            .send_request(http_request)
            .await
            .map_err(|_| ExchangeError::Io)?;
        let status = response.status().as_u16();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|_| ExchangeError::Io)?;
        Ok((status, body.to_bytes().len() as u64))
    }

    /// One request with a deadline, tallied. `due` is when the latency clock starts.
    async fn measured(
        &mut self,
        request: &Prepared,
        due: Instant,
        deadline: Instant,
        tally: &mut Tally,
        progress: &Progress,
    ) {
        let sent = Instant::now();
        progress.sent.fetch_add(1, Ordering::Relaxed);
        let outcome = tokio::time::timeout_at(deadline.into(), self.exchange(request)).await;
        let now = Instant::now();
        match outcome {
            Ok(Ok((status, bytes))) if (200..300).contains(&status) => {
                tally.success(now - due, now - sent, bytes, progress)
            }
            Ok(Ok((status, _))) => tally.error(format!("status {status}"), progress),
            Ok(Err(ExchangeError::Connect)) => tally.error("connect".into(), progress),
            Ok(Err(ExchangeError::Io)) => tally.error("io".into(), progress),
            Err(_) => {
                // The request may be half done; this connection is no longer usable.
                self.sender = None;
                tally.error("timeout".into(), progress)
            }
        }
    }
}

struct Job {
    index: u64,
    due: Instant,
}

async fn open_loop(
    plan: Arc<Plan>,
    address: SocketAddr,
    rate: f64,
    connections: usize,
    total: u64,
    timeout: Duration,
    progress: Arc<Progress>,
) -> Tally {
    let (sender, receiver) = mpsc::unbounded_channel::<Job>();
    let receiver = Arc::new(Mutex::new(receiver));
    let t0 = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let dispatcher = {
        let stop = stop.clone();
        std::thread::Builder::new()
            .name("loadgen-schedule".into())
            .spawn(move || {
                for index in 0..total {
                    let due = t0 + Duration::from_secs_f64(index as f64 / rate);
                    let now = Instant::now();
                    if due > now {
                        std::thread::sleep(due - now);
                    }
                    if stop.load(Ordering::Relaxed) || sender.send(Job { index, due }).is_err() {
                        break;
                    }
                }
            })
            .expect("spawn the scheduling thread")
    };
    let mut workers = Vec::new();
    for _ in 0..connections {
        let receiver = receiver.clone();
        let plan = plan.clone();
        let progress = progress.clone();
        workers.push(tokio::spawn(async move {
            let mut tally = Tally::new();
            let mut connection = Connection::new(address);
            loop {
                // Whoever holds the lock takes the next due request; the others queue behind it.
                let job = receiver.lock().await.recv().await;
                let Some(job) = job else { break };
                let deadline = job.due + timeout;
                if Instant::now() >= deadline {
                    // Queued past its deadline behind busy connections: a timeout as the user sees it.
                    progress.sent.fetch_add(1, Ordering::Relaxed);
                    tally.error("timeout".into(), &progress);
                    continue;
                }
                let request = &plan.requests[(job.index % plan.requests.len() as u64) as usize];
                connection
                    .measured(request, job.due, deadline, &mut tally, &progress)
                    .await;
            }
            tally
        }));
    }
    let tally = merge_workers(workers).await;
    stop.store(true, Ordering::Relaxed);
    dispatcher.join().expect("scheduling thread does not panic");
    tally
}

async fn closed_loop(
    plan: Arc<Plan>,
    address: SocketAddr,
    concurrency: usize,
    total: u64,
    duration: Duration,
    timeout: Duration,
    progress: Arc<Progress>,
) -> Tally {
    let end = Instant::now() + duration;
    let next = Arc::new(AtomicU64::new(0));
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let plan = plan.clone();
        let progress = progress.clone();
        let next = next.clone();
        workers.push(tokio::spawn(async move {
            let mut tally = Tally::new();
            let mut connection = Connection::new(address);
            loop {
                if Instant::now() >= end {
                    break;
                }
                let index = next.fetch_add(1, Ordering::Relaxed);
                if index >= total {
                    break;
                }
                let request = &plan.requests[(index % plan.requests.len() as u64) as usize];
                let now = Instant::now();
                connection
                    .measured(request, now, now + timeout, &mut tally, &progress)
                    .await;
            }
            tally
        }));
    }
    merge_workers(workers).await
}

/// The workers' tallies as one.
async fn merge_workers(workers: Vec<tokio::task::JoinHandle<Tally>>) -> Tally {
    let mut tally = Tally::new();
    for worker in workers {
        match worker.await {
            Ok(part) => tally.merge(part),
            Err(error) => panic!("load worker failed: {error}"),
        }
    }
    tally
}

/// Prints a progress line every second on a terminal (rewritten in place), every ten otherwise.
fn spawn_progress(progress: Arc<Progress>, planned: Option<u64>) -> tokio::task::JoinHandle<()> {
    let tty = std::io::stderr().is_terminal();
    let every = Duration::from_secs(if tty { 1 } else { 10 });
    tokio::spawn(async move {
        let started = Instant::now();
        let mut ticker = tokio::time::interval(every);
        ticker.tick().await;
        let mut last_done = 0;
        loop {
            ticker.tick().await;
            let done = progress.done.load(Ordering::Relaxed);
            let rate = (done - last_done) as f64 / every.as_secs_f64();
            last_done = done;
            let of = planned.map(|p| format!("/{p}")).unwrap_or_default();
            let line = format!(
                "[{:>5.0} s] sent {}{of}  done {done}  errors {}  {rate:.0} req/s",
                started.elapsed().as_secs_f64(),
                progress.sent.load(Ordering::Relaxed),
                progress.errors.load(Ordering::Relaxed),
            );
            if tty {
                eprint!("\r{line}\x1b[K");
            } else {
                eprintln!("{line}");
            }
        }
    })
}

async fn apply(
    plan: &Arc<Plan>,
    address: SocketAddr,
    mode: Mode,
    duration: Duration,
    max_requests: Option<u64>,
    timeout: Duration,
    progress: Arc<Progress>,
) -> Tally {
    match mode {
        Mode::Open { rate, connections } => {
            let by_time = (rate * duration.as_secs_f64()).floor() as u64;
            let total = max_requests.map_or(by_time, |cap| cap.min(by_time));
            open_loop(
                plan.clone(),
                address,
                rate,
                connections,
                total,
                timeout,
                progress,
            )
            .await
        }
        Mode::Closed { concurrency } => {
            closed_loop(
                plan.clone(),
                address,
                concurrency,
                max_requests.unwrap_or(u64::MAX),
                duration,
                timeout,
                progress,
            )
            .await
        }
    }
}

/// Runs the load against `plan` at `address` and reports what it measured.
pub async fn run(plan: Plan, address: SocketAddr, config: &LoadConfig) -> Report {
    let plan = Arc::new(plan);
    if !config.warmup.is_zero() {
        apply(
            &plan,
            address,
            config.mode,
            config.warmup,
            None,
            config.timeout,
            Arc::new(Progress::default()),
        )
        .await;
    }
    let progress = Arc::new(Progress::default());
    let planned = match config.mode {
        Mode::Open { rate, .. } => {
            let by_time = (rate * config.duration.as_secs_f64()).floor() as u64;
            Some(config.max_requests.map_or(by_time, |cap| cap.min(by_time)))
        }
        Mode::Closed { .. } => config.max_requests,
    };
    let ticker = config
        .progress
        .then(|| spawn_progress(progress.clone(), planned));
    let started = Instant::now();
    let tally = apply(
        &plan,
        address,
        config.mode,
        config.duration,
        config.max_requests,
        config.timeout,
        progress,
    )
    .await;
    let elapsed = started.elapsed().as_secs_f64();
    if let Some(ticker) = ticker {
        ticker.abort();
        if std::io::stderr().is_terminal() {
            eprintln!();
        }
    }
    let errors: u64 = tally.errors.values().sum();
    let requests = tally.ok + errors;
    let (mode, rate, concurrency, connections) = match config.mode {
        Mode::Open { rate, connections } => ("open", Some(rate), None, connections),
        Mode::Closed { concurrency } => ("closed", None, Some(concurrency), concurrency),
    };
    Report {
        targets: plan.templates.clone(),
        mode: mode.into(),
        rate,
        concurrency,
        connections,
        duration_limit_s: config.duration.as_secs_f64(),
        request_limit: config.max_requests,
        elapsed_s: elapsed,
        requests,
        ok: tally.ok,
        errors,
        errors_by_kind: tally.errors,
        throughput_rps: if elapsed > 0.0 {
            requests as f64 / elapsed
        } else {
            0.0
        },
        latency_ms: Percentiles::from_histogram(&tally.latency),
        service_time_ms: Percentiles::from_histogram(&tally.service),
        bytes_received: tally.bytes,
    }
}
