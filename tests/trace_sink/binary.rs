//! The standalone `trace-sink` binary: flags, startup line, serving.

use std::process::Stdio;

use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::Command;

use crate::support::http_client;

#[tokio::test]
async fn the_binary_serves_on_the_addresses_its_flags_name() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_trace-sink"))
        .args([
            "--grpc-addr",
            "127.0.0.1:0",
            "--http-addr",
            "127.0.0.1:0",
            "--query-addr",
            "127.0.0.1:0",
            "--max-spans",
            "1000",
        ])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("trace-sink starts");
    let stdout = child.stdout.take().expect("stdout piped");
    let line = BufReader::new(stdout)
        .lines()
        .next_line()
        .await
        .expect("read stdout")
        .expect("a startup line");
    let query = line
        .split_whitespace()
        .skip_while(|w| *w != "query")
        .nth(1)
        .expect("query URL on the startup line")
        .to_owned();
    let services: serde_json::Value = http_client()
        .get(format!("{query}/api/v3/services"))
        .send()
        .await
        .expect("query API answers")
        .json()
        .await
        .expect("json");
    assert_eq!(services, serde_json::json!({"services": []}));
    let stats: serde_json::Value = http_client()
        .get(format!("{query}/api/sink/stats"))
        .send()
        .await
        .expect("stats")
        .json()
        .await
        .expect("json");
    assert_eq!(stats["max_spans"], 1000);
    // SIGTERM (what Kubernetes sends) stops it gracefully with exit code 0.
    let pid = child.id().expect("running child has a pid");
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let status = tokio::time::timeout(std::time::Duration::from_secs(10), child.wait())
        .await
        .expect("exits within 10 s of SIGTERM")
        .expect("wait");
    assert!(status.success(), "{status}");
}
