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

/// Lines kept; older lines are dropped first.
pub const MAX_LINES: usize = 200_000;

/// The bounded buffer of captured JSON log lines.
#[derive(Default)]
pub struct LogCapture {
    lines: Mutex<VecDeque<String>>,
    /// False when another global subscriber was already installed (then nothing is captured).
    installed: bool,
}

static CAPTURE: OnceLock<Arc<LogCapture>> = OnceLock::new();

impl LogCapture {
    /// Install the process-wide capturing subscriber (first call only) and return the buffer.
    pub fn install() -> Arc<LogCapture> {
        CAPTURE
            .get_or_init(|| {
                let lines = Arc::new(LogCapture {
                    lines: Mutex::new(VecDeque::new()),
                    installed: true,
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
        self.lines.lock().len()
    }

    /// Whether no line is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn push(&self, bytes: &[u8]) {
        let text = String::from_utf8_lossy(bytes);
        let mut lines = self.lines.lock();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            if lines.len() == MAX_LINES {
                lines.pop_front();
            }
            lines.push_back(line.to_string());
        }
    }
}

#[async_trait]
impl LogReader for LogCapture {
    async fn lines_mentioning(&self, needle: &str) -> Vec<Value> {
        let matching: Vec<String> = self
            .lines
            .lock()
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
