//! A step that does nothing, for measuring the harness's own per-step overhead.

use cucumber::given;

use crate::MinibankWorld;

/// Does nothing at all: only for benchmarking the runner's per-step overhead (BENCHMARKS.md).
/// Example: Given nothing happens
#[given(expr = "nothing happens")]
async fn nothing_happens(_world: &mut MinibankWorld) {}
