//! Payments: creating them (with idempotency keys, a deadline, baggage, or giving up on the
//! answer), and following them to a final state, read as the party the sentence names.

use std::time::Duration;

use anyhow::Context as _;
use cucumber::{given, then, when};
use serde_json::{Value, json};

use crate::{
    MinibankWorld, client,
    client::{Exchange, Request},
    params::{ActorName, Money, PaymentStatus},
    wait,
    world::{Abandoned, Caller, PaymentAttempt},
};

impl MinibankWorld {
    /// Sends `POST /v1/payments` as `payer` with `key` (None: no header) and records the attempt.
    pub(crate) async fn pay(
        &mut self,
        payer: &str,
        payee: &str,
        money: &Money,
        key: Option<String>,
    ) -> anyhow::Result<()> {
        // The payer first: a sentence naming the operator as payer says so before anything else.
        self.actor(payer)?;
        let body = self.payment_body(payee, money)?;
        self.pay_with_body(payer, payee, body, key).await
    }

    /// The JSON body of a payment of `money` to `payee`, with the scenario's reference.
    fn payment_body(&self, payee: &str, money: &Money) -> anyhow::Result<Value> {
        let merchant_id = self.actor(payee)?.party_id.clone();
        let reference = format!("{} order", self.ns.tag());
        Ok(
            json!({"merchant_id": merchant_id, "amount": money.minor, "currency": money.currency, "reference": reference}),
        )
    }

    pub(crate) async fn pay_with_body(
        &mut self,
        payer: &str,
        payee: &str,
        body: Value,
        key: Option<String>,
    ) -> anyhow::Result<()> {
        self.send_payment(payer, payee, body, key, &[]).await
    }

    /// Sends the payment with extra `headers` (`prefer: wait=N`, `baggage`, ...) and records
    /// the attempt; its answer becomes the last one.
    async fn send_payment(
        &mut self,
        payer: &str,
        payee: &str,
        body: Value,
        key: Option<String>,
        headers: &[(&str, String)],
    ) -> anyhow::Result<()> {
        let mut request = Request::new(reqwest::Method::POST, "/v1/payments").json(body.clone());
        if let Some(key) = &key {
            request = request.header("idempotency-key", key.clone());
        }
        for (name, value) in headers {
            request = request.header(name, value.clone());
        }
        let answer = self
            .call(Caller::Actor(payer.to_owned()), request)
            .await?
            .clone();
        self.payments.push(PaymentAttempt {
            payer: payer.to_owned(),
            payee: payee.to_owned(),
            key: key.unwrap_or_default(),
            body,
            answer,
        });
        Ok(())
    }

    /// The payment's current status, read with `token`.
    pub(crate) async fn payment_status(
        &self,
        token: &str,
        payment_id: &str,
    ) -> anyhow::Result<String> {
        let answer = self.get_payment(token, payment_id).await?;
        anyhow::ensure!(
            answer.status == 200,
            "reading payment {payment_id}: {}",
            answer.describe()
        );
        answer
            .str_field("status")
            .map(str::to_owned)
            .context("payment without status")
    }

    /// `GET /v1/payments/{id}` with `token`, not kept as the last answer.
    pub(crate) async fn get_payment(
        &self,
        token: &str,
        payment_id: &str,
    ) -> anyhow::Result<Exchange> {
        self.send_raw(
            Request::new(reqwest::Method::GET, format!("/v1/payments/{payment_id}")).bearer(token),
        )
        .await
    }

    /// The last payment created (an attempt refused creates none), as `(payer, payee, id)`.
    pub(crate) fn last_created(&self) -> anyhow::Result<(String, String, String)> {
        self.payments
            .iter()
            .rev()
            .find_map(|p| {
                p.payment_id()
                    .map(|id| (p.payer.clone(), p.payee.clone(), id.to_owned()))
            })
            .ok_or_else(|| anyhow::anyhow!("no payment was created yet in this scenario"))
    }

