//! Every container's output, captured: one follower task per container start streams its
//! stdout and stderr (with Docker's timestamps, so following again after a restart skips what
//! was already read) into one bounded in-memory buffer. The services log JSON lines carrying
//! `trace_id` and `span_id`, so the lines of a trace are found by its id ([`LogReader`]).

use std::{collections::HashMap, collections::VecDeque, sync::Arc};

use async_trait::async_trait;
use futures::StreamExt as _;
use parking_lot::Mutex;
use serde_json::Value;
use testcontainers::bollard::{Docker, container::LogOutput, query_parameters::LogsOptionsBuilder};

use crate::LogReader;

/// Lines kept over all containers; older lines are dropped first.
pub const MAX_LINES: usize = 200_000;

/// One captured line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// The component (service name or `collector`) whose container printed it.
    pub component: String,
    /// The line as printed, without Docker's timestamp.
    pub text: String,
}

/// The captured output of a run's containers.
#[derive(Default)]
pub struct ContainerLogs {
    lines: Mutex<VecDeque<Line>>,
    /// Newest Docker timestamp read per component (RFC 3339 with nanoseconds, so text order is
    /// time order).
    last_seen: Mutex<HashMap<String, String>>,
}

impl ContainerLogs {
    /// Follows the output of container `id` (as `component`) from its start until it stops,
    /// skipping lines already captured. Call again after the container is started again.
    pub fn follow(
        self: &Arc<Self>,
        docker: Docker,
        component: &str,
        id: &str,
    ) -> tokio::task::JoinHandle<()> {
        let logs = self.clone();
        let component = component.to_owned();
        let id = id.to_owned();
        tokio::spawn(async move {
            let options = LogsOptionsBuilder::default()
                .follow(true)
                .stdout(true)
                .stderr(true)
                .timestamps(true)
                .build();
            let mut stream = docker.logs(&id, Some(options));
            let mut partial = String::new();
            while let Some(Ok(output)) = stream.next().await {
                let bytes = match output {
                    LogOutput::StdOut { message }
                    | LogOutput::StdErr { message }
                    | LogOutput::Console { message } => message,
                    LogOutput::StdIn { .. } => continue,
                };
                partial.push_str(&String::from_utf8_lossy(&bytes));
                while let Some(end) = partial.find('\n') {
                    let line: String = partial.drain(..=end).collect();
                    logs.push_stamped(&component, line.trim_end());
                }
            }
            if !partial.trim().is_empty() {
                logs.push_stamped(&component, partial.trim_end());
            }
        })
    }

    /// Adds a `<timestamp> <text>` line unless a line that new was already captured.
    fn push_stamped(&self, component: &str, stamped: &str) {
        let (stamp, text) = stamped.split_once(' ').unwrap_or(("", stamped));
        {
            let mut last_seen = self.last_seen.lock();
            let last = last_seen.entry(component.to_owned()).or_default();
            if !stamp.is_empty() && stamp <= last.as_str() {
                return;
            }
            *last = stamp.to_owned();
        }
        self.push(component, text);
    }

    /// Adds a line.
    pub fn push(&self, component: &str, text: &str) {
        if text.trim().is_empty() {
            return;
        }
        let mut lines = self.lines.lock();
        if lines.len() == MAX_LINES {
            lines.pop_front();
        }
        lines.push_back(Line {
            component: component.to_owned(),
            text: text.to_owned(),
        });
    }

    /// The last `n` lines of one component, oldest first (for a container that would not start).
    pub fn tail(&self, component: &str, n: usize) -> Vec<String> {
        let lines = self.lines.lock();
        let mut tail: Vec<String> = lines
            .iter()
            .rev()
            .filter(|l| l.component == component)
            .take(n)
            .map(|l| l.text.clone())
            .collect();
        tail.reverse();
        tail
    }

    /// Writes every component's lines to `<dir>/<component>.log` (for reading after the run,
    /// when the containers are gone); the file names written.
    pub fn write_to(&self, dir: &std::path::Path) -> std::io::Result<Vec<std::path::PathBuf>> {
        std::fs::create_dir_all(dir)?;
        let mut by_component: HashMap<String, String> = HashMap::new();
        for line in self.lines.lock().iter() {
            let text = by_component.entry(line.component.clone()).or_default();
            text.push_str(&line.text);
            text.push('\n');
        }
        let mut written = Vec::new();
        for (component, text) in by_component {
            let path = dir.join(format!("{component}.log"));
            std::fs::write(&path, text)?;
            written.push(path);
        }
        Ok(written)
    }

    /// Number of lines held.
    pub fn len(&self) -> usize {
        self.lines.lock().len()
    }

    /// Whether no line is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A captured line as JSON: the service's own JSON line with `container` added, or, for a
/// line that is not JSON (a panic message), `{"container", "message"}`.
fn to_json(line: &Line) -> Value {
    match serde_json::from_str::<Value>(&line.text) {
        Ok(Value::Object(mut map)) => {
            map.entry("container")
                .or_insert_with(|| Value::String(line.component.clone()));
            Value::Object(map)
        }
        _ => serde_json::json!({"container": line.component, "message": line.text}),
    }
}

#[async_trait]
impl LogReader for ContainerLogs {
    async fn lines_mentioning(&self, needle: &str) -> Vec<Value> {
        let matching: Vec<Line> = self
            .lines
            .lock()
            .iter()
            .filter(|l| l.text.contains(needle))
            .cloned()
            .collect();
        matching.iter().map(to_json).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn lines_are_found_by_trace_id_and_name_their_container() {
        let logs = ContainerLogs::default();
        logs.push_stamped(
            "payments",
            r#"2026-01-01T00:00:00.000000001Z {"trace_id":"abc","message":"held"}"#,
        );
        logs.push_stamped(
            "payments",
            "2026-01-01T00:00:00.000000002Z thread panicked abc",
        );
        logs.push_stamped(
            "ledger",
            r#"2026-01-01T00:00:00.000000003Z {"trace_id":"other"}"#,
        );
        let found = logs.lines_mentioning("abc").await;
        assert_eq!(found.len(), 2);
        assert_eq!(found[0]["container"], "payments");
        assert_eq!(found[0]["message"], "held");
        assert_eq!(found[1]["message"], "thread panicked abc");
    }

    #[test]
    fn each_component_gets_its_own_log_file() {
        let logs = ContainerLogs::default();
        logs.push("edge", "a");
        logs.push("ledger", "b");
        logs.push("edge", "c");
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(logs.write_to(dir.path()).unwrap().len(), 2);
        let edge = std::fs::read_to_string(dir.path().join("edge.log")).unwrap();
        assert_eq!(edge, "a\nc\n");
    }

    #[test]
    fn following_again_after_a_restart_skips_lines_already_read() {
        let logs = ContainerLogs::default();
        logs.push_stamped("edge", "2026-01-01T00:00:01.000000000Z first");
        logs.push_stamped("edge", "2026-01-01T00:00:02.000000000Z second");
        // A new follower replays from the start of the container's log.
        logs.push_stamped("edge", "2026-01-01T00:00:01.000000000Z first");
        logs.push_stamped("edge", "2026-01-01T00:00:02.000000000Z second");
        logs.push_stamped("edge", "2026-01-01T00:00:03.000000000Z third");
        assert_eq!(logs.tail("edge", 10), ["first", "second", "third"]);
    }
}
