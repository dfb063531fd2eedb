//! How a span is named to a person, in the console tree and in the HTML waterfall alike.
//!
//! A client span says who called whom: `payments → ledger POST /holds`, following the
//! OpenTelemetry HTTP client conventions: the peer is `peer.service` (the target service's
//! name), else `server.address` (`:server.port` when not 80/443); the method is
//! `http.request.method`, else the first word of the span name; the route is `url.template`,
//! else the path of `url.full`, else the rest of the span name. Any part that is unknown is
//! left out, so a span with none of these attributes keeps its own name.
//! Every other span is `service: name`.

use crate::model::{Span, SpanKind};

/// The one-line name of `span` for people (see the module doc).
pub fn span_label(span: &Span) -> String {
    if span.kind != SpanKind::Client {
        return format!("{}: {}", span.service(), span.name);
    }
    let text = |key: &str| {
        span.attr(key)
            .map(|v| v.to_string())
            .filter(|v| !v.is_empty())
    };
    let peer = text("peer.service").or_else(|| {
        let address = text("server.address")?;
        Some(match span.attr("server.port").and_then(|p| p.as_i64()) {
            Some(port) if port != 80 && port != 443 => format!("{address}:{port}"),
            _ => address,
        })
    });
    let mut name_words = span.name.splitn(2, ' ');
    let name_method = name_words.next().unwrap_or_default().to_owned();
    let name_rest = name_words.next().map(str::to_owned);
    let method = text("http.request.method").unwrap_or(name_method);
    let route = text("url.template")
        .or_else(|| text("url.full").map(|url| path_of(&url)))
        .or(name_rest);
    let mut label = span.service().to_owned();
    if let Some(peer) = peer {
        label.push_str(" → ");
        label.push_str(&peer);
    } else {
        label.push(':');
    }
    for part in [Some(method), route].into_iter().flatten() {
        if !part.is_empty() {
            label.push(' ');
            label.push_str(&part);
        }
    }
    label
}

/// The path (and query) of a URL: what follows `scheme://authority`.
fn path_of(url: &str) -> String {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    match after_scheme.find('/') {
        Some(at) => after_scheme[at..].to_owned(),
        None => "/".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::model::{AttrValue, Resource, SpanId, SpanStatus, StatusCode, TraceId};

    fn span(kind: SpanKind, name: &str, attrs: &[(&str, AttrValue)]) -> Span {
        Span {
            trace_id: TraceId::parse("4bf92f3577b34da6a3ce929d0e0e4736").unwrap(),
            span_id: SpanId::parse("00f067aa0ba902b7").unwrap(),
            parent_span_id: None,
            resource: Arc::new(Resource::service("payments")),
            scope: None,
            name: name.to_owned(),
            kind,
            start_unix_nanos: 0,
            end_unix_nanos: 1,
            attributes: attrs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect(),
            status: SpanStatus {
                code: StatusCode::Unset,
                message: String::new(),
            },
            events: Vec::new(),
            links: Vec::new(),
        }
    }

    fn s(v: &str) -> AttrValue {
        AttrValue::String(v.to_owned())
    }

    #[test]
    fn a_client_span_with_the_semconv_attributes_names_peer_method_and_template() {
        let span = span(
            SpanKind::Client,
            "POST /holds",
            &[
                ("peer.service", s("ledger")),
                ("server.address", s("127.0.0.1")),
                ("http.request.method", s("POST")),
                ("url.template", s("/holds")),
                ("url.full", s("http://127.0.0.1:4100/holds")),
            ],
        );
        assert_eq!(span_label(&span), "payments → ledger POST /holds");
    }

    #[test]
    fn without_a_template_the_path_of_the_full_url_is_shown() {
        let span = span(
            SpanKind::Client,
            "POST",
            &[
                ("peer.service", s("provider")),
                ("url.full", s("http://127.0.0.1:9/transfers?x=1")),
            ],
        );
        assert_eq!(span_label(&span), "payments → provider POST /transfers?x=1");
    }

    #[test]
    fn without_peer_service_the_server_address_and_odd_port_name_the_peer() {
        let span = span(
            SpanKind::Client,
            "GET",
            &[
                ("server.address", s("bank.example")),
                ("server.port", AttrValue::Int(8443)),
            ],
        );
        assert_eq!(span_label(&span), "payments → bank.example:8443 GET");
    }

    #[test]
    fn a_client_span_without_any_attribute_keeps_its_name() {
        assert_eq!(
            span_label(&span(SpanKind::Client, "POST", &[])),
            "payments: POST"
        );
    }

    #[test]
    fn a_server_span_is_service_and_name() {
        assert_eq!(
            span_label(&span(SpanKind::Server, "POST /holds", &[])),
            "payments: POST /holds"
        );
    }
}
