//! The catalogue's HTML twin, as an analyst uses it: opened in a real (headless) Chromium,
//! searched, and showing only the matching rows.

use std::{path::PathBuf, process::Command};

/// Renders the page to a file and returns the DOM Chromium shows for `fragment`.
fn dom_after_search(fragment: &str) -> String {
    let dir = std::env::temp_dir().join(format!("steps-page-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let page: PathBuf = dir.join("steps.html");
    std::fs::write(&page, steps::catalogue::render_html()).expect("write the page");
    let browser = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| Command::new(b).arg("--version").output().is_ok())
        .expect("a Chromium to open the page with (apt-get install chromium)");
    let out = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--dump-dom",
            &format!("file://{}#{fragment}", page.display()),
        ])
        .output()
        .expect("run chromium");
    assert!(out.status.success(), "chromium failed: {out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The table rows Chromium shows (not hidden by the search).
fn shown_rows(dom: &str) -> Vec<&str> {
    dom.split("<tr")
        .skip(1)
        .filter(|row| !row.starts_with(" class=\"hidden\""))
        .filter(|row| row.contains("<td"))
        .collect()
}

#[test]
fn searching_an_error_code_shows_only_the_rows_that_mention_it() {
    let everything = dom_after_search("");
    let all = shown_rows(&everything).len();
    let dom = dom_after_search("search=insufficient_funds");
    let shown = shown_rows(&dom);
    assert!(!shown.is_empty(), "no row mentions insufficient_funds");
    assert!(
        shown.len() < all / 5,
        "{} of {all} rows still shown",
        shown.len()
    );
    assert!(shown.iter().all(|r| r.contains("insufficient_funds")));
    assert!(
        shown.iter().any(|r| r.contains("POST /v1/payments")),
        "the refusal's operation is among the rows"
    );
}
