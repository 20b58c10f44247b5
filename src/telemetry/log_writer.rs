//! Log lines written off the request path: a thread that formats nothing appends each line to a
//! shared buffer, and one writer thread hands the whole buffer to stdout in one `write` — so a
//! busy service makes one system call per batch of lines instead of one per line.
//!
//! No line is lost: a full buffer ([`MAX_PENDING_BYTES`]) makes the logging thread wait for the
//! writer instead of dropping lines, and [`LogGuard`] — held by `main` until the process ends —
//! writes out everything still buffered before it returns.

use std::{
    io::{self, Write},
    sync::{Arc, Condvar, Mutex, MutexGuard},
    thread::JoinHandle,
    time::Duration,
};

use tracing_subscriber::fmt::MakeWriter;

/// Lines buffered before a logging thread waits for the writer.
pub const MAX_PENDING_BYTES: usize = 8 << 20;

/// How long the writer lets lines gather after the first one of a batch arrives.
const BATCH_WINDOW: Duration = Duration::from_millis(1);

#[derive(Default)]
struct Pending {
    lines: Vec<u8>,
    writer_waiting: bool,
    closed: bool,
}

#[derive(Default)]
struct Shared {
    pending: Mutex<Pending>,
    /// Wakes the writer when lines arrive or at close.
    arrived: Condvar,
    /// Wakes logging threads waiting for room.
    drained: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The `MakeWriter` the subscriber formats into.
pub struct BufferedStdout {
    shared: Arc<Shared>,
}

/// Writes out every buffered line, then stops the writer thread, when dropped.
pub struct LogGuard {
    shared: Arc<Shared>,
    writer: Option<JoinHandle<()>>,
}

/// A writer for log lines and the guard that flushes it; the writer thread starts now.
pub fn buffered_stdout() -> (BufferedStdout, LogGuard) {
    let shared = Arc::new(Shared::default());
    let writer_shared = Arc::clone(&shared);
    let writer = std::thread::Builder::new()
        .name("log-writer".into())
        .spawn(move || write_batches(&writer_shared, &mut io::stdout()))
        .expect("start the log writer thread");
    (BufferedStdout { shared: Arc::clone(&shared) }, LogGuard { shared, writer: Some(writer) })
}

/// The writer thread: waits for lines, lets a batch gather, writes it whole; at close, writes
/// what is left and returns.
fn write_batches(shared: &Shared, out: &mut impl Write) {
    let mut batch = Vec::new();
    loop {
        let mut pending = shared.lock();
        while pending.lines.is_empty() && !pending.closed {
            pending.writer_waiting = true;
            pending = shared.arrived.wait(pending).unwrap_or_else(|poisoned| poisoned.into_inner());
        }
        let closing = pending.closed;
        if !closing {
            drop(pending);
            std::thread::sleep(BATCH_WINDOW);
            pending = shared.lock();
        }
        std::mem::swap(&mut batch, &mut pending.lines);
        drop(pending);
        shared.drained.notify_all();
        // A failed write (stdout closed) cannot be logged; the lines are dropped, never retried
        // in a loop.
        let _ = out.write_all(&batch).and_then(|()| out.flush());
        batch.clear();
        if closing && shared.lock().lines.is_empty() {
            return;
        }
    }
}

impl Shared {
    /// Appends `bytes` after everything written before, waiting while the buffer is full.
    fn append(&self, bytes: &[u8]) {
        let mut pending = self.lock();
        while pending.lines.len() >= MAX_PENDING_BYTES && !pending.closed {
            pending = self.drained.wait(pending).unwrap_or_else(|poisoned| poisoned.into_inner());
        }
        pending.lines.extend_from_slice(bytes);
        if std::mem::take(&mut pending.writer_waiting) {
            self.arrived.notify_one();
        }
    }
}

impl Write for &BufferedStdout {
    fn write(&mut self, line: &[u8]) -> io::Result<usize> {
        self.shared.append(line);
        Ok(line.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for BufferedStdout {
    type Writer = &'a BufferedStdout;

    fn make_writer(&'a self) -> Self::Writer {
        self
    }
}

impl LogGuard {
    /// Prints `text` on stdout after every log line written before it.
    pub fn print(&self, text: &str) {
        self.shared.append(text.as_bytes());
    }
}

impl Drop for LogGuard {
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.arrived.notify_one();
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer thread over an in-memory sink, as `buffered_stdout` starts one over stdout.
    fn writer_into(sink: Arc<Mutex<Vec<u8>>>) -> (BufferedStdout, LogGuard) {
        struct Sink(Arc<Mutex<Vec<u8>>>);
        impl Write for Sink {
            fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(bytes);
                Ok(bytes.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let shared = Arc::new(Shared::default());
        let writer_shared = Arc::clone(&shared);
        let writer = std::thread::spawn(move || write_batches(&writer_shared, &mut Sink(sink)));
        (BufferedStdout { shared: Arc::clone(&shared) }, LogGuard { shared, writer: Some(writer) })
    }

    #[test]
    fn every_line_from_every_thread_is_written_whole_once_the_guard_drops() {
        let sink = Arc::new(Mutex::new(Vec::new()));
        let (writer, guard) = writer_into(Arc::clone(&sink));
        let writer = Arc::new(writer);
        let threads: Vec<_> = (0..4)
            .map(|thread| {
                let writer = Arc::clone(&writer);
                std::thread::spawn(move || {
                    for line in 0..5_000 {
                        let text = format!("thread {thread} line {line} {}\n", "x".repeat(line % 300));
                        (&*writer).write_all(text.as_bytes()).unwrap();
                    }
                })
            })
            .collect();
        threads.into_iter().for_each(|thread| thread.join().unwrap());
        guard.print("last\n");
        drop(guard);
        let output = String::from_utf8(sink.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = output.lines().collect();
        assert_eq!(lines.len(), 4 * 5_000 + 1);
        assert_eq!(lines.last(), Some(&"last"));
        for thread in 0..4 {
            let mine: Vec<&str> =
                lines.iter().copied().filter(|l| l.starts_with(&format!("thread {thread} "))).collect();
            for (line, text) in mine.iter().enumerate() {
                assert_eq!(*text, format!("thread {thread} line {line} {}", "x".repeat(line % 300)));
            }
        }
    }

    #[test]
    fn a_full_buffer_makes_the_logging_thread_wait_instead_of_dropping() {
        let sink = Arc::new(Mutex::new(Vec::new()));
        let held = Arc::clone(&sink);
        // The sink is locked, so the writer thread blocks on its first batch and the buffer fills.
        let blocked = held.lock().unwrap();
        let (writer, guard) = writer_into(Arc::clone(&sink));
        let line = vec![b'x'; 1 << 16];
        let filler = std::thread::spawn(move || {
            for _ in 0..(3 * MAX_PENDING_BYTES / line.len()) {
                (&writer).write_all(&line).unwrap();
            }
        });
        std::thread::sleep(Duration::from_millis(200));
        assert!(!filler.is_finished(), "the logging thread waits while the buffer is full");
        assert!(guard.shared.lock().lines.len() <= MAX_PENDING_BYTES + (1 << 16));
        drop(blocked);
        filler.join().unwrap();
        drop(guard);
        assert_eq!(sink.lock().unwrap().len(), 3 * MAX_PENDING_BYTES);
    }
}
