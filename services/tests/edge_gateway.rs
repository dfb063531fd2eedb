//! edge on its own, in front of wiremock upstreams: routing, authentication, limits, trace response.

mod foundation_support;

use std::time::Duration;

use foundation_support::{http, run};
use minibank::app::Deps;
use minibank::edge::{self, rate_limit::RateLimitSettings};
use minibank::rpc::RpcClient;
use minibank::telemetry::Telemetry;
use serde_json::{Value, json};
use wiremock::matchers::{body_partial_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

struct Edge {
    url: String,
    auth: MockServer,
    upstream: MockServer,
}

/// Starts edge with auth on one mock and ledger, payments and webhooks on another.
async fn start_edge(adjust: impl FnOnce(&mut edge::Settings)) -> Edge {
    let auth = MockServer::start().await;
    let upstream = MockServer::start().await;
    for (token, subject, role, scopes) in [
        (
            "customer-token",
            "cus_1",
            "customer",
            vec!["payments:write", "payments:read", "accounts:read"],
        ),
        (
            "operator-token",
            "op_1",
            "operator",
            vec!["parties:write", "accounts:fund", "ledger:audit"],
        ),
    ] {
        Mock::given(method("POST"))
            .and(path("/introspect"))
            .and(body_partial_json(json!({"token": token})))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "active": true, "subject": subject, "role": role, "scopes": scopes, "exp": 4_102_444_800u64
            })))
            .mount(&auth)
            .await;
    }
    Mock::given(method("POST"))
        .and(path("/introspect"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"active": false})))
        .with_priority(10)
        .mount(&auth)
        .await;
    let mut settings = edge::Settings::new(
        "127.0.0.1:0".parse().unwrap(),
        auth.uri(),
        upstream.uri(),
        upstream.uri(),
        upstream.uri(),
    );
    settings.introspection_cache_ttl = Duration::ZERO;
    adjust(&mut settings);
    let deps = Deps::new(Telemetry::disabled("edge"), RpcClient::shared_http());
    let app = edge::build(settings, deps).await.unwrap();
    Edge {
        url: run(app).url,
        auth,
        upstream,
    }
}

fn traceparent() -> String {
    format!("00-{TRACE_ID}-00f067aa0ba902b7-01")
}

async fn error_code(response: reqwest::Response) -> (u16, String) {
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    (status, body["code"].as_str().unwrap_or_default().to_owned())
}

