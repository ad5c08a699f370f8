//! End-to-end telemetry tests: the four real service binaries (built by
//! `cargo build --workspace --bins`) exporting to an in-process OTLP receiver.
//! One test binary, so the tests share one link step and run in parallel.

mod cardinality;
mod client_address;
mod contract;
mod errors;
mod exporters;
mod faults;
mod memory;
mod prometheus;
mod resource;
mod sdk_switches;
mod shutdown;
mod support;
