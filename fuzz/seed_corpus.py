#!/usr/bin/env python3
"""Writes the committed seed corpus of each fuzz target (fuzz/corpus/<target>/): a few valid
inputs of each kind, so that every run starts from inputs that reach deep into the decoders.
Run it again after changing a target's input format: `python3 fuzz/seed_corpus.py`."""
import gzip
import hashlib
import json
import pathlib
import struct

CORPUS = pathlib.Path(__file__).resolve().parent / "corpus"


def write(target, data):
    folder = CORPUS / target
    folder.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    (folder / hashlib.sha1(data).hexdigest()).write_bytes(data)


# --- protobuf, by hand (field numbers from opentelemetry-proto) ---------------------------------
def varint(n):
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def field(number, wire, payload):
    key = varint(number << 3 | wire)
    if wire == 0:
        return key + varint(payload)
    if wire == 1:
        return key + struct.pack("<Q", payload)
    return key + varint(len(payload)) + payload


def string_kv(key, value):
    return field(1, 2, key.encode()) + field(2, 2, field(1, 2, value.encode()))


def int_kv(key, value):
    return field(1, 2, key.encode()) + field(2, 2, field(3, 0, value))


def span(trace, span_id, parent, name, kind):
    body = field(1, 2, trace) + field(2, 2, span_id)
    if parent:
        body += field(4, 2, parent)
    body += field(5, 2, name.encode()) + field(6, 0, kind)
    body += field(7, 1, 1_700_000_000_000_000_000) + field(8, 1, 1_700_000_000_050_000_000)
    body += field(9, 2, int_kv("http.response.status_code", 201))
    body += field(15, 2, field(2, 2, b"ok") + field(3, 0, 1))
    return body


TRACE = bytes.fromhex("4bf92f3577b34da6a3ce929d0e0e4736")
resource = field(1, 2, string_kv("service.name", "edge"))
scope_spans = field(1, 2, field(1, 2, b"minibank")) + field(
    2, 2, span(TRACE, bytes.fromhex("00f067aa0ba902b7"), None, "POST /v1/payments", 2)
) + field(2, 2, span(TRACE, bytes.fromhex("00f067aa0ba902b8"), bytes.fromhex("00f067aa0ba902b7"), "ledger", 3))
traces_pb = field(1, 2, field(1, 2, resource) + field(2, 2, scope_spans))

histogram_point = (
    field(9, 2, string_kv("http.route", "/v1/payments"))
    + field(2, 1, 1_700_000_000_000_000_000)
    + field(3, 1, 1_700_000_001_000_000_000)
    + field(4, 1, 3)
)
metric = field(1, 2, b"http.server.request.duration") + field(9, 2, field(1, 2, histogram_point) + field(2, 0, 2))
metrics_pb = field(1, 2, field(1, 2, resource) + field(2, 2, field(2, 2, metric)))

traces_json = json.dumps({"resourceSpans": [{
    "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "payments"}}]},
    "scopeSpans": [{"scope": {"name": "minibank"}, "spans": [{
        "traceId": TRACE.hex(), "spanId": "00f067aa0ba902b7", "parentSpanId": "",
        "name": "saga", "kind": 1, "startTimeUnixNano": "1700000000000000000",
        "endTimeUnixNano": "1700000000050000000",
        "attributes": [{"key": "n", "value": {"intValue": "3"}},
                       {"key": "l", "value": {"arrayValue": {"values": [{"boolValue": True}]}}}],
        "status": {"code": 2, "message": "provider down"},
        "events": [{"name": "retry", "timeUnixNano": "1700000000010000000"}]}]}]}]})
tempo_json = json.dumps({"trace": {"batches": [{"resource": {}, "scopeSpans": [{"spans": [{
    "traceId": "S/kvNXezTaajzpKdDg5HNg==", "spanId": "APBnqgupArc=", "name": "x",
    "kind": "SPAN_KIND_SERVER", "status": {"code": "STATUS_CODE_ERROR"}}]}]}]}})
metrics_json = json.dumps({"resourceMetrics": [{
    "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "edge"}}]},
    "scopeMetrics": [{"metrics": [
        {"name": "minibank.rpc.client.calls", "sum": {"aggregationTemporality": 2, "isMonotonic": True,
         "dataPoints": [{"asInt": "5", "timeUnixNano": "1700000000000000000"}]}},
        {"name": "http.server.request.duration", "histogram": {"aggregationTemporality": 1,
         "dataPoints": [{"count": "2", "sum": 0.5, "bucketCounts": ["1", "1"], "explicitBounds": [0.1],
                         "attributes": [{"key": "http.route", "value": {"stringValue": "/v1/tokens"}}]}]}}]}]}]})

# otlp_http: first byte = bit 0 metrics, bit 1 JSON, bits 2-3 content encoding (0 none, 1 the
# rest is a gzip stream, 2 gzip it first).
for mode, body in [
    (0b0000, traces_pb), (0b0010, traces_json.encode()), (0b0010, tempo_json.encode()),
    (0b0001, metrics_pb), (0b0011, metrics_json.encode()),
    (0b0100, gzip.compress(traces_pb)), (0b0111, gzip.compress(metrics_json.encode())),
    (0b1000, traces_pb), (0b1010, traces_json.encode()),
]:
    write("otlp_http", bytes([mode]) + body)

# trace_context: the traceparent, then one tracestate field per line.
TP = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
for lines in [
    [TP, "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"],
    [TP, "foo=bar", " , tenant@vendor=v 1 ,bar=baz"],
    [TP, ",".join(f"k{n}=v{n}" for n in range(32))],
    [TP, "a" * 256 + "=x", "z@" + "s" * 14 + "=y"],
    [TP, "foo@@bar=1"],
    ["ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra", "minibank=old,other=1"],
    ["00-00000000000000000000000000000000-00f067aa0ba902b7-00", "x=1"],
    [TP.upper(), "dup=1,dup=2"],
]:
    write("trace_context", "\n".join(lines))

# edge_json: request bodies of the public operations, good and bad.
for body in [
    '{"name": "Ada", "currency": "GBP"}',
    '{"name": "Zoë\\u00e9", "currency": "EUR", "extra": 1}',
    '{"amount": 5000, "currency": "GBP", "operation_id": "op-1"}',
    '{"amount": 1.5e3, "currency": "JPY"}',
    '{"merchant_id": "mer_0190b0b4-7d2a-7c1e-9a51-2b3c4d5e6f70", "amount": 1250, "currency": "GBP", "reference": "order 1"}',
    '{"url": "https://merchant.example/hook", "events": ["payment.settled", "payment.failed"]}',
    '{"client_id": "cli_1", "client_secret": "s"}',
    '[{"url": "http://127.0.0.1:1/next", "arguments": [{"url": "x", "arguments": []}]}]',
    '{"name": ["not", "a", "string"], "currency": null}',
    '{"amount": 99999999999999999999999}',
    '  {"name": "A"} trailing',
    '{"events": ["payment.unknown"], "url": 7}',
]:
    write("edge_json", body)
