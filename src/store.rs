//! The trace store: spans indexed by trace id, bounded, and observable.
//!
//! - Concurrency: one `parking_lot::Mutex` around plain maps. Every operation is short
//!   (no I/O, no await under the lock), so a mutex beats finer-grained locking here.
//! - Bound: at most `max_spans` spans and `max_bytes` bytes in total (a span's bytes are
//!   estimated from its strings, attributes and events, see [`span_bytes`]), so a load test
//!   with big spans cannot grow the process past the byte limit. When an insert goes over
//!   either, whole traces are evicted, oldest first (by the time their first span arrived). A
//!   single trace never evicts itself: its spans beyond the limits are dropped instead. Both
//!   are counted in [`StoreStats`].
//! - Notification: each trace id can have a `tokio::sync::watch` channel carrying its
//!   span count. Waiters subscribe (before or after the first span arrives) and are woken
//!   by the insert itself, so in-process checks never poll.
//! - Duplicates: an exporter may retry a batch; spans already stored (same span id in the
//!   same trace) are ignored and counted.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};

use parking_lot::Mutex;
use serde::Serialize;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::model::{AttrValue, Attributes, Span, SpanEvent, SpanId, Trace, TraceId};

/// How big the store may grow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreConfig {
    /// Most spans kept across all traces; older traces are evicted beyond it.
    pub max_spans: usize,
    /// Most bytes of spans kept across all traces (estimated, see [`span_bytes`]); older
    /// traces are evicted beyond it.
    pub max_bytes: usize,
}

impl StoreConfig {
    /// The default limit: enough for thousands of scenarios, a few hundred MiB at most.
    pub const DEFAULT_MAX_SPANS: usize = 200_000;
    /// The default byte limit: 96 MiB of estimated span bytes (about 140 MiB of heap with the
    /// allocator's and the maps' overhead), whichever of the two limits comes first.
    pub const DEFAULT_MAX_BYTES: usize = 96 << 20;
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            max_spans: Self::DEFAULT_MAX_SPANS,
            max_bytes: Self::DEFAULT_MAX_BYTES,
        }
    }
}

/// Counters describing the store, for the stats endpoint and for tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct StoreStats {
    /// Traces currently held.
    pub traces: usize,
    /// Spans currently held.
    pub spans: usize,
    /// The configured span limit.
    pub max_spans: usize,
    /// Estimated bytes of the spans currently held.
    pub bytes: usize,
    /// The configured byte limit.
    pub max_bytes: usize,
    /// Spans accepted since start.
    pub accepted_spans: u64,
    /// Spans ignored because they were already stored.
    pub duplicate_spans: u64,
    /// Spans dropped because their own trace alone exceeded the limit.
    pub dropped_spans: u64,
    /// Traces evicted to stay under the limit.
    pub evicted_traces: u64,
    /// Spans removed with evicted traces.
    pub evicted_spans: u64,
}

/// What one [`TraceStore::insert`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct InsertOutcome {
    /// Newly stored spans.
    pub accepted: usize,
    /// Spans already present (ignored).
    pub duplicates: usize,
    /// Spans dropped for lack of room.
    pub dropped: usize,
}

#[derive(Default)]
struct Entry {
    spans: Vec<Span>,
    ids: HashSet<SpanId>,
    /// Estimated bytes of `spans`.
    bytes: usize,
}

#[derive(Default)]
struct Inner {
    traces: HashMap<TraceId, Entry>,
    /// Trace ids in the order their first span arrived (eviction order).
    order: VecDeque<TraceId>,
    services: BTreeSet<String>,
    watchers: HashMap<TraceId, watch::Sender<usize>>,
    stats: StoreStats,
}

/// Spans by trace id; share it as `Arc<TraceStore>`.
pub struct TraceStore {
    inner: Mutex<Inner>,
    max_spans: usize,
    max_bytes: usize,
}

impl std::fmt::Debug for TraceStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TraceStore")
            .field("stats", &self.stats())
            .finish()
    }
}

