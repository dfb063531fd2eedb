//! Integration tests of the harness's trace sink: store, receivers, query API,
//! fetchers, settle, checks, and interop with the OpenTelemetry SDK exporter.

mod binary;
mod checks;
mod fetch;
mod query;
mod receiver_grpc;
mod receiver_http;
mod sdk_interop;
mod settle;
mod sink;
mod store;
mod support;
