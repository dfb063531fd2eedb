//! The report files every run writes under `target/acceptance/` of the workspace (or
//! `--report-dir`): JUnit XML and Cucumber JSON for CI, `report.html` for people, and beside
//! them the step catalogue as a searchable page (`steps.html`), the analysts' reference next to
//! what the run did.

use std::{fs::File, path::PathBuf};

use anyhow::Context as _;

/// Where reports go: `<workspace>/target/acceptance`, or `$CARGO_TARGET_DIR/acceptance`.
fn report_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target")));
    target.join("acceptance")
}

/// The open report files and their paths.
pub struct Reports {
    /// JUnit XML output.
    pub junit: File,
    /// Cucumber JSON output.
    pub json: File,
    /// Where the JUnit XML goes.
    pub junit_path: PathBuf,
    /// Where the Cucumber JSON goes.
    pub json_path: PathBuf,
    /// Where the HTML report goes (written at the end of the run).
    pub html_path: PathBuf,
    /// Where the HTML report's data goes as JSON (what `merge-reports` joins).
    pub data_path: PathBuf,
    /// Every path, for the summary.
    pub paths: Vec<PathBuf>,
    /// The folder they are in.
    pub dir: PathBuf,
}

impl Reports {
    /// Creates the folder (`dir`, else the default) and (truncates) the JUnit and JSON files.
    pub fn create(dir: Option<PathBuf>) -> anyhow::Result<Self> {
        let dir = dir.unwrap_or_else(report_dir);
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        // `steps/../target` reads badly in the summary; show the real path.
        let dir = dir.canonicalize().unwrap_or(dir);
        let junit_path = dir.join("junit.xml");
        let json_path = dir.join("cucumber.json");
        let html_path = dir.join("report.html");
        let data_path = dir.join(harness::report::merge::DATA_FILE);
        let open =
            |p: &PathBuf| File::create(p).with_context(|| format!("creating {}", p.display()));
        Ok(Reports {
            junit: open(&junit_path)?,
            json: open(&json_path)?,
            paths: vec![junit_path.clone(), json_path.clone(), html_path.clone()],
            junit_path,
            json_path,
            html_path,
            data_path,
            dir,
        })
    }
}

/// Writes the step catalogue's HTML twin, `steps.html`, into the reports' folder.
pub fn write_catalogue(dir: &std::path::Path) -> anyhow::Result<PathBuf> {
    let path = dir.join("steps.html");
    std::fs::write(&path, steps::catalogue::render_html())
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}
