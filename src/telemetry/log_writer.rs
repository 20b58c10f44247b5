//! Log lines written off the request path: a thread that formats nothing appends each line to a
//! shared buffer, and one writer thread hands the whole buffer to stdout in one `write` — so a
//! busy service makes one system call per batch of lines instead of one per line.
//!
//! What happens when stdout does not keep up and the buffer is full ([`MAX_PENDING_BYTES`]) is
//! `log_when_full` ([`WhenFull`]):
//!
//! - `drop` (the default): the line is dropped and counted, so a stalled log pipe never stalls
//!   the service; once a line fits again, one warning line says how many were dropped, from when
//!   to when;
//! - `wait`: no line is lost. A request waits — without holding a worker thread — for room
//!   before its access line ([`room_for_a_line`]); the probes' lines go past the cap
//!   ([`past_the_cap`]), so `/healthz` and `/readyz` answer while stdout is stuck; any other line
//!   waits for the writer.
//!
//! [`LogGuard`] — held by `main` until the process ends — writes out everything still buffered
//! before it returns.

use std::{
    cell::Cell,
    io::{self, Write},
    sync::{
        Arc, Condvar, Mutex, MutexGuard, OnceLock,
        atomic::{AtomicU64, Ordering},
    },
    thread::JoinHandle,
    time::{Duration, Instant, SystemTime},
};

use serde::Deserialize;
use tokio::sync::Notify;
use tracing_subscriber::fmt::MakeWriter;

use super::LogFormat;

/// Lines buffered before a line is dropped or waits for the writer.
pub const MAX_PENDING_BYTES: usize = 8 << 20;

/// How long the writer lets lines gather after the first one of a batch arrives. Each wake-up
/// takes the CPU from a worker: under load, the writer thread cost 0.33 µs per request with a
/// 1 ms window, and 0.08 µs with this one (wake-ups a hundred times a second).
const BATCH_WINDOW: Duration = Duration::from_millis(10);

/// What happens to a log line when the buffer is full (`log_when_full`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WhenFull {
    /// Drop it and count it: availability first.
    #[default]
    Drop,
    /// Wait for room: every line is written.
    Wait,
}

/// Lines dropped since the last line that was written.
struct Dropping {
    since: SystemTime,
    lines: u64,
}

#[derive(Default)]
struct Pending {
    lines: Vec<u8>,
    writer_waiting: bool,
    closed: bool,
    dropping: Option<Dropping>,
}

struct Shared {
    pending: Mutex<Pending>,
    /// Wakes the writer when lines arrive or at close.
    arrived: Condvar,
    /// Wakes logging threads waiting for room.
    drained: Condvar,
    /// Wakes requests waiting for room.
    room: Notify,
    when_full: WhenFull,
    format: LogFormat,
    dropped: AtomicU64,
    on_drop: OnceLock<Box<dyn Fn(u64) + Send + Sync>>,
}

/// The writer of the installed subscriber, for [`room_for_a_line`].
static INSTALLED: OnceLock<Arc<Shared>> = OnceLock::new();

thread_local! {
    /// Set while a line that may go past the cap is logged.
    static PAST_THE_CAP: Cell<bool> = const { Cell::new(false) };
}

