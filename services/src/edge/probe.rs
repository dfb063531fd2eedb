//! `POST /test`: the W3C trace-context test-service protocol (only with the propagation probe on;
//! otherwise 404 `not_found`). The body is a JSON array of `{"url", "arguments"}`; for each
//! element, edge POSTs `arguments` as JSON to `url` through the RPC client, continuing the
//! incoming context, then answers 200. Read as parse -> apply -> encode.
//!
//! Answers: 200; 400 `malformed_json`; 413 `payload_too_large`; 422 `not_an_array`,
//! `missing_field`, `unknown_field`, `wrong_type`, `invalid_url` (naming the call: `[i].url`);
//! 500 `internal_error`.

use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{Method, StatusCode};
use bytes::Bytes;
use serde::Deserialize;

use super::EdgeState;
use super::error::{InvalidProbeUrl, ProbeError};
use crate::app::Unrouted;
use crate::http_error::{Answer, ErrorAnswer, Internal, InvalidRequest, parse_json_document};
use crate::rpc::{RequestContext, RpcRequest};
use crate::service::Operation;

/// The operation as the contract names it.
pub const OPERATION: Operation = Operation {
    id: "traceContextTest",
    success: &[200],
    answers,
};

/// [`ProbeError`]'s answers, and the 404 of a `/test` that is not routed (the probe off).
fn answers() -> Vec<Answer> {
    let mut answers = ProbeError::answers();
    answers.push(
        Unrouted::NoRoute {
            method: Method::POST,
            path: "/test".to_owned(),
        }
        .answer(),
    );
    answers
}

/// One instruction of the test harness (wire).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProbeCallBody {
    /// Where to POST.
    pub url: String,
    /// The JSON body to send (forwarded as is).
    #[serde(default)]
    pub arguments: serde_json::Value,
}

/// The calls to make, each to an absolute http(s) URL (parsed).
#[derive(Debug)]
pub struct Probe {
    calls: Vec<ProbeCallBody>,
}

impl Probe {
    /// Reads the array of calls and checks every URL before any call is made.
    pub fn parse(body: Result<Bytes, BytesRejection>) -> Result<Self, ProbeError> {
        let body = body.map_err(InvalidRequest::from)?;
        let calls: Vec<ProbeCallBody> = parse_json_document(&body)?;
        for (index, call) in calls.iter().enumerate() {
            if !(call.url.starts_with("http://") || call.url.starts_with("https://")) {
                return Err(ProbeError::InvalidUrl(InvalidProbeUrl::new(
                    index, &call.url,
                )));
            }
        }
        Ok(Self { calls })
    }

    /// Makes the calls in order; a failing call is logged and the next one still runs (the test
    /// harness judges the headers it receives, not our status). Returns how many were made.
    pub async fn apply(self, state: &EdgeState, ctx: &RequestContext) -> Result<usize, ProbeError> {
        let made = self.calls.len();
        for call in self.calls {
            let request = RpcRequest::post_json(call.url.clone(), &call.arguments)
                .map_err(|error| Internal::from(anyhow::Error::new(error)))?;
            if let Err(error) = state.probe.send(ctx, request).await {
                tracing::warn!(%error, url = %call.url, "propagation probe call failed");
            }
        }
        Ok(made)
    }
}

fn encode(made: usize) -> StatusCode {
    tracing::debug!(made, "propagation probe calls made");
    StatusCode::OK
}

/// `POST /test`.
pub async fn handle(
    State(state): State<EdgeState>,
    ctx: RequestContext,
    body: Result<Bytes, BytesRejection>,
) -> Result<StatusCode, ProbeError> {
    let made = Probe::parse(body)?.apply(&state, &ctx).await?;
    Ok(encode(made))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(body: &str) -> (&'static str, Option<String>) {
        let error = Probe::parse(Ok(Bytes::from(body.to_owned()))).unwrap_err();
        (error.answer().code, error.field().map(str::to_owned))
    }

    #[test]
    fn each_way_the_instructions_can_be_wrong_has_its_own_code() {
        assert_eq!(refusal("[{\"url\":"), ("malformed_json", None));
        assert_eq!(refusal(r#"{"url":"http://a"}"#), ("not_an_array", None));
        assert_eq!(
            refusal(r#"[{"arguments":[]}]"#),
            ("missing_field", Some("[0].url".into()))
        );
        assert_eq!(refusal(r#"[{"url":"http://a","x":1}]"#).0, "unknown_field");
        assert_eq!(
            refusal(r#"[{"url":"http://a"},{"url":"ftp://b"}]"#),
            ("invalid_url", Some("[1].url".into()))
        );
    }

    #[test]
    fn well_formed_instructions_parse_with_their_arguments() {
        let probe = Probe::parse(Ok(Bytes::from_static(
            br#"[{"url":"http://a","arguments":[1]}]"#,
        )))
        .unwrap();
        assert_eq!(probe.calls.len(), 1);
        assert_eq!(probe.calls[0].arguments, serde_json::json!([1]));
    }
}
