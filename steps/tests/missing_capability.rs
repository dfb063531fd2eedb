//! A step needing a capability the driver lacks fails and names it: it never passes silently.

use std::{sync::Arc, time::Duration};

use async_trait::async_trait;
use drivers::{Driver, OperatorCredentials};

#[path = "support/one_step.rs"]
mod one_step;

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

#[tokio::test]
async fn steps_name_the_capability_and_tag_they_need() {
    let _ = steps::install_driver(Arc::new(Incapable));
    use cucumber::gherkin::StepType::{Given, When};
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
        let message = one_step::failure_of(ty, text, "on a driver that cannot do it").await;
        assert!(
            message.contains(tag),
            "`{text}` failed without naming {tag}: {message}"
        );
    }
}
