//! Helpers shared by the foundation, auth, edge and platform tests: an in-memory span exporter and
//! a way to run an `Application` on a random port.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use minibank::app::{Application, ShutdownHandle};
use minibank::telemetry::{Telemetry, TelemetrySettings};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use parking_lot::Mutex;

/// Keeps every exported span in memory.
#[derive(Clone, Debug, Default)]
pub struct Spans(Arc<Mutex<Vec<SpanData>>>);

impl Spans {
    /// Every span exported so far.
    pub fn all(&self) -> Vec<SpanData> {
        self.0.lock().clone()
    }

    /// The spans with this name.
    pub fn named(&self, name: &str) -> Vec<SpanData> {
        self.all().into_iter().filter(|s| s.name == name).collect()
    }
}

#[derive(Debug)]
struct CollectingExporter(Spans);

impl SpanExporter for CollectingExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        self.0.0.lock().extend(batch);
        Ok(())
    }
}

/// A service's telemetry exporting into memory.
pub fn telemetry(service: &str) -> (Telemetry, Spans) {
    let spans = Spans::default();
    let settings = TelemetrySettings::new(service, None, Duration::from_millis(1));
    (
        Telemetry::with_exporter(&settings, CollectingExporter(spans.clone())).unwrap(),
        spans,
    )
}

/// Flushes `telemetry` and returns what was exported.
pub async fn exported(telemetry: &Telemetry, spans: &Spans) -> Vec<SpanData> {
    assert!(
        telemetry.flush(Duration::from_secs(5)).await,
        "flush timed out"
    );
    spans.all()
}

/// A running application: its base URL and how to stop it.
pub struct Running {
    pub url: String,
    pub shutdown: ShutdownHandle,
    pub task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

/// Runs `app` in the background.
pub fn run(app: Application) -> Running {
    let url = app.base_url();
    let shutdown = app.shutdown_handle();
    let task = tokio::spawn(app.run_until_stopped());
    Running {
        url,
        shutdown,
        task,
    }
}

/// A plain HTTP client for the tests (no proxy).
pub fn http() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

/// A provider stand-in (wiremock) accepting every transfer with 201.
pub async fn accepting_provider() -> wiremock::MockServer {
    use wiremock::matchers::{method, path};
    let provider = wiremock::MockServer::start().await;
    wiremock::Mock::given(method("POST"))
        .and(path("/transfers"))
        .respond_with(
            wiremock::ResponseTemplate::new(201)
                .set_body_json(serde_json::json!({"status": "accepted"})),
        )
        .mount(&provider)
        .await;
    provider
}
