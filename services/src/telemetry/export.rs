//! The span export pipeline: a bounded queue in front of an exporter task.
//!
//! Why not the SDK's `BatchSpanProcessor`: the default one runs on its own thread and needs a
//! blocking HTTP client, and the async-runtime one blocks the calling thread on flush/shutdown
//! (deadlocks a current-thread runtime) and does not expose its drop count. This one is small:
//! `on_end` does a non-blocking `try_send` (a full queue drops and counts the span), and one tokio
//! task batches for `delay`, exports with a timeout, and counts what was exported or lost.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use opentelemetry::Context;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{Span, SpanData, SpanExporter, SpanProcessor};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

/// Counters of one service's span export.
#[derive(Debug, Default)]
pub struct ExportStats {
    exported: AtomicU64,
    dropped: AtomicU64,
}

impl ExportStats {
    /// Spans the collector accepted.
    pub fn exported(&self) -> u64 {
        self.exported.load(Ordering::Relaxed)
    }

    /// Spans lost: queue full, export failed or timed out.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    fn add_dropped(&self, count: usize) {
        self.dropped.fetch_add(count as u64, Ordering::Relaxed);
    }
}

/// Batching knobs (see `TelemetrySettings`).
#[derive(Clone, Copy, Debug)]
pub(super) struct BatchSettings {
    pub delay: Duration,
    pub max_queue_size: usize,
    pub max_batch_size: usize,
    pub export_timeout: Duration,
}

enum Message {
    Span(Box<SpanData>),
    Flush(oneshot::Sender<()>),
}

/// The `SpanProcessor` installed in the tracer provider: it only enqueues.
#[derive(Debug)]
pub(super) struct QueueingProcessor {
    queue: mpsc::Sender<Message>,
    stats: Arc<ExportStats>,
    stop: CancellationToken,
}

impl SpanProcessor for QueueingProcessor {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {}

    fn on_end(&self, span: SpanData) {
        if !span.span_context.is_sampled() {
            return;
        }
        if self.queue.try_send(Message::Span(Box::new(span))).is_err() {
            self.stats.add_dropped(1);
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        // Cannot wait here without blocking a runtime thread; `Telemetry::flush` is the awaitable one.
        let (ack, _) = oneshot::channel();
        let _ = self.queue.try_send(Message::Flush(ack));
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        self.stop.cancel();
        Ok(())
    }
}

/// The handle `Telemetry` keeps to flush and stop the export task.
#[derive(Debug)]
pub(super) struct ExportControl {
    queue: mpsc::Sender<Message>,
    stop: CancellationToken,
}

impl ExportControl {
    pub(super) async fn flush(&self, timeout: Duration) -> bool {
        let (ack, done) = oneshot::channel();
        tokio::time::timeout(timeout, async {
            self.queue.send(Message::Flush(ack)).await.is_ok() && done.await.is_ok()
        })
        .await
        .unwrap_or(false)
    }

    pub(super) fn stop(&self) {
        self.stop.cancel();
    }
}

/// Starts the export task on the current tokio runtime (an error outside one).
pub(super) fn start<E: SpanExporter + 'static>(
    mut exporter: E,
    resource: &Resource,
    settings: BatchSettings,
    stats: Arc<ExportStats>,
) -> anyhow::Result<(QueueingProcessor, ExportControl)> {
    let runtime = tokio::runtime::Handle::try_current()
        .map_err(|_| anyhow::anyhow!("span export needs a tokio runtime"))?;
    exporter.set_resource(resource);
    let (queue, receiver) = mpsc::channel(settings.max_queue_size.max(1));
    let stop = CancellationToken::new();
    runtime.spawn(run(
        exporter,
        receiver,
        settings,
        stats.clone(),
        stop.clone(),
    ));
    Ok((
        QueueingProcessor {
            queue: queue.clone(),
            stats,
            stop: stop.clone(),
        },
        ExportControl { queue, stop },
    ))
}

async fn run<E: SpanExporter>(
    exporter: E,
    mut receiver: mpsc::Receiver<Message>,
    settings: BatchSettings,
    stats: Arc<ExportStats>,
    stop: CancellationToken,
) {
    let mut batch: Vec<SpanData> = Vec::new();
    let mut acks: Vec<oneshot::Sender<()>> = Vec::new();
    loop {
        let first = tokio::select! {
            message = receiver.recv() => message,
            () = stop.cancelled() => None,
        };
        match first {
            None => break,
            Some(Message::Span(span)) => batch.push(*span),
            Some(Message::Flush(ack)) => acks.push(ack),
        }
        if acks.is_empty() {
            collect_window(&mut receiver, &mut batch, &mut acks, settings).await;
        }
        export(&exporter, &mut batch, settings, &stats).await;
        for ack in acks.drain(..) {
            let _ = ack.send(());
        }
    }
    // Stopping: send what is already queued, then give up on the rest.
    while let Ok(message) = receiver.try_recv() {
        match message {
            Message::Span(span) => batch.push(*span),
            Message::Flush(ack) => acks.push(ack),
        }
    }
    export(&exporter, &mut batch, settings, &stats).await;
    for ack in acks {
        let _ = ack.send(());
    }
}

/// Gathers spans for `delay` (or until a full batch or a flush request) so one HTTP request
/// carries many spans.
async fn collect_window(
    receiver: &mut mpsc::Receiver<Message>,
    batch: &mut Vec<SpanData>,
    acks: &mut Vec<oneshot::Sender<()>>,
    settings: BatchSettings,
) {
    let window = tokio::time::sleep(settings.delay);
    tokio::pin!(window);
    while batch.len() < settings.max_batch_size {
        tokio::select! {
            () = &mut window => return,
            message = receiver.recv() => match message {
                Some(Message::Span(span)) => batch.push(*span),
                Some(Message::Flush(ack)) => { acks.push(ack); return; }
                None => return,
            },
        }
    }
}

async fn export<E: SpanExporter>(
    exporter: &E,
    batch: &mut Vec<SpanData>,
    settings: BatchSettings,
    stats: &ExportStats,
) {
    while !batch.is_empty() {
        let take = batch.len().min(settings.max_batch_size.max(1));
        let chunk: Vec<SpanData> = batch.drain(..take).collect();
        let count = chunk.len();
        match tokio::time::timeout(settings.export_timeout, exporter.export(chunk)).await {
            Ok(Ok(())) => {
                stats.exported.fetch_add(count as u64, Ordering::Relaxed);
            }
            Ok(Err(error)) => {
                stats.add_dropped(count);
                tracing::debug!(%error, spans = count, "span export failed; spans dropped");
            }
            Err(_) => {
                stats.add_dropped(count);
                tracing::debug!(spans = count, "span export timed out; spans dropped");
            }
        }
    }
}
