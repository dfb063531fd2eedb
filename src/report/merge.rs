//! One set of reports from the shards of a split run (`--shard K/N` on N machines): their
//! JUnit XML, Cucumber JSON and HTML reports joined as if one run had made them. The HTML
//! page is drawn again from the shards' page data ([`DATA_FILE`], written beside each
//! `report.html`), not pieced together from the pages.
//!
//! Each scenario ran in exactly one shard, so nothing is deduplicated but the not-run list and
//! the run-level problems (every shard reads every feature). Times stay relative to each
//! shard's own start: the shards ran side by side, so their timelines overlay.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::Path,
};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{RunReport, TraceView, run::FeatureReport};

/// The page data's file name, beside `report.html`.
pub const DATA_FILE: &str = "report-data.json";

#[derive(Serialize)]
struct DataOut<'a> {
    run: &'a RunReport,
    traces: &'a BTreeMap<String, TraceView>,
}

#[derive(Deserialize)]
struct DataIn {
    run: RunReport,
    traces: BTreeMap<String, TraceView>,
}

/// Writes what `run`'s page is drawn from (its traces included) to `path`.
pub fn write_data(run: &RunReport, path: &Path) -> anyhow::Result<()> {
    let json = serde_json::to_vec(&DataOut {
        run,
        traces: &run.traces,
    })?;
    std::fs::write(path, json).with_context(|| format!("writing {}", path.display()))
}

/// Reads what [`write_data`] wrote.
pub fn read_data(path: &Path) -> anyhow::Result<RunReport> {
    let text = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let data: DataIn = serde_json::from_slice(&text)
        .with_context(|| format!("{} is not an HTML report's data", path.display()))?;
    Ok(RunReport {
        traces: data.traces,
        ..data.run
    })
}

/// One run made of the shards' runs: every feature's scenarios together (in line order),
/// counts added up, the longest wall time, the earliest start.
pub fn merge_runs(shards: Vec<RunReport>) -> RunReport {
    let joined = |values: Vec<&str>| {
        let distinct: Vec<&str> = values
            .iter()
            .copied()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        distinct.join(", ")
    };
    let mut merged = RunReport {
        driver: joined(shards.iter().map(|r| r.driver.as_str()).collect()),
        seed: joined(shards.iter().map(|r| r.seed.as_str()).collect()),
        replay: shards
            .iter()
            .map(|r| r.replay.as_str())
            .collect::<Vec<_>>()
            .join("\n"),
        started_at: shards
            .iter()
            .map(|r| r.started_at.clone())
            .min()
            .unwrap_or_default(),
        wall_ms: shards.iter().map(|r| r.wall_ms).fold(0.0, f64::max),
        ..RunReport::default()
    };
    let mut features: BTreeMap<String, FeatureReport> = BTreeMap::new();
    let mut not_run = BTreeMap::new();
    let mut problems = BTreeSet::new();
    for shard in shards {
        let c = shard.counts;
        merged.counts.passed += c.passed;
        merged.counts.failed += c.failed;
        merged.counts.steps_passed += c.steps_passed;
        merged.counts.steps_failed += c.steps_failed;
        merged.counts.requests += c.requests;
        for feature in shard.features {
            match features.get_mut(&feature.file) {
                Some(known) => known.scenarios.extend(feature.scenarios),
                None => {
                    features.insert(feature.file.clone(), feature);
                }
            }
        }
        for nr in shard.not_run {
            not_run.insert(nr.scenario.clone(), nr);
        }
        problems.extend(shard.problems);
        merged.traces.extend(shard.traces);
    }
    merged.features = features
        .into_values()
        .map(|mut f| {
            f.scenarios.sort_by_key(|s| s.line);
            f
        })
        .collect();
    merged.counts.not_run = not_run.len();
    merged.not_run = not_run.into_values().collect();
    merged.problems = problems.into_iter().collect();
    merged
}

/// One JUnit XML document holding every shard's test suites; the links to the HTML report
/// point at `html_report`.
pub fn merge_junit(shards: &[String], html_report: &str) -> anyhow::Result<String> {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<testsuites>");
    out.push_str(&format!(
        r#"<properties><property name="html_report" value="{}"/></properties>"#,
        escape(html_report)
    ));
    for (n, xml) in shards.iter().enumerate() {
        let open = xml
            .find("<testsuites")
            .and_then(|at| Some(at + xml[at..].find('>')? + 1))
            .with_context(|| format!("JUnit report {} has no <testsuites>", n + 1))?;
        let close = xml
            .rfind("</testsuites>")
            .with_context(|| format!("JUnit report {} has no </testsuites>", n + 1))?;
        let mut inner = &xml[open..close.max(open)];
        // The shard's own link to its page, replaced by the one above.
        if inner.starts_with("<properties>")
            && let Some(end) = inner.find("</properties>")
        {
            inner = &inner[end + "</properties>".len()..];
        }
        out.push_str(inner);
    }
    out.push_str("</testsuites>\n");
    Ok(relink_junit(&out, html_report))
}

