//! Checks over a settled trace, as a library the steps call.
//!
//! Every check returns `Result<_, CheckFailure>`; a failure's `Display` says what was
//! expected and what was found, followed by the whole trace as an indented tree
//! ([`crate::render`]).
//!
//! ## Visiting a node
//! Paths and edges are about *nodes*: services and the outside systems they call.
//! - A service is **visited** when it reported a span (resource `service.name`).
//! - An outside system that emits no spans (the bank provider stubbed by wiremock, a
//!   merchant's webhook endpoint) is **visited** when a CLIENT or PRODUCER span
//!   *targets* it: its target address (`server.address` plus `:server.port` when set, else
//!   `net.peer.name` plus `:net.peer.port`, else the authority of `url.full` / `http.url`)
//!   matches an address registered for that name in [`Peers`], or its `peer.service`
//!   attribute names it. A registered address without a port matches any port on that
//!   host. Registering the wiremock provider's `uri()` as `provider` is the usual setup.
//!
//! The visit order is the order of span start times; each span contributes its own
//! service and then, if it targets one, its peer. Consecutive repeats are collapsed.

use std::collections::BTreeMap;
use std::fmt;

use crate::model::{Span, SpanKind, StatusCode, Trace};
use crate::render::render_tree;

/// A failed check: what went wrong, and the trace it went wrong on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckFailure {
    /// Which check failed, e.g. `single root`.
    pub check: &'static str,
    /// What was expected and what was found.
    pub message: String,
    /// The trace rendered as a tree.
    pub tree: String,
}

impl CheckFailure {
    fn new(check: &'static str, message: impl Into<String>, trace: &Trace) -> Self {
        Self {
            check,
            message: message.into(),
            tree: render_tree(trace),
        }
    }
}

impl fmt::Display for CheckFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "trace check '{}' failed: {}\n{}",
            self.check, self.message, self.tree
        )
    }
}

impl std::error::Error for CheckFailure {}

/// Names for outside systems that emit no spans, by the addresses they are called at.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Peers {
    addresses: BTreeMap<String, Vec<String>>,
}

