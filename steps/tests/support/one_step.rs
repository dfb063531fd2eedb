//! Runs one sentence of the catalogue on a fresh World and returns the message it failed with
//! (steps report errors by panicking), for tests of what a sentence says when it cannot apply.

use std::panic::AssertUnwindSafe;

use cucumber::{World as _, gherkin};
use futures::FutureExt as _;
use steps::MinibankWorld;

/// The failure message of `text` run as a step of kind `ty`; panics if it passes (`passing`
/// says why that is wrong) or if no sentence matches it.
pub async fn failure_of(ty: gherkin::StepType, text: &str, passing: &str) -> String {
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
        Ok(()) => panic!("`{text}` passed {passing}"),
        Err(payload) => payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_default(),
    }
}