    /// Waits until the last payment created is final (`settled` or `failed`) and returns it
    /// as `reader` (its payer or its payee) sees it. The last answer stays as it was.
    pub(crate) async fn final_payment(&mut self, reader: &str) -> anyhow::Result<Value> {
        let (_, _, id) = self.last_created()?;
        let token = self.actor_token(reader).await?;
        let patience = self.patience();
        let world = &*self;
        wait::until(
            &format!("payment {id} to be settled or failed"),
            patience,
            || {
                let (token, id) = (token.clone(), id.clone());
                async move {
                    let answer = world.get_payment(&token, &id).await?;
                    let json = answer.json.clone().with_context(|| answer.describe())?;
                    let status = json
                        .get("status")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned();
                    Ok(if status == "settled" || status == "failed" {
                        Ok(json)
                    } else {
                        Err(answer.describe())
                    })
                }
            },
        )
        .await
    }
}

/// The customer pays the merchant, with a fresh idempotency key.
/// Example: When Alice pays "Acme Coffee" 12.50 GBP
#[given(expr = "{actor} pays {actor} {money}")]
#[when(expr = "{actor} pays {actor} {money}")]
async fn pays(
    world: &mut MinibankWorld,
    payer: ActorName,
    payee: ActorName,
    money: Money,
) -> anyhow::Result<()> {
    let key = world.ns.unique("pay");
    world.pay(&payer.0, &payee.0, &money, Some(key)).await
}

/// The customer pays the merchant, waiting at most `seconds` for the answer (`Prefer: wait=N`):
/// edge gives up at that deadline, and so does every service behind it.
/// Example: When Alice pays "Acme Coffee" 20.00 GBP, willing to wait 2 seconds
#[when(expr = "{actor} pays {actor} {money}, willing to wait {int} seconds")]
async fn pays_willing_to_wait(
    world: &mut MinibankWorld,
    payer: ActorName,
    payee: ActorName,
    money: Money,
    seconds: u64,
) -> anyhow::Result<()> {
    let key = world.ns.unique("pay");
    let body = world.payment_body(&payee.0, &money)?;
    world
        .send_payment(
            &payer.0,
            &payee.0,
            body,
            Some(key),
            &[("prefer", format!("wait={seconds}"))],
        )
        .await
}

/// The customer pays the merchant with an idempotency key of their choosing (namespaced to the scenario).
/// Example: When Alice pays "Acme Coffee" 12.50 GBP with idempotency key "order-42"
#[when(expr = "{actor} pays {actor} {money} with idempotency key {string}")]
async fn pays_with_key(
    world: &mut MinibankWorld,
    payer: ActorName,
    payee: ActorName,
    money: Money,
    key: String,
) -> anyhow::Result<()> {
    let key = world.ns.scoped(&key);
    world.pay(&payer.0, &payee.0, &money, Some(key)).await
}

/// The customer tries to pay without an `Idempotency-Key` header.
/// Example: When Alice pays "Acme Coffee" 12.50 GBP without an idempotency key
#[when(expr = "{actor} pays {actor} {money} without an idempotency key")]
async fn pays_without_key(
    world: &mut MinibankWorld,
    payer: ActorName,
    payee: ActorName,
    money: Money,
) -> anyhow::Result<()> {
    world.pay(&payer.0, &payee.0, &money, None).await
}

/// The last payment request is sent again, byte for byte the same, with the same idempotency key
/// (a client retrying after a lost answer).
/// Example: When Alice sends the same payment again
#[when(expr = "{actor} sends the same payment again")]
async fn same_payment_again(world: &mut MinibankWorld, payer: ActorName) -> anyhow::Result<()> {
    let last = world.last_payment()?.clone();
    anyhow::ensure!(
        last.payer == payer.0,
        "the last payment was {}'s, not {payer}'s",
        last.payer
    );
    world
        .pay_with_body(&last.payer, &last.payee, last.body, Some(last.key))
        .await
}

/// The last payment's idempotency key is reused for a different payment.
/// Example: When Alice reuses that idempotency key to pay "Acme Coffee" 99.00 GBP
#[when(expr = "{actor} reuses that idempotency key to pay {actor} {money}")]
async fn reuses_key(
    world: &mut MinibankWorld,
    payer: ActorName,
    payee: ActorName,
    money: Money,
) -> anyhow::Result<()> {
    let key = world.last_payment()?.key.clone();
    world.pay(&payer.0, &payee.0, &money, Some(key)).await
}

