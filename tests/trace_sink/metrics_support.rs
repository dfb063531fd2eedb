//! Builders of OTLP metrics export requests for the metrics tests.

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, Histogram, HistogramDataPoint, Metric, NumberDataPoint,
    ResourceMetrics, ScopeMetrics, Sum, metric, number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;

pub const CUMULATIVE: i32 = AggregationTemporality::Cumulative as i32;
pub const DELTA: i32 = AggregationTemporality::Delta as i32;

fn string(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.to_owned())),
        }),
        ..KeyValue::default()
    }
}

fn int(key: &str, value: i64) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue {
            value: Some(any_value::Value::IntValue(value)),
        }),
        ..KeyValue::default()
    }
}

/// A request histogram point for `method route status`: `count` requests taking `sum` seconds,
/// collected at `time` (unix nanos) since `start`.
pub fn request_point(
    method: &str,
    route: &str,
    status: i64,
    count: u64,
    sum: f64,
    (start, time): (u64, u64),
) -> HistogramDataPoint {
    HistogramDataPoint {
        attributes: vec![
            string("http.request.method", method),
            string("http.route", route),
            int("http.response.status_code", status),
        ],
        start_time_unix_nano: start,
        time_unix_nano: time,
        count,
        sum: Some(sum),
        ..HistogramDataPoint::default()
    }
}

/// The semconv request histogram with these points.
pub fn requests(temporality: i32, points: Vec<HistogramDataPoint>) -> Metric {
    Metric {
        name: "http.server.request.duration".to_owned(),
        unit: "s".to_owned(),
        data: Some(metric::Data::Histogram(Histogram {
            data_points: points,
            aggregation_temporality: temporality,
        })),
        ..Metric::default()
    }
}

/// A monotonic counter `name` with one point `value` collected at `time`.
pub fn counter(name: &str, temporality: i32, value: i64, (start, time): (u64, u64)) -> Metric {
    Metric {
        name: name.to_owned(),
        data: Some(metric::Data::Sum(Sum {
            data_points: vec![NumberDataPoint {
                start_time_unix_nano: start,
                time_unix_nano: time,
                value: Some(number_data_point::Value::AsInt(value)),
                ..NumberDataPoint::default()
            }],
            aggregation_temporality: temporality,
            is_monotonic: true,
        })),
        ..Metric::default()
    }
}

/// One export request: `metrics` of instance `instance` of `service`.
pub fn export(service: &str, instance: &str, metrics: Vec<Metric>) -> ExportMetricsServiceRequest {
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(Resource {
                attributes: vec![
                    string("service.name", service),
                    string("service.instance.id", instance),
                ],
                ..Resource::default()
            }),
            scope_metrics: vec![ScopeMetrics {
                metrics,
                ..ScopeMetrics::default()
            }],
            ..ResourceMetrics::default()
        }],
    }
}
