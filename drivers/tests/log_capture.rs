//! The in-process log capture keeps JSON lines with the current spans' fields, searchable.

use drivers::{LogReader, in_process::logs::LogCapture};

#[tokio::test]
async fn lines_mentioning_finds_an_event_by_a_field_of_its_request_span() {
    let capture = LogCapture::install();
    assert!(capture.is_capturing());
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let span = tracing::info_span!("request", trace_id, span_id = "00f067aa0ba902b7");
    span.in_scope(|| tracing::info!(service = "ledger", "hold placed"));
    tracing::info!("unrelated line");

    let lines = capture.lines_mentioning(trace_id).await;
    assert_eq!(lines.len(), 1, "{lines:?}");
    let line = &lines[0];
    assert_eq!(line["fields"]["message"], "hold placed");
    assert_eq!(line["span"]["trace_id"], trace_id);
    assert_eq!(line["span"]["span_id"], "00f067aa0ba902b7");
    assert!(capture.lines_mentioning("no such needle").await.is_empty());
}

#[tokio::test]
async fn installing_twice_returns_the_same_buffer() {
    let first = LogCapture::install();
    let second = LogCapture::install();
    assert!(std::sync::Arc::ptr_eq(&first, &second));
}
