//! Integration tests of the harness's trace sink: store, receivers, query API,
//! fetchers, settle, checks, and interop with the OpenTelemetry SDK exporter.

mod store;
mod support;