impl Peers {
    /// No registered peers (only `peer.service` attributes name peers).
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `address` (`host`, `host:port` or a URL such as the wiremock server's
    /// `uri()`) as the node `name`, e.g. `("provider", "http://127.0.0.1:41234")`.
    pub fn with(mut self, name: impl Into<String>, address: &str) -> Self {
        self.add(name, address);
        self
    }

    /// Like [`Peers::with`], in place.
    pub fn add(&mut self, name: impl Into<String>, address: &str) {
        self.addresses
            .entry(name.into())
            .or_default()
            .push(normalize_address(address));
    }

    /// The peer nodes a CLIENT/PRODUCER span targets (see the module docs): names
    /// registered for its target address first, then its `peer.service`. Usually one;
    /// both when the service calls a peer by another name than the harness uses.
    pub fn targets_of(&self, span: &Span) -> Vec<String> {
        let mut names = Vec::new();
        if !matches!(span.kind, SpanKind::Client | SpanKind::Producer) {
            return names;
        }
        if let Some(target) = span_target_address(span) {
            let host = target.split(':').next().unwrap_or("");
            for (name, addresses) in &self.addresses {
                if addresses
                    .iter()
                    .any(|a| *a == target || (!a.contains(':') && a == host))
                {
                    names.push(name.clone());
                }
            }
        }
        if let Some(name) = span.attr("peer.service").map(|v| v.to_string()) {
            if !names.contains(&name) {
                names.push(name);
            }
        }
        names
    }

    /// True when the span targets `node` (see [`Peers::targets_of`]).
    pub fn targets(&self, span: &Span, node: &str) -> bool {
        self.targets_of(span).iter().any(|n| n == node)
    }
}

/// `http://Host:80/path` -> `host:80`; `host` -> `host`.
fn normalize_address(address: &str) -> String {
    let without_scheme = address.split("://").last().unwrap_or(address);
    let authority = without_scheme.split('/').next().unwrap_or("");
    let authority = authority.rsplit('@').next().unwrap_or(authority);
    authority.to_ascii_lowercase()
}

/// The `host[:port]` a client span called, from semantic-convention attributes.
fn span_target_address(span: &Span) -> Option<String> {
    let pair = |host_key: &str, port_key: &str| {
        span.attr(host_key).map(|host| match span.attr(port_key) {
            Some(port) => format!("{host}:{port}").to_ascii_lowercase(),
            None => host.to_string().to_ascii_lowercase(),
        })
    };
    pair("server.address", "server.port")
        .or_else(|| pair("net.peer.name", "net.peer.port"))
        .or_else(|| {
            span.attr("url.full")
                .or_else(|| span.attr("http.url"))
                .map(|url| normalize_address(&url.to_string()))
        })
}

/// The nodes visited, in order of span start, consecutive repeats collapsed.
pub fn visit_order(trace: &Trace, peers: &Peers) -> Vec<String> {
    let mut spans: Vec<&Span> = trace.spans.iter().collect();
    spans.sort_by_key(|s| s.start_unix_nanos);
    let mut order: Vec<String> = Vec::new();
    let mut push = |node: String| {
        if order.last() != Some(&node) {
            order.push(node);
        }
    };
    for span in spans {
        push(span.service().to_owned());
        for peer in peers.targets_of(span) {
            push(peer);
        }
    }
    order
}

/// True when `node` was visited (a service with a span, or a targeted peer).
pub fn visited(trace: &Trace, peers: &Peers, node: &str) -> bool {
    trace
        .spans
        .iter()
        .any(|s| s.service() == node || peers.targets(s, node))
}

/// Exactly one span without a parent; returns it.
pub fn single_root(trace: &Trace) -> Result<&Span, CheckFailure> {
    let roots = trace.roots();
    match roots.as_slice() {
        [root] => Ok(root),
        [] => Err(CheckFailure::new(
            "single root",
            format!(
                "expected exactly one root span, found none among {} span(s)",
                trace.len()
            ),
            trace,
        )),
        many => Err(CheckFailure::new(
            "single root",
            format!(
                "expected exactly one root span, found {}: {}",
                many.len(),
                many.iter()
                    .map(|s| format!("{} '{}'", s.service(), s.name))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            trace,
        )),
    }
}

/// Every parent id names a span present in the trace.
pub fn no_orphans(trace: &Trace) -> Result<(), CheckFailure> {
    let orphans = trace.orphans();
    if orphans.is_empty() {
        return Ok(());
    }
    Err(CheckFailure::new(
        "no orphans",
        format!(
            "{} span(s) name a parent that is not in the trace: {}",
            orphans.len(),
            orphans
                .iter()
                .map(|s| format!(
                    "{} '{}' (parent {})",
                    s.service(),
                    s.name,
                    s.parent_span_id.as_ref().map(|p| p.as_str()).unwrap_or("?")
                ))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        trace,
    ))
}

/// One root, no orphans: the trace is a single connected tree.
pub fn well_formed(trace: &Trace) -> Result<(), CheckFailure> {
    single_root(trace)?;
    no_orphans(trace)
}

/// Every node in `nodes` was visited, in any order.
pub fn visits_all(trace: &Trace, peers: &Peers, nodes: &[&str]) -> Result<(), CheckFailure> {
    let missing: Vec<&str> = nodes
        .iter()
        .copied()
        .filter(|n| !visited(trace, peers, n))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(CheckFailure::new(
        "visits",
        format!(
            "expected the trace to pass through {}; never visited: {}; visited: {}",
            nodes.join(", "),
            missing.join(", "),
            visit_order(trace, peers).join(" -> ")
        ),
        trace,
    ))
}

/// The nodes in `path` were visited in this order (other nodes may come between).
pub fn visits_in_order(trace: &Trace, peers: &Peers, path: &[&str]) -> Result<(), CheckFailure> {
    let order = visit_order(trace, peers);
    let mut remaining = order.iter();
    for (i, node) in path.iter().enumerate() {
        if !remaining.any(|visited| visited == node) {
            let after = if i == 0 {
                "at all".to_owned()
            } else {
                format!("after {}", path[..i].join(" -> "))
            };
            return Err(CheckFailure::new(
                "path",
                format!(
                    "expected the path {}; {node} was not visited {after}; actual visit order: {}",
                    path.join(" -> "),
                    order.join(" -> ")
                ),
                trace,
            ));
        }
    }
    Ok(())
}

/// A call from one node to another, as found in the trace.
#[derive(Debug, Clone, Copy)]
pub struct Call<'a> {
    /// The caller's CLIENT (or PRODUCER) span.
    pub client: &'a Span,
    /// The callee's SERVER (or CONSUMER) span; `None` when the callee is a peer that
    /// emits no spans.
    pub server: Option<&'a Span>,
}

/// Every cross-service call in the trace as `(caller, callee)` node names.
pub fn calls_between(trace: &Trace, peers: &Peers) -> Vec<(String, String)> {
    let mut calls = Vec::new();
    for span in &trace.spans {
        if let Some(parent) = trace.parent_of(span) {
            if parent.service() != span.service() {
                calls.push((parent.service().to_owned(), span.service().to_owned()));
            }
        }
        for peer in peers.targets_of(span) {
            if peer != span.service() && !trace.spans.iter().any(|s| s.service() == peer) {
                calls.push((span.service().to_owned(), peer));
            }
        }
    }
    calls.sort();
    calls.dedup();
    calls
}

/// `caller` called `callee`: a CLIENT/PRODUCER span of the caller is the parent of a
/// SERVER/CONSUMER span of the callee; or, when the callee emits no spans, a
/// CLIENT/PRODUCER span of the caller targets it (see [`Peers`]). Returns the first
/// such call by start time.
pub fn calls<'a>(
    trace: &'a Trace,
    peers: &Peers,
    caller: &str,
    callee: &str,
) -> Result<Call<'a>, CheckFailure> {
    let mut spans: Vec<&Span> = trace.spans.iter().collect();
    spans.sort_by_key(|s| s.start_unix_nanos);
    for span in &spans {
        if span.service() != callee || !matches!(span.kind, SpanKind::Server | SpanKind::Consumer) {
            continue;
        }
        if let Some(parent) = trace.parent_of(span) {
            if parent.service() == caller
                && matches!(parent.kind, SpanKind::Client | SpanKind::Producer)
            {
                return Ok(Call {
                    client: parent,
                    server: Some(span),
                });
            }
        }
    }
    for span in &spans {
        if span.service() == caller && peers.targets(span, callee) {
            return Ok(Call {
                client: span,
                server: None,
            });
        }
    }
    let found = calls_between(trace, peers)
        .into_iter()
        .map(|(a, b)| format!("{a} -> {b}"))
        .collect::<Vec<_>>();
    Err(CheckFailure::new(
        "call",
        format!(
            "expected {caller} to call {callee} (a client span in {caller} parent of a server span \
             in {callee}, or a client span in {caller} targeting {callee}); calls found: {}",
            if found.is_empty() {
                "none".to_owned()
            } else {
                found.join(", ")
            }
        ),
        trace,
    ))
}

