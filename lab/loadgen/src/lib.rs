//! An HTTP/1.1 load generator for the stack's services.
//!
//! Open loop at a fixed rate (latency from each request's due time, so a slow
//! answer cannot hide the requests queued behind it) or closed loop at a fixed
//! concurrency; bounded by a duration and a request count; loopback targets
//! only unless told otherwise; HDR-histogram percentiles as JSON and text.
//! The benchmark harness (`lab/bench`) drives the `loadgen` binary and reads
//! its JSON [`Report`].

pub mod args;
pub mod engine;
pub mod report;
pub mod targets;

pub use engine::{run, LoadConfig, Mode};
pub use report::{Percentiles, Report};
pub use targets::{Plan, CITIES};
