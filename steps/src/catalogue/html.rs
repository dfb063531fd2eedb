//! The catalogue as one self-contained, searchable HTML page (`target/acceptance/steps.html`,
//! written beside the run's report): the same sections as STEPS.md, and a search box that
//! keeps only the rows containing every word typed (also from a link: `#search=words`).

use std::fmt::Write as _;

use super::document::sections;

/// Escapes text for HTML.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Markdown's inline marks the catalogue uses: `code`, **strong**, *emphasis*, `<br>`.
fn inline(text: &str) -> String {
    let lines: Vec<String> = text.split("<br>").map(inline_line).collect();
    lines.join("<br>")
}

fn inline_line(text: &str) -> String {
    let mut out = String::new();
    for (i, part) in text.split('`').enumerate() {
        if i % 2 == 1 {
            let _ = write!(out, "<code>{}</code>", escape(part));
        } else {
            out.push_str(&emphasis(&escape(part)));
        }
    }
    out
}

fn emphasis(text: &str) -> String {
    let mut out = String::new();
    for (i, part) in text.split("**").enumerate() {
        if i % 2 == 1 {
            let _ = write!(out, "<strong>{part}</strong>");
        } else {
            for (j, bit) in part.split('*').enumerate() {
                if j % 2 == 1 {
                    let _ = write!(out, "<em>{bit}</em>");
                } else {
                    out.push_str(bit);
                }
            }
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:0 2rem 4rem;line-height:1.4}\
header{position:sticky;top:0;background:#fff;padding:1rem 0;border-bottom:1px solid #ddd}\
input{font-size:1.1rem;width:min(40rem,100%);padding:.4rem}\
table{border-collapse:collapse;margin:.5rem 0 1.5rem;width:100%}\
th,td{border:1px solid #ddd;padding:.3rem .5rem;text-align:left;vertical-align:top}\
th{background:#f4f4f4}code{background:#f6f6f6;padding:0 .2rem}\
.hidden{display:none}#count{margin-left:1rem;color:#555}";

/// Keeps the rows (and text lines) containing every typed word; hides emptied sections.
const SCRIPT: &str = r#"
const box = document.getElementById('search');
const count = document.getElementById('count');
function filter() {
  const words = box.value.toLowerCase().split(/\s+/).filter(w => w);
  let shown = 0;
  for (const section of document.querySelectorAll('section')) {
    let any = false;
    for (const item of section.querySelectorAll('tbody tr, p, li')) {
      const hit = words.every(w => item.textContent.toLowerCase().includes(w));
      item.classList.toggle('hidden', !hit);
      if (hit) { any = true; if (item.tagName === 'TR') shown++; }
    }
    const title = section.querySelector('h2, h3');
    const titleHit = words.length > 0 && words.every(w => title.textContent.toLowerCase().includes(w));
    if (titleHit) { for (const item of section.querySelectorAll('.hidden')) item.classList.remove('hidden'); any = true; }
    section.classList.toggle('hidden', !any && words.length > 0);
  }
  count.textContent = words.length ? shown + ' matching rows' : '';
}
box.addEventListener('input', filter);
// A link may carry a search: steps.html#search=insufficient_funds
const wanted = new URLSearchParams(location.hash.slice(1)).get('search');
if (wanted) { box.value = wanted; filter(); }
"#;

/// The catalogue as a self-contained HTML page.
pub fn render_html() -> String {
    let mut html = String::new();
    let _ = write!(
        html,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>minibank step catalogue</title><style>{STYLE}</style></head><body>\n\
         <header><h1>minibank step catalogue</h1>\
         <input id=\"search\" type=\"search\" placeholder=\"Search sentences, codes, statuses… (e.g. insufficient_funds)\" autofocus>\
         <span id=\"count\"></span></header>\n"
    );
    for section in sections() {
        let tag = if section.level == 2 { "h2" } else { "h3" };
        let _ = writeln!(html, "<section><{tag}>{}</{tag}>", inline(&section.title));
        let mut in_list = false;
        for text in section.text.iter().filter(|t| !t.is_empty()) {
            if let Some(item) = text.strip_prefix("- ") {
                if !in_list {
                    html.push_str("<ul>");
                    in_list = true;
                }
                let _ = writeln!(html, "<li>{}</li>", inline(item));
            } else {
                if in_list {
                    html.push_str("</ul>");
                    in_list = false;
                }
                let _ = writeln!(html, "<p>{}</p>", inline(text));
            }
        }
        if in_list {
            html.push_str("</ul>");
        }
        if let Some(table) = section.table {
            html.push_str("<table><thead><tr>");
            for h in &table.headers {
                let _ = write!(html, "<th>{}</th>", escape(h));
            }
            html.push_str("</tr></thead><tbody>\n");
            for row in &table.rows {
                html.push_str("<tr>");
                for c in row {
                    let _ = write!(html, "<td>{}</td>", inline(c));
                }
                html.push_str("</tr>\n");
            }
            html.push_str("</tbody></table>\n");
        }
        html.push_str("</section>\n");
    }
    let _ = writeln!(html, "<script>{SCRIPT}</script></body></html>");
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_and_emphasis_become_markup_and_text_is_escaped() {
        assert_eq!(
            inline("**Replaces** `a <b>` *x*<br>y"),
            "<strong>Replaces</strong> <code>a &lt;b&gt;</code> <em>x</em><br>y"
        );
    }

    #[test]
    fn the_page_lists_every_sentence_and_error_code() {
        let page = render_html();
        for entry in super::super::entries() {
            assert!(
                page.contains(&escape(entry.sentence())),
                "{}",
                entry.sentence()
            );
        }
        assert!(page.contains("<code>insufficient_funds</code>"));
        assert!(page.contains("id=\"search\""));
    }
}
