//! The provider stub files under `fixtures/provider/*.json`: their format, loading, and the
//! templated responder that plays them (see `fixtures/provider/README.md` for the format).

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use serde::Deserialize;
use serde_json::Value;

use super::server::{IncomingRequest, StubAnswer};

/// Why the provider stubs could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum FixtureError {
    /// The folder or a file in it could not be read.
    #[error("reading provider stubs at {path}: {source}")]
    Read {
        /// The folder or file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A file is not a valid stub.
    #[error("provider stub {path} is invalid: {reason}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
}

/// One default answer of the provider stand-in, as written in a fixture file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderStub {
    /// Why the stub exists (documentation only).
    #[serde(default)]
    pub description: String,
    /// Priority; lower wins, and stubs of equal priority are tried in file-name order. Per-scenario behaviours use 1 and the status of a
    /// transfer the stand-in processed 50, so defaults must be above 50.
    #[serde(default = "default_priority")]
    pub priority: u8,
    /// Which requests it answers.
    pub request: StubRequest,
    /// What it answers.
    pub response: StubResponse,
}

/// The request side of a [`ProviderStub`].
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StubRequest {
    /// HTTP method, e.g. `POST`.
    pub method: String,
    /// Exact path.
    #[serde(default)]
    pub path: Option<String>,
    /// Regex over the path.
    #[serde(default)]
    pub path_regex: Option<String>,
    /// `path_regex` compiled (by [`load_provider_stubs`]).
    #[serde(skip)]
    compiled: Option<regex::Regex>,
}

/// The response side of a [`ProviderStub`].
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StubResponse {
    /// HTTP status.
    pub status: u16,
    /// JSON body, with `{{request.body.<field>}}` / `{{request.path.<n>}}` placeholders.
    #[serde(default)]
    pub body: Option<Value>,
    /// Delay before answering, in milliseconds.
    #[serde(default)]
    pub delay_ms: u64,
}

fn default_priority() -> u8 {
    100
}

impl ProviderStub {
    /// Checks the stub and compiles its `path_regex`.
    fn validate(&mut self, file: &Path) -> Result<(), FixtureError> {
        let invalid = |reason: &str| FixtureError::Invalid {
            path: file.to_path_buf(),
            reason: reason.to_string(),
        };
        match (&self.request.path, &self.request.path_regex) {
            (Some(_), Some(_)) => return Err(invalid("give `path` or `path_regex`, not both")),
            (None, None) => return Err(invalid("give `path` or `path_regex`")),
            (None, Some(re)) => {
                let compiled = regex::Regex::new(re)
                    .map_err(|e| invalid(&format!("`path_regex` does not compile: {e}")))?;
                self.request.compiled = Some(compiled);
            }
            (Some(_), None) => {}
        }
        if http::StatusCode::from_u16(self.response.status).is_err() {
            return Err(invalid("`status` is not an HTTP status"));
        }
        if http::Method::from_bytes(self.request.method.as_bytes()).is_err() {
            return Err(invalid("`method` is not an HTTP method"));
        }
        Ok(())
    }

    /// Whether this stub answers `request`.
    pub(crate) fn matches(&self, request: &IncomingRequest) -> bool {
        request.method.as_str() == self.request.method
            && match (&self.request.path, &self.request.compiled) {
                (Some(exact), _) => request.path == *exact,
                (None, Some(re)) => re.is_match(&request.path),
                (None, None) => false,
            }
    }

    /// This stub's answer to `request` (whose JSON body is `request_body`), placeholders
    /// filled.
    pub(crate) fn answer(&self, request: &IncomingRequest, request_body: &Value) -> StubAnswer {
        let response = &self.response;
        let answer = match &response.body {
            Some(body) => {
                StubAnswer::json(response.status, fill(body, request_body, &request.path))
            }
            None => StubAnswer::status(response.status),
        };
        answer.after(Duration::from_millis(response.delay_ms))
    }
}

/// Every `*.json` stub in `dir`, in file-name order (so priorities tie-break predictably).
pub fn load_provider_stubs(dir: &Path) -> Result<Vec<ProviderStub>, FixtureError> {
    let read_err = |path: &Path, source| FixtureError::Read {
        path: path.to_path_buf(),
        source,
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| read_err(dir, e))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|file| {
            let text = std::fs::read_to_string(file).map_err(|e| read_err(file, e))?;
            let mut stub: ProviderStub =
                serde_json::from_str(&text).map_err(|e| FixtureError::Invalid {
                    path: file.clone(),
                    reason: e.to_string(),
                })?;
            stub.validate(file)?;
            Ok(stub)
        })
        .collect()
}

/// `template` with every placeholder string replaced by what it names (null when absent).
fn fill(template: &Value, request_body: &Value, request_path: &str) -> Value {
    match template {
        Value::String(s) => match placeholder(s) {
            Some(Placeholder::BodyField(field)) => {
                request_body.get(field).cloned().unwrap_or(Value::Null)
            }
            Some(Placeholder::PathSegment(n)) => request_path
                .trim_start_matches('/')
                .split('/')
                .nth(n)
                .map(|seg| Value::String(seg.to_string()))
                .unwrap_or(Value::Null),
            None => template.clone(),
        },
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| fill(v, request_body, request_path))
                .collect(),
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), fill(v, request_body, request_path)))
                .collect(),
        ),
        other => other.clone(),
    }
}

enum Placeholder<'a> {
    BodyField(&'a str),
    PathSegment(usize),
}

fn placeholder(s: &str) -> Option<Placeholder<'_>> {
    let inner = s.strip_prefix("{{")?.strip_suffix("}}")?.trim();
    if let Some(field) = inner.strip_prefix("request.body.") {
        return Some(Placeholder::BodyField(field));
    }
    inner
        .strip_prefix("request.path.")
        .and_then(|n| n.parse().ok())
        .map(Placeholder::PathSegment)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fill_replaces_body_fields_and_path_segments_and_keeps_the_rest() {
        let template = json!({"id": "{{request.body.transfer_id}}", "seg": "{{request.path.1}}",
                              "status": "accepted", "n": 3, "missing": "{{request.body.nope}}"});
        let body = json!({"transfer_id": "pay_1"});
        let filled = fill(&template, &body, "/transfers/pay_9");
        assert_eq!(
            filled,
            json!({"id": "pay_1", "seg": "pay_9", "status": "accepted", "n": 3, "missing": null})
        );
    }

    #[test]
    fn the_committed_fixtures_load() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/provider");
        let stubs = load_provider_stubs(&dir).expect("fixtures load");
        assert!(stubs.len() >= 2);
    }
}
