//! [`StubServer`]: the HTTP server under the stand-ins. Every request, whatever its method and
//! path, goes to one answering function, and nothing of it is kept once it is answered.
//!
//! The stand-ins were wiremock servers; wiremock keeps a copy of every request a mock matched
//! for as long as the server runs (even with request recording disabled), about 14 KiB per
//! payment between the provider and a merchant endpoint, so a long in-process run grew without
//! bound. What a stand-in must remember it now keeps itself, bounded.

use std::{net::TcpListener, sync::Arc, time::Duration};

use axum::{
    Router,
    body::Bytes,
    http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header},
    response::{IntoResponse, Response},
};
use serde_json::Value;

/// One request as a stand-in sees it.
pub(crate) struct IncomingRequest {
    pub method: Method,
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl IncomingRequest {
    /// The body as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

/// What a stand-in answers: a status, an optional JSON body, sent after `delay`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct StubAnswer {
    pub status: u16,
    pub body: Option<Value>,
    pub delay: Duration,
}

impl StubAnswer {
    /// `status` with no body, at once.
    pub fn status(status: u16) -> Self {
        StubAnswer {
            status,
            body: None,
            delay: Duration::ZERO,
        }
    }

    /// `status` with a JSON body, at once.
    pub fn json(status: u16, body: Value) -> Self {
        StubAnswer {
            body: Some(body),
            ..Self::status(status)
        }
    }

    /// The same answer, sent after `delay`.
    pub fn after(self, delay: Duration) -> Self {
        StubAnswer { delay, ..self }
    }
}

/// A running stand-in server; stops accepting connections when dropped.
pub(crate) struct StubServer {
    url: String,
    task: tokio::task::JoinHandle<()>,
}

impl StubServer {
    /// Serves `answer` on `listener` (already bound) until dropped.
    pub fn start(
        listener: TcpListener,
        answer: impl Fn(&IncomingRequest) -> StubAnswer + Send + Sync + 'static,
    ) -> anyhow::Result<Self> {
        listener.set_nonblocking(true)?;
        let url = format!("http://{}", listener.local_addr()?);
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let answer = Arc::new(answer);
        let router = Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let answer = answer.clone();
                async move {
                    let request = IncomingRequest {
                        method,
                        path: uri.path().to_owned(),
                        headers,
                        body,
                    };
                    let answered = answer(&request);
                    drop(request);
                    if !answered.delay.is_zero() {
                        tokio::time::sleep(answered.delay).await;
                    }
                    into_response(answered)
                }
            },
        );
        let task = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, router).await {
                tracing::warn!(%error, "a stand-in server stopped");
            }
        });
        Ok(StubServer { url, task })
    }

    /// `http://ip:port`.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for StubServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn into_response(answer: StubAnswer) -> Response {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    match answer.body {
        Some(body) => (
            status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            body.to_string(),
        )
            .into_response(),
        None => status.into_response(),
    }
}