/// Subscriptions for trace ids that never arrive are pruned once there are this many.
const WATCHER_PRUNE_THRESHOLD: usize = 1024;

impl TraceStore {
    /// An empty store with the given limits (a limit of 0 is treated as 1).
    pub fn new(config: StoreConfig) -> Self {
        let max_spans = config.max_spans.max(1);
        let max_bytes = config.max_bytes.max(1);
        Self {
            inner: Mutex::new(Inner {
                stats: StoreStats {
                    max_spans,
                    max_bytes,
                    ..Default::default()
                },
                ..Default::default()
            }),
            max_spans,
            max_bytes,
        }
    }

    /// Stores spans (any mix of traces), evicting the oldest traces when over the limit,
    /// and wakes the waiters of every trace that grew.
    pub fn insert(&self, spans: impl IntoIterator<Item = Span>) -> InsertOutcome {
        let mut outcome = InsertOutcome::default();
        let mut inner = self.inner.lock();
        let mut grown: Vec<TraceId> = Vec::new();
        for span in spans {
            let inner = &mut *inner;
            let entry = match inner.traces.get_mut(&span.trace_id) {
                Some(entry) => entry,
                None => {
                    inner.order.push_back(span.trace_id.clone());
                    inner.traces.entry(span.trace_id.clone()).or_default()
                }
            };
            if entry.ids.contains(&span.span_id) {
                outcome.duplicates += 1;
                continue;
            }
            let bytes = span_bytes(&span);
            if entry.spans.len() >= self.max_spans || entry.bytes + bytes > self.max_bytes {
                outcome.dropped += 1;
                continue;
            }
            if !inner.services.contains(span.service()) {
                inner.services.insert(span.service().to_owned());
            }
            entry.ids.insert(span.span_id.clone());
            let trace_id = span.trace_id.clone();
            entry.spans.push(span);
            entry.bytes += bytes;
            inner.stats.spans += 1;
            inner.stats.bytes += bytes;
            outcome.accepted += 1;
            if !grown.contains(&trace_id) {
                grown.push(trace_id.clone());
            }
            Self::evict_over_limit(inner, self.max_spans, self.max_bytes, &trace_id);
        }
        inner.stats.accepted_spans += outcome.accepted as u64;
        inner.stats.duplicate_spans += outcome.duplicates as u64;
        inner.stats.dropped_spans += outcome.dropped as u64;
        inner.stats.traces = inner.traces.len();
        for trace_id in grown {
            let count = inner.traces.get(&trace_id).map_or(0, |e| e.spans.len());
            let gone = match inner.watchers.get(&trace_id) {
                Some(sender) => sender.send(count).is_err(),
                None => false,
            };
            if gone {
                inner.watchers.remove(&trace_id);
            }
        }
        outcome
    }

    /// Evicts whole traces, oldest first, until the totals fit; never `keep`.
    fn evict_over_limit(inner: &mut Inner, max_spans: usize, max_bytes: usize, keep: &TraceId) {
        while inner.stats.spans > max_spans || inner.stats.bytes > max_bytes {
            let Some(oldest) = inner.order.pop_front() else {
                return;
            };
            if &oldest == keep {
                if inner.order.is_empty() {
                    inner.order.push_back(oldest);
                    return;
                }
                // Still being written: move it behind the others.
                inner.order.push_back(oldest);
                continue;
            }
            if let Some(entry) = inner.traces.remove(&oldest) {
                inner.stats.spans -= entry.spans.len();
                inner.stats.bytes -= entry.bytes;
                inner.stats.evicted_spans += entry.spans.len() as u64;
                inner.stats.evicted_traces += 1;
            }
        }
    }

    /// A copy of the trace, or `None` if no span of it is held.
    pub fn get(&self, trace_id: &TraceId) -> Option<Trace> {
        let inner = self.inner.lock();
        inner.traces.get(trace_id).map(|e| Trace {
            trace_id: trace_id.clone(),
            spans: e.spans.clone(),
        })
    }

