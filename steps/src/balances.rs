//! Top-ups, balances and money conservation.
//!
//! The scenario remembers every top-up it made; at the end, the money in its accounts must add
//! up to exactly that, with nothing left held, and the operator's ledger audit must balance.

use std::collections::BTreeMap;

use anyhow::Context as _;
use cucumber::{given, then, when};
use drivers::Capability;
use serde_json::{Value, json};

use crate::{
    MinibankWorld,
    client::Request,
    params::{ActorName, Money},
    wait,
    world::{Caller, TopUp},
};

/// An account as the owner sees it.
#[derive(Debug, Clone)]
pub(crate) struct AccountView {
    pub balance: i64,
    pub held: i64,
    pub available: i64,
    pub currency: String,
}

impl MinibankWorld {
    /// The operator funds the actor's account (idempotent by a namespaced operation id).
    pub(crate) async fn top_up(&mut self, alias: &str, money: &Money) -> anyhow::Result<()> {
        self.require(Capability::OperatorAccess)?;
        let account_id = self.actor(alias)?.account_id.clone();
        let operation_id = self.ns.unique("top-up");
        let body = json!({"amount": money.minor, "currency": money.currency, "operation_id": operation_id});
        self.call_expecting(
            Caller::Operator,
            Request::new(
                reqwest::Method::POST,
                format!("/v1/accounts/{account_id}/top-ups"),
            )
            .json(body),
            201,
        )
        .await
        .map_err(|e| anyhow::anyhow!("topping up {alias} with {money}: {e:#}"))?;
        self.top_ups.push(TopUp {
            account_id,
            amount: money.minor,
            currency: money.currency.clone(),
        });
        Ok(())
    }

    /// The actor's account, read with the actor's own token (not kept as the last answer).
    pub(crate) async fn account(&mut self, alias: &str) -> anyhow::Result<AccountView> {
        let token = self.actor_token(alias).await?;
        let account_id = self.actor(alias)?.account_id.clone();
        let answer = self
            .send_raw(
                Request::new(reqwest::Method::GET, format!("/v1/accounts/{account_id}"))
                    .bearer(&token),
            )
            .await?;
        anyhow::ensure!(
            answer.status == 200,
            "{alias} could not read their account: {}",
            answer.describe()
        );
        let json = answer.json.as_ref().context("account answer is not JSON")?;
        let int = |f: &str| {
            json.get(f)
                .and_then(Value::as_i64)
                .with_context(|| format!("no integer {f} in {}", answer.describe()))
        };
        Ok(AccountView {
            balance: int("balance")?,
            held: int("held")?,
            available: int("available")?,
            currency: json
                .get("currency")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
        })
    }
}

/// The operator puts money into the actor's account.
/// Needs: operator
/// Example: Given the operator tops up Alice's account with 20.00 GBP
#[given(expr = "the operator tops up {actor}'s account with {money}")]
#[when(expr = "the operator tops up {actor}'s account with {money}")]
async fn operator_tops_up(
    world: &mut MinibankWorld,
    alias: ActorName,
    money: Money,
) -> anyhow::Result<()> {
    world.top_up(&alias.0, &money).await
}

/// Checks the actor's balance (what the account holds, holds included).
/// Example: Then Alice's balance is 87.50 GBP
#[then(expr = "{actor}'s balance is {money}")]
async fn balance_is(
    world: &mut MinibankWorld,
    alias: ActorName,
    money: Money,
) -> anyhow::Result<()> {
    let account = world.account(&alias.0).await?;
    anyhow::ensure!(
        account.balance == money.minor && account.currency == money.currency,
        "{alias}'s balance is {}, expected {money} (held {}, available {})",
        Money::format(account.balance, &account.currency),
        Money::format(account.held, &account.currency),
        Money::format(account.available, &account.currency),
    );
    Ok(())
}

/// Checks what the actor can spend now (balance minus holds).
/// Example: Then Alice has 87.50 GBP available
#[then(expr = "{actor} has {money} available")]
async fn available_is(
    world: &mut MinibankWorld,
    alias: ActorName,
    money: Money,
) -> anyhow::Result<()> {
    let account = world.account(&alias.0).await?;
    anyhow::ensure!(
        account.available == money.minor && account.currency == money.currency,
        "{alias} has {} available, expected {money} (balance {}, held {})",
        Money::format(account.available, &account.currency),
        Money::format(account.balance, &account.currency),
        Money::format(account.held, &account.currency),
    );
    Ok(())
}