/// Checks the status in the answer to the last payment request (what the customer was told at once).
/// Example: Then the payment is settled
#[then(expr = "the payment is {payment_status}")]
async fn payment_is(world: &mut MinibankWorld, status: PaymentStatus) -> anyhow::Result<()> {
    let last = world.last_payment()?;
    let got = last.answer.str_field("status");
    anyhow::ensure!(
        got == Some(status.0.as_str()),
        "expected the payment to be {}: {}",
        status.0,
        last.answer.describe()
    );
    Ok(())
}

/// Waits until the last payment created is final (settled or failed), as its payer sees it,
/// and checks which one it is.
/// Example: Then the payment ends up settled
#[then(expr = "the payment ends up {payment_status}")]
async fn payment_ends_up(world: &mut MinibankWorld, status: PaymentStatus) -> anyhow::Result<()> {
    let (payer, _, _) = world.last_created()?;
    let payment = world.final_payment(&payer).await?;
    let got = payment
        .get("status")
        .and_then(Value::as_str)
        .unwrap_or_default();
    anyhow::ensure!(
        got == status.0,
        "the payment ended up {got}, expected {}: {payment}",
        status.0
    );
    Ok(())
}

/// Waits until the last payment created is final, as its payer sees it, and checks it
/// failed for that reason (see the glossary's failure reasons). "Created" means answered 201
/// (or 200 on a replay): a payment refused at once (422 `insufficient_funds`, …) creates none,
/// so check that refusal with `the response is {int} with error code {string}` instead. It
/// waits as long as the driver's patience (see the timings), then says the payment is still
/// `processing`.
/// Example: Then the payment fails because "provider_rejected"
#[then(expr = "the payment fails because {string}")]
async fn payment_fails_because(world: &mut MinibankWorld, reason: String) -> anyhow::Result<()> {
    let (payer, _, _) = world.last_created()?;
    let payment = world.final_payment(&payer).await?;
    let status = payment
        .get("status")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let got = payment
        .get("failure_reason")
        .and_then(Value::as_str)
        .unwrap_or_default();
    anyhow::ensure!(
        status == "failed" && got == reason,
        "expected a failed payment because {reason:?}: {payment}"
    );
    Ok(())
}

/// Checks the last two payment requests were answered with one and the same payment.
/// Example: Then both answers are the same payment
#[then(expr = "both answers are the same payment")]
async fn same_payment(world: &mut MinibankWorld) -> anyhow::Result<()> {
    let n = world.payments.len();
    anyhow::ensure!(n >= 2, "two payment requests are needed, {n} were sent");
    let (first, second) = (&world.payments[n - 2], &world.payments[n - 1]);
    anyhow::ensure!(
        matches!(second.answer.status, 200 | 201),
        "the retry was not answered with the payment: {}",
        second.answer.describe()
    );
    anyhow::ensure!(
        first.payment_id().is_some() && first.payment_id() == second.payment_id(),
        "two different answers: {} and {}",
        first.answer.describe(),
        second.answer.describe()
    );
    Ok(())
}

/// Waits until the last payment created is final and checks it as the merchant it was paid
/// to reads it (with the merchant's own token): settled, amount, currency and both parties.
/// Example: Then the payment moved 12.50 GBP from Alice to "Acme Coffee"
#[then(expr = "the payment moved {money} from {actor} to {actor}")]
async fn payment_moved(
    world: &mut MinibankWorld,
    money: Money,
    payer: ActorName,
    payee: ActorName,
) -> anyhow::Result<()> {
    let payment = world.final_payment(&payee.0).await?;
    let (payer, payee) = (world.actor(&payer.0)?, world.actor(&payee.0)?);
    let expect = [
        ("status", json!("settled")),
        ("amount", json!(money.minor)),
        ("currency", json!(money.currency)),
        ("customer_id", json!(payer.party_id)),
        ("payer_account_id", json!(payer.account_id)),
        ("merchant_id", json!(payee.party_id)),
        ("payee_account_id", json!(payee.account_id)),
    ];
    for (field, value) in expect {
        anyhow::ensure!(
            payment.get(field) == Some(&value),
            "expected {field} = {value}: {payment}"
        );
    }
    Ok(())
}

