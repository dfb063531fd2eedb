//! OTLP/HTTP receiver: protobuf, JSON, gzip, partial success, and refusals.

use harness::model::{AttrValue, SpanKind, StatusCode};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use prost::Message as _;

use crate::support::{
    PROTOBUF, export_request, gzip, post, rpc_status, span, start_sink, trace_id,
};

#[tokio::test]
async fn protobuf_export_is_stored_with_every_field() {
    let sink = start_sink().await;
    let spans = vec![
        span(1, 1, "edge")
            .kind(SpanKind::Server)
            .name("POST /v1/payments")
            .build(),
        span(1, 2, "payments")
            .parent(1)
            .kind(SpanKind::Client)
            .attr("http.response.status_code", AttrValue::Int(201))
            .error("provider down")
            .build(),
    ];
    let body = export_request(&spans).encode_to_vec();
    let response = post(&sink.otlp_traces_url(), PROTOBUF, None, body).await;
    assert_eq!(response.status(), 200);
    let decoded = ExportTraceServiceResponse::decode(response.bytes().await.expect("body"))
        .expect("protobuf");
    assert_eq!(decoded.partial_success, None);
    let trace = sink.store().get(&trace_id(1)).expect("stored");
    assert_eq!(trace.spans, spans);
    assert_eq!(trace.spans[1].status.code, StatusCode::Error);
}

#[tokio::test]
async fn json_export_with_hex_ids_as_the_spec_shows_is_stored() {
    let sink = start_sink().await;
    let body = serde_json::json!({"resourceSpans": [{
        "resource": {"attributes": [
            {"key": "service.name", "value": {"stringValue": "edge"}},
            {"key": "service.instance.id", "value": {"stringValue": "edge-1"}}
        ]},
        "scopeSpans": [{"scope": {"name": "minibank"}, "spans": [{
            "traceId": "5B8EFFF798038103D269B633813FC60C",
            "spanId": "EEE19B7EC3C1B174",
            "parentSpanId": "EEE19B7EC3C1B173",
            "name": "GET /health/live",
            "kind": 2,
            "startTimeUnixNano": "1544712660000000000",
            "endTimeUnixNano": "1544712661000000000",
            "attributes": [{"key": "http.response.status_code", "value": {"intValue": "200"}}],
            "status": {"code": 1}
        }]}]
    }]});
    let response = post(
        &sink.otlp_traces_url(),
        "application/json",
        None,
        body.to_string().into_bytes(),
    )
    .await;
    assert_eq!(response.status(), 200);
    let id = harness::model::TraceId::parse("5b8efff798038103d269b633813fc60c").expect("id");
    let trace = sink.store().get(&id).expect("stored");
    let span = &trace.spans[0];
    assert_eq!(span.service(), "edge");
    assert_eq!(span.resource.service_instance_id.as_deref(), Some("edge-1"));
    assert_eq!(span.span_id.as_str(), "eee19b7ec3c1b174");
    assert_eq!(span.kind, SpanKind::Server);
    assert_eq!(
        span.attr("http.response.status_code"),
        Some(&AttrValue::Int(200))
    );
    assert_eq!(span.scope.as_deref(), Some("minibank"));
    assert_eq!(span.duration_nanos(), 1_000_000_000);
}

#[tokio::test]
async fn gzip_bodies_are_accepted() {
    let sink = start_sink().await;
    let body = gzip(&export_request(&[span(2, 1, "ledger").build()]).encode_to_vec());
    let response = post(&sink.otlp_traces_url(), PROTOBUF, Some("gzip"), body).await;
    assert_eq!(response.status(), 200);
    assert_eq!(sink.store().span_count(&trace_id(2)), 1);
}

#[tokio::test]
async fn spans_with_invalid_ids_are_reported_as_partial_success() {
    let sink = start_sink().await;
    let mut request = export_request(&[span(3, 1, "edge").build(), span(3, 2, "edge").build()]);
    request.resource_spans[0].scope_spans[0].spans[1].span_id = vec![0; 8];
    let response = post(
        &sink.otlp_traces_url(),
        PROTOBUF,
        None,
        request.encode_to_vec(),
    )
    .await;
    assert_eq!(response.status(), 200);
    let decoded = ExportTraceServiceResponse::decode(response.bytes().await.expect("body"))
        .expect("protobuf");
    let partial = decoded.partial_success.expect("partial success set");
    assert_eq!(partial.rejected_spans, 1);
    assert!(
        partial.error_message.contains("span id"),
        "{}",
        partial.error_message
    );
    assert_eq!(sink.store().span_count(&trace_id(3)), 1);
}