    /// How many spans of the trace are held (0 if none).
    pub fn span_count(&self, trace_id: &TraceId) -> usize {
        self.inner
            .lock()
            .traces
            .get(trace_id)
            .map_or(0, |e| e.spans.len())
    }

    /// Every trace id held, oldest first.
    pub fn trace_ids(&self) -> Vec<TraceId> {
        self.inner.lock().order.iter().cloned().collect()
    }

    /// Every `service.name` seen since start (kept after eviction, like Jaeger's list).
    pub fn services(&self) -> BTreeSet<String> {
        self.inner.lock().services.clone()
    }

    /// Current counters, the limit included.
    pub fn stats(&self) -> StoreStats {
        self.inner.lock().stats
    }

    /// The configured span limit.
    pub fn max_spans(&self) -> usize {
        self.max_spans
    }

    /// The configured byte limit.
    pub fn max_bytes(&self) -> usize {
        self.max_bytes
    }

    /// A receiver of the trace's span count, woken whenever spans of it arrive. Works
    /// for traces not seen yet; the current value is the count at subscription time.
    pub fn subscribe(&self, trace_id: &TraceId) -> watch::Receiver<usize> {
        let mut inner = self.inner.lock();
        if inner.watchers.len() >= WATCHER_PRUNE_THRESHOLD {
            inner.watchers.retain(|_, s| s.receiver_count() > 0);
        }
        let count = inner.traces.get(trace_id).map_or(0, |e| e.spans.len());
        match inner.watchers.get(trace_id) {
            Some(sender) => {
                sender.send_replace(count);
                sender.subscribe()
            }
            None => {
                let (sender, receiver) = watch::channel(count);
                inner.watchers.insert(trace_id.clone(), sender);
                receiver
            }
        }
    }

    /// Waits until the trace holds more than `since` spans or `deadline` passes, and
    /// returns the span count at that moment (compare it with `since` to tell which).
    /// Woken by inserts, never by polling.
    pub async fn wait_for_change(
        &self,
        trace_id: &TraceId,
        since: usize,
        deadline: Instant,
    ) -> usize {
        let mut receiver = self.subscribe(trace_id);
        match tokio::time::timeout_at(deadline, receiver.wait_for(|count| *count > since)).await {
            Ok(Ok(count)) => *count,
            // Deadline passed, or the sender went away (cannot happen while we hold a
            // subscription, but the count is the right answer either way).
            _ => self.span_count(trace_id),
        }
    }
}

impl Default for TraceStore {
    fn default() -> Self {
        Self::new(StoreConfig::default())
    }
}

/// Bytes a stored span takes, estimated: the struct, its strings, attributes and events, and
/// its id in the trace's duplicate set. The resource is shared by a batch's spans and not
/// counted. Heap overhead (allocator rounding, map nodes) comes on top, so the real footprint is
/// larger by a roughly constant factor.
pub fn span_bytes(span: &Span) -> usize {
    std::mem::size_of::<Span>()
        + std::mem::size_of::<SpanId>()
        + span.name.len()
        + span.scope.as_ref().map_or(0, String::len)
        + span.status.message.len()
        + attributes_bytes(&span.attributes)
        + span
            .events
            .iter()
            .map(|event| {
                std::mem::size_of::<SpanEvent>()
                    + event.name.len()
                    + attributes_bytes(&event.attributes)
            })
            .sum::<usize>()
}

fn attributes_bytes(attributes: &Attributes) -> usize {
    attributes
        .iter()
        .map(|(key, value)| {
            std::mem::size_of::<(String, AttrValue)>() + key.len() + value_bytes(value)
        })
        .sum()
}

fn value_bytes(value: &AttrValue) -> usize {
    match value {
        AttrValue::String(text) => text.len(),
        AttrValue::Bytes(bytes) => bytes.len(),
        AttrValue::Array(items) => items
            .iter()
            .map(|item| std::mem::size_of::<AttrValue>() + value_bytes(item))
            .sum(),
        AttrValue::Map(entries) => attributes_bytes(entries),
        AttrValue::Bool(_) | AttrValue::Int(_) | AttrValue::Double(_) => 0,
    }
}
