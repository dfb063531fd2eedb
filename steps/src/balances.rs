//! Top-ups, balances and money conservation.
//!
//! The scenario remembers every top-up it made; at the end, the money in its accounts must add
//! up to exactly that, with nothing left held, and the operator's ledger audit must balance.
//! A customer reading their balance (once, timed, with a deadline, or several times in a row)
//! makes a request whose answer becomes the last one; the checks of a balance do not.

use std::collections::BTreeMap;
use std::time::Instant;

use anyhow::Context as _;
use cucumber::{given, then, when};
use drivers::Capability;
use serde_json::{Value, json};

use crate::{
    MinibankWorld,
    client::Request,
    params::{ActorName, Holding, Money},
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
    check_holding(world, &alias.0, &money, Holding::InTotal).await
}

/// Checks one figure of the actor's account, read with the actor's own token: what they can
/// spend now (`available`: balance minus holds), what unfinished payments hold (`held`), or
/// the whole balance (`in total`, holds included).
/// Example: Then Alice has 87.50 GBP available
#[then(expr = "{actor} has {money} {holding}")]
async fn has_money(
    world: &mut MinibankWorld,
    alias: ActorName,
    money: Money,
    holding: Holding,
) -> anyhow::Result<()> {
    check_holding(world, &alias.0, &money, holding).await
}

async fn check_holding(
    world: &mut MinibankWorld,
    alias: &str,
    money: &Money,
    holding: Holding,
) -> anyhow::Result<()> {
    let account = world.account(alias).await?;
    let got = match holding {
        Holding::Available => account.available,
        Holding::Held => account.held,
        Holding::InTotal => account.balance,
    };
    anyhow::ensure!(
        got == money.minor && account.currency == money.currency,
        "{alias} has {} {holding}, expected {money} (balance {}, held {}, available {})",
        Money::format(got, &account.currency),
        Money::format(account.balance, &account.currency),
        Money::format(account.held, &account.currency),
        Money::format(account.available, &account.currency),
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
    // Read as the operator without replacing the last answer: a `the response …` check after
    // this sentence still checks the scenario's own last request.
    world.require(Capability::OperatorAccess)?;
    let token = world.operator_token().await?;
    let audit = world
        .send_raw(Request::new(reqwest::Method::GET, "/v1/ledger/audit").bearer(&token))
        .await
        .map_err(|e| anyhow::anyhow!("the operator's ledger audit: {e:#}"))?;
    anyhow::ensure!(
        audit.status == 200,
        "the operator's ledger audit: {}",
        audit.describe()
    );
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

impl MinibankWorld {
    /// Reads `alias`'s account once through edge; the answer becomes the last one.
    pub(crate) async fn read_account(&mut self, alias: &str) -> anyhow::Result<(u16, Option<String>)> {
        let account_id = self.actor(alias)?.account_id.clone();
        let answer = self
            .call(
                Caller::Actor(alias.to_owned()),
                Request::new(reqwest::Method::GET, format!("/v1/accounts/{account_id}")),
            )
            .await?;
        Ok((answer.status, answer.trace_id()))
    }
}

/// The actor reads their account; the answer (whatever it is) and how long it took are kept.
/// Example: When Alice checks her balance
#[given(expr = "{actor} checks her/his/their balance")]
#[when(expr = "{actor} checks her/his/their balance")]
async fn checks_balance(world: &mut MinibankWorld, alias: ActorName) -> anyhow::Result<()> {
    timed_balance_check(world, alias, None).await
}

/// The same, telling edge it wants an answer within `seconds` (`Prefer: wait=N`, RFC 7240):
/// the caller's own deadline, which edge passes on to every hop.
/// Example: When Alice checks her balance, willing to wait 2 seconds
#[when(expr = "{actor} checks her/his/their balance, willing to wait {int} second(s)")]
async fn checks_balance_within(
    world: &mut MinibankWorld,
    alias: ActorName,
    seconds: u64,
) -> anyhow::Result<()> {
    timed_balance_check(world, alias, Some(seconds)).await
}

async fn timed_balance_check(
    world: &mut MinibankWorld,
    alias: ActorName,
    wait_seconds: Option<u64>,
) -> anyhow::Result<()> {
    let account_id = world.actor(&alias.0)?.account_id.clone();
    let mut request = Request::new(reqwest::Method::GET, format!("/v1/accounts/{account_id}"));
    if let Some(seconds) = wait_seconds {
        request = request.header("prefer", format!("wait={seconds}"));
    }
    let started = Instant::now();
    world.call(Caller::Actor(alias.0.clone()), request).await?;
    world.last_elapsed = Some(started.elapsed());
    Ok(())
}

/// Reads the actor's account `times` times in a row, keeping every answer.
/// Example: When Alice checks her balance 4 times
#[when(expr = "{actor} checks her/his/their balance {int} times")]
async fn checks_balance_times(
    world: &mut MinibankWorld,
    alias: ActorName,
    times: usize,
) -> anyhow::Result<()> {
    let mut reads = Vec::with_capacity(times);
    for _ in 0..times {
        reads.push(world.read_account(&alias.0).await?);
    }
    world.reads = reads;
    Ok(())
}

/// The operator tries a top-up and keeps whatever answer comes (not counted as money put in).
/// Needs: operator
/// Example: When the operator tries to top up Alice's account with 10.00 GBP
#[when(expr = "the operator tries to top up {actor}'s account with {money}")]
async fn operator_tries_top_up(
    world: &mut MinibankWorld,
    alias: ActorName,
    money: Money,
) -> anyhow::Result<()> {
    world.require(Capability::OperatorAccess)?;
    let account_id = world.actor(&alias.0)?.account_id.clone();
    let operation_id = world.ns.unique("top-up");
    let body =
        json!({"amount": money.minor, "currency": money.currency, "operation_id": operation_id});
    world
        .call(
            Caller::Operator,
            Request::new(
                reqwest::Method::POST,
                format!("/v1/accounts/{account_id}/top-ups"),
            )
            .json(body),
        )
        .await
        .map(drop)
}
