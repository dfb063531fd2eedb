//! The metrics store: the latest value of every metric stream the sink received.
//!
//! - A stream is one (service, instance, metric, attribute set), as OTLP defines it. Sums,
//!   gauges and histograms are kept as one value each (a sum's value; a histogram's count and
//!   sum), which is all the figures the harness reads need.
//! - Temporality: a cumulative point replaces the stored one when it is newer (a new start
//!   time is a reset: the producer restarted); a delta point is added to what is stored.
//!   Gauges keep the newest point. A point without a usable value or temporality is rejected
//!   and counted for OTLP partial success.
//! - Bound: at most `max_streams` streams; points of new streams beyond it are rejected.
//! - Concurrency and notification: one `parking_lot::Mutex` (short operations, no await under
//!   it) and a `tokio::sync::watch` generation bumped on every ingest, so a reader waiting for
//!   figures newer than some moment is woken by the export itself, never polls.
//! - Delta points are not deduplicated: an exporter that retries a delta batch the sink did
//!   accept would count it twice (the services export cumulative, the SDK's default).

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, Metric, ResourceMetrics, metric, number_data_point,
};
use parking_lot::Mutex;
use serde::Serialize;
use tokio::sync::watch;

use crate::model::Resource;
use crate::otlp::decode::attributes_from;

use super::figures::ServiceFigures;

/// How big the metrics store may grow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricsStoreConfig {
    /// Most streams kept; points of further new streams are rejected.
    pub max_streams: usize,
}

impl Default for MetricsStoreConfig {
    fn default() -> Self {
        Self {
            max_streams: 100_000,
        }
    }
}

/// One stream's identity: who reported it and which attribute set it is.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamKey {
    /// `service.name` of the resource.
    pub service: String,
    /// `service.instance.id` of the resource (empty when unset).
    pub instance: String,
    /// Metric name, e.g. `http.server.request.duration`.
    pub metric: String,
    /// The point's attributes, values rendered as text.
    pub attributes: BTreeMap<String, String>,
}

/// A stream's current value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum StreamValue {
    /// A sum (counter) or gauge.
    Number(f64),
    /// A histogram (explicit or exponential) or summary: how many values and their total.
    Distribution {
        /// How many values were recorded.
        count: u64,
        /// Their total.
        sum: f64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Temporality {
    Delta,
    Cumulative,
    /// Gauges: each point is the current value.
    Latest,
}

#[derive(Debug, Clone)]
struct Stream {
    temporality: Temporality,
    start_unix_nanos: u64,
    time_unix_nanos: u64,
    value: StreamValue,
}

/// Counters describing the store.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct MetricsStoreStats {
    /// Streams held.
    pub streams: usize,
    /// The configured stream limit.
    pub max_streams: usize,
    /// Data points applied since start.
    pub accepted_points: u64,
    /// Data points rejected (no value, no temporality, or over the stream limit).
    pub rejected_points: u64,
}

/// What one ingest did, for OTLP partial success.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IngestOutcome {
    /// Points applied.
    pub accepted: u64,
    /// Points rejected.
    pub rejected: u64,
    /// Why the first rejected point was rejected; empty when none was.
    pub error_message: String,
}

#[derive(Default)]
struct Inner {
    streams: HashMap<StreamKey, Stream>,
    /// Per service: the newest point time received (its last collection).
    collected: HashMap<String, u64>,
    stats: MetricsStoreStats,
}

/// Metric streams by service; bounded, concurrent, and observable. See the module docs.
pub struct MetricsStore {
    config: MetricsStoreConfig,
    inner: Mutex<Inner>,
    generation: watch::Sender<u64>,
}

impl std::fmt::Debug for MetricsStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsStore")
            .field("stats", &self.stats())
            .finish()
    }
}

impl Default for MetricsStore {
    fn default() -> Self {
        Self::new(MetricsStoreConfig::default())
    }
}

/// The figures of a service did not get newer than the moment asked for in time.
#[derive(Debug, Clone, thiserror::Error)]
#[error(
    "waited {waited:?} for {service}'s metrics collected after {since_unix_nanos} ns (unix) to reach the sink; {}",
    match last_unix_nanos {
        Some(last) => format!("its newest collection is {:.3} s older", (*since_unix_nanos as f64 - *last as f64) / 1e9),
        None => "it never reported metrics".to_owned(),
    }
)]
pub struct StaleFigures {
    /// The service waited for.
    pub service: String,
    /// The moment the figures had to be newer than.
    pub since_unix_nanos: u64,
    /// The newest collection received from it, if any.
    pub last_unix_nanos: Option<u64>,
    /// How long was waited.
    pub waited: Duration,
}

impl MetricsStore {
    /// An empty store.
    pub fn new(config: MetricsStoreConfig) -> Self {
        let (generation, _) = watch::channel(0);
        let inner = Inner {
            stats: MetricsStoreStats {
                max_streams: config.max_streams,
                ..MetricsStoreStats::default()
            },
            ..Inner::default()
        };
        Self {
            config,
            inner: Mutex::new(inner),
            generation,
        }
    }