#[tokio::test]
async fn a_missing_or_bad_token_is_401_unauthenticated_with_a_traceresponse() {
    let edge = start_edge(|_| {}).await;
    let missing = http()
        .get(format!("{}/v1/payments/pay_1", edge.url))
        .send()
        .await
        .unwrap();
    assert!(missing.headers().contains_key("traceresponse"));
    assert!(missing.headers().contains_key("x-request-id"));
    assert_eq!(
        error_code(missing).await,
        (401, "unauthenticated".to_owned())
    );
    let bad = http()
        .get(format!("{}/v1/payments/pay_1", edge.url))
        .bearer_auth("stolen-token")
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(bad).await, (401, "unauthenticated".to_owned()));
    assert!(edge.upstream.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_token_without_the_routes_scope_is_403_forbidden() {
    let edge = start_edge(|_| {}).await;
    let response = http()
        .post(format!("{}/v1/customers", edge.url))
        .bearer_auth("customer-token")
        .json(&json!({"name": "x", "currency": "GBP"}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(response).await, (403, "forbidden".to_owned()));
    assert!(edge.auth.received_requests().await.unwrap().len() == 1);
}

#[tokio::test]
async fn an_authorized_request_is_forwarded_with_edges_identity_headers_only() {
    let edge = start_edge(|_| {}).await;
    Mock::given(method("POST"))
        .and(path("/v1/payments"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"payment_id": "pay_1"})))
        .mount(&edge.upstream)
        .await;
    let response = http()
        .post(format!("{}/v1/payments", edge.url))
        .bearer_auth("customer-token")
        .header("idempotency-key", "key-1")
        .header("traceparent", traceparent())
        .header("x-minibank-subject", "mer_evil")
        .header("x-minibank-role", "operator")
        .json(&json!({"merchant_id": "mer_1", "amount": 100, "currency": "GBP"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["payment_id"], "pay_1");

    let forwarded = &edge.upstream.received_requests().await.unwrap()[0];
    assert_eq!(forwarded.headers["x-minibank-subject"], "cus_1");
    assert_eq!(forwarded.headers["x-minibank-role"], "customer");
    assert!(
        forwarded.headers["x-minibank-scopes"]
            .to_str()
            .unwrap()
            .contains("payments:write")
    );
    assert_eq!(forwarded.headers["idempotency-key"], "key-1");
    assert!(!forwarded.headers.contains_key("authorization"));
    assert!(
        forwarded.headers["traceparent"]
            .to_str()
            .unwrap()
            .contains(TRACE_ID)
    );
    assert_eq!(
        forwarded.body_json::<Value>().unwrap(),
        json!({"merchant_id": "mer_1", "amount": 100, "currency": "GBP"})
    );
}

#[tokio::test]
async fn the_token_route_is_public_and_goes_to_auth() {
    let edge = start_edge(|_| {}).await;
    Mock::given(method("POST"))
        .and(path("/tokens"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"access_token": "t"})))
        .mount(&edge.auth)
        .await;
    let response = http()
        .post(format!("{}/v1/tokens", edge.url))
        .json(&json!({"client_id": "c", "client_secret": "s"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["access_token"], "t");
}

#[tokio::test]
async fn onboarding_goes_to_auth_with_the_operators_identity() {
    let edge = start_edge(|_| {}).await;
    Mock::given(method("POST"))
        .and(path("/customers"))
        .and(header("x-minibank-role", "operator"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"customer_id": "cus_9"})))
        .mount(&edge.auth)
        .await;
    let response = http()
        .post(format!("{}/v1/customers", edge.url))
        .bearer_auth("operator-token")
        .json(&json!({"name": "Ada", "currency": "GBP"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
}

#[tokio::test]
async fn the_traceresponse_continues_the_callers_trace_with_edges_own_span() {
    let edge = start_edge(|_| {}).await;
    let response = http()
        .get(format!("{}/v1/unknown", edge.url))
        .header("traceparent", traceparent())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let traceresponse = response.headers()["traceresponse"].to_str().unwrap();
    let parts: Vec<&str> = traceresponse.split('-').collect();
    assert_eq!(parts.len(), 4, "{traceresponse}");
    assert_eq!(parts[0], "00");
    assert_eq!(parts[1], TRACE_ID);
    assert_ne!(parts[2], "00f067aa0ba902b7");
    assert_eq!(parts[3], "01");
}

#[tokio::test]
async fn a_body_over_the_limit_is_413_payload_too_large() {
    let edge = start_edge(|settings| settings.body_limit = 1024).await;
    let response = http()
        .post(format!("{}/v1/payments", edge.url))
        .bearer_auth("customer-token")
        .header("content-type", "application/json")
        .body(format!("{{\"reference\":\"{}\"}}", "x".repeat(4096)))
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(response).await,
        (413, "payload_too_large".to_owned())
    );
    assert!(edge.upstream.received_requests().await.unwrap().is_empty());
}

/// Sends a request with a body of `size` bytes over a raw connection, 64 KiB at a time (edge
/// answers while the body is still arriving), with `content-length` or chunked; then reads the
/// answer. Errors when the body could not be sent in full (edge stopped reading and reset the
/// connection: a client that sends before it reads then never sees the answer, which is what
/// happened through container networking) or no answer could be read.
async fn raw_oversized_post(base_url: &str, size: usize, declared: bool) -> Result<String, String> {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let address = base_url.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let framing = if declared {
        format!("content-length: {size}")
    } else {
        "transfer-encoding: chunked".to_owned()
    };
    let head = format!(
        "POST /v1/payments HTTP/1.1\r\nhost: {address}\r\nauthorization: Bearer customer-token\r\n\
         content-type: application/json\r\n{framing}\r\n\r\n"
    );
    stream
        .write_all(head.as_bytes())
        .await
        .map_err(|e| format!("sending the head: {e}"))?;
    let piece = vec![b'x'; 64 * 1024];
    let mut sent = 0;
    while sent < size {
        let n = piece.len().min(size - sent);
        let mut bytes = Vec::with_capacity(n + 16);
        if !declared {
            bytes.extend_from_slice(format!("{n:x}\r\n").as_bytes());
        }
        bytes.extend_from_slice(&piece[..n]);
        if !declared {
            bytes.extend_from_slice(b"\r\n");
        }
        stream
            .write_all(&bytes)
            .await
            .map_err(|e| format!("edge stopped reading after {sent} of {size} body bytes: {e}"))?;
        sent += n;
        // Let edge answer before the whole body is there, as a slower network would.
        tokio::task::yield_now().await;
    }
    if !declared {
        stream
            .write_all(b"0\r\n\r\n")
            .await
            .map_err(|e| format!("sending the last chunk: {e}"))?;
    }
    let mut answer = Vec::new();
    let mut buffer = [0u8; 4096];
    // Read up to the end of the JSON error body (edge may keep the connection open).
    while !answer.ends_with(b"}") {
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buffer))
            .await
            .map_err(|_| "no answer within 10 s".to_owned())?
            .map_err(|e| format!("reading the answer: {e}"))?;
        if n == 0 {
            break;
        }
        answer.extend_from_slice(&buffer[..n]);
    }
    Ok(String::from_utf8_lossy(&answer).into_owned())
}

