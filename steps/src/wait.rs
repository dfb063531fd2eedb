//! Waiting for something asynchronous with a deadline, never a blind sleep.

use std::{future::Future, time::Duration};

use tokio::time::Instant;

/// Polls `probe` until it returns `Ok(Some(value))`, or fails when `deadline` has passed,
/// saying `what` was awaited and what the last probe saw. Probes every 25 ms, backing off to 200 ms.
pub(crate) async fn until<T, F, Fut>(
    what: &str,
    deadline: Duration,
    mut probe: F,
) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<Result<T, String>>>,
{
    let end = Instant::now() + deadline;
    let mut pause = Duration::from_millis(25);
    loop {
        let last = match probe().await? {
            Ok(value) => return Ok(value),
            Err(last) => last,
        };
        if Instant::now() >= end {
            anyhow::bail!("waited {deadline:?} for {what}; last seen: {last}");
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(200));
    }
}
