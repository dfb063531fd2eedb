//! The external bank provider: how it answers this scenario's transfers.
//!
//! Behaviours are scoped to the scenario's accounts, so concurrent scenarios sharing one
//! provider stand-in do not disturb each other; a customer onboarded later gets the same.
//! Slowing the provider down is a fault on payments' calls to it, which every payment shares.

use std::time::Duration;

use cucumber::{given, then, when};
use drivers::{CallFault, CallFaultKind, Capability, ProviderBehaviour};

use crate::{MinibankWorld, params::ActorName};

impl MinibankWorld {
    /// Sets the behaviour for the scenario's accounts (now and for actors onboarded later).
    pub(crate) async fn set_provider(
        &mut self,
        behaviour: ProviderBehaviour,
    ) -> anyhow::Result<()> {
        self.require(Capability::StubProvider)?;
        self.provider = Some(behaviour);
        self.apply_provider_behaviour().await
    }

    /// Applies the scenario's provider behaviour, if one was chosen, to all its accounts.
    pub(crate) async fn apply_provider_behaviour(&mut self) -> anyhow::Result<()> {
        let Some(behaviour) = self.provider.clone() else {
            return Ok(());
        };
        let driver = self.require(Capability::StubProvider)?;
        let provider = driver.provider().ok_or_else(|| {
            anyhow::anyhow!("the {} driver has no provider control", driver.name())
        })?;
        provider.set_behaviour(&self.account_ids(), behaviour).await;
        Ok(())
    }
}

/// The provider accepts every transfer (the normal case; also how it recovers).
/// Needs: provider-stubs
/// Scope: scenario
/// Example: Given the bank provider accepts transfers
#[given(expr = "the bank provider accepts transfers")]
async fn accepts(world: &mut MinibankWorld) -> anyhow::Result<()> {
    world.set_provider(ProviderBehaviour::Accepts).await
}

/// The provider refuses every transfer (a 4xx answer).
/// Needs: provider-stubs
/// Scope: scenario
/// Example: Given the bank provider rejects transfers
#[given(expr = "the bank provider rejects transfers")]
async fn rejects(world: &mut MinibankWorld) -> anyhow::Result<()> {
    world.set_provider(ProviderBehaviour::Rejects).await
}

/// The provider answers too late; asked afterwards, it says whether it did make the transfer.
/// Needs: provider-stubs
/// Scope: scenario
/// Example: Given the bank provider times out after processing the transfer
#[given(regex = r"^the bank provider times out (after|without) processing the transfer$")]
async fn times_out(world: &mut MinibankWorld, processed: String) -> anyhow::Result<()> {
    world
        .set_provider(ProviderBehaviour::TimesOut {
            processed: processed == "after",
        })
        .await
}

/// The provider answers 503 to everything from this scenario's accounts, status queries
/// included. Those failures still count in payments' one circuit to the provider: a few in a
/// row open it, and while it is open every scenario's payments fail fast as
/// `provider_unavailable`.
/// Needs: provider-stubs
/// Scope: platform: payments' circuit to the provider, which every payment shares
/// Example: Given the bank provider is down
#[given(expr = "the bank provider is down")]
async fn is_down(world: &mut MinibankWorld) -> anyhow::Result<()> {
    world.set_provider(ProviderBehaviour::IsDown).await
}

/// The provider is back and accepts transfers again.
/// Needs: provider-stubs
/// Scope: scenario
/// Example: When the bank provider recovers
#[when(expr = "the bank provider recovers")]
async fn recovers(world: &mut MinibankWorld) -> anyhow::Result<()> {
    world.set_provider(ProviderBehaviour::Accepts).await
}

/// Checks how many distinct transfers the provider was asked for from the customer's account:
/// every `POST /transfers` it received counts, whatever it answered (accepted, rejected, 503
/// while it is down, or an answer delayed past the platform's timeout), and the requests of one
/// payment count once (they carry its id as transfer id, retries and resends included). Status
/// queries (`GET /transfers/{id}`) do not count. A payment refused before payments reached
/// the provider (e.g. `insufficient_funds`) makes no request.
/// Needs: provider-stubs
/// Example: Then the bank provider was asked for 1 transfer from Alice
#[then(expr = "the bank provider was asked for {int} transfer(s) from {actor}")]
async fn transfers_received(
    world: &mut MinibankWorld,
    count: usize,
    alias: ActorName,
) -> anyhow::Result<()> {
    let driver = world.require(Capability::StubProvider)?;
    let provider = driver
        .provider()
        .ok_or_else(|| anyhow::anyhow!("no provider control"))?;
    let account = world.actor(&alias.0)?.account_id.clone();
    let received = provider.transfers_received(&[account]).await;
    let mut ids: Vec<String> = received
        .iter()
        .filter_map(|t| {
            t.get("transfer_id")
                .and_then(|v| v.as_str())
                .map(str::to_owned)
        })
        .collect();
    ids.sort();
    ids.dedup();
    anyhow::ensure!(
        ids.len() == count,
        "the provider saw {} distinct transfers from {alias}, expected {count}: {received:?}",
        ids.len()
    );
    Ok(())
}

/// payments' next transfer request to the provider made for this scenario is delayed by
/// `seconds` (other scenarios' transfers are not).
/// Needs: faults
/// Example: Given the bank provider takes 2 seconds to answer the next transfer
#[given(expr = "the bank provider takes {int} seconds to answer the next transfer")]
async fn provider_slow(world: &mut MinibankWorld, seconds: u64) -> anyhow::Result<()> {
    world
        .inject(CallFault {
            caller: Some("payments".into()),
            target: "provider".into(),
            method: Some("POST".into()),
            path_contains: Some("/transfers".into()),
            replica: None,
            scenario: Some(world.ns.tag().to_owned()),
            kind: CallFaultKind::Latency(Duration::from_secs(seconds)),
            times: Some(1),
        })
        .await
        .map(drop)
}