impl Shared {
    fn new(when_full: WhenFull, format: LogFormat) -> Self {
        Shared {
            pending: Mutex::default(),
            arrived: Condvar::new(),
            drained: Condvar::new(),
            room: Notify::new(),
            when_full,
            format,
            dropped: AtomicU64::new(0),
            on_drop: OnceLock::new(),
        }
    }

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

/// A writer for log lines in `format` that does `when_full` when the buffer is full, and the
/// guard that flushes it; the writer thread starts now.
pub fn buffered_stdout(when_full: WhenFull, format: LogFormat) -> (BufferedStdout, LogGuard) {
    let shared = Arc::new(Shared::new(when_full, format));
    let writer_shared = Arc::clone(&shared);
    let writer = std::thread::Builder::new()
        .name("log-writer".into())
        .spawn(move || write_batches(&writer_shared, &mut io::stdout()))
        .expect("start the log writer thread");
    (BufferedStdout { shared: Arc::clone(&shared) }, LogGuard { shared, writer: Some(writer) })
}

/// Completes when the installed writer has room for a line: at once unless `log_when_full` is
/// `wait` and the buffer is full. A request awaits it before its access line, so waiting holds
/// no worker thread.
pub async fn room_for_a_line() {
    let Some(shared) = INSTALLED.get().filter(|shared| shared.when_full == WhenFull::Wait) else {
        return;
    };
    loop {
        let room = shared.room.notified();
        if shared.lock().lines.len() < MAX_PENDING_BYTES {
            return;
        }
        room.await;
    }
}

/// The installed writer's buffer, when its lines are JSON: for a line the service formats itself
/// ([`json_lines::write_event_line`](super::json_lines::write_event_line)), which goes in as a
/// line from the subscriber does — the same cap, the same `log_when_full`.
pub(super) fn installed_json_writer() -> Option<impl Fn(&str)> {
    let shared = INSTALLED.get().filter(|shared| shared.format == LogFormat::Json)?;
    Some(|line: &str| shared.append(line.as_bytes()))
}

/// Runs `log`, whose lines go into the buffer even when it is full instead of waiting: for the
/// probes' access lines, which must never wait for a stuck stdout.
pub fn past_the_cap<R>(log: impl FnOnce() -> R) -> R {
    PAST_THE_CAP.with(|flag| flag.set(true));
    let result = log();
    PAST_THE_CAP.with(|flag| flag.set(false));
    result
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
        shared.room.notify_waiters();
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
    /// Appends `bytes` after everything written before, when there is room; when the buffer is
    /// full, drops them or waits, as `when_full` says.
    fn append(&self, bytes: &[u8]) {
        let mut pending = self.lock();
        let past_the_cap = PAST_THE_CAP.with(Cell::get);
        if pending.lines.len() >= MAX_PENDING_BYTES && !pending.closed && !past_the_cap {
            match self.when_full {
                WhenFull::Drop => {
                    pending.dropping.get_or_insert_with(|| Dropping { since: SystemTime::now(), lines: 0 }).lines += 1;
                    drop(pending);
                    self.dropped.fetch_add(1, Ordering::Relaxed);
                    if let Some(count) = self.on_drop.get() {
                        count(1);
                    }
                    return;
                }
                WhenFull::Wait => {
                    while pending.lines.len() >= MAX_PENDING_BYTES && !pending.closed {
                        pending = self.drained.wait(pending).unwrap_or_else(|poisoned| poisoned.into_inner());
                    }
                }
            }
        }
        // Only a line that fits ends a run of dropped lines; a probe's line past the cap does not.
        if pending.lines.len() < MAX_PENDING_BYTES
            && let Some(dropping) = pending.dropping.take()
        {
            let notice = dropped_notice(self.format, &dropping, SystemTime::now());
            pending.lines.extend_from_slice(notice.as_bytes());
        }
        pending.lines.extend_from_slice(bytes);
        if std::mem::take(&mut pending.writer_waiting) {
            self.arrived.notify_one();
        }
    }
}

/// The warning line written once lines fit again after some were dropped.
fn dropped_notice(format: LogFormat, dropping: &Dropping, now: SystemTime) -> String {
    let (since, until) = (humantime::format_rfc3339_micros(dropping.since), humantime::format_rfc3339_micros(now));
    let message = format!(
        "{} log lines dropped from {since} to {until}: stdout did not keep up (log_when_full = drop)",
        dropping.lines
    );
    match format {
        LogFormat::Json => format!(
            "{{\"timestamp\":\"{until}\",\"level\":\"WARN\",\"message\":\"{message}\",\"dropped_lines\":{}}}\n",
            dropping.lines
        ),
        LogFormat::Text => format!("{until}  WARN {message}\n"),
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
    /// Makes this writer the one [`room_for_a_line`] waits on: the global subscriber's.
    pub(super) fn install(&self) {
        let _ = INSTALLED.set(Arc::clone(&self.shared));
    }

    /// Prints `text` on stdout after every log line written before it.
    pub fn print(&self, text: &str) {
        self.shared.append(text.as_bytes());
    }

    /// How many lines were dropped so far.
    pub fn dropped_lines(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed)
    }

    /// Calls `count` with the number of lines dropped, each time some are (once per line); the
    /// lines dropped before are counted at once.
    pub fn count_drops_with(&self, count: impl Fn(u64) + Send + Sync + 'static) {
        let before = self.dropped_lines();
        if self.shared.on_drop.set(Box::new(count)).is_ok()
            && before > 0
            && let Some(count) = self.shared.on_drop.get()
        {
            count(before);
        }
    }

    /// Writes out every buffered line if stdout takes them within `bound`; returns whether it
    /// did. Past the bound the writer thread is left behind (stdout is stuck) and the lines it
    /// still holds are lost with the process.
    pub fn close_within(mut self, bound: Duration) -> bool {
        self.close();
        let Some(writer) = self.writer.take() else { return true };
        let deadline = Instant::now() + bound;
        while !writer.is_finished() {
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(CLOSE_POLL);
        }
        let _ = writer.join();
        true
    }

    fn close(&self) {
        self.shared.lock().closed = true;
        self.shared.arrived.notify_one();
    }
}

/// How often [`LogGuard::close_within`] looks whether the writer is done.
const CLOSE_POLL: Duration = Duration::from_millis(5);

impl Drop for LogGuard {
    fn drop(&mut self) {
        self.close();
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer thread over an in-memory sink, as `buffered_stdout` starts one over stdout.
    fn writer_into(sink: Arc<Mutex<Vec<u8>>>, when_full: WhenFull) -> (BufferedStdout, LogGuard) {
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
        let shared = Arc::new(Shared::new(when_full, LogFormat::Json));
        let writer_shared = Arc::clone(&shared);
        let writer = std::thread::spawn(move || write_batches(&writer_shared, &mut Sink(sink)));
        (BufferedStdout { shared: Arc::clone(&shared) }, LogGuard { shared, writer: Some(writer) })
    }

    #[test]
    fn every_line_from_every_thread_is_written_whole_once_the_guard_drops() {
        let sink = Arc::new(Mutex::new(Vec::new()));
        let (writer, guard) = writer_into(Arc::clone(&sink), WhenFull::Wait);
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
    fn when_waiting_a_full_buffer_makes_the_logging_thread_wait_instead_of_dropping() {
        let sink = Arc::new(Mutex::new(Vec::new()));
        let held = Arc::clone(&sink);
        // The sink is locked, so the writer thread blocks on its first batch and the buffer fills.
        let blocked = held.lock().unwrap();
        let (writer, guard) = writer_into(Arc::clone(&sink), WhenFull::Wait);
        let line = vec![b'x'; 1 << 16];
        let filler = std::thread::spawn(move || {
            for _ in 0..(3 * MAX_PENDING_BYTES / line.len()) {
                (&writer).write_all(&line).unwrap();
            }
        });
        std::thread::sleep(Duration::from_millis(200));
        assert!(!filler.is_finished(), "the logging thread waits while the buffer is full");
        assert!(guard.shared.lock().lines.len() <= MAX_PENDING_BYTES + (1 << 16));
        past_the_cap(|| (&BufferedStdout { shared: Arc::clone(&guard.shared) }).write_all(b"probe\n").unwrap());
        drop(blocked);
        filler.join().unwrap();
        drop(guard);
        assert_eq!(sink.lock().unwrap().len(), 3 * MAX_PENDING_BYTES + 6, "every line, the probe's too");
    }

    #[test]
    fn when_dropping_a_full_buffer_drops_and_counts_then_says_so_once() {
        let sink = Arc::new(Mutex::new(Vec::new()));
        let held = Arc::clone(&sink);
        let blocked = held.lock().unwrap();
        let (writer, guard) = writer_into(Arc::clone(&sink), WhenFull::Drop);
        let counted = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&counted);
        guard.count_drops_with(move |lines| {
            counter.fetch_add(lines, Ordering::Relaxed);
        });
        let mut line = vec![b'x'; (1 << 16) - 1];
        line.push(b'\n');
        // The writer takes the first line and blocks on the sink; the buffer then fills.
        (&writer).write_all(&line).unwrap();
        std::thread::sleep(Duration::from_millis(50));
        let fit = MAX_PENDING_BYTES / line.len();
        for _ in 0..(fit + 10) {
            (&writer).write_all(&line).unwrap();
        }
        assert_eq!(guard.dropped_lines(), 10, "the logging thread never waited");
        assert_eq!(counted.load(Ordering::Relaxed), 10, "counted for the metrics");
        drop(blocked);
        std::thread::sleep(Duration::from_millis(100));
        (&writer).write_all(b"after\n").unwrap();
        drop(guard);
        let text = String::from_utf8(sink.lock().unwrap().clone()).unwrap();
        assert_eq!(text.lines().filter(|line| line.starts_with('x')).count(), fit + 1, "the lines that fit");
        let notices: Vec<&str> = text.lines().filter(|line| line.contains("log lines dropped")).collect();
        assert_eq!(notices.len(), 1, "one warning line");
        let notice: serde_json::Value = serde_json::from_str(notices[0]).unwrap();
        assert_eq!(notice["level"], "WARN");
        assert_eq!(notice["dropped_lines"], 10);
        assert!(text.ends_with("after\n"));
    }
}