/// Checks how much of the actor's money is held by unfinished payments.
/// Example: Then Alice has 12.50 GBP held
#[then(expr = "{actor} has {money} held")]
async fn held_is(world: &mut MinibankWorld, alias: ActorName, money: Money) -> anyhow::Result<()> {
    let account = world.account(&alias.0).await?;
    anyhow::ensure!(
        account.held == money.minor,
        "{alias} has {} held, expected {money}",
        Money::format(account.held, &account.currency)
    );
    Ok(())
}

/// The end-of-scenario check: once every payment of the scenario is final, the balances of the
/// scenario's accounts add up to its top-ups (per currency), nothing is held, and the
/// operator's ledger audit says the books balance.
/// Needs: operator
/// Example: Then the money in the ledger is conserved
#[then(expr = "the money in the ledger is conserved")]
async fn money_is_conserved(world: &mut MinibankWorld) -> anyhow::Result<()> {
    world.await_payments_final().await?;
    let mut topped: BTreeMap<String, i64> = BTreeMap::new();
    for t in &world.top_ups {
        *topped.entry(t.currency.clone()).or_default() += t.amount;
    }
    let mut held_total: BTreeMap<String, i64> = BTreeMap::new();
    let mut balances: BTreeMap<String, i64> = BTreeMap::new();
    let mut lines = Vec::new();
    for alias in world.actors.keys().cloned().collect::<Vec<_>>() {
        let account = world.account(&alias).await?;
        *balances.entry(account.currency.clone()).or_default() += account.balance;
        *held_total.entry(account.currency.clone()).or_default() += account.held;
        lines.push(format!(
            "{alias}: balance {}, held {}",
            Money::format(account.balance, &account.currency),
            Money::format(account.held, &account.currency)
        ));
    }
    let funded: Vec<String> = world
        .top_ups
        .iter()
        .map(|t| format!("{} +{}", t.account_id, Money::format(t.amount, &t.currency)))
        .collect();
    lines.push(format!("top-ups: {}", funded.join(", ")));
    for (currency, total) in &balances {
        let expected = topped.get(currency).copied().unwrap_or(0);
        anyhow::ensure!(
            *total == expected,
            "{currency}: the scenario's accounts hold {} but {} was topped up; money was {}. Accounts: {}",
            Money::format(*total, currency),
            Money::format(expected, currency),
            if *total > expected { "created" } else { "lost" },
            lines.join("; ")
        );
    }
    for (currency, held) in &held_total {
        anyhow::ensure!(
            *held == 0,
            "{currency}: {} is still held. Accounts: {}",
            Money::format(*held, currency),
            lines.join("; ")
        );
    }
    world.require(Capability::OperatorAccess)?;
    let audit = world
        .call_expecting(
            Caller::Operator,
            Request::new(reqwest::Method::GET, "/v1/ledger/audit"),
            200,
        )
        .await
        .map_err(|e| anyhow::anyhow!("the operator's ledger audit: {e:#}"))?;
    anyhow::ensure!(
        audit
            .json
            .as_ref()
            .and_then(|j| j.get("balanced"))
            .and_then(Value::as_bool)
            == Some(true),
        "the ledger audit is not balanced: {}",
        audit.describe()
    );
    Ok(())
}

impl MinibankWorld {
    /// Waits until none of the scenario's payments is still `pending` or `processing`.
    pub(crate) async fn await_payments_final(&mut self) -> anyhow::Result<()> {
        let ids: Vec<(String, String)> = self
            .payments
            .iter()
            .filter_map(|p| p.payment_id().map(|id| (p.payer.clone(), id.to_owned())))
            .collect();
        let patience = self.patience();
        for (payer, id) in ids {
            let token = self.actor_token(&payer).await?;
            let world = &*self;
            wait::until(
                &format!("payment {id} to be settled or failed"),
                patience,
                || {
                    let token = token.clone();
                    let id = id.clone();
                    async move {
                        let status = world.payment_status(&token, &id).await?;
                        Ok(if status == "settled" || status == "failed" {
                            Ok(())
                        } else {
                            Err(status)
                        })
                    }
                },
            )
            .await?;
        }
        Ok(())
    }
}
