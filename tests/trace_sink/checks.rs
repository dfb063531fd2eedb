//! Trace checks and the tree they print on failure.

use harness::checks::{self, Peers, SpanSelector};
use harness::model::{AttrValue, SpanKind, StatusCode, Trace};

use crate::support::{span, trace};

const PROVIDER: &str = "http://127.0.0.1:4567";

/// A payment's trace as minibank produces it (the provider and the merchant emit no spans).
fn payment_trace() -> Trace {
    use SpanKind::{Client, Server};
    trace(
        1,
        vec![
            span(1, 1, "harness")
                .kind(Client)
                .name("POST /v1/payments")
                .at(0, 50),
            span(1, 2, "edge")
                .parent(1)
                .kind(Server)
                .name("POST /v1/payments")
                .at(1, 48),
            span(1, 3, "edge")
                .parent(2)
                .kind(Client)
                .name("POST /introspect")
                .at(2, 3),
            span(1, 4, "auth")
                .parent(3)
                .kind(Server)
                .name("POST /introspect")
                .at(3, 1),
            span(1, 5, "edge")
                .parent(2)
                .kind(Client)
                .name("POST /v1/payments")
                .at(6, 40),
            span(1, 6, "payments")
                .parent(5)
                .kind(Server)
                .name("POST /v1/payments")
                .at(7, 38)
                .attr("http.response.status_code", AttrValue::Int(201)),
            span(1, 7, "payments")
                .parent(6)
                .kind(Client)
                .name("POST /holds")
                .at(8, 4),
            span(1, 8, "ledger")
                .parent(7)
                .kind(Server)
                .name("POST /holds")
                .at(9, 2),
            span(1, 9, "payments")
                .parent(6)
                .kind(Client)
                .name("POST /transfers")
                .at(13, 10)
                .attr("server.address", AttrValue::String("127.0.0.1".into()))
                .attr("server.port", AttrValue::Int(4567)),
            span(1, 10, "payments")
                .parent(6)
                .kind(Client)
                .name("POST /holds/{id}/capture")
                .at(24, 4),
            span(1, 11, "ledger")
                .parent(10)
                .kind(Server)
                .name("POST /holds/{id}/capture")
                .at(25, 2),
            span(1, 12, "payments")
                .parent(6)
                .kind(Client)
                .name("POST /events")
                .at(30, 5),
            span(1, 13, "webhooks")
                .parent(12)
                .kind(Server)
                .name("POST /events")
                .at(31, 3),
            span(1, 14, "webhooks")
                .parent(13)
                .kind(Client)
                .name("POST")
                .at(40, 2)
                .attr("peer.service", AttrValue::String("merchant".into())),
        ],
    )
}

fn peers() -> Peers {
    Peers::new().with("provider", PROVIDER)
}

#[test]
fn a_complete_payment_trace_passes_every_check() {
    let trace = payment_trace();
    checks::well_formed(&trace).expect("well formed");
    assert_eq!(
        checks::single_root(&trace).expect("root").service(),
        "harness"
    );
    checks::visits_in_order(
        &trace,
        &peers(),
        &["edge", "payments", "ledger", "provider", "webhooks"],
    )
    .expect("path");
    checks::visits_all(
        &trace,
        &peers(),
        &["webhooks", "provider", "merchant", "auth"],
    )
    .expect("visits");
    checks::no_errors(&trace).expect("no errors");
    let call = checks::calls(&trace, &peers(), "edge", "payments").expect("edge calls payments");
    assert_eq!(call.client.kind, SpanKind::Client);
    assert_eq!(call.server.map(|s| s.service()), Some("payments"));
    let call = checks::calls(&trace, &peers(), "payments", "provider").expect("provider call");
    assert!(call.server.is_none(), "the provider emits no spans");
    checks::span_attribute(
        &trace,
        &SpanSelector::service("payments").kind(SpanKind::Server),
        "http.response.status_code",
        "201",
    )
    .expect("attribute");
    checks::span_status(&trace, &SpanSelector::service("ledger"), StatusCode::Unset)
        .expect("status");
}

#[test]
fn the_visit_order_collapses_repeats_and_includes_peers() {
    let order = checks::visit_order(&payment_trace(), &peers());
    assert_eq!(
        order,
        [
            "harness", "edge", "auth", "edge", "payments", "ledger", "payments", "provider",
            "payments", "ledger", "payments", "webhooks", "merchant"
        ]
    );
}

#[test]
fn a_path_out_of_order_fails_and_prints_the_tree() {
    let failure = checks::visits_in_order(&payment_trace(), &peers(), &["webhooks", "provider"])
        .expect_err("provider is not visited after webhooks");
    let text = failure.to_string();
    assert!(
        text.contains("provider was not visited after webhooks"),
        "{text}"
    );
    assert!(
        text.contains("actual visit order: harness -> edge"),
        "{text}"
    );
    assert!(
        text.contains("\n      - payments: POST /v1/payments [server] unset +7.000ms 38.000ms"),
        "indented tree with kind, status, offset and duration:\n{text}"
    );
}

