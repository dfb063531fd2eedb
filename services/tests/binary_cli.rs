//! The `minibank` binary: `serve <service>` from the environment, `up` for a person to try.
//! Each test starts the binary as a child process and stops it by its handle.

mod binary_support;

use std::process::Command;

use serde_json::{Value, json};

use binary_support::{BINARY, Running, clean_env, value_after};

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

/// webhooks seals merchants' secrets with a key from the environment: without one, or with
/// one that is not 32 bytes of base64, it exits at start naming the variable (no panic).
#[test]
fn webhooks_without_a_valid_secret_key_exits_naming_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    for key in [None, Some("not-base64!"), Some("c2hvcnQ=")] {
        let mut command = Command::new(BINARY);
        clean_env(&mut command)
            .args(["serve", "webhooks"])
            .env("MINIBANK_BIND", "127.0.0.1:0")
            .env(
                "MINIBANK_DATABASE_URL",
                format!("sqlite://{}", dir.path().join("webhooks.db").display()),
            );
        if let Some(key) = key {
            command.env("MINIBANK_WEBHOOK_SECRET_KEY", key);
        }
        let output = command.output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{key:?}: {stderr}");
        assert!(
            stderr.contains("MINIBANK_WEBHOOK_SECRET_KEY") && !stderr.contains("panicked"),
            "{key:?}: {stderr}"
        );
    }
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
            .args(["--sandbox-addr", "127.0.0.1:0"])
            .arg("--data-dir")
            .arg(dir.path()),
    );
    let lines = running.read_until(|line| line.contains("press Ctrl-C"));
    let value_after = |label: &str| value_after(&lines, label);
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

    let provider_line = lines
        .iter()
        .find(|l| l.trim_start().starts_with("provider"));
    assert!(
        provider_line.is_some_and(|l| l.ends_with("(sandbox, started here)")),
        "{lines:#?}"
    );
    let sandbox = value_after("provider");
    let unknown = reqwest::get(format!("{sandbox}/transfers/pay_unknown"))
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404, "the sandbox answers status queries");
    // The waterfall pages it prints are served by the sink it started.
    let waterfalls = lines
        .iter()
        .find_map(|l| l.trim().strip_prefix("waterfalls "))
        .and_then(|rest| rest.split(',').next())
        .unwrap_or_else(|| panic!("no waterfalls line: {lines:#?}"));
    let page = reqwest::get(waterfalls).await.unwrap();
    assert_eq!(
        page.status(),
        200,
        "{waterfalls} serves the recent-traces page"
    );
    let env_file = std::fs::read_to_string(dir.path().join("up.env")).unwrap();
    assert!(
        env_file.contains(&format!("export EDGE='{edge}'")),
        "{env_file}"
    );
    assert!(
        env_file.contains(&format!("export SANDBOX='{sandbox}'")),
        "{env_file}"
    );
    assert!(
        env_file.contains(&format!(
            "export OPERATOR_ID='{}'",
            value_after("client_id")
        )),
        "{env_file}"
    );
}

#[tokio::test]
async fn up_with_a_provider_url_starts_no_sandbox_and_says_which_provider_it_uses() {
    let dir = tempfile::tempdir().unwrap();
    // The sandbox's address is taken: had `up` tried to start a sandbox, it would have failed.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let running = Running::start(
        clean_env(&mut Command::new(BINARY))
            .args(["up", "--edge-addr", "127.0.0.1:0", "--ephemeral-sink-ports"])
            .arg("--sandbox-addr")
            .arg(taken.local_addr().unwrap().to_string())
            .env("MINIBANK_PROVIDER_URL", "http://127.0.0.1:9")
            .arg("--data-dir")
            .arg(dir.path()),
    );
    let lines = running.read_until(|line| line.contains("press Ctrl-C"));
    assert!(
        lines
            .iter()
            .any(|l| l.trim() == "provider  http://127.0.0.1:9 (external; no sandbox started)"),
        "{lines:#?}"
    );
    let env_file = std::fs::read_to_string(dir.path().join("up.env")).unwrap();
    assert!(!env_file.contains("SANDBOX="), "{env_file}");
}
