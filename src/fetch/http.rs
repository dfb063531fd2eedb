//! What the HTTP fetchers share: GET a URL, 404 means "not yet", decode OTLP JSON.

use std::time::Duration;

use tokio::time::Instant;

use super::FetchError;
use crate::model::{Trace, TraceId};
use crate::otlp::decode::decode_resource_spans;
use crate::otlp::json::resource_spans_from_value;

/// Reads a trace document at `url`; `None` on 404 or when it holds no span of `trace_id`.
pub(super) async fn get_trace(
    client: &reqwest::Client,
    url: &str,
    trace_id: &TraceId,
) -> Result<Option<Trace>, FetchError> {
    let transport = |source| FetchError::Transport {
        url: url.to_owned(),
        source,
    };
    let response = client
        .get(url)
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(transport)?;
    let status = response.status();
    if status == reqwest::StatusCode::NOT_FOUND {
        return Ok(None);
    }
    let body = response.bytes().await.map_err(transport)?;
    if !status.is_success() {
        return Err(FetchError::Status {
            url: url.to_owned(),
            status: status.as_u16(),
            body: String::from_utf8_lossy(&body[..body.len().min(512)]).into_owned(),
        });
    }
    let decode = |message: String| FetchError::Decode {
        url: url.to_owned(),
        message,
    };
    // Usually one JSON document; a streaming gateway may send several (`{"result": ...}`
    // per chunk, newline-delimited), so every document's spans are gathered.
    let mut resource_spans = Vec::new();
    for document in serde_json::Deserializer::from_slice(&body).into_iter::<serde_json::Value>() {
        let document = document.map_err(|e| decode(e.to_string()))?;
        resource_spans
            .extend(resource_spans_from_value(document).map_err(|e| decode(e.to_string()))?);
    }
    let decoded = decode_resource_spans(resource_spans);
    let trace = Trace::new(trace_id.clone(), decoded.spans);
    Ok((!trace.is_empty()).then_some(trace))
}

/// Sleeps one poll interval, never past `until`.
pub(super) async fn poll_pause(interval: Duration, until: Instant) {
    let wake = (Instant::now() + interval).min(until);
    tokio::time::sleep_until(wake).await;
}

/// Joins a base URL and a path without doubling the slash.
pub(super) fn join(base: &str, path: &str) -> String {
    format!("{}{}", base.trim_end_matches('/'), path)
}