#[tokio::test]
async fn json_partial_success_uses_otlp_json_names() {
    let sink = start_sink().await;
    let body = serde_json::json!({"resourceSpans": [{"scopeSpans": [{"spans": [
        {"traceId": "5b8efff798038103d269b633813fc60c", "spanId": "0000000000000000", "name": "x"}
    ]}]}]});
    let response = post(
        &sink.otlp_traces_url(),
        "application/json",
        None,
        body.to_string().into_bytes(),
    )
    .await;
    assert_eq!(response.status(), 200);
    let json: serde_json::Value = response.json().await.expect("json");
    assert_eq!(json["partialSuccess"]["rejectedSpans"], "1");
}

#[tokio::test]
async fn malformed_payloads_get_400_with_a_status_body_and_the_receiver_keeps_serving() {
    let sink = start_sink().await;
    let response = post(
        &sink.otlp_traces_url(),
        PROTOBUF,
        None,
        vec![0xff, 0xff, 0xff],
    )
    .await;
    assert_eq!(response.status(), 400);
    let response = post(
        &sink.otlp_traces_url(),
        "application/json",
        None,
        b"{not json".to_vec(),
    )
    .await;
    assert_eq!(response.status(), 400);
    let json: serde_json::Value = response.json().await.expect("json error body");
    assert_eq!(json["code"], 3);
    assert!(json["message"].as_str().is_some_and(|m| !m.is_empty()));
    let response = post(
        &sink.otlp_traces_url(),
        PROTOBUF,
        Some("gzip"),
        b"not gzip".to_vec(),
    )
    .await;
    assert_eq!(response.status(), 400);
    let response = post(&sink.otlp_traces_url(), "text/plain", None, b"hi".to_vec()).await;
    assert_eq!(response.status(), 415);
    let body = export_request(&[span(4, 1, "edge").build()]).encode_to_vec();
    let response = post(&sink.otlp_traces_url(), PROTOBUF, None, body).await;
    assert_eq!(response.status(), 200, "still serving after bad input");
}

#[tokio::test]
async fn oversized_bodies_and_zip_bombs_get_413() {
    let config = harness::sink::SinkConfig {
        max_request_bytes: 64 * 1024,
        ..harness::sink::SinkConfig::ephemeral()
    };
    let sink = harness::sink::TraceSink::start(config).await.expect("sink");
    let response = post(
        &sink.otlp_traces_url(),
        PROTOBUF,
        None,
        vec![0u8; 65 * 1024],
    )
    .await;
    assert_eq!(response.status(), 413);
    // 10 MiB of zeros gzip to about 10 KiB: small on the wire, too big inflated.
    let bomb = gzip(&vec![0u8; 10 * 1024 * 1024]);
    assert!(bomb.len() < 64 * 1024);
    let response = post(&sink.otlp_traces_url(), PROTOBUF, Some("gzip"), bomb).await;
    assert_eq!(response.status(), 413);
    let status = rpc_status(response.bytes().await.expect("body").as_ref());
    assert_eq!(status.0, 8, "RESOURCE_EXHAUSTED");
}

#[tokio::test]
async fn a_large_batch_is_decoded_off_the_async_workers_and_stored() {
    let sink = start_sink().await;
    let spans: Vec<_> = (0..5_000)
        .map(|i| {
            span(9, i, "edge")
                .attr("padding", AttrValue::String("x".repeat(64)))
                .build()
        })
        .collect();
    let body = export_request(&spans).encode_to_vec();
    assert!(
        body.len() > 256 * 1024,
        "large enough to take the blocking path"
    );
    let response = post(&sink.otlp_traces_url(), PROTOBUF, None, body).await;
    assert_eq!(response.status(), 200);
    assert_eq!(sink.store().span_count(&trace_id(9)), 5_000);
}

#[tokio::test]
async fn hundreds_of_garbage_bodies_get_200_or_400_and_never_take_the_receiver_down() {
    let sink = start_sink().await;
    let valid = export_request(&[span(10, 1, "edge").build()]).encode_to_vec();
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for round in 0..300 {
        // Mutate a valid message (flip, truncate) or send pure noise, as protobuf or JSON.
        let mut body = if round % 3 == 0 {
            (0..(next() % 512))
                .map(|_| next() as u8)
                .collect::<Vec<u8>>()
        } else {
            let mut body = valid.clone();
            for _ in 0..(1 + next() % 4) {
                let i = (next() as usize) % body.len();
                body[i] ^= next() as u8;
            }
            body
        };
        if round % 5 == 0 {
            body.truncate((next() as usize) % (body.len() + 1));
        }
        let content_type = if round % 2 == 0 {
            PROTOBUF
        } else {
            "application/json"
        };
        let response = post(&sink.otlp_traces_url(), content_type, None, body).await;
        let status = response.status().as_u16();
        assert!(status == 200 || status == 400, "round {round}: {status}");
    }
    let response = post(&sink.otlp_traces_url(), PROTOBUF, None, valid).await;
    assert_eq!(response.status(), 200);
    // Mutations that still decode may have added other spans; the valid one is there.
    let trace = sink.store().get(&trace_id(10)).expect("trace stored");
    assert!(trace.span(&crate::support::span_id(1)).is_some());
}
