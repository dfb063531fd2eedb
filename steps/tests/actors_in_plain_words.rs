//! A sentence that cannot apply to the actor it names says so in plain words, before it sends
//! anything (the driver here reaches no platform).

use std::{panic::AssertUnwindSafe, sync::Arc, time::Duration};

use async_trait::async_trait;
use cucumber::{World as _, gherkin};
use drivers::{Driver, OperatorCredentials};
use futures::FutureExt as _;
use steps::MinibankWorld;

/// A driver whose edge nobody listens on.
struct Nowhere;

#[async_trait]
impl Driver for Nowhere {
    fn name(&self) -> &str {
        "nowhere"
    }
    fn edge_url(&self) -> String {
        "http://127.0.0.1:9".into()
    }
    fn operator(&self) -> Option<OperatorCredentials> {
        Some(OperatorCredentials {
            client_id: "op".into(),
            client_secret: "secret".into(),
        })
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

/// Runs one When/Then step in a fresh World and returns its failure message.
async fn failure_of(ty: gherkin::StepType, text: &str) -> String {
    let step = gherkin::Step {
        keyword: "When ".into(),
        ty,
        value: text.into(),
        docstring: None,
        table: None,
        span: gherkin::Span { start: 0, end: 0 },
        position: gherkin::LineCol { line: 0, col: 0 },
    };
    let collection = MinibankWorld::collection();
    let (step_fn, _, _, context) = collection
        .find(&step)
        .expect("not ambiguous")
        .unwrap_or_else(|| panic!("no step matches {text:?}"));
    let mut world = MinibankWorld::new().await.expect("a world");
    match AssertUnwindSafe(step_fn(&mut world, context))
        .catch_unwind()
        .await
    {
        Ok(()) => panic!("`{text}` passed"),
        Err(payload) => payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_default(),
    }
}

#[tokio::test]
async fn sentences_about_an_account_say_the_operator_and_a_stranger_have_none() {
    let _ = steps::install_driver(Arc::new(Nowhere));
    use gherkin::StepType::{Given, Then, When};
    for (ty, text, says) in [
        (
            When,
            r#"the operator pays "Acme Coffee" 1.00 GBP"#,
            "the operator runs the platform and has no account",
        ),
        (
            Then,
            "the operator's balance is 1.00 GBP",
            "the operator runs the platform and has no account",
        ),
        (
            When,
            "a stranger signs in",
            "a stranger was given no credentials",
        ),
        (
            Given,
            "the operator is a customer with 1.00 GBP",
            "the operator cannot be onboarded",
        ),
    ] {
        let message = failure_of(ty, text).await;
        assert!(message.contains(says), "`{text}`: {message}");
    }
}