    /// Applies one export request's metrics and wakes every waiter.
    pub fn ingest(&self, resource_metrics: Vec<ResourceMetrics>) -> IngestOutcome {
        let mut outcome = IngestOutcome::default();
        {
            let mut inner = self.inner.lock();
            for rm in resource_metrics {
                let resource = Resource::from_attributes(
                    rm.resource
                        .map(|r| attributes_from(r.attributes))
                        .unwrap_or_default(),
                );
                for sm in rm.scope_metrics {
                    for metric in sm.metrics {
                        self.apply_metric(&mut inner, &resource, metric, &mut outcome);
                    }
                }
            }
            inner.stats.accepted_points += outcome.accepted;
            inner.stats.rejected_points += outcome.rejected;
            inner.stats.streams = inner.streams.len();
        }
        self.generation.send_modify(|g| *g += 1);
        outcome
    }

    fn apply_metric(
        &self,
        inner: &mut Inner,
        resource: &Resource,
        metric: Metric,
        outcome: &mut IngestOutcome,
    ) {
        let points = match points_of(metric.data) {
            Ok(points) => points,
            Err((count, reason)) => {
                reject(outcome, count, format!("metric {}: {reason}", metric.name));
                return;
            }
        };
        for point in points {
            let point = match point {
                Ok(point) => point,
                Err(reason) => {
                    reject(outcome, 1, format!("metric {}: {reason}", metric.name));
                    continue;
                }
            };
            let key = StreamKey {
                service: resource.service_name.clone(),
                instance: resource.service_instance_id.clone().unwrap_or_default(),
                metric: metric.name.clone(),
                attributes: text_attributes(point.attributes),
            };
            let stream = point.stream;
            let collected = inner.collected.entry(key.service.clone()).or_default();
            *collected = (*collected).max(stream.time_unix_nanos);
            let full = inner.streams.len() >= self.config.max_streams;
            match inner.streams.get_mut(&key) {
                Some(stored) => merge(stored, stream),
                None if full => {
                    reject(
                        outcome,
                        1,
                        format!(
                            "the metrics store holds its limit of {} streams",
                            self.config.max_streams
                        ),
                    );
                    continue;
                }
                None => {
                    inner.streams.insert(key, stream);
                }
            }
            outcome.accepted += 1;
        }
    }

    /// Every stream of `service`, with its value.
    pub fn streams_of(&self, service: &str) -> Vec<(StreamKey, StreamValue)> {
        let inner = self.inner.lock();
        let mut streams: Vec<_> = inner
            .streams
            .iter()
            .filter(|(key, _)| key.service == service)
            .map(|(key, stream)| (key.clone(), stream.value))
            .collect();
        streams.sort_by(|a, b| a.0.cmp(&b.0));
        streams
    }

    /// The services that reported metrics, sorted.
    pub fn services(&self) -> Vec<String> {
        let mut services: Vec<_> = self.inner.lock().collected.keys().cloned().collect();
        services.sort();
        services
    }

    /// The newest point time `service` reported (its last collection), if it reported.
    pub fn collected_unix_nanos(&self, service: &str) -> Option<u64> {
        self.inner.lock().collected.get(service).copied()
    }

    /// `service`'s figures as they are now (`None` when it never reported metrics).
    pub fn figures(&self, service: &str) -> Option<ServiceFigures> {
        let collected = self.collected_unix_nanos(service)?;
        Some(ServiceFigures::from_streams(
            service,
            collected,
            &self.streams_of(service),
        ))
    }

    /// Waits until `service` has reported a collection made at or after `since_unix_nanos`
    /// (so everything it recorded before that moment is in), then returns its figures.
    /// Woken by each ingest; gives up after `timeout`.
    pub async fn figures_since(
        &self,
        service: &str,
        since_unix_nanos: u64,
        timeout: Duration,
    ) -> Result<ServiceFigures, StaleFigures> {
        let mut changes = self.generation.subscribe();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            changes.borrow_and_update();
            if let Some(figures) = self
                .figures(service)
                .filter(|f| f.collected_unix_nanos >= since_unix_nanos)
            {
                return Ok(figures);
            }
            let woken = tokio::time::timeout_at(deadline, changes.changed()).await;
            if !matches!(woken, Ok(Ok(()))) {
                return Err(StaleFigures {
                    service: service.to_owned(),
                    since_unix_nanos,
                    last_unix_nanos: self.collected_unix_nanos(service),
                    waited: timeout,
                });
            }
        }
    }

    /// Store counters.
    pub fn stats(&self) -> MetricsStoreStats {
        self.inner.lock().stats
    }
}

fn reject(outcome: &mut IngestOutcome, count: u64, reason: String) {
    if outcome.rejected == 0 {
        outcome.error_message = reason;
    }
    outcome.rejected += count;
}

/// A decoded data point: its attributes and what it says about its stream.
struct Point {
    attributes: Vec<KeyValue>,
    stream: Stream,
}

type Points = Vec<Result<Point, String>>;

