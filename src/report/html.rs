//! The pages: the run report and the trace sink's two pages. Each is one self-contained
//! HTML document (inline CSS and JS, no network); the data travels as JSON in
//! `<script type="application/json">` blocks that the scripts read.

use std::fmt::Write as _;

use serde::Serialize;

use super::run::RunReport;
use super::trace_view::TraceView;

const CSS: &str = include_str!("assets/report.css");
const WATERFALL_JS: &str = include_str!("assets/waterfall.js");
const REPORT_JS: &str = include_str!("assets/report.js");
const TRACE_PAGE_JS: &str = include_str!("assets/trace_page.js");

/// The run report: header, filters, timeline, scenarios (failures first), each request with
/// its trace. Every trace is its own JSON block, parsed only when its request is opened.
pub fn render_report(run: &RunReport) -> String {
    let packed = super::pack::pack(run.traces.values());
    let traces_len: usize = packed.traces.iter().map(|(_, json)| json.len() + 80).sum();
    let run_json = script_json(run);
    let mut page = String::with_capacity(
        CSS.len() + WATERFALL_JS.len() + REPORT_JS.len() + run_json.len() + traces_len + 1024,
    );
    head(&mut page, &format!("Acceptance run ({})", run.driver));
    page.push_str("<main id=\"app\"></main>\n<script type=\"application/json\" id=\"run-data\">");
    page.push_str(&run_json);
    page.push_str("</script>\n");
    strings_block(&mut page, &packed.table);
    for (id, json) in &packed.traces {
        let _ = writeln!(
            page,
            "<script type=\"application/json\" id=\"trace-data-{}\">{}</script>",
            attr(id),
            script_safe(json)
        );
    }
    scripts(&mut page, REPORT_JS);
    page
}

/// The sink's page for one trace (`/trace/{id}`).
pub fn render_trace_page(trace: &TraceView) -> String {
    let mut page = String::new();
    head(&mut page, &format!("trace {}", trace.id));
    page.push_str(
        "<main id=\"app\"><p><a href=\"/traces\">← recent traces</a></p><h1>Trace</h1></main>\n",
    );
    let packed = super::pack::pack([trace]);
    strings_block(&mut page, &packed.table);
    page.push_str("<script type=\"application/json\" id=\"trace-data\">");
    if let Some((_, json)) = packed.traces.first() {
        page.push_str(&script_safe(json));
    }
    page.push_str("</script>\n");
    scripts(&mut page, TRACE_PAGE_JS);
    page
}

/// One line of the sink's recent-traces list.
#[derive(Debug, Clone)]
pub struct TraceSummary {
    /// The trace id.
    pub id: String,
    /// The first root span's label (`harness: POST /v1/payments`).
    pub root: String,
    /// Services, in the order they appear.
    pub services: Vec<String>,
    /// Span count.
    pub spans: usize,
    /// Error spans.
    pub errors: usize,
    /// Whole duration, microseconds.
    pub total_us: u64,
}

impl TraceSummary {
    /// The summary of a laid-out trace.
    pub fn of(view: &TraceView) -> Self {
        TraceSummary {
            id: view.id.clone(),
            root: view
                .spans
                .first()
                .map(|s| s.label.clone())
                .unwrap_or_default(),
            services: view.services.clone(),
            spans: view.spans.len(),
            errors: view.spans.iter().filter(|s| s.error).count(),
            total_us: view.total_us,
        }
    }
}

/// The sink's list of recent traces (`/traces`), newest first, each linking to its page.
pub fn render_trace_list_page(traces: &[TraceSummary]) -> String {
    let mut page = String::new();
    head(&mut page, "recent traces");
    let _ = writeln!(
        page,
        "<main id=\"app\"><h1>Recent traces</h1><p class=\"muted\">{} trace(s), newest first</p>\
         <table class=\"data\" id=\"traces\"><tr><th>trace</th><th>root span</th><th>services</th>\
         <th>spans</th><th>duration</th></tr>",
        traces.len()
    );
    for t in traces {
        let _ = writeln!(
            page,
            "<tr><td class=\"mono\"><a href=\"/trace/{id}\">{id}</a></td><td>{root}</td><td>{services}</td>\
             <td>{spans}{errors}</td><td>{ms:.2} ms</td></tr>",
            id = attr(&t.id),
            root = text(&t.root),
            services = text(&t.services.join(" → ")),
            spans = t.spans,
            errors = if t.errors > 0 {
                format!(" <span class=\"badge error\">{} error</span>", t.errors)
            } else {
                String::new()
            },
            ms = t.total_us as f64 / 1000.0,
        );
    }
    page.push_str("</table></main></body></html>\n");
    page
}

fn head(page: &mut String, title: &str) {
    let _ = write!(
        page,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>{CSS}</style></head><body>\n",
        text(title)
    );
}

fn scripts(page: &mut String, page_js: &str) {
    page.push_str("<script>");
    page.push_str(WATERFALL_JS);
    page.push_str("</script>\n<script>");
    page.push_str(page_js);
    page.push_str("</script>\n</body></html>\n");
}

/// The page-wide table of the strings traces share ([`super::pack`]).
fn strings_block(page: &mut String, table: &str) {
    page.push_str("<script type=\"application/json\" id=\"trace-strings\">");
    page.push_str(&script_safe(table));
    page.push_str("</script>\n");
}

/// JSON safe inside a `<script>` element (see [`script_safe`]).
fn script_json(value: &impl Serialize) -> String {
    script_safe(
        &serde_json::to_string(value)
            .unwrap_or_else(|e| format!("{{\"error\":\"cannot encode: {e}\"}}")),
    )
}

/// JSON text that cannot close its `<script>` element early: `</` becomes `<\/` (the same
/// JSON). `<!--` can only occur inside a JSON string, where `<\u0021--` is the same text.
fn script_safe(json: &str) -> String {
    if !json.contains('<') {
        return json.to_owned();
    }
    json.replace("</", "<\\/").replace("<!--", "<\\u0021--")
}

/// Text escaped for HTML content.
fn text(raw: &str) -> String {
    raw.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Text escaped for an attribute value.
fn attr(raw: &str) -> String {
    text(raw).replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_cannot_close_its_script_block() {
        let json = script_json(&serde_json::json!({"body": "</script><script>alert(1)</script>"}));
        assert!(!json.contains("</script"), "{json}");
        let back: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(back["body"], "</script><script>alert(1)</script>");
    }

    #[test]
    fn the_report_is_one_document_with_its_scripts_and_no_network() {
        let page = render_report(&RunReport::default());
        assert!(page.starts_with("<!doctype html>") && page.ends_with("</html>\n"));
        assert!(page.contains("var Waterfall") && page.contains("id=\"run-data\""));
        assert!(
            !page.contains("http://") && !page.contains("https://"),
            "no external resource"
        );
    }
}