/// Which spans a check is about. Empty fields match anything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpanSelector {
    /// Required `service.name`.
    pub service: Option<String>,
    /// Required span name (exact).
    pub name: Option<String>,
    /// Required kind.
    pub kind: Option<SpanKind>,
}

impl SpanSelector {
    /// Spans of `service`.
    pub fn service(service: impl Into<String>) -> Self {
        Self {
            service: Some(service.into()),
            ..Self::default()
        }
    }

    /// Also require this span name.
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Also require this kind.
    pub fn kind(mut self, kind: SpanKind) -> Self {
        self.kind = Some(kind);
        self
    }

    /// True when `span` matches every given field.
    pub fn matches(&self, span: &Span) -> bool {
        self.service.as_deref().is_none_or(|s| s == span.service())
            && self.name.as_deref().is_none_or(|n| n == span.name)
            && self.kind.is_none_or(|k| k == span.kind)
    }

    /// The matching spans, by start time.
    pub fn select<'a>(&self, trace: &'a Trace) -> Vec<&'a Span> {
        let mut spans: Vec<&Span> = trace.spans.iter().filter(|s| self.matches(s)).collect();
        spans.sort_by_key(|s| s.start_unix_nanos);
        spans
    }
}

impl fmt::Display for SpanSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(kind) = self.kind {
            parts.push(format!("{kind}"));
        }
        parts.push("span".to_owned());
        if let Some(name) = &self.name {
            parts.push(format!("'{name}'"));
        }
        if let Some(service) = &self.service {
            parts.push(format!("of {service}"));
        }
        f.write_str(&parts.join(" "))
    }
}

