//! Metrics the services export over OTLP, as the sink keeps them: the receivers
//! ([`crate::receiver`]) write every data point into a [`MetricsStore`]; steps read a
//! service's [`ServiceFigures`] (requests, errors and time per route; connection-pool
//! counters) through the driver, or over the query API (`GET /api/sink/metrics/{service}`).

pub mod figures;
pub mod store;

pub use figures::{
    POOL_CALLS_METRIC, POOL_CONNECTIONS_METRIC, PoolFigures, REQUEST_DURATION_METRIC, RouteFigures,
    ServiceFigures, UNMATCHED_ROUTE,
};
pub use store::{
    IngestOutcome, MetricsStore, MetricsStoreConfig, MetricsStoreStats, StaleFigures, StreamKey,
    StreamValue,
};

use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsPartialSuccess, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::metrics::v1::ResourceMetrics;

/// Stores one export request's metrics; the response carries OTLP partial success when data
/// points were rejected.
pub(crate) fn ingest(
    store: &MetricsStore,
    resource_metrics: Vec<ResourceMetrics>,
) -> ExportMetricsServiceResponse {
    let outcome = store.ingest(resource_metrics);
    if outcome.rejected == 0 {
        return ExportMetricsServiceResponse {
            partial_success: None,
        };
    }
    tracing::debug!(
        rejected = outcome.rejected,
        error_message = %outcome.error_message,
        "OTLP metrics export partially accepted"
    );
    ExportMetricsServiceResponse {
        partial_success: Some(ExportMetricsPartialSuccess {
            rejected_data_points: outcome.rejected as i64,
            error_message: outcome.error_message,
        }),
    }
}