/// The points of one metric, or (how many points, why) when the whole metric is unusable.
fn points_of(data: Option<metric::Data>) -> Result<Points, (u64, String)> {
    let data = data.ok_or((1, "no data".to_owned()))?;
    Ok(match data {
        metric::Data::Gauge(gauge) => gauge
            .data_points
            .into_iter()
            .map(|p| {
                let value = number(p.value)?;
                Ok(point(
                    p.attributes,
                    Temporality::Latest,
                    p.start_time_unix_nano,
                    p.time_unix_nano,
                    StreamValue::Number(value),
                ))
            })
            .collect(),
        metric::Data::Sum(sum) => {
            let temporality = temporality(sum.aggregation_temporality, sum.data_points.len())?;
            sum.data_points
                .into_iter()
                .map(|p| {
                    let value = number(p.value)?;
                    Ok(point(
                        p.attributes,
                        temporality,
                        p.start_time_unix_nano,
                        p.time_unix_nano,
                        StreamValue::Number(value),
                    ))
                })
                .collect()
        }
        metric::Data::Histogram(histogram) => {
            let temporality = temporality(
                histogram.aggregation_temporality,
                histogram.data_points.len(),
            )?;
            histogram
                .data_points
                .into_iter()
                .map(|p| {
                    Ok(point(
                        p.attributes,
                        temporality,
                        p.start_time_unix_nano,
                        p.time_unix_nano,
                        StreamValue::Distribution {
                            count: p.count,
                            sum: p.sum.unwrap_or(0.0),
                        },
                    ))
                })
                .collect()
        }
        metric::Data::ExponentialHistogram(histogram) => {
            let temporality = temporality(
                histogram.aggregation_temporality,
                histogram.data_points.len(),
            )?;
            histogram
                .data_points
                .into_iter()
                .map(|p| {
                    Ok(point(
                        p.attributes,
                        temporality,
                        p.start_time_unix_nano,
                        p.time_unix_nano,
                        StreamValue::Distribution {
                            count: p.count,
                            sum: p.sum.unwrap_or(0.0),
                        },
                    ))
                })
                .collect()
        }
        // Summaries are cumulative by definition.
        metric::Data::Summary(summary) => summary
            .data_points
            .into_iter()
            .map(|p| {
                Ok(point(
                    p.attributes,
                    Temporality::Cumulative,
                    p.start_time_unix_nano,
                    p.time_unix_nano,
                    StreamValue::Distribution {
                        count: p.count,
                        sum: p.sum,
                    },
                ))
            })
            .collect(),
    })
}

fn point(
    attributes: Vec<KeyValue>,
    temporality: Temporality,
    start_unix_nanos: u64,
    time_unix_nanos: u64,
    value: StreamValue,
) -> Point {
    Point {
        attributes,
        stream: Stream {
            temporality,
            start_unix_nanos,
            time_unix_nanos,
            value,
        },
    }
}

fn number(value: Option<number_data_point::Value>) -> Result<f64, String> {
    match value {
        Some(number_data_point::Value::AsDouble(d)) => Ok(d),
        Some(number_data_point::Value::AsInt(i)) => Ok(i as f64),
        None => Err("a data point has no value".to_owned()),
    }
}

fn temporality(raw: i32, points: usize) -> Result<Temporality, (u64, String)> {
    match AggregationTemporality::try_from(raw) {
        Ok(AggregationTemporality::Delta) => Ok(Temporality::Delta),
        Ok(AggregationTemporality::Cumulative) => Ok(Temporality::Cumulative),
        _ => Err((
            points as u64,
            format!("aggregation temporality {raw} is neither delta (1) nor cumulative (2)"),
        )),
    }
}

fn text_attributes(attributes: Vec<KeyValue>) -> BTreeMap<String, String> {
    attributes_from(attributes)
        .into_iter()
        .map(|(key, value)| (key, value.to_string()))
        .collect()
}

/// Applies a newly received point to its stored stream (see the module docs).
fn merge(stored: &mut Stream, new: Stream) {
    if stored.temporality != new.temporality {
        *stored = new;
        return;
    }
    match new.temporality {
        Temporality::Delta => {
            stored.value = match (stored.value, new.value) {
                (StreamValue::Number(a), StreamValue::Number(b)) => StreamValue::Number(a + b),
                (
                    StreamValue::Distribution { count: c1, sum: s1 },
                    StreamValue::Distribution { count: c2, sum: s2 },
                ) => StreamValue::Distribution {
                    count: c1 + c2,
                    sum: s1 + s2,
                },
                // The metric changed type: start over from this point.
                (_, value) => value,
            };
            stored.start_unix_nanos = stored.start_unix_nanos.min(new.start_unix_nanos);
            stored.time_unix_nanos = stored.time_unix_nanos.max(new.time_unix_nanos);
        }
        // Older points (a late retry) never overwrite newer ones; a reset has a newer time.
        Temporality::Cumulative | Temporality::Latest => {
            if new.time_unix_nanos >= stored.time_unix_nanos {
                *stored = new;
            }
        }
    }
}
