//! Running the `minibank` binary in a test: a child process whose stdout lines arrive on a
//! channel, killed when the test drops it. Shared by the tests of the binary's commands and the
//! README walk-through.

#![allow(dead_code)] // each test file uses its own part

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The binary cargo built for these tests.
pub const BINARY: &str = env!("CARGO_BIN_EXE_minibank");

/// How long a child may take to print what a test waits for.
const PATIENCE: Duration = Duration::from_secs(30);

/// A running child whose stdout lines arrive on a channel; killed on drop.
pub struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Running {
    /// Spawns `command` with its stdout piped.
    pub fn start(command: &mut Command) -> Self {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the minibank binary starts");
        let stdout = child.stdout.take().unwrap();
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        Self { child, lines }
    }

    /// Lines until `done` says stop; fails after 30 s without it.
    pub fn read_until(&self, mut done: impl FnMut(&str) -> bool) -> Vec<String> {
        let deadline = std::time::Instant::now() + PATIENCE;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let line = self
                .lines
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("expected output did not come; got {seen:#?}"));
            let stop = done(&line);
            seen.push(line);
            if stop {
                return seen;
            }
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Removes the caller's `MINIBANK_*` and `OTEL_*` variables, so only what the test sets counts.
pub fn clean_env(command: &mut Command) -> &mut Command {
    for (name, _) in std::env::vars() {
        if name.starts_with("MINIBANK_") || name.starts_with("OTEL_") {
            command.env_remove(name);
        }
    }
    command
}

/// The first word after `label` on the first line that starts with it (`up` prints
/// `  edge      http://…`).
pub fn value_after(lines: &[String], label: &str) -> String {
    lines
        .iter()
        .find_map(|line| {
            let mut words = line.split_whitespace();
            (words.next() == Some(label)).then(|| words.next().unwrap_or_default().to_owned())
        })
        .unwrap_or_else(|| panic!("no `{label}` line in {lines:#?}"))
}
