//! Resilience of the calls between services: faults injected into them (through the driver's
//! [`CallFault`]s), and what the shared RPC layer and edge do about them: retries, timeouts,
//! circuit breaking, rate limiting.
//!
//! Faults are scoped to the scenario where the call's path allows (an actor's account id);
//! scenarios whose faults cannot be scoped that way are tagged `@serial`. The faults a scenario
//! injected are kept in its World and cleared by the steps that end them; a fault for the next
//! `n` calls expires by itself.

use std::time::Duration;

use cucumber::{given, then, when};
use drivers::{CallFault, CallFaultId, CallFaultKind, Capability, CircuitView};
use futures::StreamExt as _;
use serde_json::json;

use crate::{
    MinibankWorld,
    client::Request,
    params::ActorName,
    wait,
};

impl MinibankWorld {
    /// Injects `fault` and remembers it as this scenario's latest.
    pub(crate) async fn inject(&mut self, fault: CallFault) -> anyhow::Result<CallFaultId> {
        let driver = self.require(Capability::InjectFaults)?;
        let id = crate::offers::call_faults(&*driver)?.inject_call_fault(fault).await?;
        self.faults.push(id);
        Ok(id)
    }

    fn latest_fault(&self) -> anyhow::Result<CallFaultId> {
        self.faults
            .last()
            .copied()
            .ok_or_else(|| anyhow::anyhow!("this scenario injected no fault yet"))
    }

    /// Edge's calls to the ledger about `alias`'s account, made for this scenario.
    fn ledger_fault(
        &self,
        alias: &str,
        method: &str,
        path_suffix: &str,
        kind: CallFaultKind,
        times: Option<u32>,
    ) -> anyhow::Result<CallFault> {
        let account_id = &self.actor(alias)?.account_id;
        Ok(CallFault {
            caller: Some("edge".into()),
            target: "ledger".into(),
            method: Some(method.into()),
            path_contains: Some(format!("{account_id}{path_suffix}")),
            replica: None,
            scenario: Some(self.ns.tag().to_owned()),
            kind,
            times,
        })
    }

    /// Waits until the circuit from `caller` to `target` is `wanted`.
    pub(crate) async fn await_circuit(
        &self,
        caller: &str,
        target: &str,
        wanted: CircuitView,
    ) -> anyhow::Result<()> {
        let driver = self.require(Capability::InjectFaults)?;
        wait::until(
            &format!("the circuit from {caller} to {target} to be {wanted:?}"),
            self.patience(),
            || {
                let driver = driver.clone();
                async move {
                    let state = crate::offers::call_faults(&*driver)?.circuit(caller, target).await?;
                    Ok(if state == wanted {
                        Ok(())
                    } else {
                        Err(format!("{state:?}"))
                    })
                }
            },
        )
        .await
    }
}

/// The ledger answers 503 to the next reads of the actor's account (edge reads are retried).
/// Needs: faults
/// Scope: scenario
/// Example: Given the ledger fails the next 2 reads of Alice's account
#[given(expr = "the ledger fails the next {int} reads of {actor}'s account")]
async fn ledger_fails_reads(
    world: &mut MinibankWorld,
    times: u32,
    alias: ActorName,
) -> anyhow::Result<()> {
    let fault = world.ledger_fault(&alias.0, "GET", "", CallFaultKind::Error(503), Some(times))?;
    world.inject(fault).await.map(drop)
}

/// Checks that the latest fault hit exactly that many calls: every failure was met, and retried
/// past (the step before proved the answer was nonetheless right).
/// Needs: faults
/// Example: Then the ledger failed 2 times and each failure was retried
#[then(regex = r"^the ledger failed (\d+) times? and each failure was retried$")]
async fn failures_were_retried(world: &mut MinibankWorld, times: u32) -> anyhow::Result<()> {
    let driver = world.require(Capability::InjectFaults)?;
    let hits = crate::offers::call_faults(&*driver)?.call_fault_hits(world.latest_fault()?).await?;
    anyhow::ensure!(
        hits == times,
        "the injected failure was met {hits} times, expected {times}"
    );
    Ok(())
}

/// The connection to the ledger drops during every top-up of the actor's account (until the
/// ledger recovers), after the request may have been sent: a top-up is not idempotent, so it
/// must not be resent.
/// Needs: faults
/// Scope: scenario
/// Example: Given the connection to the ledger drops during every top-up of Alice's account
#[given(expr = "the connection to the ledger drops during every top-up of {actor}'s account")]
async fn ledger_drops_top_ups(world: &mut MinibankWorld, alias: ActorName) -> anyhow::Result<()> {
    let fault = world.ledger_fault(&alias.0, "POST", "/top-ups", CallFaultKind::Drop, None)?;
    world.inject(fault).await.map(drop)
}

/// The latest fault (which drops every attempt) met exactly one attempt: no resend.
/// Needs: faults
/// Example: Then the top-up was attempted once and never resent
#[then(expr = "the top-up was attempted once and never resent")]
async fn attempted_once(world: &mut MinibankWorld) -> anyhow::Result<()> {
    let driver = world.require(Capability::InjectFaults)?;
    let hits = crate::offers::call_faults(&*driver)?.call_fault_hits(world.latest_fault()?).await?;
    anyhow::ensure!(
        hits == 1,
        "the top-up was attempted {hits} times: a non-idempotent call was resent"
    );
    Ok(())
}

