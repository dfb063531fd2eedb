//! The contract lists every answer: for each public operation, every status and error code a
//! service (and edge in front of it) can answer is documented for that operation in
//! `services/openapi.json` (an `examples` entry per code), and the document lists nothing the
//! operation cannot answer. The operations and their answers come from the services' typed
//! errors (`Service::operations`), so a new error variant fails here until it is documented.

use std::collections::{BTreeMap, BTreeSet};

use minibank::edge;
use minibank::service::{self, ServiceName};
use serde_json::Value;

/// (status, code) pairs; success statuses have the code "".
type Answers = BTreeSet<(u16, String)>;

/// What openapi.json documents, per operationId, and whether the operation needs a token.
fn documented() -> BTreeMap<String, (Answers, bool)> {
    let document: Value = serde_json::from_str(edge::OPENAPI_JSON).expect("openapi.json parses");
    let mut operations = BTreeMap::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("path item") {
            let Some(id) = operation["operationId"].as_str() else {
                continue;
            };
            let mut answers = Answers::new();
            for (status, response) in operation["responses"].as_object().expect("responses") {
                let status: u16 = status.parse().unwrap_or_else(|_| {
                    panic!("{method} {path}: status `{status}` is not a number")
                });
                if status < 400 {
                    answers.insert((status, String::new()));
                    continue;
                }
                let examples = response["content"]["application/json"]["examples"].as_object();
                let Some(examples) = examples.filter(|examples| !examples.is_empty()) else {
                    panic!(
                        "{method} {path} ({id}): status {status} lists no error codes (examples)"
                    );
                };
                for (code, example) in examples {
                    assert_eq!(
                        example["value"]["code"].as_str(),
                        Some(code.as_str()),
                        "{id}: the example `{code}` of status {status} must carry that code"
                    );
                    assert!(
                        example["summary"].as_str().is_some_and(|s| !s.is_empty()),
                        "{id}: the code `{code}` of status {status} says what it means (summary)"
                    );
                    answers.insert((status, code.clone()));
                }
            }
            let secured = operation["security"]
                .as_array()
                .is_some_and(|security| !security.is_empty());
            operations.insert(id.to_owned(), (answers, secured));
        }
    }
    operations
}

/// What the services can answer, per operationId: their own answers, plus edge's for the
/// operations edge forwards.
fn answerable(secured: impl Fn(&str) -> bool) -> BTreeMap<String, Answers> {
    let mut operations = BTreeMap::new();
    for name in ServiceName::ALL {
        for operation in service::operations(name) {
            let mut answers: Answers = operation
                .success
                .iter()
                .map(|status| (*status, String::new()))
                .collect();
            let mut errors = (operation.answers)();
            if name != ServiceName::Edge {
                errors.extend(edge::gateway_answers(secured(operation.id)));
            }
            answers.extend(
                errors
                    .into_iter()
                    .map(|answer| (answer.status.as_u16(), answer.code.to_owned())),
            );
            let previous = operations.insert(operation.id.to_owned(), answers);
            assert!(previous.is_none(), "{} is served twice", operation.id);
        }
    }
    operations
}

#[test]
fn every_answer_an_operation_can_give_is_documented_for_it_and_nothing_else() {
    let documented = documented();
    let answerable = answerable(|id| documented.get(id).is_some_and(|(_, secured)| *secured));
    let mut problems = Vec::new();
    for (id, (listed, _)) in &documented {
        let Some(possible) = answerable.get(id) else {
            problems.push(format!("{id}: in openapi.json, but no service serves it"));
            continue;
        };
        for (status, code) in possible.difference(listed) {
            problems.push(format!(
                "{id}: can answer {status} `{code}`, not documented"
            ));
        }
        for (status, code) in listed.difference(possible) {
            problems.push(format!(
                "{id}: documents {status} `{code}`, which it cannot answer"
            ));
        }
    }
    for id in answerable.keys().filter(|id| !documented.contains_key(*id)) {
        problems.push(format!("{id}: served, but missing from openapi.json"));
    }
    assert!(
        problems.is_empty(),
        "openapi.json and the services disagree:\n  {}",
        problems.join("\n  ")
    );
}
