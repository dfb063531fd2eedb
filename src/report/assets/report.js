// The run report: reads the run (script#run-data, a RunReport from src/report/run.rs) and
// draws the header, the filters, the run timeline and every scenario, failures first.
// A scenario's steps and requests are drawn when it is opened, and a trace when its request
// is opened (each trace is its own script block, parsed then), so 1,000 scenarios stay quick.
// The filters live in the URL hash (#status=failed&tag=payments&feature=...&q=...), and
// #trace=<id> opens the request of that trace, so every view can be linked to.
"use strict";
(function () {
  var el = Waterfall.el, ms = Waterfall.ms;
  var run = JSON.parse(document.getElementById("run-data").textContent);
  var app = document.getElementById("app");
  var scenarios = [];
  run.features.forEach(function (f) {
    f.scenarios.forEach(function (s) { s.feature = f; scenarios.push(s); });
  });
  var byTrace = {};
  scenarios.forEach(function (s) {
    s.requests.forEach(function (r, i) { if (r.trace_id && !byTrace[r.trace_id]) byTrace[r.trace_id] = [s, i]; });
  });

  var table = null;
  function strings() {
    if (!table) table = JSON.parse(document.getElementById("trace-strings").textContent);
    return table;
  }
  // Bodies travel compact; JSON ones are indented for reading.
  function pretty(body) {
    var t = body.trim();
    if (t[0] !== "{" && t[0] !== "[") return body;
    try { return JSON.stringify(JSON.parse(t), null, 2); } catch (e) { return body; }
  }
  function fmtMs(v) { return v >= 1000 ? (v / 1000).toFixed(2) + " s" : v.toFixed(1) + " ms"; }
  function text(parent, tag, cls, t) { var e = el(tag, cls, t); parent.appendChild(e); return e; }

  // ── header ──
  var c = run.counts;
  var title = text(app, "h1", null, "Acceptance run: " + c.passed + " passed, " + c.failed + " failed" +
    (c.not_run ? ", " + c.not_run + " not run" : ""));
  title.id = "title";
  var meta = text(app, "div", "meta");
  text(meta, "span", null, "driver " + run.driver);
  text(meta, "span", null, "seed " + run.seed);
  text(meta, "span", null, "started " + run.started_at);
  text(meta, "span", null, "wall time " + fmtMs(run.wall_ms));
  var replay = text(meta, "span", null, "replay: ");
  text(replay, "code", null, run.replay);
  var counts = text(app, "div", "counts");
  counts.id = "counts";
  [["passed", c.passed, "scenarios passed"], ["failed", c.failed, "scenarios failed"],
   ["not-run", c.not_run, "not run"], ["steps", c.steps_passed + c.steps_failed, "steps (" + c.steps_failed + " failed)"],
   ["requests", c.requests, "requests"]].forEach(function (k) {
    var box = text(counts, "div", "count " + k[0]);
    box.setAttribute("data-count", k[0]);
    text(box, "b", null, String(k[1]));
    text(box, "span", "muted", k[2]);
  });
  if (run.problems.length) {
    var p = text(app, "div", "failure");
    text(p, "b", null, "Problems outside any scenario");
    run.problems.forEach(function (m) { text(p, "pre", null, m); });
  }

  // ── features and not run ──
  var feats = text(app, "details");
  text(feats, "summary", null, run.features.length + " features");
  var ft = text(feats, "table", "data");
  run.features.forEach(function (f) {
    var tr = text(ft, "tr");
    text(tr, "td", null, f.name);
    text(tr, "td", "muted", f.file);
    var tags = text(tr, "td");
    f.tags.forEach(function (t) { text(tags, "span", "chip", "@" + t); });
    var failed = f.scenarios.filter(function (s) { return s.status === "failed"; }).length;
    text(tr, "td", null, f.scenarios.length + " scenario(s)" + (failed ? ", " + failed + " failed" : ""));
  });
  if (run.not_run.length) {
    var nr = text(app, "details");
    nr.id = "not-run";
    text(nr, "summary", null, run.not_run.length + " scenario(s) not run");
    var nt = text(nr, "table", "data");
    run.not_run.forEach(function (n) {
      var tr = text(nt, "tr");
      text(tr, "td", null, n.scenario);
      text(tr, "td", "muted", n.reason);
    });
  }

  // ── filters ──
  var bar = text(app, "div", "filters");
  function select(name, options) {
    var s = text(bar, "select");
    s.id = "filter-" + name;
    options.forEach(function (o) { var opt = text(s, "option", null, o[1]); opt.value = o[0]; });
    s.addEventListener("change", fromControls);
    return s;
  }
  var tagSet = {};
  scenarios.forEach(function (s) { s.tags.forEach(function (t) { tagSet[t] = true; }); });
  var fStatus = select("status", [["", "every status"], ["failed", "failed"], ["passed", "passed"]]);
  var fTag = select("tag", [["", "every tag"]].concat(Object.keys(tagSet).sort().map(function (t) { return [t, "@" + t]; })));
  var fFeature = select("feature", [["", "every feature"]].concat(run.features.map(function (f) { return [f.file, f.name]; })));
  var fText = text(bar, "input");
  fText.id = "filter-text";
  fText.type = "search";
  fText.placeholder = "search scenarios, steps, paths…";
  fText.addEventListener("input", fromControls);
  var shown = text(bar, "span", "muted");
  shown.id = "shown";

  // ── timeline: one lane per scenario running at the same time ──
  text(app, "h2", null, "Run timeline");
  var tl = text(app, "div", "timeline");
  tl.id = "timeline";
  var lanes = [];
  var span = Math.max(1, Math.max.apply(null, scenarios.map(function (s) { return s.end_ms; }).concat([1])));
  scenarios.slice().sort(function (a, b) { return a.start_ms - b.start_ms; }).forEach(function (s) {
    var lane = 0;
    while (lanes[lane] !== undefined && lanes[lane] > s.start_ms) lane++;
    lanes[lane] = s.end_ms;
    var b = text(tl, "div", "tl-bar " + s.status);
    b.style.left = (100 * s.start_ms / span) + "%";
    b.style.width = "max(2px, " + (100 * (s.end_ms - s.start_ms) / span) + "%)";
    b.style.top = (4 + lane * 11) + "px";
    b.title = s.name + " (" + fmtMs(s.end_ms - s.start_ms) + ", " + s.status + ")";
    b.addEventListener("click", function () { openScenario(s, true); });
    s.bar = b;
  });
  // The lanes' height; the box scrolls past 260 px (a suite runs ~70 scenarios at once).
  var lanesBox = text(tl, "div");
  lanesBox.style.height = (8 + lanes.length * 11) + "px";
  var axis = text(app, "div", "tl-axis");
  [0, 0.25, 0.5, 0.75, 1].forEach(function (f) { text(axis, "span", null, fmtMs(f * span)); });

  // ── scenarios: failures first, then by feature ──
  var failures = scenarios.filter(function (s) { return s.status === "failed"; });
  if (failures.length) {
    var fh = text(app, "h2", null, "Failures (" + failures.length + ")");
    fh.id = "failures";
    failures.forEach(function (s) { card(app, s, true); });
  }
  run.features.forEach(function (f) {
    var passed = f.scenarios.filter(function (s) { return s.status !== "failed"; });
    if (!passed.length) return;
    var h = text(app, "h2", null, f.name);
    h.setAttribute("data-feature", f.file);
    f.header = h;
    var tags = text(h, "span");
    f.tags.forEach(function (t) { text(tags, "span", "chip", "@" + t); });
    passed.forEach(function (s) { card(app, s, false); });
  });

  function card(parent, s, withFeature) {
    var d = text(parent, "details", "scenario " + s.status);
    d.id = s.id;
    d.setAttribute("data-status", s.status);
    var sum = text(d, "summary");
    text(sum, "span", "badge " + s.status, s.status);
    text(sum, "b", "name", s.name);
    text(sum, "span", "where", (withFeature ? s.feature.name + " · " : "") + s.key.split(": ")[0] +
      " · " + fmtMs(s.end_ms - s.start_ms) + " · " + s.requests.length + " request(s)");
    s.tags.forEach(function (t) { text(sum, "span", "chip", "@" + t); });
    s.card = d;
    s.haystack = [s.name, s.feature.name, s.key].concat(s.steps.map(function (st) { return st.keyword + " " + st.text; }))
      .concat(s.requests.map(function (r) { return r.method + " " + r.path; })).join("\n").toLowerCase();
    if (s.status === "failed") { d.open = true; body(s); }
    d.addEventListener("toggle", function () { if (d.open) body(s); });
  }

  function body(s) {
    if (s.drawn) return;
    s.drawn = true;
    var b = text(s.card, "div", "scenario-body");
    if (s.failure) {
      var f = text(b, "div", "failure");
      text(f, "b", null, "Failed: ");
      if (s.failure_trace) {
        var a = text(f, "a", "trace-link", "open the trace of the failing step's request");
        a.href = "#trace=" + s.failure_trace;
      }
      text(f, "pre", "failure-message", s.failure);
    }
    var steps = text(b, "table", "steps");
    s.steps.forEach(function (st) {
      var tr = text(steps, "tr", st.status);
      text(tr, "td", "kw", st.keyword);
      var td = text(tr, "td");
      text(td, "span", null, st.text);
      if (st.background) text(td, "span", "chip", "background");
      if (st.docstring) text(td, "pre", null, st.docstring);
      if (st.table) {
        var t = text(td, "table", "data");
        st.table.forEach(function (row) {
          var r = text(t, "tr");
          row.forEach(function (cell) { text(r, "td", null, cell); });
        });
      }
      if (st.trace_id) {
        var link = text(td, "a", "step-trace", " trace");
        link.href = "#trace=" + st.trace_id;
        link.title = "the trace of the last request this step sent";
      }
      if (st.error) text(td, "pre", "step-error", st.error);
      var st2 = text(tr, "td");
      text(st2, "span", "badge " + st.status, st.status);
      text(tr, "td", "dur", fmtMs(st.duration_ms));
    });
    if (s.log_lines.length) {
      text(b, "h3", null, "Platform log lines of the failing request");
      text(b, "pre", "log-lines", s.log_lines.join("\n"));
    }
    if (s.requests.length) text(b, "h3", null, "Requests");
    s.requests.forEach(function (r, i) { request(b, s, r, i); });
  }

  function request(parent, s, r, i) {
    var d = text(parent, "details", "request");
    d.setAttribute("data-trace", r.trace_id || "");
    var sum = text(d, "summary");
    var status = r.status === null ? "no answer" : String(r.status);
    text(sum, "span", null, r.method + " " + r.path + " → ");
    text(sum, "b", "status-" + (r.status === null ? "x" : String(r.status)[0]), status);
    text(sum, "span", "muted", "  " + fmtMs(r.duration_ms) + (r.trace_id ? "  trace " + r.trace_id.slice(0, 8) + "…" : ""));
    var drawn = false;
    d.addEventListener("toggle", function () {
      if (!d.open || drawn) return;
      drawn = true;
      var b = text(d, "div", "request-body");
      if (r.error) text(b, "pre", null, r.error);
      var two = text(b, "div", "two");
      var left = text(two, "div");
      text(left, "h3", null, "Request");
      text(left, "pre", null, r.request_headers.map(function (h) { return h[0] + ": " + h[1]; }).join("\n") || "(no headers)");
      if (r.request_body) text(left, "pre", null, pretty(r.request_body));
      var right = text(two, "div");
      text(right, "h3", null, "Response " + status);
      text(right, "pre", null, r.response_body ? pretty(r.response_body) : "(empty body)");
      if (!r.trace_id) return;
      var data = document.getElementById("trace-data-" + r.trace_id);
      if (!data) { text(b, "p", "muted", "trace " + r.trace_id + " was not collected"); return; }
      var hooks = s.webhooks.filter(function (w) { return w.trace_id === r.trace_id; });
      var extras = null;
      if (hooks.length) {
        extras = el("div", "wf-detail webhooks");
        hooks.forEach(function (w) {
          text(extras, "b", null, "⇢ the merchant's webhook, received on this trace (answered " + w.answered + ")");
          text(extras, "pre", null, w.headers.map(function (h) { return h[0] + ": " + h[1]; }).join("\n"));
          text(extras, "pre", null, pretty(w.body));
        });
      }
      Waterfall.render(b, Waterfall.unpack(JSON.parse(data.textContent), strings()), extras);
    });
    r.details = d;
  }

  function openScenario(s, scroll) {
    s.card.open = true;
    body(s);
    if (scroll) s.card.scrollIntoView({ block: "start" });
  }

  // ── filter state in the hash ──
  function parseHash() {
    var out = {};
    location.hash.replace(/^#/, "").split("&").forEach(function (kv) {
      if (!kv) return;
      var i = kv.indexOf("=");
      out[decodeURIComponent(i < 0 ? kv : kv.slice(0, i))] = i < 0 ? "" : decodeURIComponent(kv.slice(i + 1));
    });
    return out;
  }
  function fromControls() {
    var parts = [];
    [["status", fStatus.value], ["tag", fTag.value], ["feature", fFeature.value], ["q", fText.value]].forEach(function (kv) {
      if (kv[1]) parts.push(kv[0] + "=" + encodeURIComponent(kv[1]));
    });
    history.replaceState(null, "", parts.length ? "#" + parts.join("&") : location.pathname);
    apply(parseHash());
  }
  function apply(state) {
    fStatus.value = state.status || "";
    fTag.value = state.tag || "";
    fFeature.value = state.feature || "";
    fText.value = state.q || "";
    var q = (state.q || "").toLowerCase();
    var visible = 0;
    var featureShown = {};
    scenarios.forEach(function (s) {
      var ok = (!state.status || s.status === state.status) &&
        (!state.tag || s.tags.indexOf(state.tag) >= 0) &&
        (!state.feature || s.feature.file === state.feature) &&
        (!q || s.haystack.indexOf(q) >= 0);
      s.card.hidden = !ok;
      s.bar.style.opacity = ok ? "" : "0.12";
      if (ok) { visible++; if (s.status !== "failed") featureShown[s.feature.file] = true; }
    });
    run.features.forEach(function (f) { if (f.header) f.header.hidden = !featureShown[f.file]; });
    shown.textContent = visible + " of " + scenarios.length + " scenarios shown";
    shown.setAttribute("data-shown", String(visible));
    if (state.trace && byTrace[state.trace]) {
      var at = byTrace[state.trace];
      var s = at[0];
      s.card.hidden = false;
      openScenario(s, false);
      var r = s.requests[at[1]];
      r.details.open = true;
      r.details.dispatchEvent(new Event("toggle"));
      r.details.classList.add("hit");
      r.details.scrollIntoView({ block: "start" });
    }
  }
  window.addEventListener("hashchange", function () { apply(parseHash()); });
  apply(parseHash());
  // For the benchmark (BENCHMARKS.md): milliseconds from navigation until the page is drawn.
  document.documentElement.setAttribute("data-rendered-ms", String(Math.round(performance.now())));
})();
