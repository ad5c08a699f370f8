//! Stderr for the log lines, written by a thread of its own: a request thread
//! only copies its line into a buffer, and under load one `write` carries every
//! line queued in the last few milliseconds, instead of one system call per
//! line on the thread that serves the request.
//!
//! An idle writer is woken by the first line (so `docker logs` and the tests
//! that read a service's start-up line see it at once); after each write it
//! lingers a few milliseconds, so a busy service pays one wake-up and one write
//! per batch, not per line. [`flush`] waits until everything queued is written;
//! the logging guard calls it last. A process killed outright (`SIGKILL`, an
//! abort) loses what was queued: at most the last few milliseconds' lines.

use std::io::{self, Write};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

/// A burst larger than this waits for the writer instead of growing the buffer without bound.
const MAX_QUEUED_BYTES: usize = 1 << 20;
/// How long the writer lets lines gather after a write: the most a line waits under load.
const LINGER: Duration = Duration::from_millis(5);

#[derive(Default)]
struct Queue {
    lines: Vec<u8>,
    /// The writer thread holds a batch it has taken but not yet written.
    writing: bool,
    /// The writer thread waits for a line (rather than lingering or writing): wake it.
    writer_waiting: bool,
}

#[derive(Default)]
struct Shared {
    queue: Mutex<Queue>,
    /// Signalled when the queue stops being empty.
    queued: Condvar,
    /// Signalled after each batch is written.
    written: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        // A panic while holding the lock leaves only bytes behind: keep logging.
        self.queue
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

static SHARED: OnceLock<Arc<Shared>> = OnceLock::new();

/// The process's stderr line writer (the thread starts on first use).
pub(crate) fn writer() -> StderrLines {
    let shared = SHARED.get_or_init(|| {
        let shared = Arc::new(Shared::default());
        let for_thread = Arc::clone(&shared);
        std::thread::Builder::new()
            .name("stderr-lines".into())
            .spawn(move || write_batches(&for_thread, &mut io::stderr()))
            .expect("the stderr writer thread starts");
        shared
    });
    StderrLines(Arc::clone(shared))
}

/// Waits until every line queued so far has reached stderr.
pub(crate) fn flush() {
    if let Some(shared) = SHARED.get() {
        wait_until_written(shared);
    }
}

/// What env_logger writes to: each `write` queues bytes, `flush` is a no-op
/// (env_logger flushes after every record, which would undo the batching).
pub(crate) struct StderrLines(Arc<Shared>);

impl Write for StderrLines {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let shared = &self.0;
        let mut queue = shared.lock();
        if queue.lines.len() > MAX_QUEUED_BYTES {
            queue = shared
                .written
                .wait_while(queue, |queue| queue.lines.len() > MAX_QUEUED_BYTES)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
        queue.lines.extend_from_slice(bytes);
        // Only a waiting writer is woken: a notify is a system call even when nobody waits.
        let wake = std::mem::take(&mut queue.writer_waiting);
        drop(queue);
        if wake {
            shared.queued.notify_one();
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn write_batches(shared: &Shared, out: &mut impl Write) {
    let mut batch = Vec::new();
    loop {
        {
            let mut queue = shared.lock();
            while queue.lines.is_empty() {
                queue.writer_waiting = true;
                queue = shared
                    .queued
                    .wait(queue)
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
            }
            queue.writer_waiting = false;
            // Swap buffers: the request threads keep appending to the emptied one.
            std::mem::swap(&mut batch, &mut queue.lines);
            queue.writing = true;
        }
        // Nowhere to report a failed write to stderr; the lines are dropped.
        let _ = out.write_all(&batch).and_then(|()| out.flush());
        batch.clear();
        shared.lock().writing = false;
        shared.written.notify_all();
        std::thread::sleep(LINGER);
    }
}

fn wait_until_written(shared: &Shared) {
    drop(
        shared
            .written
            .wait_while(shared.lock(), |queue| {
                !queue.lines.is_empty() || queue.writing
            })
            .unwrap_or_else(|poisoned| poisoned.into_inner()),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer that records each `write_all` batch.
    #[derive(Clone, Default)]
    struct Batches(Arc<Mutex<Vec<Vec<u8>>>>);

    impl Write for Batches {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().push(bytes.to_vec());
            Ok(bytes.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn lines_queued_while_the_writer_is_busy_share_one_write_in_order() {
        let shared = Arc::new(Shared::default());
        let mut lines = StderrLines(Arc::clone(&shared));
        // Queued before the writer thread exists: as if it were busy with an earlier batch.
        let expected: Vec<String> = (0..2_000).map(|i| format!("line {i}\n")).collect();
        for line in &expected {
            lines.write_all(line.as_bytes()).unwrap();
        }
        let out = Batches::default();
        let (for_thread, mut sink) = (Arc::clone(&shared), out.clone());
        std::thread::spawn(move || write_batches(&for_thread, &mut sink));
        wait_until_written(&shared);
        assert_eq!(
            out.0.lock().unwrap().clone(),
            vec![expected.concat().into_bytes()]
        );

        // An idle writer takes a new line at once, and flush waits for it.
        lines.write_all(b"one more\n").unwrap();
        wait_until_written(&shared);
        assert_eq!(out.0.lock().unwrap().last().unwrap(), b"one more\n");
    }
}
