//! The shared RPC layer against a mock service: a small service built with `ServiceBuilder`
//! (so it sits behind the server layer) that calls a wiremock "downstream" with `RpcClient`.

mod foundation_support;

use std::time::Duration;

use assert_matches::assert_matches;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use foundation_support::{Spans, exported, http, run, telemetry};
use minibank::app::ServiceBuilder;
use minibank::rpc::{
    CallOutcome, RequestContext, Resilience, RetrySettings, RpcClient, RpcError, RpcRequest,
};
use minibank::telemetry::Telemetry;
use opentelemetry::baggage::BaggageExt as _;
use opentelemetry::trace::{SpanId, SpanKind, Status};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_ID: &str = "00f067aa0ba902b7";

fn traceparent() -> String {
    format!("00-{TRACE_ID}-{PARENT_ID}-01")
}

struct Harness {
    url: String,
    telemetry: Telemetry,
    spans: Spans,
    downstream: MockServer,
}

/// Starts the mock service `svc` with routes `/echo` (reports its context), `/call` (calls the
/// downstream's `/downstream`) and `/boom` (answers 500).
async fn start() -> Harness {
    let downstream = MockServer::start().await;
    let (telemetry, spans) = telemetry("svc");
    let client = RpcClient::new(
        RpcClient::shared_http(),
        telemetry.clone(),
        "downstream",
        downstream.uri(),
        Duration::from_secs(5),
    );
    let router = Router::new()
        .route("/echo", get(echo))
        .route("/call", post(call))
        .route("/boom", get(|| async { StatusCode::INTERNAL_SERVER_ERROR }))
        .with_state(client);
    let app = ServiceBuilder::new(telemetry.clone(), router)
        .bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let running = run(app);
    Harness {
        url: running.url,
        telemetry,
        spans,
        downstream,
    }
}

async fn echo(ctx: RequestContext) -> axum::Json<Value> {
    tracing::info!("echo handler ran");
    axum::Json(json!({
        "trace_id": ctx.trace_id(),
        "remaining_ms": ctx.remaining().map(|d| d.as_millis() as u64),
        "subject": ctx.identity().map(|i| i.subject.clone()),
        "request_id": ctx.request_id(),
        "tenant": ctx.otel().baggage().get("tenant").map(|v| v.to_string()),
    }))
}

async fn call(State(client): State<RpcClient>, ctx: RequestContext) -> Result<String, StatusCode> {
    client
        .post_json::<_, Value>(&ctx, "/downstream", &json!({"hello": "world"}))
        .await
        .map(|_| "called".to_owned())
        .map_err(|_| StatusCode::BAD_GATEWAY)
}

fn background_ctx() -> RequestContext {
    RequestContext::background(opentelemetry::Context::new())
}

