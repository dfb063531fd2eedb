//! A sentence that cannot apply to the actor it names says so in plain words, before it sends
//! anything (the driver here reaches no platform).

use std::{sync::Arc, time::Duration};

use async_trait::async_trait;
use drivers::{Driver, OperatorCredentials};

#[path = "support/one_step.rs"]
mod one_step;

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

#[tokio::test]
async fn sentences_about_an_account_say_the_operator_and_a_stranger_have_none() {
    let _ = steps::install_driver(Arc::new(Nowhere));
    use cucumber::gherkin::StepType::{Given, Then, When};
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
        let message = one_step::failure_of(ty, text, "without an account to act on").await;
        assert!(message.contains(says), "`{text}`: {message}");
    }
}
