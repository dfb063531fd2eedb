//! The money invariant under concurrency: many payments at once from the same accounts, with
//! the provider accepting, rejecting, failing and timing out some of them, never overdraw an
//! account, leave no hold behind once every saga has finished, and conserve the total money.

#[macro_use]
mod database_support;
mod payments_support;

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use assert_matches::assert_matches;
use payments_support::{Money, payment_body};
use serde_json::{Value, json};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// What the provider does with a transfer, decided from its id so the submit and the later
/// status query agree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    Accept,
    Reject,
    /// 500 on submit; the status query then says accepted.
    FailThenAccepted,
    /// 500 on submit; the status query then says 404.
    FailThenUnknown,
}

fn fate(transfer_id: &str) -> Fate {
    let mut hasher = DefaultHasher::new();
    transfer_id.hash(&mut hasher);
    match hasher.finish() % 5 {
        0 | 1 => Fate::Accept,
        2 => Fate::Reject,
        3 => Fate::FailThenAccepted,
        _ => Fate::FailThenUnknown,
    }
}

struct FlakyProvider;

impl Respond for FlakyProvider {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let accepted = || ResponseTemplate::new(200).set_body_json(json!({"status": "accepted"}));
        if request.method.as_str() == "POST" {
            let body: Value = request.body_json().unwrap_or(Value::Null);
            return match fate(body["transfer_id"].as_str().unwrap_or_default()) {
                Fate::Accept => accepted(),
                Fate::Reject => ResponseTemplate::new(422)
                    .set_body_json(json!({"status": "rejected", "reason": "no"})),
                Fate::FailThenAccepted | Fate::FailThenUnknown => ResponseTemplate::new(500),
            };
        }
        let transfer_id = request.url.path().trim_start_matches("/transfers/");
        match fate(transfer_id) {
            Fate::Accept | Fate::FailThenAccepted => accepted(),
            Fate::Reject => ResponseTemplate::new(200).set_body_json(json!({"status": "rejected"})),
            Fate::FailThenUnknown => ResponseTemplate::new(404),
        }
    }
}

const CUSTOMERS: usize = 4;
const PAYMENTS_PER_CUSTOMER: usize = 15;
const FUNDS: i64 = 1_000;

on_every_database! {
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_payments_never_overdraw_leave_no_hold_and_conserve_money(db) {
        let provider = MockServer::start().await;
        Mock::given(wiremock::matchers::any())
            .respond_with(FlakyProvider)
            .mount(&provider)
            .await;
        let money = Arc::new(Money::start(db, &provider.uri()).await);
        let mut customers = Vec::new();
        for _ in 0..CUSTOMERS {
            customers.push(money.customer(FUNDS).await);
        }
        let merchants = [money.merchant().await, money.merchant().await];

        // While the payments run, keep checking that no payer's available balance goes negative.
        let running = Arc::new(AtomicBool::new(true));
        let sampler = {
            let (money, running) = (money.clone(), running.clone());
            let accounts: Vec<String> = customers.iter().map(|(_, a)| a.clone()).collect();
            tokio::spawn(async move {
                let mut samples = 0;
                while running.load(Ordering::Relaxed) {
                    for account in &accounts {
                        let view = money.account(account).await;
                        assert!(
                            view["available"].as_i64().unwrap() >= 0,
                            "overdrawn: {view}"
                        );
                        assert!(view["balance"].as_i64().unwrap() >= 0, "overdrawn: {view}");
                        samples += 1;
                    }
                }
                samples
            })
        };

        // Each customer tries to spend more than it has: 15 payments of 50..=190.
        let attempts = customers.iter().enumerate().flat_map(|(c, (customer, _))| {
            let money = money.clone();
            let merchants = merchants.clone();
            (0..PAYMENTS_PER_CUSTOMER).map(move |n| {
                let money = money.clone();
                let customer = customer.clone();
                let merchant = merchants[(c + n) % 2].0.clone();
                let amount = 50 + i64::try_from((c * 7 + n * 13) % 15).unwrap() * 10;
                async move {
                    let (code, body) = money
                        .pay(
                            &customer,
                            &format!("inv-{c}-{n}"),
                            payment_body(&merchant, amount),
                        )
                        .await;
                    (customer, merchant, amount, code, body)
                }
            })
        });
        let results = futures::future::join_all(attempts).await;

        // Wait for every saga to finish (some finish in the background after a status query).
        let mut settled_by_customer: HashMap<String, i64> = HashMap::new();
        let mut settled_by_merchant: HashMap<String, i64> = HashMap::new();
        let mut outcomes: HashMap<&'static str, usize> = HashMap::new();
        for (customer, merchant, amount, code, body) in &results {
            if *code == 422 {
                assert_eq!(body["code"], "insufficient_funds", "{body}");
                *outcomes.entry("insufficient_funds").or_default() += 1;
                continue;
            }
            assert_matches!(*code, 201, "{body}");
            let payment_id = body["payment_id"].as_str().unwrap();
            let payment = money.final_payment(customer, payment_id).await;
            let fate = fate(payment_id);
            match payment["status"].as_str() {
                Some("settled") => {
                    assert_matches!(fate, Fate::Accept | Fate::FailThenAccepted);
                    *settled_by_customer.entry(customer.clone()).or_default() += amount;
                    *settled_by_merchant.entry(merchant.clone()).or_default() += amount;
                    *outcomes.entry("settled").or_default() += 1;
                }
                Some("failed") => {
                    assert_matches!(fate, Fate::Reject | Fate::FailThenUnknown, "{payment}");
                    *outcomes.entry("failed").or_default() += 1;
                }
                other => panic!("payment not final: {other:?}"),
            }
        }
        running.store(false, Ordering::Relaxed);
        assert!(sampler.await.unwrap() > 0);

        // Every customer: balance = funds - settled; nothing held. Every merchant: settled sum.
        for (customer, account) in &customers {
            let view = money.account(account).await;
            let spent = settled_by_customer.get(customer).copied().unwrap_or(0);
            assert_eq!(view["balance"].as_i64(), Some(FUNDS - spent), "{view}");
            assert_eq!(
                view["held"].as_i64(),
                Some(0),
                "no hold left behind: {view}"
            );
        }
        for (merchant, account) in &merchants {
            let received = settled_by_merchant.get(merchant).copied().unwrap_or(0);
            assert_eq!(
                money.account(account).await["balance"].as_i64(),
                Some(received)
            );
        }
        let audit = money.audit().await;
        assert_eq!(audit["balanced"], true, "{audit}");
        let gbp = &audit["currencies"][0];
        assert_eq!(
            (
                gbp["total_balances"].as_i64(),
                gbp["open_holds"].as_i64(),
                gbp["total_held"].as_i64()
            ),
            (Some(0), Some(0), Some(0))
        );
        assert_eq!(
            gbp["total_top_ups"].as_i64(),
            Some(FUNDS * i64::try_from(CUSTOMERS).unwrap())
        );
        // The mix really exercised every path.
        assert!(
            outcomes.get("settled").copied().unwrap_or(0) > 0,
            "{outcomes:?}"
        );
        assert!(
            outcomes.get("failed").copied().unwrap_or(0) > 0,
            "{outcomes:?}"
        );
        assert!(
            outcomes.get("insufficient_funds").copied().unwrap_or(0) > 0,
            "{outcomes:?}"
        );
    }
}
