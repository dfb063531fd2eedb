//! Request bodies as minibank reads them (`minibank::http_error::parse_json` into each public
//! operation's typed body, and edge's own `POST /test` instructions through `Probe::parse`):
//! any bytes end in a typed body or in a typed refusal whose status and code the contract
//! lists (400 `malformed_json`, 413, 422 with a body-shape code); never a panic.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use minibank::auth::model::OnboardBody;
use minibank::auth::ops::issue_token::IssueTokenBody;
use minibank::edge::probe::Probe;
use minibank::http_error::{ErrorAnswer, InvalidRequest, parse_json};
use minibank::ledger::ops::top_up::TopUpBody;
use minibank::payments::ops::create::CreatePaymentBody;
use minibank::webhooks::ops::register_endpoint::RegisterEndpointBody;
use serde::de::DeserializeOwned;

/// The body-shape codes of the contract (API.md, "Conventions").
const SHAPE_CODES: [&str; 7] = [
    "malformed_json",
    "not_an_object",
    "missing_field",
    "unknown_field",
    "wrong_type",
    "out_of_range",
    "payload_too_large",
];

fn check_refusal(error: &impl ErrorAnswer) {
    let answer = error.answer();
    assert!(
        matches!(answer.status.as_u16(), 400 | 413 | 422),
        "{} {}",
        answer.status,
        answer.code
    );
    assert!(!answer.code.is_empty());
}

fn parse<T: DeserializeOwned>(data: &[u8]) {
    if let Err(error) = parse_json::<T>(data) {
        check_refusal(&error);
        assert!(
            SHAPE_CODES.contains(&error.answer().code),
            "{}",
            error.answer().code
        );
        // An unknown field is named as sent, which may be the empty key `""`.
        if let InvalidRequest::MissingField { field }
        | InvalidRequest::WrongType { field, .. }
        | InvalidRequest::OutOfRange { field, .. } = &error
        {
            assert!(!field.is_empty(), "{error:?} names its field");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    parse::<OnboardBody>(data);
    parse::<IssueTokenBody>(data);
    parse::<TopUpBody>(data);
    parse::<CreatePaymentBody>(data);
    parse::<RegisterEndpointBody>(data);
    if let Err(error) = Probe::parse(Ok(Bytes::copy_from_slice(data))) {
        check_refusal(&error);
    }
});
