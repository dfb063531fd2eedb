//! The `minibank` binary: `serve <service>` from the environment, `up` for a person to try.
//! Each test starts the binary as a child process and stops it by its handle.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{Value, json};

const BINARY: &str = env!("CARGO_BIN_EXE_minibank");

/// A running child whose stdout lines arrive on a channel; killed on drop.
struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Running {
    fn start(command: &mut Command) -> Self {
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
    fn read_until(&self, mut done: impl FnMut(&str) -> bool) -> Vec<String> {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
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

fn clean_env(command: &mut Command) -> &mut Command {
    for (name, _) in std::env::vars() {
        if name.starts_with("MINIBANK_") || name.starts_with("OTEL_") {
            command.env_remove(name);
        }
    }
    command
}

#[tokio::test]
async fn serve_runs_one_service_from_the_environment_and_logs_json() {
    let dir = tempfile::tempdir().unwrap();
    let running = Running::start(
        clean_env(&mut Command::new(BINARY))
            .args(["serve", "ledger"])
            .env("MINIBANK_BIND", "127.0.0.1:0")
            .env(
                "MINIBANK_DATABASE_URL",
                format!("sqlite://{}", dir.path().join("ledger.db").display()),
            ),
    );
    let lines = running.read_until(|line| line.contains("\"listening\""));
    let listening: Value = serde_json::from_str(lines.last().unwrap()).unwrap();
    assert_eq!(listening["service"], "ledger");
    let addr = listening["addr"].as_str().unwrap();
    let ready = reqwest::get(format!("http://{addr}/health/ready"))
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    assert!(dir.path().join("ledger.db").exists());
}

#[test]
fn serve_without_required_configuration_exits_naming_the_missing_variable() {
    let output = clean_env(&mut Command::new(BINARY))
        .args(["serve", "auth"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("MINIBANK_LEDGER_URL"), "{stderr}");
}

#[test]
fn an_unknown_service_name_is_refused() {
    let output = Command::new(BINARY)
        .args(["serve", "treasury"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("treasury"));
}

#[tokio::test]
async fn up_prints_where_everything_listens_and_operator_credentials_that_work() {
    let dir = tempfile::tempdir().unwrap();
    let running = Running::start(
        clean_env(&mut Command::new(BINARY))
            .args(["up", "--edge-addr", "127.0.0.1:0", "--ephemeral-sink-ports"])
            .arg("--data-dir")
            .arg(dir.path()),
    );
    let lines = running.read_until(|line| line.contains("press Ctrl-C"));
    let value_after = |label: &str| {
        lines
            .iter()
            .find_map(|line| {
                let mut words = line.split_whitespace();
                (words.next() == Some(label)).then(|| words.next().unwrap_or_default().to_owned())
            })
            .unwrap_or_else(|| panic!("no `{label}` line in {lines:#?}"))
    };
    let edge = value_after("edge");
    for service in ["auth", "ledger", "payments", "webhooks"] {
        assert!(value_after(service).starts_with("http://127.0.0.1:"));
    }
    let response = reqwest::Client::new()
        .post(format!("{edge}/v1/tokens"))
        .json(&json!({"client_id": value_after("client_id"), "client_secret": value_after("client_secret")}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers().contains_key("traceresponse"));
}