#[tokio::test]
async fn a_valid_traceparent_is_continued_by_the_server_span_and_passed_to_the_next_hop() {
    let harness = start().await;
    Mock::given(method("POST"))
        .and(path("/downstream"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .mount(&harness.downstream)
        .await;

    let response = http()
        .post(format!("{}/call", harness.url))
        .header("traceparent", traceparent())
        .header("baggage", "tenant=acme")
        .header("x-request-id", "req-123")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-request-id"], "req-123");

    let spans = exported(&harness.telemetry, &harness.spans).await;
    let server = spans
        .iter()
        .find(|s| s.span_kind == SpanKind::Server)
        .unwrap();
    assert_eq!(server.name, "POST /call");
    assert_eq!(server.span_context.trace_id().to_string(), TRACE_ID);
    assert_eq!(server.parent_span_id.to_string(), PARENT_ID);
    let attr = |span: &opentelemetry_sdk::trace::SpanData, key: &str| {
        span.attributes
            .iter()
            .find(|kv| kv.key.as_str() == key)
            .map(|kv| kv.value.to_string())
    };
    assert_eq!(attr(server, "http.route").as_deref(), Some("/call"));
    assert_eq!(attr(server, "http.request.method").as_deref(), Some("POST"));
    assert_eq!(
        attr(server, "http.response.status_code").as_deref(),
        Some("200")
    );
    let client = spans
        .iter()
        .find(|s| s.span_kind == SpanKind::Client)
        .unwrap();
    // OpenTelemetry HTTP client conventions: `{method} {url.template}`, and the attributes a
    // trace viewer needs to draw `svc → downstream POST /downstream`.
    assert_eq!(client.name, "POST /downstream");
    assert_eq!(client.parent_span_id, server.span_context.span_id());
    assert_eq!(attr(client, "peer.service").as_deref(), Some("downstream"));
    assert_eq!(attr(client, "http.request.method").as_deref(), Some("POST"));
    assert_eq!(attr(client, "url.template").as_deref(), Some("/downstream"));
    let downstream = reqwest::Url::parse(&harness.downstream.uri()).unwrap();
    assert_eq!(
        attr(client, "url.full"),
        Some(format!("{}/downstream", harness.downstream.uri()))
    );
    assert_eq!(
        attr(client, "server.address").as_deref(),
        downstream.host_str()
    );
    assert_eq!(
        attr(client, "server.port"),
        downstream.port().map(|port| port.to_string())
    );
    assert_eq!(
        attr(client, "http.response.status_code").as_deref(),
        Some("200")
    );

    let received = &harness.downstream.received_requests().await.unwrap()[0];
    let sent_parent = received.headers["traceparent"].to_str().unwrap();
    assert_eq!(
        sent_parent,
        format!("00-{TRACE_ID}-{}-01", client.span_context.span_id())
    );
    assert_eq!(received.headers["baggage"], "tenant=acme");
    assert_eq!(received.headers["x-request-id"], "req-123");
}

#[tokio::test]
async fn an_invalid_traceparent_starts_a_new_trace_instead_of_failing() {
    let harness = start().await;
    let response = http()
        .get(format!("{}/echo", harness.url))
        .header("traceparent", "00-not-a-valid-header-01")
        .header("tracestate", "vendor=1")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    let trace_id = body["trace_id"].as_str().unwrap();
    assert_ne!(trace_id, TRACE_ID);
    assert_ne!(trace_id, "00000000000000000000000000000000");

    let spans = exported(&harness.telemetry, &harness.spans).await;
    let server = spans.iter().find(|s| s.name == "GET /echo").unwrap();
    assert_eq!(server.parent_span_id, SpanId::INVALID);
    assert_eq!(server.span_context.trace_id().to_string(), trace_id);
}

#[tokio::test]
async fn the_deadline_header_becomes_the_handlers_deadline_and_travels_on_smaller() {
    let harness = start().await;
    let body: Value = http()
        .get(format!("{}/echo", harness.url))
        .header("x-minibank-deadline-ms", "5000")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let remaining = body["remaining_ms"].as_u64().unwrap();
    assert!(remaining <= 5000 && remaining > 3000, "{remaining}");

    Mock::given(method("POST"))
        .and(path("/downstream"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .mount(&harness.downstream)
        .await;
    http()
        .post(format!("{}/call", harness.url))
        .header("x-minibank-deadline-ms", "1500")
        .send()
        .await
        .unwrap();
    let received = &harness.downstream.received_requests().await.unwrap()[0];
    let passed_on: u64 = received.headers["x-minibank-deadline-ms"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(passed_on <= 1500 && passed_on > 0, "{passed_on}");
}

#[tokio::test]
async fn a_call_after_the_deadline_is_refused_without_reaching_the_target() {
    let harness = start().await;
    let client = RpcClient::new(
        RpcClient::shared_http(),
        harness.telemetry.clone(),
        "downstream",
        harness.downstream.uri(),
        Duration::from_secs(5),
    );
    let ctx = background_ctx().with_deadline(tokio::time::Instant::now());
    let error = client
        .get_json::<Value>(&ctx, "/anything")
        .await
        .unwrap_err();
    assert_matches!(error, RpcError::DeadlineExceeded { .. });
    assert_eq!(error.outcome(), CallOutcome::NotReached);
    assert!(
        harness
            .downstream
            .received_requests()
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_slow_target_gives_a_typed_timeout_whose_outcome_is_unknown() {
    let harness = start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(3)))
        .mount(&harness.downstream)
        .await;
    let client = RpcClient::new(
        RpcClient::shared_http(),
        harness.telemetry.clone(),
        "downstream",
        harness.downstream.uri(),
        Duration::from_millis(100),
    );
    let error = client
        .get_json::<Value>(&background_ctx(), "/slow")
        .await
        .unwrap_err();
    assert_matches!(error, RpcError::Timeout { after, .. } if after == Duration::from_millis(100));
    assert_eq!(error.outcome(), CallOutcome::Unknown);

    let spans = exported(&harness.telemetry, &harness.spans).await;
    let client_span = spans
        .iter()
        .find(|s| s.span_kind == SpanKind::Client)
        .unwrap();
    assert_matches!(client_span.status, Status::Error { .. });
}

#[tokio::test]
async fn a_refused_connection_is_unreachable_and_never_reached_the_target() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = closed.local_addr().unwrap();
    drop(closed);
    let client = RpcClient::new(
        RpcClient::shared_http(),
        Telemetry::disabled("svc"),
        "provider",
        format!("http://{addr}"),
        Duration::from_secs(5),
    );
    let error = client
        .get_json::<Value>(&background_ctx(), "/transfers/x")
        .await
        .unwrap_err();
    assert_matches!(error, RpcError::Unreachable { .. });
    assert_eq!(error.outcome(), CallOutcome::NotReached);
}

#[tokio::test]
async fn error_statuses_are_typed_with_their_code_and_outcome() {
    let downstream = MockServer::start().await;
    Mock::given(path("/refuse"))
        .respond_with(
            ResponseTemplate::new(422).set_body_json(
                json!({"code": "insufficient_funds", "message": "not enough money"}),
            ),
        )
        .mount(&downstream)
        .await;
    Mock::given(path("/fail"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&downstream)
        .await;
    let client = RpcClient::new(
        RpcClient::shared_http(),
        Telemetry::disabled("svc"),
        "ledger",
        downstream.uri(),
        Duration::from_secs(5),
    );
    let refused = client
        .get_json::<Value>(&background_ctx(), "/refuse")
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Some("insufficient_funds"));
    assert_eq!(refused.status(), Some(StatusCode::UNPROCESSABLE_ENTITY));
    assert_eq!(refused.outcome(), CallOutcome::Refused);
    let failed = client
        .get_json::<Value>(&background_ctx(), "/fail")
        .await
        .unwrap_err();
    assert_eq!(failed.outcome(), CallOutcome::Unknown);
}

#[tokio::test]
async fn a_5xx_answer_marks_the_server_span_as_an_error() {
    let harness = start().await;
    let response = http()
        .get(format!("{}/boom", harness.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 500);
    let spans = exported(&harness.telemetry, &harness.spans).await;
    let server = spans.iter().find(|s| s.name == "GET /boom").unwrap();
    assert_matches!(server.status, Status::Error { .. });
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_json_errors() {
    let harness = start().await;
    let missing = http()
        .get(format!("{}/nope", harness.url))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let body: Value = missing.json().await.unwrap();
    assert_eq!(body["code"], "not_found");
    let wrong_method = http()
        .delete(format!("{}/echo", harness.url))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_method.status(), 405);
    let body: Value = wrong_method.json().await.unwrap();
    assert_eq!(body["code"], "method_not_allowed");
}

#[tokio::test]
async fn health_routes_answer_live_and_ready() {
    let harness = start().await;
    let live: Value = http()
        .get(format!("{}/health/live", harness.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(live, json!({"status": "live"}));
    let ready = http()
        .get(format!("{}/health/ready", harness.url))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
}

#[tokio::test]
#[tracing_test::traced_test]
async fn request_log_lines_carry_the_trace_id_span_id_and_service() {
    let harness = start().await;
    http()
        .get(format!("{}/echo", harness.url))
        .header("traceparent", traceparent())
        .send()
        .await
        .unwrap();
    let spans = exported(&harness.telemetry, &harness.spans).await;
    let server = spans.iter().find(|s| s.name == "GET /echo").unwrap();
    let span_id = server.span_context.span_id().to_string();
    logs_assert(|lines: &[&str]| {
        let handler_line = lines
            .iter()
            .find(|line| line.contains("echo handler ran"))
            .ok_or("no handler log line")?;
        for needle in [
            format!("trace_id={TRACE_ID}"),
            format!("span_id={span_id}"),
            "service=svc".to_owned(),
        ] {
            if !handler_line.contains(&needle) {
                return Err(format!("`{handler_line}` lacks {needle}"));
            }
        }
        lines
            .iter()
            .find(|line| line.contains("request completed") && line.contains(TRACE_ID))
            .map(|_| ())
            .ok_or_else(|| "no request completed line with the trace id".to_owned())
    });
}

/// Through the whole stack against a mock target that fails twice: one CLIENT span covers the
/// call and its two resends, named from the caller's template, and every attempt carries the
/// same `traceparent` (this span as parent), deadline and request id.
#[tokio::test]
async fn retries_stay_inside_one_client_span_and_resend_the_same_context() {
    let downstream = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/accounts/acc_1"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .mount(&downstream)
        .await;
    Mock::given(method("GET"))
        .and(path("/accounts/acc_1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "acc_1"})))
        .mount(&downstream)
        .await;
    let (telemetry, spans) = telemetry("svc");
    let resilience = Resilience {
        retry: RetrySettings {
            backoff: Duration::ZERO,
            ..RetrySettings::default()
        },
        ..Resilience::default()
    };
    let client = RpcClient::with_resilience(
        RpcClient::shared_http(),
        telemetry.clone(),
        "ledger",
        downstream.uri(),
        Duration::from_secs(5),
        &resilience,
    );
    let request = RpcRequest::get("/accounts/acc_1").template("/accounts/{account_id}");
    let answer = client.send(&background_ctx(), request).await.unwrap();
    assert_eq!(answer.status, StatusCode::OK);

    let spans = exported(&telemetry, &spans).await;
    let clients: Vec<_> = spans
        .iter()
        .filter(|s| s.span_kind == SpanKind::Client)
        .collect();
    assert_eq!(clients.len(), 1, "one span for the call and its resends");
    let span = clients[0];
    assert_eq!(span.name, "GET /accounts/{account_id}");
    let attr = |key: &str| {
        span.attributes
            .iter()
            .find(|kv| kv.key.as_str() == key)
            .map(|kv| kv.value.to_string())
    };
    assert_eq!(attr("http.request.resend_count").as_deref(), Some("2"));
    assert_eq!(attr("http.response.status_code").as_deref(), Some("200"));
    assert_eq!(attr("peer.service").as_deref(), Some("ledger"));

    let received = downstream.received_requests().await.unwrap();
    assert_eq!(received.len(), 3, "two failures and the success");
    let expected = format!(
        "00-{}-{}-01",
        span.span_context.trace_id(),
        span.span_context.span_id()
    );
    for attempt in &received {
        assert_eq!(attempt.headers["traceparent"], expected.as_str());
        assert!(attempt.headers.contains_key("x-minibank-deadline-ms"));
        assert_eq!(
            attempt.headers["x-request-id"],
            received[0].headers["x-request-id"]
        );
    }
}