/// The ledger stops answering reads of the actor's account until it recovers.
/// Needs: faults
/// Scope: scenario
/// Example: Given the ledger stops answering reads of Alice's account
#[given(expr = "the ledger stops answering reads of {actor}'s account")]
async fn ledger_hangs(world: &mut MinibankWorld, alias: ActorName) -> anyhow::Result<()> {
    let fault = world.ledger_fault(&alias.0, "GET", "", CallFaultKind::Hang, None)?;
    world.inject(fault).await.map(drop)
}

/// Ends every fault this scenario injected.
/// Needs: faults
/// Scope: scenario
/// Example: When the ledger recovers
#[when(expr = "the ledger recovers")]
async fn ledger_recovers(world: &mut MinibankWorld) -> anyhow::Result<()> {
    let driver = world.require(Capability::InjectFaults)?;
    let faults = std::mem::take(&mut world.faults);
    for id in faults {
        crate::offers::call_faults(&*driver)?.clear_call_fault(id).await?;
    }
    Ok(())
}

/// The last answer was edge's timeout (504 `upstream_timeout`), and it came within `seconds`:
/// the call was given up at its deadline, not left hanging.
/// Example: Then she is told the bank did not answer within 5 seconds
#[then(regex = r"^(?:she|he|they) (?:is|are) told the bank did not answer within (\d+) seconds$")]
async fn told_timeout(world: &mut MinibankWorld, seconds: u64) -> anyhow::Result<()> {
    let last = world.last()?;
    anyhow::ensure!(
        last.status == 504 && last.error_code() == Some("upstream_timeout"),
        "expected 504 upstream_timeout, got {}",
        last.describe()
    );
    let elapsed = world
        .last_elapsed
        .ok_or_else(|| anyhow::anyhow!("no timed call in this scenario"))?;
    anyhow::ensure!(
        elapsed <= Duration::from_secs(seconds),
        "the timeout came after {elapsed:?}, more than {seconds} s"
    );
    Ok(())
}

/// Waits until payments' circuit to the provider is open: it has stopped calling it.
/// Needs: faults
/// Example: Then payments stop calling the bank provider
#[then(expr = "payments stop calling the bank provider")]
async fn circuit_opens(world: &mut MinibankWorld) -> anyhow::Result<()> {
    world
        .await_circuit("payments", "provider", CircuitView::Open)
        .await
}

/// Waits until payments' circuit to the provider is closed again (a probe call succeeded).
/// Needs: faults
/// Example: Then payments call the bank provider again
#[then(expr = "payments call the bank provider again")]
async fn circuit_closes(world: &mut MinibankWorld) -> anyhow::Result<()> {
    world
        .await_circuit("payments", "provider", CircuitView::Closed)
        .await
}

/// One client asks edge for tokens, 400 at a time, until edge tells it to slow down (at most
/// `limit` requests). Sign-in attempts are limited per `client_id`.
/// Scope: scenario
/// Example: When a client asks for tokens until it is told to slow down, at most 2000 times
#[when(expr = "a client asks for tokens until it is told to slow down, at most {int} times")]
async fn flood_tokens(world: &mut MinibankWorld, limit: usize) -> anyhow::Result<()> {
    let client_id = world.ns.unique("flooding-client");
    let mut seen = Vec::new();
    let mut sent = 0;
    while sent < limit && !seen.iter().any(|(status, _)| *status == 429) {
        // A whole batch at once: edge checks the quota on arrival, before asking auth, so the
        // flood outruns the quota however slowly the platform answers the sign-ins.
        let batch = 400.min(limit - sent);
        let answers: Vec<anyhow::Result<_>> = futures::stream::iter(0..batch)
            .map(|_| {
                world.send_raw(Request::new(reqwest::Method::POST, "/v1/tokens").json(
                    json!({"client_id": client_id.clone(), "client_secret": "not-the-secret"}),
                ))
            })
            .buffer_unordered(400)
            .collect()
            .await;
        for answer in answers {
            let answer = answer?;
            seen.push((
                answer.status,
                answer.header("retry-after").map(str::to_owned),
            ));
        }
        sent += batch;
    }
    world.flood = seen;
    Ok(())
}

/// Among the flood's answers there is a 429 `rate_limited` with a `Retry-After` of a whole
/// number of seconds, and every earlier answer was the normal refusal of a wrong secret.
/// Example: Then the client is told to retry after some seconds
#[then(expr = "the client is told to retry after some seconds")]
async fn told_retry_after(world: &mut MinibankWorld) -> anyhow::Result<()> {
    let flood = world.flood.clone();
    let limited = flood
        .iter()
        .find(|(status, _)| *status == 429)
        .ok_or_else(|| {
            anyhow::anyhow!(
                "{} requests and none was rate limited; statuses seen: {:?}",
                flood.len(),
                distinct_statuses(&flood)
            )
        })?;
    let seconds: u64 = limited
        .1
        .as_deref()
        .ok_or_else(|| anyhow::anyhow!("the 429 has no Retry-After"))?
        .parse()
        .map_err(|e| anyhow::anyhow!("Retry-After is not whole seconds: {e}"))?;
    anyhow::ensure!(seconds >= 1, "Retry-After is {seconds}");
    let unexpected: Vec<u16> = distinct_statuses(&flood)
        .into_iter()
        .filter(|status| ![401, 429].contains(status))
        .collect();
    anyhow::ensure!(
        unexpected.is_empty(),
        "statuses other than 401 and 429 during the flood: {unexpected:?}"
    );
    Ok(())
}

fn distinct_statuses(flood: &[(u16, Option<String>)]) -> Vec<u16> {
    let mut statuses: Vec<u16> = flood.iter().map(|(status, _)| *status).collect();
    statuses.sort_unstable();
    statuses.dedup();
    statuses
}
