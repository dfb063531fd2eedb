//! OTLP/HTTP export bodies, decoded the way the trace sink's receiver decodes them
//! (`harness::receiver::http::decode_export`: gzip within the size limit, then protobuf or JSON,
//! traces or metrics), then stored as the receiver stores them. Any input must end in a stored
//! export or a 400/413 refusal: never a panic, never memory beyond the limit.
//!
//! The first byte chooses the request: bit 0 the signal (traces, metrics), bit 1 the encoding
//! (protobuf, JSON), bits 2-3 the content encoding (none; the rest as a gzip stream; the rest
//! gzipped here, so that the decoders behind gzip are reached too).
#![no_main]

use std::io::Write as _;
use std::sync::LazyLock;

use bytes::Bytes;
use harness::metrics::{MetricsStore, MetricsStoreConfig};
use harness::otlp::decode::decode_resource_spans;
use harness::receiver::http::{Encoding, Export, Signal, decode_export};
use harness::store::{StoreConfig, TraceStore};
use libfuzzer_sys::fuzz_target;

/// Smaller than the receiver's 16 MiB, so that inputs reach the 413 paths (a gzip bomb).
const LIMIT: usize = 64 * 1024;

static TRACES: LazyLock<TraceStore> =
    LazyLock::new(|| {
        TraceStore::new(StoreConfig {
            max_spans: 10_000,
            ..StoreConfig::default()
        })
    });
static METRICS: LazyLock<MetricsStore> = LazyLock::new(|| {
    MetricsStore::new(MetricsStoreConfig {
        max_streams: 10_000,
    })
});

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).expect("in memory");
    encoder.finish().expect("in memory")
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let signal = if mode & 1 == 0 {
        Signal::Traces
    } else {
        Signal::Metrics
    };
    let encoding = if mode & 2 == 0 {
        Encoding::Protobuf
    } else {
        Encoding::Json
    };
    let (content_encoding, body) = match (mode >> 2) & 3 {
        0 => (None, rest.to_vec()),
        1 => (Some("gzip"), rest.to_vec()),
        _ => (Some("gzip"), gzip(rest)),
    };
    match decode_export(signal, encoding, content_encoding, Bytes::from(body), LIMIT) {
        Ok(Export::Traces(resource_spans)) => {
            TRACES.insert(decode_resource_spans(resource_spans).spans);
        }
        Ok(Export::Metrics(request)) => {
            METRICS.ingest(request.resource_metrics);
        }
        Err(error) => {
            let status = error.status().as_u16();
            assert!(status == 400 || status == 413, "refused with {status}");
            assert!(!error.message().is_empty());
        }
    }
});
