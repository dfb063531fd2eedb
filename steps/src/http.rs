//! Plain HTTP: send any request to a path as someone, and check the answer.
//!
//! For behaviour no business sentence covers yet, and for Scenario Outlines of bad input.
//! Paths and bodies may name the scenario's data: `{Alice.account_id}`, `{payment_id}`, ...

use anyhow::Context as _;
use cucumber::{gherkin::Step, then, when};
use serde_json::Value;

use crate::{
    MinibankWorld,
    client::{Body, Request},
    params::{ActorName, Method},
};

impl MinibankWorld {
    /// Sends `method path` as `who` with `body`, expanding placeholders; keeps the answer.
    pub(crate) async fn send_as(
        &mut self,
        who: &str,
        method: reqwest::Method,
        path: &str,
        body: Body,
    ) -> anyhow::Result<()> {
        let caller = self.caller(who)?;
        let mut request = Request::new(method, self.expand(path)?);
        request.body = match body {
            Body::RawJson(text) => Body::RawJson(self.expand(&text)?),
            other => other,
        };
        self.call(caller, request).await?;
        Ok(())
    }
}

/// Sends a request without a body.
/// Example: When Alice sends GET "/v1/accounts/{Alice.account_id}"
#[when(expr = "{actor} sends {method} {string}")]
async fn sends(
    world: &mut MinibankWorld,
    who: ActorName,
    method: Method,
    path: String,
) -> anyhow::Result<()> {
    world.send_as(&who.0, method.0, &path, Body::None).await
}

/// Sends a request whose body is the doc string below the step, exactly as written (after placeholders).
/// Example: When the operator sends POST "/v1/customers" with body:
#[when(expr = "{actor} sends {method} {string} with body:")]
async fn sends_docstring(
    world: &mut MinibankWorld,
    who: ActorName,
    method: Method,
    path: String,
    step: &Step,
) -> anyhow::Result<()> {
    let body = step
        .docstring
        .clone()
        .context("this step needs a doc string (\"\"\" ... \"\"\") with the body")?;
    world
        .send_as(
            &who.0,
            method.0,
            &path,
            Body::RawJson(body.trim().to_owned()),
        )
        .await
}

/// Sends a request with the JSON text given inline (single quotes around it), exactly as written.
/// Example: When the operator sends POST "/v1/customers" with the JSON '{"name": "Bo", "currency": 7}'
#[when(expr = "{actor} sends {method} {string} with the JSON {string}")]
async fn sends_inline(
    world: &mut MinibankWorld,
    who: ActorName,
    method: Method,
    path: String,
    json: String,
) -> anyhow::Result<()> {
    world
        .send_as(&who.0, method.0, &path, Body::RawJson(json))
        .await
}

/// Sends a valid JSON body padded to at least that many bytes (body-size limits).
/// Example: When the operator sends POST "/v1/customers" with a body of 2000000 bytes
#[when(expr = "{actor} sends {method} {string} with a body of {int} bytes")]
async fn sends_big(
    world: &mut MinibankWorld,
    who: ActorName,
    method: Method,
    path: String,
    size: usize,
) -> anyhow::Result<()> {
    let body = format!("{{\"name\":\"{}\",\"currency\":\"GBP\"}}", "x".repeat(size));
    world
        .send_as(&who.0, method.0, &path, Body::RawJson(body))
        .await
}

/// Checks the status of the last answer.
/// Example: Then the response status is 201
#[then(expr = "the response status is {int}")]
async fn status_is(world: &mut MinibankWorld, status: u16) -> anyhow::Result<()> {
    let last = world.last()?;
    anyhow::ensure!(
        last.status == status,
        "expected {status}: {}",
        last.describe()
    );
    Ok(())
}

/// Checks the last answer is an error with that status and machine code, and a human message.
/// Example: Then the response is 422 with error code "insufficient_funds"
#[then(expr = "the response is {int} with error code {string}")]
async fn error_is(world: &mut MinibankWorld, status: u16, code: String) -> anyhow::Result<()> {
    let last = world.last()?;
    anyhow::ensure!(
        last.status == status && last.error_code() == Some(code.as_str()),
        "expected {status} {code:?}: {}",
        last.describe()
    );
    let message = last.str_field("message").unwrap_or_default();
    anyhow::ensure!(
        !message.trim().is_empty(),
        "the error has no human message: {}",
        last.describe()
    );
    Ok(())
}

/// Checks a field of the last JSON answer (a dotted path; numbers and booleans as written).
/// Example: Then the response field "currency" is "GBP"
#[then(expr = "the response field {string} is {string}")]
async fn field_is(world: &mut MinibankWorld, path: String, expected: String) -> anyhow::Result<()> {
    let expected = world.expand(&expected)?;
    let last = world.last()?;
    let json = last
        .json
        .as_ref()
        .with_context(|| format!("the answer is not JSON: {}", last.describe()))?;
    let pointer = format!("/{}", path.replace('.', "/"));
    let value = json
        .pointer(&pointer)
        .with_context(|| format!("no field {path:?} in {}", last.describe()))?;
    let got = match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    anyhow::ensure!(
        got == expected,
        "field {path:?} is {got:?}, expected {expected:?}: {}",
        last.describe()
    );
    Ok(())
}

/// Checks the last answer carries a request id (`x-request-id`) and a well-formed `traceresponse`.
/// Example: Then the response carries a request id and a trace id
#[then(expr = "the response carries a request id and a trace id")]
async fn carries_ids(world: &mut MinibankWorld) -> anyhow::Result<()> {
    let last = world.last()?;
    anyhow::ensure!(
        last.request_id().is_some_and(|id| !id.is_empty()),
        "no x-request-id: {:?}",
        last.headers
    );
    let tr = last
        .header("traceresponse")
        .context("no traceresponse header")?;
    let parts: Vec<&str> = tr.split('-').collect();
    anyhow::ensure!(
        parts.len() == 4
            && parts[0] == "00"
            && harness::model::TraceId::parse(parts[1]).is_ok()
            && harness::model::SpanId::parse(parts[2]).is_ok(),
        "malformed traceresponse {tr:?}"
    );
    Ok(())
}
