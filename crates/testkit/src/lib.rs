//! Starts and stops the processes of the tests and tools, once for all of
//! them: the end-to-end, browser and platform checks, the services' own
//! process tests, and the benchmark harness.
//!
//! - [`binary`] and [`target_dir`] find what cargo built;
//! - [`Process`] runs one child in its own process group: its output is
//!   copied to log files, it is signalled through `rustix` (SIGTERM, SIGINT),
//!   killed with its whole group when dropped, and every failure (and a
//!   panicking test) shows the last lines of its output;
//! - a service binary starts on `PORT=0` and its real port is read back from
//!   its own "started application ... on port N" line, then `/readyz` is
//!   polled: no test picks a port and hopes it stays free;
//! - [`StackBuilder`] wires the stack once: geolocator and iss-distance (with
//!   the ISS API it is pointed at), the gateway on both, the frontend on the
//!   gateway; a stand-in program (the benchmark's bare-stack) can take a
//!   service's place;
//! - [`ClosedPort`] is an address that refuses connections for as long as it
//!   is held.

mod paths;
mod ports;
mod process;
mod stack;

pub use paths::{binary, log_dir, target_dir, workspace_root, Profile};
pub use ports::ClosedPort;
pub use process::{Process, ProcessError, Signal};
pub use stack::{with_location, Protocol, Stack, StackBuilder, SERVICES};
