//! A structured (JSON) platform log line as one line a person reads:
//! `12:00:01.234 payments INFO payment failed payment_id=pay_1 code=provider_down`.
//!
//! Time is the clock time of the line's timestamp; the service comes from a `service` field
//! (or the container that printed the line); the message from `message`/`fields.message`;
//! the other fields follow as `key=value`, trace and span ids left out (the line was found
//! by its trace id, so they are the same on every line).

use serde_json::{Map, Value};

/// Fields shown elsewhere on the line, or the same on every line of a trace.
const NOT_KEY_FIELDS: &[&str] = &[
    "timestamp",
    "level",
    "message",
    "msg",
    "service",
    "container",
    "target",
    "trace_id",
    "span_id",
    "fields",
    "span",
    "spans",
    "threadName",
    "threadId",
];

/// The readable form of one log line.
pub fn readable(line: &Value) -> String {
    let Value::Object(top) = line else {
        return line.to_string();
    };
    // tracing's JSON layout nests the event's fields under `fields` and the current span's
    // under `span`; read all three levels as one.
    let empty = Map::new();
    let fields = top
        .get("fields")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let span = top.get("span").and_then(Value::as_object).unwrap_or(&empty);
    let find = |key: &str| {
        fields
            .get(key)
            .or_else(|| top.get(key))
            .or_else(|| span.get(key))
            .map(plain)
    };
    let time = find("timestamp")
        .map(|t| clock_time(&t))
        .unwrap_or_else(|| "--:--:--.---".to_owned());
    let service = find("service")
        .or_else(|| find("container"))
        .unwrap_or_else(|| "?".to_owned());
    let level = find("level").unwrap_or_else(|| "-".to_owned());
    let message = find("message").or_else(|| find("msg")).unwrap_or_default();
    let mut out = format!("{time} {service} {level} {message}");
    let mut shown: Vec<&str> = Vec::new();
    for (map, is_span) in [(fields, false), (top, false), (span, true)] {
        for (key, value) in map {
            // The span's own name (`request`) says nothing the message does not.
            let span_name = is_span && key == "name";
            if span_name || NOT_KEY_FIELDS.contains(&key.as_str()) || shown.contains(&key.as_str())
            {
                continue;
            }
            shown.push(key);
            out.push(' ');
            out.push_str(key);
            out.push('=');
            out.push_str(&super::mask::text(&plain(value)));
        }
    }
    out
}

fn plain(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `2026-11-29T12:00:01.234567Z` -> `12:00:01.234`; anything else as given.
fn clock_time(timestamp: &str) -> String {
    match timestamp.split_once('T') {
        Some((_, time)) => time.trim_end_matches('Z').chars().take(12).collect(),
        None => timestamp.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tracing_json_line_reads_as_time_service_level_message_and_key_fields() {
        let line = serde_json::json!({
            "timestamp": "2026-11-29T12:00:01.234567Z",
            "level": "WARN",
            "fields": {"message": "provider refused", "payment_id": "pay_1", "status": 502},
            "target": "minibank::payments",
            "span": {"service": "payments", "trace_id": "4bf9", "span_id": "00f0", "name": "request"}
        });
        assert_eq!(
            readable(&line),
            "12:00:01.234 payments WARN provider refused payment_id=pay_1 status=502"
        );
    }

    #[test]
    fn a_line_that_is_no_object_is_shown_as_is() {
        assert_eq!(readable(&Value::String("boom".into())), "\"boom\"");
    }
}