fn select_some<'a>(
    check: &'static str,
    trace: &'a Trace,
    selector: &SpanSelector,
) -> Result<Vec<&'a Span>, CheckFailure> {
    let spans = selector.select(trace);
    if spans.is_empty() {
        return Err(CheckFailure::new(
            check,
            format!("no {selector} in the trace"),
            trace,
        ));
    }
    Ok(spans)
}

/// Some span matching `selector` has attribute `key` equal to `expected` (compared as
/// text, so `200` matches the integer 200). Returns that span.
pub fn span_attribute<'a>(
    trace: &'a Trace,
    selector: &SpanSelector,
    key: &str,
    expected: &str,
) -> Result<&'a Span, CheckFailure> {
    let spans = select_some("span attribute", trace, selector)?;
    if let Some(span) = spans
        .iter()
        .find(|s| s.attr(key).is_some_and(|v| v.matches_text(expected)))
    {
        return Ok(span);
    }
    let seen: Vec<String> = spans
        .iter()
        .map(|s| match s.attr(key) {
            Some(v) => format!("'{}' has {key}={v}", s.name),
            None => format!("'{}' has no {key}", s.name),
        })
        .collect();
    Err(CheckFailure::new(
        "span attribute",
        format!(
            "expected a {selector} with {key}={expected}; {}",
            seen.join("; ")
        ),
        trace,
    ))
}

/// Some span matching `selector` has status `code`. Returns that span.
pub fn span_status<'a>(
    trace: &'a Trace,
    selector: &SpanSelector,
    code: StatusCode,
) -> Result<&'a Span, CheckFailure> {
    let spans = select_some("span status", trace, selector)?;
    if let Some(span) = spans.iter().find(|s| s.status.code == code) {
        return Ok(span);
    }
    Err(CheckFailure::new(
        "span status",
        format!(
            "expected a {selector} with status {code}; found {}",
            spans
                .iter()
                .map(|s| format!("'{}' {}", s.name, s.status.code))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        trace,
    ))
}

/// No span anywhere in the trace has error status.
pub fn no_errors(trace: &Trace) -> Result<(), CheckFailure> {
    let errors = trace.errors();
    if errors.is_empty() {
        return Ok(());
    }
    Err(CheckFailure::new(
        "no errors",
        format!(
            "{} span(s) have error status: {}",
            errors.len(),
            errors
                .iter()
                .map(|s| format!("{} '{}' ({:?})", s.service(), s.name, s.status.message))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        trace,
    ))
}

/// Some span of `service` (any service when `None`) has error status; returns the
/// error spans, by start time.
pub fn has_error<'a>(
    trace: &'a Trace,
    service: Option<&str>,
) -> Result<Vec<&'a Span>, CheckFailure> {
    let mut errors: Vec<&Span> = trace
        .errors()
        .into_iter()
        .filter(|s| service.is_none_or(|name| s.service() == name))
        .collect();
    if errors.is_empty() {
        return Err(CheckFailure::new(
            "has error",
            format!(
                "expected an error span{}; none found",
                service.map(|s| format!(" in {s}")).unwrap_or_default()
            ),
            trace,
        ));
    }
    errors.sort_by_key(|s| s.start_unix_nanos);
    Ok(errors)
}
