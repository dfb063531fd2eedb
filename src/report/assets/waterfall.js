// The one trace renderer: the run report and the trace sink's /trace/{id} page both draw
// traces with `Waterfall.render(container, Waterfall.unpack(packed, table))`. `trace` is a TraceView
// (src/report/trace_view.rs): spans in tree order with depth (dp), offset (t) and duration
// (d) in µs from the trace's start, service (s), label (l), kind (k), status (st), error (e),
// async hop (x), orphan (o), parent (p), attributes (a) and events (ev).
"use strict";
var Waterfall = (function () {
  var KNOWN = { harness: "#8c959f", edge: "#0969da", auth: "#8250df", payments: "#1a7f37",
    ledger: "#d4760a", provider: "#a0522d", webhooks: "#0f8f8f" };
  var SPARE = ["#bf3989", "#6e7781", "#3b7dd8", "#7d4e00", "#116329", "#953800"];

  function color(service) {
    if (KNOWN[service]) return KNOWN[service];
    var h = 0;
    for (var i = 0; i < service.length; i++) h = (h * 31 + service.charCodeAt(i)) >>> 0;
    return SPARE[h % SPARE.length];
  }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }

  function ms(us) {
    var v = us / 1000;
    return (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)) + " ms";
  }

  function pct(us, total) { return (100 * us / total).toFixed(3) + "%"; }

  function detail(span, trace) {
    var d = el("div", "wf-detail");
    var head = el("div");
    head.appendChild(el("b", null, span.l));
    head.appendChild(el("span", "muted",
      "  " + span.k + " · " + span.st + " · starts +" + ms(span.t) + " · " + ms(span.d) + " · span " + span.id));
    d.appendChild(head);
    if (span.x) d.appendChild(el("div", null, "⇢ " + span.x));
    if (span.o) d.appendChild(el("div", null, "orphan: its parent span is not in the trace"));
    var attrs = el("table", "attrs");
    var rows = [["service.name", span.s], ["span name", span.n]].concat(span.a || []);
    rows.forEach(function (kv) {
      var tr = el("tr");
      tr.appendChild(el("td", null, kv[0]));
      tr.appendChild(el("td", "mono", kv[1]));
      attrs.appendChild(tr);
    });
    d.appendChild(el("h3", null, "Attributes"));
    d.appendChild(attrs);
    if (span.ev && span.ev.length) {
      d.appendChild(el("h3", null, "Events"));
      span.ev.forEach(function (ev) {
        var line = el("div", "mono", "+" + ms(ev[1]) + "  " + ev[0] + " ");
        (ev[2] || []).forEach(function (kv) { line.appendChild(el("span", "chip", kv[0] + "=" + kv[1])); });
        d.appendChild(line);
      });
    }
    return d;
  }

  function render(container, trace, extras) {
    var total = Math.max(trace.total_us, 1);
    var byId = {};
    trace.spans.forEach(function (s) { byId[s.id] = s; });
    var wf = el("div", "wf");
    wf.setAttribute("data-trace", trace.id);
    var head = el("div", "wf-head");
    var errors = trace.spans.filter(function (s) { return s.e; }).length;
    head.appendChild(el("b", null, "trace " + trace.id));
    head.appendChild(el("span", "muted", trace.spans.length + " spans · " + ms(trace.total_us) +
      (errors ? " · " + errors + " error span(s)" : "")));
    var legend = el("span", "legend");
    trace.services.forEach(function (s) {
      var item = el("span", "chip");
      var dot = el("span", "wf-dot");
      dot.style.background = color(s);
      item.appendChild(dot);
      item.appendChild(document.createTextNode(s));
      legend.appendChild(item);
    });
    head.appendChild(legend);
    wf.appendChild(head);
    var axis = el("div", "wf-axis");
    axis.appendChild(el("div", "wf-label", "span"));
    var ticks = el("div", "wf-ticks");
    [0, 0.25, 0.5, 0.75, 1].forEach(function (f) {
      var t = el("span", null, ms(f * trace.total_us));
      t.style.left = (f * 100 * 0.92 + 2) + "%";
      ticks.appendChild(t);
    });
    axis.appendChild(ticks);
    wf.appendChild(axis);
    trace.spans.forEach(function (span) {
      var row = el("div", "wf-row" + (span.e ? " error" : "") + (span.x ? " async" : ""));
      row.setAttribute("data-service", span.s);
      row.setAttribute("data-span", span.id);
      var label = el("div", "wf-label");
      label.style.paddingLeft = (6 + span.dp * 14) + "px";
      label.title = span.l;
      var dot = el("span", "wf-dot");
      dot.style.background = color(span.s);
      label.appendChild(dot);
      label.appendChild(el("span", "wf-name", span.l));
      if (span.e) label.appendChild(el("span", "badge error", "error"));
      if (span.x) {
        var b = el("span", "badge async", "⇢ async");
        b.title = span.x;
        label.appendChild(document.createTextNode(" "));
        label.appendChild(b);
      }
      row.appendChild(label);
      var track = el("div", "wf-track");
      // Bars use 92% of the track, so the duration text fits after the longest one.
      var scale = function (us) { return (2 + 92 * us / total) + "%"; };
      var parent = span.p && byId[span.p];
      if (span.x && parent && span.t > parent.t + parent.d) {
        var gap = el("div", "wf-gap");
        gap.style.left = scale(parent.t + parent.d);
        gap.style.width = (92 * (span.t - parent.t - parent.d) / total) + "%";
        gap.title = span.x;
        track.appendChild(gap);
      }
      var bar = el("div", "wf-bar");
      bar.style.left = scale(span.t);
      bar.style.width = (92 * span.d / total) + "%";
      bar.style.background = color(span.s);
      track.appendChild(bar);
      var dur = el("span", "wf-dur", ms(span.d));
      dur.style.left = "calc(" + scale(span.t + span.d) + " + 4px)";
      track.appendChild(dur);
      row.appendChild(track);
      row.addEventListener("click", function () {
        var next = row.nextSibling;
        if (next && next.classList && next.classList.contains("wf-detail")) {
          next.remove();
          row.classList.remove("open");
        } else {
          row.parentNode.insertBefore(detail(span, trace), row.nextSibling);
          row.classList.add("open");
        }
      });
      wf.appendChild(row);
    });
    if (extras) wf.appendChild(extras);
    container.appendChild(wf);
    return wf;
  }

  // A packed trace (src/report/pack.rs) back into the shape `render` draws; string fields
  // are indices into the page's table or the strings themselves.
  function unpack(packed, table) {
    function str(v) { return typeof v === "number" ? table[v] : v; }
    function pairs(list) { return list.map(function (kv) { return [str(kv[0]), str(kv[1])]; }); }
    return {
      id: packed.id, total_us: packed.total_us, services: packed.services,
      spans: packed.spans.map(function (a) {
        return { id: a[0], p: a[1] >= 0 ? packed.spans[a[1]][0] : null, dp: a[2], s: str(a[3]), l: str(a[4]), n: str(a[5]), k: str(a[6]),
          t: a[7], d: a[8], st: str(a[9]), e: a[10] === 1, x: a[11], o: a[12] === 1, a: pairs(a[13]),
          ev: a[14].map(function (ev) { return [str(ev[0]), ev[1], pairs(ev[2])]; }) };
      })
    };
  }

  return { render: render, unpack: unpack, color: color, el: el, ms: ms, pct: pct };
})();
