//! Integration tests of the harness's trace sink: store, receivers (traces and metrics),
//! query API, fetchers, settle, checks, and interop with the OpenTelemetry SDK exporters.

mod binary;
mod checks;
mod fetch;
mod metrics_receiver;
mod metrics_sdk_interop;
mod metrics_store;
mod metrics_support;
mod query;
mod receiver_grpc;
mod receiver_hostile;
mod receiver_http;
mod sdk_interop;
mod settle;
mod sink;
mod store;
mod support;
mod trace_pages;
