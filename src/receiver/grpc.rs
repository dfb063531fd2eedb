//! OTLP/gRPC: the `opentelemetry.proto.collector.trace.v1.TraceService/Export` and
//! `opentelemetry.proto.collector.metrics.v1.MetricsService/Export` methods.
//!
//! Oversized messages are refused by tonic itself (`max_decoding_message_size`) with
//! `OUT_OF_RANGE`; undecodable protobuf is refused by tonic's codec. Neither reaches
//! this code, and neither can crash the server.

use std::sync::Arc;

use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use tonic::codec::CompressionEncoding;

use crate::metrics::MetricsStore;
use crate::store::TraceStore;

/// The gRPC trace service, writing into a shared store.
#[derive(Debug, Clone)]
pub struct GrpcReceiver {
    store: Arc<TraceStore>,
}

impl GrpcReceiver {
    /// A receiver writing into `store`.
    pub fn new(store: Arc<TraceStore>) -> Self {
        Self { store }
    }

    /// The tonic service, accepting gzip and messages up to `max_request_bytes`.
    pub fn into_service(self, max_request_bytes: usize) -> TraceServiceServer<Self> {
        TraceServiceServer::new(self)
            .accept_compressed(CompressionEncoding::Gzip)
            .send_compressed(CompressionEncoding::Gzip)
            .max_decoding_message_size(max_request_bytes)
    }
}

#[async_trait::async_trait]
impl TraceService for GrpcReceiver {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let request = request.into_inner();
        Ok(tonic::Response::new(super::ingest(
            &self.store,
            request.resource_spans,
        )))
    }
}

/// The gRPC metrics service (`MetricsService/Export`), writing into a shared metrics store.
#[derive(Debug, Clone)]
pub struct GrpcMetricsReceiver {
    metrics: Arc<MetricsStore>,
}

impl GrpcMetricsReceiver {
    /// A receiver writing into `metrics`.
    pub fn new(metrics: Arc<MetricsStore>) -> Self {
        Self { metrics }
    }

    /// The tonic service, accepting gzip and messages up to `max_request_bytes`.
    pub fn into_service(self, max_request_bytes: usize) -> MetricsServiceServer<Self> {
        MetricsServiceServer::new(self)
            .accept_compressed(CompressionEncoding::Gzip)
            .send_compressed(CompressionEncoding::Gzip)
            .max_decoding_message_size(max_request_bytes)
    }
}

#[async_trait::async_trait]
impl MetricsService for GrpcMetricsReceiver {
    async fn export(
        &self,
        request: tonic::Request<ExportMetricsServiceRequest>,
    ) -> Result<tonic::Response<ExportMetricsServiceResponse>, tonic::Status> {
        let request = request.into_inner();
        Ok(tonic::Response::new(crate::metrics::ingest(
            &self.metrics,
            request.resource_metrics,
        )))
    }
}
