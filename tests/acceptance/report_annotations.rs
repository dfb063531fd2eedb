//! What cucumber's JUnit and JSON writers do not know, added to their files once the run is
//! over: each scenario's trace ids, and the scenarios that were not run with the reason (the
//! filter removed them before cucumber saw them, so the writers never list them).
//!
//! JUnit: a `<property name="trace_id">` per trace in each `<testcase>`, and a testsuite
//! "Not run" whose testcases are `<skipped message="reason"/>`. Cucumber JSON: `trace_ids` on
//! each scenario element, and per not-run scenario an element whose one step is skipped and
//! says why. Both point at the HTML report: JUnit with a `<property name="html_report">` on
//! every testcase (the scenario's place in the page) and on the testsuites, Cucumber JSON with
//! `html_report` on every scenario element.

use std::collections::BTreeMap;

use harness::report::merge::{escape, file_of};
use regex::{Captures, Regex};
use serde_json::{Value, json};

use crate::capability_filter::NotRun;

/// Trace ids by `<feature file>:<line>: <scenario name>`.
pub type TraceIds = BTreeMap<String, Vec<String>>;

/// Trace ids by `<feature file>:<line>`, which both report formats can name.
fn by_place(traces: &TraceIds) -> BTreeMap<String, &[String]> {
    traces
        .iter()
        .filter_map(|(key, ids)| Some((place(key)?, ids.as_slice())))
        .collect()
}

/// `file.feature:12` of a key `file.feature:12: name`.
fn place(key: &str) -> Option<String> {
    let (file, rest) = key.split_once(':')?;
    let line = rest.split(':').next()?;
    Some(format!("{file}:{line}"))
}

/// `<report>#s-<file>-<line>`: where a scenario is in the HTML report.
fn report_link(html_report: &str, file: &str, line: &str) -> String {
    format!(
        "{html_report}#{}",
        crate::html_report::scenario_anchor(&format!("{file}:{line}"))
    )
}

/// The JUnit XML with trace ids, links to the HTML report and the not-run suite added.
pub fn junit(
    xml: &str,
    traces: &TraceIds,
    not_run: &[NotRun],
    driver: &str,
    html_report: &str,
) -> String {
    let places = by_place(traces);
    // cucumber names a testcase `Scenario: <name>: <path>/<file>.feature:<line>:<column>`.
    let testcase =
        Regex::new(r#"<testcase name="[^"]*?(?P<file>[^/"]+\.feature):(?P<line>\d+):\d+"[^>]*>"#)
            .expect("valid regex");
    let mut out = testcase
        .replace_all(xml, |c: &Captures| {
            let ids = places
                .get(&format!("{}:{}", &c["file"], &c["line"]))
                .copied()
                .unwrap_or_default();
            let link = report_link(html_report, &c["file"], &c["line"]);
            let properties: String = ids
                .iter()
                .map(|id| format!(r#"<property name="trace_id" value="{}"/>"#, escape(id)))
                .chain([format!(
                    r#"<property name="html_report" value="{}"/>"#,
                    escape(&link)
                )])
                .collect();
            format!("{}<properties>{properties}</properties>", &c[0])
        })
        .into_owned();
    // The whole run's page, on the root element, for CI systems that show only suites.
    let root = Regex::new(r"<testsuites[^>]*>").expect("valid regex");
    if let Some(m) = root.find(&out) {
        let at = m.end();
        out.insert_str(
            at,
            &format!(
                r#"<properties><property name="html_report" value="{}"/></properties>"#,
                escape(html_report)
            ),
        );
    }
    if !not_run.is_empty() {
        let cases: String = not_run
            .iter()
            .map(|nr| {
                format!(
                    r#"<testcase name="{}" classname="not run"><skipped message="{}"/></testcase>"#,
                    escape(&nr.scenario),
                    escape(&format!("not run on driver {driver}: {}", nr.reason))
                )
            })
            .collect();
        let suite = format!(
            r#"<testsuite name="Not run on driver {}" tests="{n}" skipped="{n}" failures="0" errors="0">{cases}</testsuite>"#,
            escape(driver),
            n = not_run.len()
        );
        match out.rfind("</testsuites>") {
            Some(end) => out.insert_str(end, &suite),
            None => out.push_str(&suite),
        }
    }
    out
}

/// The Cucumber JSON (an array of features) with trace ids, links to the HTML report and the
/// not-run scenarios added.
pub fn cucumber_json(
    mut features: Value,
    traces: &TraceIds,
    not_run: &[NotRun],
    driver: &str,
    html_report: &str,
) -> Value {
    let places = by_place(traces);
    let Some(list) = features.as_array_mut() else {
        return features;
    };
    for feature in list.iter_mut() {
        let file = file_of(feature);
        for element in feature["elements"].as_array_mut().into_iter().flatten() {
            // Backgrounds are elements too, on the scenario's line; the ids belong to the scenario.
            if element["type"]
                .as_str()
                .is_some_and(|kind| kind != "scenario")
            {
                continue;
            }
            let line = element["line"].as_u64().unwrap_or_default();
            element["html_report"] = json!(report_link(html_report, &file, &line.to_string()));
            if let Some(ids) = places.get(&format!("{file}:{line}")) {
                element["trace_ids"] = json!(ids);
            }
        }
    }
    for nr in not_run {
        let Some((file, line)) = place(&nr.scenario).and_then(|p| {
            let (file, line) = p.split_once(':')?;
            Some((file.to_owned(), line.parse::<u64>().ok()?))
        }) else {
            continue;
        };
        let name = nr.scenario.splitn(3, ':').nth(2).unwrap_or_default().trim();
        let element = json!({
            "keyword": "Scenario",
            "type": "scenario",
            "id": nr.scenario,
            "line": line,
            "name": name,
            "description": format!("not run on driver {driver}: {}", nr.reason),
            "steps": [{
                "keyword": "Not run ",
                "line": line,
                "name": format!("on driver {driver}: {}", nr.reason),
                "result": {"status": "skipped"}
            }]
        });
        match list.iter_mut().find(|f| file_of(f) == file) {
            Some(feature) => match feature["elements"].as_array_mut() {
                Some(elements) => elements.push(element),
                None => feature["elements"] = json!([element]),
            },
            None => list.push(json!({
                "keyword": "Feature",
                "uri": file,
                "name": file,
                "elements": [element]
            })),
        }
    }
    features
}

/// Rewrites both report files in place.
pub fn annotate_files(
    junit_path: &std::path::Path,
    json_path: &std::path::Path,
    traces: &TraceIds,
    not_run: &[NotRun],
    driver: &str,
    html_report: &std::path::Path,
) -> anyhow::Result<()> {
    use anyhow::Context as _;
    let html_report = html_report.display().to_string();
    let xml = std::fs::read_to_string(junit_path)
        .with_context(|| format!("reading {}", junit_path.display()))?;
    std::fs::write(
        junit_path,
        junit(&xml, traces, not_run, driver, &html_report),
    )
    .with_context(|| format!("writing {}", junit_path.display()))?;
    let text = std::fs::read_to_string(json_path)
        .with_context(|| format!("reading {}", json_path.display()))?;
    let features: Value = serde_json::from_str(&text)
        .with_context(|| format!("{} is not JSON", json_path.display()))?;
    let annotated = cucumber_json(features, traces, not_run, driver, &html_report);
    std::fs::write(json_path, serde_json::to_vec_pretty(&annotated)?)
        .with_context(|| format!("writing {}", json_path.display()))?;
    Ok(())
}