/// Every `html_report` property pointed at `html_report`, each keeping its `#anchor`.
fn relink_junit(xml: &str, html_report: &str) -> String {
    const LEAD: &str = r#"<property name="html_report" value=""#;
    let mut out = String::with_capacity(xml.len());
    let mut rest = xml;
    while let Some(at) = rest.find(LEAD) {
        let value_at = at + LEAD.len();
        out.push_str(&rest[..value_at]);
        rest = &rest[value_at..];
        let end = rest.find('"').unwrap_or(rest.len());
        let anchor = rest[..end].find('#').map(|h| &rest[h..end]).unwrap_or("");
        out.push_str(&escape(html_report));
        out.push_str(anchor);
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// One Cucumber JSON report: each feature once (by file), its elements from every shard in
/// line order; the links to the HTML report point at `html_report`.
pub fn merge_cucumber_json(shards: Vec<Value>, html_report: &str) -> anyhow::Result<Value> {
    let mut features: BTreeMap<String, Value> = BTreeMap::new();
    for (n, shard) in shards.into_iter().enumerate() {
        let Value::Array(list) = shard else {
            anyhow::bail!("Cucumber JSON report {} is not an array of features", n + 1);
        };
        for mut feature in list {
            let file = file_of(&feature);
            let elements = match feature["elements"].take() {
                Value::Array(elements) => elements,
                _ => Vec::new(),
            };
            let entry = features.entry(file).or_insert_with(|| {
                feature["elements"] = Value::Array(Vec::new());
                feature
            });
            if let Some(all) = entry["elements"].as_array_mut() {
                all.extend(elements);
            }
        }
    }
    let merged: Vec<Value> = features
        .into_values()
        .map(|mut feature| {
            if let Some(elements) = feature["elements"].as_array_mut() {
                elements.sort_by_key(|e| e["line"].as_u64().unwrap_or_default());
                for element in elements.iter_mut() {
                    if let Some(link) = element["html_report"].as_str() {
                        let anchor = link.find('#').map(|h| &link[h..]).unwrap_or("");
                        element["html_report"] = Value::String(format!("{html_report}{anchor}"));
                    }
                }
            }
            feature
        })
        .collect();
    Ok(Value::Array(merged))
}

/// The file name of a Cucumber JSON feature's `uri` (how reports of one run name a feature).
pub fn file_of(feature: &Value) -> String {
    let uri = feature["uri"].as_str().unwrap_or_default();
    uri.rsplit('/').next().unwrap_or(uri).to_owned()
}

/// `text` made safe inside an XML attribute or element (the JUnit report).
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('\'', "&apos;")
}

/// The files of a report folder that [`merge_dirs`] reads and writes.
pub const JUNIT_FILE: &str = "junit.xml";
/// See [`JUNIT_FILE`].
pub const CUCUMBER_JSON_FILE: &str = "cucumber.json";
/// See [`JUNIT_FILE`].
pub const HTML_FILE: &str = "report.html";

/// What [`merge_dirs`] wrote.
#[derive(Debug)]
pub struct Merged {
    /// The files, in `out`.
    pub files: Vec<std::path::PathBuf>,
    /// Scenarios in the merged page (run and not run).
    pub scenarios: usize,
    /// Of those, failed.
    pub failed: usize,
}

/// Reads each shard's report folder (`junit.xml`, `cucumber.json`, [`DATA_FILE`]) and writes
/// the merged reports, and the merged page data, into `out`.
pub fn merge_dirs(shards: &[std::path::PathBuf], out: &Path) -> anyhow::Result<Merged> {
    anyhow::ensure!(!shards.is_empty(), "no report folder to merge");
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let out = out.canonicalize().unwrap_or_else(|_| out.to_owned());
    let html_path = out.join(HTML_FILE);
    let html_link = html_path.display().to_string();
    let read = |dir: &Path, file: &str| {
        let path = dir.join(file);
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))
    };
    let mut junit = Vec::new();
    let mut json = Vec::new();
    let mut runs = Vec::new();
    for dir in shards {
        junit.push(read(dir, JUNIT_FILE)?);
        let text = read(dir, CUCUMBER_JSON_FILE)?;
        json.push(
            serde_json::from_str(&text).with_context(|| {
                format!("{} is not JSON", dir.join(CUCUMBER_JSON_FILE).display())
            })?,
        );
        runs.push(read_data(&dir.join(DATA_FILE))?);
    }
    let run = merge_runs(runs);
    let write = |file: &str, bytes: &[u8]| {
        let path = out.join(file);
        std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
        anyhow::Ok(path)
    };
    let files = vec![
        write(JUNIT_FILE, merge_junit(&junit, &html_link)?.as_bytes())?,
        write(
            CUCUMBER_JSON_FILE,
            &serde_json::to_vec_pretty(&merge_cucumber_json(json, &html_link)?)?,
        )?,
        write(HTML_FILE, super::render_report(&run).as_bytes())?,
    ];
    write_data(&run, &out.join(DATA_FILE))?;
    Ok(Merged {
        files,
        scenarios: run
            .features
            .iter()
            .map(|f| f.scenarios.len())
            .sum::<usize>()
            + run.not_run.len(),
        failed: run.counts.failed,
    })
}
