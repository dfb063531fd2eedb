//! Hostile OTLP/HTTP exports (issue 17): a body that declares a terabyte, and a gzip bomb that
//! inflates to hundreds of MiB. Each is refused with 413 and a `google.rpc.Status` of
//! RESOURCE_EXHAUSTED, without the receiver buffering it, and the next export is stored.

use std::io::Write as _;
use std::time::Duration;

use harness::sink::{RunningSink, SinkConfig, TraceSink};
use prost::Message as _;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::support::{PROTOBUF, export_request, post, rpc_status, span, trace_id};

/// The sink's limit in these tests: small, so the hostile bodies are hundreds of times over it.
const LIMIT: usize = 1024 * 1024;

async fn start_small_sink() -> RunningSink {
    TraceSink::start(SinkConfig {
        max_request_bytes: LIMIT,
        ..SinkConfig::ephemeral()
    })
    .await
    .expect("sink starts on ephemeral ports")
}

/// `host:port` of the sink's OTLP/HTTP receiver.
fn receiver_addr(sink: &RunningSink) -> String {
    let url = sink.otlp_traces_url();
    let rest = url.strip_prefix("http://").expect("http URL");
    rest.split('/').next().expect("host:port").to_owned()
}

/// Sends a request head declaring `declared` bytes and only `sent` of them, then reads the
/// answer; the receiver must answer without waiting for the rest (10 s deadline).
async fn declare_and_withhold(
    addr: &str,
    path: &str,
    content_type: &str,
    declared: u64,
    sent: &[u8],
) -> String {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "POST {path} HTTP/1.1\r\nhost: {addr}\r\ncontent-type: {content_type}\r\ncontent-length: {declared}\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.expect("head sent");
    stream.write_all(sent).await.expect("first bytes sent");
    let mut answer = Vec::new();
    let mut buffer = [0u8; 4096];
    let read = async {
        loop {
            let n = stream.read(&mut buffer).await.expect("read");
            answer.extend_from_slice(&buffer[..n]);
            if n == 0 || answer.windows(4).any(|w| w == b"\r\n\r\n") {
                break;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), read)
        .await
        .expect("answered before the declared body was sent");
    String::from_utf8_lossy(&answer).into_owned()
}

/// A gzip stream of `inflated` zero bytes, compressed piece by piece (never held whole).
fn gzip_bomb(inflated: usize) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let piece = vec![0u8; 1024 * 1024];
    for _ in 0..inflated / piece.len() {
        encoder.write_all(&piece).expect("gzip write");
    }
    encoder.finish().expect("gzip finish")
}

/// The process's resident memory now and at its peak since the last reset, in KiB (Linux).
fn resident_kib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let field = |name: &str| -> u64 {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|kib| kib.parse().ok())
            .unwrap_or_else(|| panic!("{name} in /proc/self/status"))
    };
    (field("VmRSS:"), field("VmHWM:"))
}

async fn a_valid_export_is_stored(sink: &RunningSink, id: u64) {
    let body = export_request(&[span(id, 1, "edge").build()]).encode_to_vec();
    let response = post(&sink.otlp_traces_url(), PROTOBUF, None, body).await;
    assert_eq!(
        response.status(),
        200,
        "still serving after a hostile export"
    );
    assert!(sink.store().get(&trace_id(id)).is_some(), "stored");
}

#[tokio::test]
async fn a_declared_terabyte_is_refused_with_413_before_its_body_is_read() {
    let sink = start_small_sink().await;
    let addr = receiver_addr(&sink);
    for (path, content_type) in [
        ("/v1/traces", PROTOBUF),
        ("/v1/metrics", "application/json"),
    ] {
        let answer = declare_and_withhold(&addr, path, content_type, 1 << 40, b"\x0a\x00").await;
        assert!(answer.starts_with("HTTP/1.1 413"), "{path}: {answer}");
        assert!(
            answer
                .to_ascii_lowercase()
                .contains(&format!("content-type: {content_type}")),
            "{answer}"
        );
    }
    a_valid_export_is_stored(&sink, 31).await;
}

#[tokio::test]
async fn a_gzip_bomb_is_refused_with_413_without_being_inflated() {
    let sink = start_small_sink().await;
    // 256 MiB of zeros: about 256 KiB on the wire (under the 1 MiB limit), 256 times over it
    // once inflated.
    let inflated = 256 * 1024 * 1024;
    let bomb = gzip_bomb(inflated);
    assert!(
        bomb.len() < LIMIT,
        "small on the wire: {} bytes",
        bomb.len()
    );

    // Reset the peak resident size (Linux: `5` to clear_refs), so the peak read afterwards is
    // this request's; inflating the bomb would add 256 MiB to it.
    std::fs::write("/proc/self/clear_refs", "5").expect("reset the peak resident size");
    let (before, _) = resident_kib();
    let response = post(&sink.otlp_traces_url(), PROTOBUF, Some("gzip"), bomb).await;
    let (_, peak) = resident_kib();
    assert_eq!(response.status(), 413);
    let (code, message) = rpc_status(&response.bytes().await.expect("body"));
    assert_eq!(code, 8, "RESOURCE_EXHAUSTED: {message}");
    let grown_mib = peak.saturating_sub(before) / 1024;
    assert!(
        grown_mib < 64,
        "the peak resident size grew by {grown_mib} MiB: the bomb was inflated ({inflated} bytes)"
    );
    a_valid_export_is_stored(&sink, 32).await;
}