#[test]
fn without_a_registered_address_the_provider_is_not_visited() {
    let failure = checks::visits_all(&payment_trace(), &Peers::new(), &["provider"])
        .expect_err("no address registered for the provider");
    assert!(
        failure.message.contains("never visited: provider"),
        "{failure}"
    );
}

#[test]
fn a_call_in_the_wrong_direction_fails_and_lists_the_calls_found() {
    let failure = checks::calls(&payment_trace(), &peers(), "ledger", "payments")
        .expect_err("ledger never calls payments");
    assert!(failure.message.contains("payments -> ledger"), "{failure}");
    assert!(
        failure.message.contains("payments -> provider"),
        "{failure}"
    );
}

#[test]
fn orphans_and_extra_roots_are_reported() {
    let broken = trace(
        2,
        vec![
            span(2, 1, "harness").at(0, 10),
            span(2, 2, "edge").parent(1).at(1, 5),
            span(2, 3, "payments").parent(99).at(2, 3),
            span(2, 4, "webhooks").at(20, 1),
        ],
    );
    let failure = checks::single_root(&broken).expect_err("two roots");
    assert!(failure.message.contains("found 2"), "{failure}");
    let failure = checks::no_orphans(&broken).expect_err("one orphan");
    assert!(failure.message.contains("payments 'op-3'"), "{failure}");
    assert!(
        failure
            .tree
            .contains("orphans (parent span not in the trace):"),
        "{}",
        failure.tree
    );
    assert!(checks::well_formed(&broken).is_err());
}

#[test]
fn errors_anywhere_are_found_and_attribute_mismatches_explained() {
    let failing = trace(
        3,
        vec![
            span(3, 1, "edge").kind(SpanKind::Server).at(0, 10),
            span(3, 2, "payments")
                .parent(1)
                .kind(SpanKind::Server)
                .error("provider timeout")
                .at(1, 5)
                .attr("http.response.status_code", AttrValue::Int(502)),
        ],
    );
    let failure = checks::no_errors(&failing).expect_err("payments failed");
    assert!(
        failure
            .message
            .contains("payments 'op-2' (\"provider timeout\")"),
        "{failure}"
    );
    assert!(
        failure.tree.contains("error \"provider timeout\""),
        "{}",
        failure.tree
    );
    let errors = checks::has_error(&failing, Some("payments")).expect("error span");
    assert_eq!(errors.len(), 1);
    assert!(checks::has_error(&failing, Some("edge")).is_err());
    let failure = checks::span_attribute(
        &failing,
        &SpanSelector::service("payments"),
        "http.response.status_code",
        "201",
    )
    .expect_err("502, not 201");
    assert!(
        failure.message.contains("http.response.status_code=502"),
        "{failure}"
    );
    let failure = checks::span_attribute(&failing, &SpanSelector::service("ledger"), "k", "v")
        .expect_err("no ledger span");
    assert!(failure.message.contains("no span of ledger"), "{failure}");
}

#[test]
fn a_registered_address_names_a_peer_even_when_peer_service_says_otherwise() {
    let t = trace(
        4,
        vec![
            span(4, 1, "webhooks")
                .kind(SpanKind::Client)
                .name("POST")
                .at(0, 2)
                .attr(
                    "peer.service",
                    AttrValue::String("merchant-endpoint".into()),
                )
                .attr(
                    "url.full",
                    AttrValue::String("http://127.0.0.1:9999/hooks".into()),
                ),
        ],
    );
    let peers = Peers::new().with("merchant", "http://127.0.0.1:9999");
    assert_eq!(
        checks::visit_order(&t, &peers),
        ["webhooks", "merchant", "merchant-endpoint"]
    );
    checks::calls(&t, &peers, "webhooks", "merchant").expect("merchant called");
    checks::visits_all(
        &t,
        &Peers::new().with("merchant", "127.0.0.1"),
        &["merchant"],
    )
    .expect("a host without a port matches any port");
}

#[test]
fn the_tree_shows_the_exception_message_when_the_status_has_none() {
    let mut failing = span(5, 1, "payments")
        .kind(SpanKind::Server)
        .at(0, 3)
        .build();
    failing.status.code = StatusCode::Error;
    failing.events.push(harness::model::SpanEvent {
        name: "exception".into(),
        time_unix_nanos: failing.start_unix_nanos,
        attributes: [(
            "exception.message".to_owned(),
            AttrValue::String("connection reset".into()),
        )]
        .into_iter()
        .collect(),
    });
    let t = harness::model::Trace::new(failing.trace_id.clone(), vec![failing]);
    let tree = harness::render::render_tree(&t);
    assert!(
        tree.contains("error (exception \"connection reset\")"),
        "{tree}"
    );
}
