//! OTLP/gRPC receiver through tonic's generated client.

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use tonic::codec::CompressionEncoding;

use crate::support::{export_request, span, start_sink, trace_id};

#[tokio::test]
async fn grpc_export_is_stored_and_answered_without_partial_success() {
    let sink = start_sink().await;
    let mut client = TraceServiceClient::connect(sink.otlp_grpc_endpoint())
        .await
        .expect("connect");
    let spans = vec![
        span(1, 1, "edge").build(),
        span(1, 2, "auth").parent(1).build(),
    ];
    let response = client
        .export(export_request(&spans))
        .await
        .expect("export ok")
        .into_inner();
    assert_eq!(response.partial_success, None);
    assert_eq!(sink.store().get(&trace_id(1)).expect("stored").spans, spans);
}

#[tokio::test]
async fn grpc_accepts_gzip_and_reports_partial_success() {
    let sink = start_sink().await;
    let mut client = TraceServiceClient::connect(sink.otlp_grpc_endpoint())
        .await
        .expect("connect")
        .send_compressed(CompressionEncoding::Gzip)
        .accept_compressed(CompressionEncoding::Gzip);
    let mut request = export_request(&[span(2, 1, "edge").build(), span(2, 2, "edge").build()]);
    request.resource_spans[0].scope_spans[0].spans[0].trace_id = vec![1, 2, 3];
    let response = client
        .export(request)
        .await
        .expect("export ok")
        .into_inner();
    let partial = response.partial_success.expect("partial success");
    assert_eq!(partial.rejected_spans, 1);
    assert!(partial.error_message.contains("trace id"));
    assert_eq!(sink.store().span_count(&trace_id(2)), 1);
}

#[tokio::test]
async fn oversized_grpc_messages_are_refused_with_a_status_not_a_crash() {
    let config = harness::sink::SinkConfig {
        max_request_bytes: 1024,
        ..harness::sink::SinkConfig::ephemeral()
    };
    let sink = harness::sink::TraceSink::start(config).await.expect("sink");
    let mut client = TraceServiceClient::connect(sink.otlp_grpc_endpoint())
        .await
        .expect("connect");
    let mut big = span(3, 1, "edge").build();
    big.name = "x".repeat(4096);
    let status = client
        .export(export_request(&[big]))
        .await
        .expect_err("refused");
    assert_eq!(status.code(), tonic::Code::OutOfRange, "{status}");
    let response = client
        .export(export_request(&[span(3, 2, "edge").build()]))
        .await;
    assert!(response.is_ok(), "still serving: {response:?}");
}

/// A message with field 1 as a varint where `ExportTraceServiceRequest` has a
/// length-delimited `resource_spans`: valid protobuf framing, undecodable as OTLP.
#[derive(Clone, PartialEq, prost::Message)]
struct NotAnExportRequest {
    #[prost(uint64, tag = "1")]
    resource_spans: u64,
}

#[tokio::test]
async fn undecodable_grpc_messages_get_an_error_status_and_the_server_keeps_serving() {
    let sink = start_sink().await;
    let channel = tonic::transport::Endpoint::from_shared(sink.otlp_grpc_endpoint())
        .expect("endpoint")
        .connect()
        .await
        .expect("connect");
    let mut raw = tonic::client::Grpc::new(channel.clone());
    raw.ready().await.expect("ready");
    let codec: tonic_prost::ProstCodec<
        NotAnExportRequest,
        opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse,
    > = tonic_prost::ProstCodec::default();
    let path = tonic::codegen::http::uri::PathAndQuery::from_static(
        "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
    );
    let status = raw
        .unary(
            tonic::Request::new(NotAnExportRequest { resource_spans: 7 }),
            path,
            codec,
        )
        .await
        .expect_err("refused");
    assert_ne!(status.code(), tonic::Code::Ok);
    assert!(status.message().contains("decode"), "{status}");
    let mut client = TraceServiceClient::new(channel);
    let response = client
        .export(export_request(&[span(4, 1, "edge").build()]))
        .await;
    assert!(response.is_ok(), "still serving: {response:?}");
}
