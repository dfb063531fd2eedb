//! A step needing a capability the driver lacks fails and names it: it never passes silently.

use std::{panic::AssertUnwindSafe, sync::Arc, time::Duration};

use async_trait::async_trait;
use cucumber::{World as _, gherkin};
use drivers::{Driver, OperatorCredentials};
use futures::FutureExt as _;
use steps::MinibankWorld;

/// A driver that offers its core only (no operator either); no step below may reach the network.
struct Incapable;

#[async_trait]
impl Driver for Incapable {
    fn name(&self) -> &str {
        "incapable"
    }
    fn edge_url(&self) -> String {
        "http://127.0.0.1:9".into()
    }
    fn operator(&self) -> Option<OperatorCredentials> {
        None
    }
    fn traces(&self) -> Arc<dyn harness::fetch::TraceFetcher> {
        unreachable!("no trace is read in these tests")
    }
    fn harness_otlp_traces_url(&self) -> Option<String> {
        None
    }
    fn settle_timing(&self) -> (Duration, Duration) {
        (Duration::from_secs(1), Duration::from_millis(10))
    }
    async fn shutdown(&self) {}
}

fn step(ty: gherkin::StepType, text: &str) -> gherkin::Step {
    gherkin::Step {
        keyword: "Given ".into(),
        ty,
        value: text.into(),
        docstring: None,
        table: None,
        span: gherkin::Span { start: 0, end: 0 },
        position: gherkin::LineCol { line: 0, col: 0 },
    }
}

/// Runs one step and returns its failure message (steps report errors by panicking).
async fn failure_of(ty: gherkin::StepType, text: &str) -> String {
    let collection = MinibankWorld::collection();
    let (step_fn, _, _, context) = collection
        .find(&step(ty, text))
        .expect("not ambiguous")
        .unwrap_or_else(|| panic!("no step matches {text:?}"));
    let mut world = MinibankWorld::new().await.expect("a world");
    let outcome = AssertUnwindSafe(step_fn(&mut world, context))
        .catch_unwind()
        .await;
    match outcome {
        Ok(()) => panic!("`{text}` passed on a driver that cannot do it"),
        Err(payload) => payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_default(),
    }
}

#[tokio::test]
async fn steps_name_the_capability_and_tag_they_need() {
    let _ = steps::install_driver(Arc::new(Incapable));
    use gherkin::StepType::{Given, When};
    for (ty, text, tag) in [
        (
            Given,
            "Alice is a customer with 10.00 GBP",
            "@needs-operator",
        ),
        (
            Given,
            "the bank provider rejects transfers",
            "@needs-provider-stubs",
        ),
        (When, "the payments service restarts", "@needs-restart"),
    ] {
        let message = failure_of(ty, text).await;
        assert!(
            message.contains(tag),
            "`{text}` failed without naming {tag}: {message}"
        );
    }
}