/// The customer sends a payment request with this JSON body, as written, and a fresh
/// idempotency key (bad-input examples; `{Acme Coffee.merchant_id}` is expanded).
/// Example: When Alice asks to pay with the JSON '{"merchant_id": "{Acme Coffee.merchant_id}", "amount": 0, "currency": "GBP"}'
#[when(expr = "{actor} asks to pay with the JSON {string}")]
async fn asks_to_pay_raw(
    world: &mut MinibankWorld,
    payer: ActorName,
    json: String,
) -> anyhow::Result<()> {
    let mut request = Request::new(reqwest::Method::POST, "/v1/payments")
        .header("idempotency-key", world.ns.unique("pay"));
    request.body = crate::client::Body::RawJson(world.expand(&json)?);
    let caller = world.caller(&payer.0)?;
    world.call(caller, request).await?;
    Ok(())
}

/// Pays like `{actor} pays {actor} {money}`, with a W3C `baggage` header.
/// Example: When Alice pays "Acme Coffee" 30.00 GBP carrying the baggage "minibank.channel=mobile"
#[when(expr = "{actor} pays {actor} {money} carrying the baggage {string}")]
async fn pays_with_baggage(
    world: &mut MinibankWorld,
    payer: ActorName,
    payee: ActorName,
    money: Money,
    baggage: String,
) -> anyhow::Result<()> {
    let key = world.ns.unique("pay");
    let body = world.payment_body(&payee.0, &money)?;
    world
        .send_payment(&payer.0, &payee.0, body, Some(key), &[("baggage", baggage)])
        .await
}

/// The payer sends a payment (with an idempotency key kept for later) and closes the
/// connection after `millis` without waiting for the answer. The services stop working on
/// that request, but the payment itself is brought to an end by the saga (settled, or failed
/// with its hold released); `When {actor} sends the abandoned payment again` shows how it ended.
/// Example: When Alice pays "Acme Coffee" 30.00 GBP but gives up after 300 milliseconds
#[when(expr = "{actor} pays {actor} {money} but gives up after {int} milliseconds")]
async fn pays_and_gives_up(
    world: &mut MinibankWorld,
    payer: ActorName,
    payee: ActorName,
    money: Money,
    millis: u64,
) -> anyhow::Result<()> {
    let driver = world.driver()?;
    let token = world.actor_token(&payer.0).await?;
    let key = world.ns.unique("pay");
    let trace_id = format!("{:032x}", rand::random::<u128>() | 1);
    let traceparent = format!("00-{trace_id}-{:016x}-01", rand::random::<u64>() | 1);
    let body = world.payment_body(&payee.0, &money)?;
    // Sent on the raw client, not through `MinibankWorld::call`: the step must close the
    // connection itself, which the World's one door to edge never does. Like every request
    // of the scenario, it names the scenario in its baggage (scoped faults find it so).
    let sent = client::http()
        .post(format!("{}/v1/payments", driver.edge_url()))
        .bearer_auth(token)
        .header("idempotency-key", &key)
        .header("traceparent", traceparent)
        .header("baggage", client::scenario_baggage(world.ns.tag()))
        .json(&body)
        .timeout(Duration::from_millis(millis))
        .send()
        .await;
    match sent {
        Err(error) if error.is_timeout() => {}
        Err(error) => anyhow::bail!("the payment could not be sent: {error}"),
        Ok(answer) => anyhow::bail!(
            "the payment was answered ({}) within {millis} ms: it was not slow enough to give up on",
            answer.status()
        ),
    }
    world.abandoned = Some(Abandoned {
        trace_id,
        key,
        payee: payee.0,
        body,
    });
    Ok(())
}

/// Sends the abandoned payment again with the same idempotency key, as a customer would.
/// Example: When Alice sends the abandoned payment again
#[when(expr = "{actor} sends the abandoned payment again")]
async fn sends_again(world: &mut MinibankWorld, payer: ActorName) -> anyhow::Result<()> {
    let abandoned = world
        .abandoned
        .clone()
        .ok_or_else(|| anyhow::anyhow!("no payment was abandoned in this scenario"))?;
    world
        .pay_with_body(
            &payer.0,
            &abandoned.payee,
            abandoned.body,
            Some(abandoned.key),
        )
        .await
}
