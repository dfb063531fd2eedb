//! Log capture for the in-process driver: one process-wide `tracing` subscriber that formats
//! every event as a JSON line (with the fields of the current span and of every span above it,
//! so the `trace_id`/`span_id` a service puts on its request span appear on each line) and
//! keeps the newest lines in a bounded in-memory buffer instead of printing them.
//!
//! A process has one global subscriber, so this is installed at most once (a `OnceLock`) and
//! only by the in-process driver. What is captured is chosen by the `ACCEPTANCE_LOG` variable
//! (an `EnvFilter` directive), default [`DEFAULT_FILTER`].

use std::{
    collections::VecDeque,
    io,
    sync::{Arc, OnceLock},
};

use async_trait::async_trait;
use parking_lot::Mutex;
use serde_json::Value;
use tracing_subscriber::{EnvFilter, fmt::MakeWriter};

use crate::LogReader;

/// Capture filter when `ACCEPTANCE_LOG` is unset: the platform's info lines, not its libraries'.
pub const DEFAULT_FILTER: &str = "info,h2=warn,hyper=warn,hyper_util=warn,sqlx=warn,tower=warn,reqwest=warn,wiremock=warn,opentelemetry=warn";

/// Bytes of log lines kept (about 50,000 typical lines); older lines are dropped first.
pub const MAX_BYTES: usize = 32 * 1024 * 1024;

/// The bounded buffer of captured JSON log lines.
#[derive(Default)]
pub struct LogCapture {
    lines: Mutex<Lines>,
    /// False when another global subscriber was already installed (then nothing is captured).
    installed: bool,
    /// Bytes of lines kept ([`MAX_BYTES`] for the process-wide capture).
    max_bytes: usize,
}

static CAPTURE: OnceLock<Arc<LogCapture>> = OnceLock::new();

impl LogCapture {
    /// Install the process-wide capturing subscriber (first call only) and return the buffer.
    pub fn install() -> Arc<LogCapture> {
        CAPTURE
            .get_or_init(|| {
                let lines = Arc::new(LogCapture {
                    lines: Mutex::new(Lines::default()),
                    installed: true,
                    max_bytes: MAX_BYTES,
                });
                let filter = EnvFilter::try_from_env("ACCEPTANCE_LOG")
                    .unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
                let subscriber = tracing_subscriber::fmt()
                    .json()
                    .with_current_span(true)
                    .with_span_list(true)
                    .with_env_filter(filter)
                    .with_writer(BufferWriter(lines.clone()))
                    .finish();
                match tracing::subscriber::set_global_default(subscriber) {
                    Ok(()) => lines,
                    Err(_) => Arc::new(LogCapture::default()),
                }
            })
            .clone()
    }

    /// Whether this process's logs are really being captured.
    pub fn is_capturing(&self) -> bool {
        self.installed
    }

    /// Number of lines currently held.
    pub fn len(&self) -> usize {
        self.lines.lock().held.len()
    }

    /// Whether no line is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn push(&self, bytes: &[u8]) {
        let text = String::from_utf8_lossy(bytes);
        let mut lines = self.lines.lock();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            lines.bytes += line.len();
            lines.held.push_back(line.to_string());
        }
        while lines.bytes > self.max_bytes {
            match lines.held.pop_front() {
                Some(oldest) => lines.bytes -= oldest.len(),
                None => break,
            }
        }
    }
}

/// The held lines and their total size.
#[derive(Default)]
struct Lines {
    held: VecDeque<String>,
    bytes: usize,
}

#[async_trait]
impl LogReader for LogCapture {
    async fn lines_mentioning(&self, needle: &str) -> Vec<Value> {
        let matching: Vec<String> = self
            .lines
            .lock()
            .held
            .iter()
            .filter(|line| line.contains(needle))
            .cloned()
            .collect();
        matching
            .iter()
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect()
    }
}

/// Hands the formatter one [`EventWriter`] per event.
struct BufferWriter(Arc<LogCapture>);

impl<'a> MakeWriter<'a> for BufferWriter {
    type Writer = EventWriter;
    fn make_writer(&'a self) -> EventWriter {
        EventWriter {
            capture: self.0.clone(),
            bytes: Vec::with_capacity(512),
        }
    }
}

/// Collects one formatted event and stores it when dropped, so partial writes never interleave.
struct EventWriter {
    capture: Arc<LogCapture>,
    bytes: Vec<u8>,
}

impl io::Write for EventWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for EventWriter {
    fn drop(&mut self) {
        if !self.bytes.is_empty() {
            self.capture.push(&self.bytes);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_oldest_lines_go_first_once_the_buffer_is_full() {
        let capture = LogCapture {
            max_bytes: 40,
            ..LogCapture::default()
        };
        for i in 0..5 {
            capture.push(format!("{{\"n\":{i},\"pad\":\"xxxx\"}}\n").as_bytes());
        }
        // Each line is 20 bytes: only the newest two fit.
        assert_eq!(capture.len(), 2);
        let kept = capture.lines_mentioning("pad").await;
        assert_eq!(kept[0]["n"], 3);
        assert_eq!(kept[1]["n"], 4);
    }
}
