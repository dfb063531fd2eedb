//! # harness core
//!
//! The parts of the BDD acceptance-test harness that steps and drivers share.
//! Trace data flows through it in this order:
//!
//! - [`model`]: the decoded view of spans and traces (ids, service, kind, timing,
//!   attributes, status) that every other module speaks.
//! - [`otlp`]: conversions between `opentelemetry-proto` types and the model, and a
//!   lenient OTLP/JSON reader for backend answers (Jaeger, Tempo).
//! - [`receiver`]: OTLP/HTTP and OTLP/gRPC endpoints writing into the store.
//! - [`metrics`]: the services' OTLP metrics as the sink keeps them (latest value per
//!   stream) and the figures steps read (requests, errors, time per route; pool counters).
//! - [`store`]: spans by trace id; bounded, concurrent, and notifying waiters.
//! - [`query`]: a Jaeger api_v3-shaped read API over the store.
//! - [`sink`]: receiver + store + query started together (`TraceSink::start`).
//! - [`fetch`]: one [`fetch::TraceFetcher`] trait over the in-memory store, Jaeger and
//!   Tempo, so the same checks run in-process and against staging.
//! - [`settle`]: wait until a trace is complete (expected services present, quiet).
//! - [`checks`]: assertions over a settled trace (one root, no orphans, path, edges,
//!   attributes, errors); failures carry the trace rendered by [`render`].
//! - [`span_label`]: how a span is named to people (`payments → ledger POST /holds`), in the
//!   console tree and the HTML waterfall alike.
//! - [`report`]: the run's HTML report and the sink's `/trace/{id}` and `/traces` pages, all
//!   drawing traces with one waterfall renderer.

#![warn(missing_docs)]

pub mod checks;
pub mod fetch;
pub mod metrics;
pub mod model;
pub mod otlp;
pub mod query;
pub mod query_pages;
pub mod receiver;
pub mod render;
pub mod report;
pub mod selector;
pub mod settle;
pub mod sink;
pub mod span_label;
pub mod store;