/// Regression, at the socket: edge reads (and discards) an oversized body before answering 413,
/// so a client sending its whole body before reading gets to send it and reads the 413.
#[tokio::test]
async fn an_oversized_body_is_read_to_its_end_before_the_413() {
    let edge = start_edge(|settings| settings.body_limit = 1024).await;
    let mut failures = Vec::new();
    for round in 0..20 {
        for declared in [true, false] {
            match raw_oversized_post(&edge.url, 1024 * 1024, declared).await {
                Ok(answer)
                    if answer.starts_with("HTTP/1.1 413")
                        && answer.contains("\"payload_too_large\"") => {}
                other => failures.push(format!(
                    "round {round}, declared length {declared}: {other:?}"
                )),
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// A body of `chunks` × 16 KiB sent a chunk at a time, `pause` apart (still being sent when edge
/// answers); its length is unknown to reqwest, so it is chunked unless the caller declares it.
fn trickled_body(chunks: usize, pause: Duration) -> reqwest::Body {
    let frames = futures::stream::unfold(0, move |sent| async move {
        if sent == chunks {
            return None;
        }
        if sent > 0 {
            tokio::time::sleep(pause).await;
        }
        let frame = hyper::body::Frame::data(bytes::Bytes::from(vec![b'x'; 16 * 1024]));
        Some((Ok::<_, std::io::Error>(frame), sent + 1))
    });
    reqwest::Body::wrap(http_body_util::StreamBody::new(frames))
}

/// Regression: edge used to answer 413 before reading the body and then close, so a client still
/// sending saw a connection reset instead of the answer. Bodies far over the limit, declared
/// (`content-length`) and chunked, must always come back as a readable 413.
#[tokio::test]
async fn a_body_far_over_the_limit_is_always_answered_413_not_reset() {
    let edge = start_edge(|settings| settings.body_limit = 1024).await;
    let client = http();
    const CHUNKS: usize = 32; // 512 KiB: 512 times the limit, well within what edge discards
    for round in 0..20 {
        for declared in [true, false] {
            let mut request = client
                .post(format!("{}/v1/payments", edge.url))
                .bearer_auth("customer-token")
                .header("content-type", "application/json")
                .body(trickled_body(CHUNKS, Duration::from_millis(1)))
                .timeout(Duration::from_secs(10));
            if declared {
                request = request.header("content-length", CHUNKS * 16 * 1024);
            }
            let response = request.send().await.unwrap_or_else(|error| {
                panic!("round {round}, declared length {declared}: no answer but {error:?}")
            });
            assert_eq!(
                error_code(response).await,
                (413, "payload_too_large".to_owned()),
                "round {round}, declared length {declared}"
            );
        }
    }
    let forwarded: Vec<_> = edge
        .upstream
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path().starts_with("/v1/"))
        .map(|r| format!("{} {}", r.method, r.url))
        .collect();
    assert!(forwarded.is_empty(), "nothing is forwarded: {forwarded:?}");
}

#[tokio::test]
async fn a_slow_upstream_is_504_upstream_timeout() {
    let edge = start_edge(|settings| settings.upstream_timeout = Duration::from_millis(200)).await;
    Mock::given(method("GET"))
        .and(path("/v1/ledger/audit"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(5)))
        .mount(&edge.upstream)
        .await;
    let response = http()
        .get(format!("{}/v1/ledger/audit", edge.url))
        .bearer_auth("operator-token")
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(response).await,
        (504, "upstream_timeout".to_owned())
    );
}

#[tokio::test]
async fn a_client_over_its_rate_limit_gets_429_with_retry_after() {
    let edge = start_edge(|settings| {
        settings.rate_limit = RateLimitSettings {
            per_second: 1,
            burst: 2,
        }
    })
    .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .mount(&edge.upstream)
        .await;
    let call = || {
        http()
            .get(format!("{}/v1/payments/pay_1", edge.url))
            .bearer_auth("customer-token")
            .send()
    };
    assert_eq!(call().await.unwrap().status(), 200);
    assert_eq!(call().await.unwrap().status(), 200);
    let limited = call().await.unwrap();
    assert_eq!(limited.status(), 429);
    assert!(limited.headers().contains_key("retry-after"));
    assert_eq!(error_code(limited).await.1, "rate_limited");
}

#[tokio::test]
async fn introspection_answers_are_cached_for_the_configured_ttl() {
    let edge =
        start_edge(|settings| settings.introspection_cache_ttl = Duration::from_secs(60)).await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .mount(&edge.upstream)
        .await;
    for _ in 0..3 {
        let response = http()
            .get(format!("{}/v1/payments/pay_1", edge.url))
            .bearer_auth("customer-token")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    assert_eq!(edge.auth.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn the_openapi_document_describes_every_public_route() {
    let edge = start_edge(|_| {}).await;
    let document: Value = http()
        .get(format!("{}/openapi.json", edge.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(document["openapi"].as_str().unwrap().starts_with("3."));
    for route in edge::routes::public_routes() {
        let operation = &document["paths"][route.pattern][route.method.as_str().to_lowercase()];
        assert!(
            operation.is_object(),
            "{} {} missing",
            route.method,
            route.pattern
        );
    }
}

#[tokio::test]
async fn the_propagation_probe_posts_each_argument_continuing_the_trace() {
    let edge = start_edge(|settings| settings.propagation_probe = true).await;
    let target = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&target)
        .await;
    let response = http()
        .post(format!("{}/test", edge.url))
        .header("traceparent", traceparent())
        .header("tracestate", "foo=bar")
        .json(&json!([
            {"url": format!("{}/one", target.uri()), "arguments": [{"url": "x", "arguments": []}]},
            {"url": format!("{}/two", target.uri()), "arguments": []}
        ]))
        .send()
        .await
        .unwrap();
    let status = response.status();
    assert_eq!(status, 200, "{}", response.text().await.unwrap());
    let received = target.received_requests().await.unwrap();
    assert_eq!(received.len(), 2);
    assert_eq!(received[0].url.path(), "/one");
    assert_eq!(
        received[0].body_json::<Value>().unwrap(),
        json!([{"url": "x", "arguments": []}])
    );
    for request in &received {
        assert!(
            request.headers["traceparent"]
                .to_str()
                .unwrap()
                .contains(TRACE_ID)
        );
        assert_eq!(request.headers["tracestate"], "foo=bar");
    }
}

/// What the probe forwards for one incoming `tracestate`: (traceparent, tracestate) of the call.
async fn probe_forwards(edge_url: &str, tracestate: &str) -> (String, Option<String>) {
    let target = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&target)
        .await;
    let response = http()
        .post(format!("{edge_url}/test"))
        .header("traceparent", traceparent())
        .header("tracestate", tracestate)
        .json(&json!([{"url": format!("{}/next", target.uri()), "arguments": []}]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let received = target.received_requests().await.unwrap();
    let header = |name: &str| {
        received[0]
            .headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    (header("traceparent").unwrap(), header("tracestate"))
}

/// W3C Trace Context §3.3 at edge: an invalid `tracestate` is discarded as a whole, the trace
/// continues; the same parser runs in every service, so the rules are unit-tested in
/// `rpc::tracestate`.
#[tokio::test]
async fn the_probe_discards_an_invalid_tracestate_and_keeps_the_trace() {
    let edge = start_edge(|settings| settings.propagation_probe = true).await;
    let too_many = (1..=33)
        .map(|n| format!("k{n}={n}"))
        .collect::<Vec<_>>()
        .join(",");
    for invalid in [
        "foo@@bar=1,bar=2".to_owned(),
        format!("{}=1,bar=2", "k".repeat(257)),
        too_many,
        "foo=a\tb,bar=2".to_owned(),
        "foo=a=b,bar=2".to_owned(),
        "foo=1,foo=2".to_owned(),
    ] {
        let (parent, state) = probe_forwards(&edge.url, &invalid).await;
        assert!(parent.contains(TRACE_ID), "{invalid:?}: trace lost");
        assert_eq!(state, None, "{invalid:?} was forwarded");
    }
}

#[tokio::test]
async fn the_probe_forwards_a_valid_tracestate_in_order() {
    let edge = start_edge(|settings| settings.propagation_probe = true).await;
    let long_key = "k".repeat(256);
    let tenant = format!("{}@{}", "t".repeat(241), "s".repeat(14));
    let (_, state) = probe_forwards(
        &edge.url,
        &format!("rojo=1 ,{long_key}=2, {tenant}= 3,congo=4"),
    )
    .await;
    assert_eq!(
        state.as_deref(),
        Some(format!("rojo=1,{long_key}=2,{tenant}= 3,congo=4").as_str())
    );
    let thirty_two = (1..=32)
        .map(|n| format!("k{n}={n}"))
        .collect::<Vec<_>>()
        .join(",");
    let (_, state) = probe_forwards(&edge.url, &thirty_two).await;
    assert_eq!(state, Some(thirty_two));
}

#[tokio::test]
async fn the_probe_refuses_instructions_that_are_not_an_array_of_http_calls_and_makes_none() {
    let edge = start_edge(|settings| settings.propagation_probe = true).await;
    let target = MockServer::start().await;
    let refusal = |body: Value| {
        let url = format!("{}/test", edge.url);
        async move {
            let response = http().post(url).json(&body).send().await.unwrap();
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap();
            (status, body["code"].clone(), body["field"].clone())
        }
    };
    assert_eq!(
        refusal(json!({"url": target.uri()})).await,
        (422, json!("not_an_array"), Value::Null)
    );
    assert_eq!(
        refusal(json!([{"url": target.uri()}, {"url": "ftp://example"}])).await,
        (422, json!("invalid_url"), json!("[1].url"))
    );
    assert_eq!(
        refusal(json!([{"arguments": []}])).await,
        (422, json!("missing_field"), json!("[0].url"))
    );
    assert!(target.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn without_the_probe_there_is_no_test_route() {
    let edge = start_edge(|_| {}).await;
    let response = http()
        .post(format!("{}/test", edge.url))
        .json(&json!([]))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(response).await, (404, "not_found".to_owned()));
}

#[tokio::test]
async fn every_declared_path_answers_an_undeclared_method_with_405_and_allow() {
    // The probe off: `/test` is still declared (POST is its 404), as schemathesis expects.
    let edge = start_edge(|_| {}).await;
    let document: Value = serde_json::from_str(edge::OPENAPI_JSON).unwrap();
    let methods = ["get", "post", "put", "patch", "delete"];
    for (path, item) in document["paths"].as_object().unwrap() {
        let declared: Vec<&str> = methods
            .into_iter()
            .filter(|m| item.get(*m).is_some())
            .collect();
        let undeclared = methods.into_iter().find(|m| !declared.contains(m)).unwrap();
        let url = format!("{}{}", edge.url, path.replace('{', "x").replace('}', ""));
        let response = http()
            .request(undeclared.to_uppercase().parse().unwrap(), &url)
            .send()
            .await
            .unwrap();
        let allow = response
            .headers()
            .get("allow")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_else(|| panic!("{undeclared} {path}: no Allow header"));
        let mut allowed: Vec<String> = allow.split(',').map(|m| m.trim().to_lowercase()).collect();
        allowed.retain(|m| m != "head");
        allowed.sort();
        let mut expected: Vec<String> = declared.iter().map(|m| (*m).to_owned()).collect();
        expected.sort();
        assert_eq!(allowed, expected, "{undeclared} {path}: Allow");
        assert_eq!(
            error_code(response).await,
            (405, "method_not_allowed".to_owned()),
            "{undeclared} {path}"
        );
    }
}

#[tokio::test]
async fn replicas_of_an_upstream_take_turns() {
    let second = MockServer::start().await;
    let second_uri = second.uri();
    let edge = start_edge(move |settings| settings.payments_urls.push(second_uri)).await;
    for replica in [&edge.upstream, &second] {
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
            .mount(replica)
            .await;
    }
    for _ in 0..4 {
        let response = http()
            .get(format!("{}/v1/payments/pay_1", edge.url))
            .bearer_auth("customer-token")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    assert_eq!(edge.upstream.received_requests().await.unwrap().len(), 2);
    assert_eq!(second.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn an_unreachable_upstream_is_503_upstream_unavailable() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let edge = start_edge(move |settings| settings.ledger_urls = vec![url]).await;
    let response = http()
        .get(format!("{}/v1/ledger/audit", edge.url))
        .bearer_auth("operator-token")
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(response).await,
        (503, "upstream_unavailable".to_owned())
    );
}

#[tokio::test]
async fn edge_health_answers_also_carry_traceresponse_and_a_request_id() {
    let edge = start_edge(|_| {}).await;
    let response = http()
        .get(format!("{}/health/live", edge.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers().contains_key("traceresponse"));
    assert!(response.headers().contains_key("x-request-id"));
}

#[tokio::test]
async fn token_requests_are_rate_limited_per_client_id() {
    let edge = start_edge(|settings| {
        settings.public_rate_limit = RateLimitSettings {
            per_second: 1,
            burst: 1,
        }
    })
    .await;
    Mock::given(method("POST"))
        .and(path("/tokens"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .mount(&edge.auth)
        .await;
    let ask = |client: &str| {
        http()
            .post(format!("{}/v1/tokens", edge.url))
            .json(&json!({"client_id": client, "client_secret": "s"}))
            .send()
    };
    assert_eq!(ask("busy").await.unwrap().status(), 200);
    assert_eq!(ask("busy").await.unwrap().status(), 429);
    assert_eq!(ask("quiet").await.unwrap().status(), 200);
}
