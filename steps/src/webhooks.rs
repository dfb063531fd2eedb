//! Webhooks to merchants: registering an endpoint, receiving signed events, retries and dead letters.
//!
//! The merchant's endpoint is played by the driver (`new_merchant_endpoint`), which records
//! every request byte for byte so the signature can be checked as a merchant would.

use anyhow::Context as _;
use cucumber::{given, then, when};
use drivers::{Capability, ReceivedWebhook};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::{
    MinibankWorld,
    client::{Body, Request},
    params::{ActorName, DeliveryStatus, EventType},
    wait,
    world::Caller,
};

fn header<'a>(webhook: &'a ReceivedWebhook, name: &str) -> Option<&'a str> {
    webhook
        .headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

fn body_json(webhook: &ReceivedWebhook) -> Value {
    serde_json::from_slice(&webhook.body).unwrap_or(Value::Null)
}

/// Checks a `minibank-signature: t=<unix>,v1=<hex>` header against HMAC-SHA256(secret, "<t>.<body>").
pub(crate) fn verify_signature(
    secret: &str,
    header: &str,
    body: &[u8],
    now_unix: u64,
) -> Result<(), String> {
    let mut t = None;
    let mut v1 = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => t = value.parse::<u64>().ok(),
            Some(("v1", value)) => v1.push(value.to_owned()),
            _ => {}
        }
    }
    let t = t.ok_or_else(|| format!("no timestamp in signature header {header:?}"))?;
    if now_unix.abs_diff(t) > 300 {
        return Err(format!(
            "signature timestamp {t} is more than five minutes from now ({now_unix})"
        ));
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).map_err(|e| e.to_string())?;
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    let expected = hex::encode(mac.finalize().into_bytes());
    if v1.iter().any(|s| s.eq_ignore_ascii_case(&expected)) {
        Ok(())
    } else {
        Err(format!(
            "no v1 signature matches HMAC-SHA256(secret, \"{t}.<body>\") = {expected}; header {header:?}"
        ))
    }
}

impl MinibankWorld {
    fn endpoint(
        &self,
        alias: &str,
    ) -> anyhow::Result<std::sync::Arc<dyn drivers::MerchantEndpoint>> {
        self.actor(alias)?
            .endpoint
            .clone()
            .with_context(|| format!("{alias} has no webhook endpoint; say `Given {alias} listens for payment webhooks` first"))
    }

    /// Requests the endpoint received about the last payment, oldest first.
    async fn webhooks_for_payment(&self, alias: &str) -> anyhow::Result<Vec<ReceivedWebhook>> {
        let payment_id = self.last_payment_id()?;
        let received = self.endpoint(alias)?.received().await;
        Ok(received
            .into_iter()
            .filter(|w| {
                body_json(w)
                    .pointer("/data/payment_id")
                    .and_then(Value::as_str)
                    == Some(payment_id.as_str())
            })
            .collect())
    }
}

/// Stands up an endpoint for the merchant and registers it for `payment.settled` and `payment.failed`.
/// Needs: merchant-endpoints
/// Scope: scenario
/// Example: Given "Acme Coffee" listens for payment webhooks
#[given(expr = "{actor} listens for payment webhooks")]
async fn listens(world: &mut MinibankWorld, alias: ActorName) -> anyhow::Result<()> {
    let driver = world.require(Capability::MerchantEndpoints)?;
    let endpoint = crate::offers::merchant_endpoints(&*driver)?.new_merchant_endpoint().await?;
    let body = json!({"url": endpoint.url(), "events": ["payment.settled", "payment.failed"]});
    let answer = world
        .call_expecting(
            Caller::Actor(alias.0.clone()),
            Request::new(reqwest::Method::POST, "/v1/webhook-endpoints").json(body),
            201,
        )
        .await
        .map_err(|e| anyhow::anyhow!("registering {alias}'s webhook endpoint: {e:#}"))?;
    let secret = answer
        .str_field("secret")
        .context("no secret in the registration answer")?
        .to_owned();
    anyhow::ensure!(
        secret.starts_with("whsec_"),
        "the secret should start with whsec_: {}",
        answer.describe()
    );
    let endpoint_id = answer.str_field("endpoint_id").map(str::to_owned);
    let actor = world.actor_mut(&alias.0)?;
    actor.endpoint = Some(endpoint);
    actor.webhook_secret = Some(secret);
    actor.endpoint_id = endpoint_id;
    Ok(())
}

/// Registers a webhook endpoint at that URL for both event types and keeps the answer, a
/// refusal included, for the checks that follow. The URL is only a string for webhooks to
/// judge: a refused one is never called.
/// Example: When "Acme Coffee" registers the webhook endpoint "http://169.254.169.254/latest/meta-data/"
#[when(expr = "{actor} registers the webhook endpoint {string}")]
async fn registers_url(world: &mut MinibankWorld, alias: ActorName, url: String) -> anyhow::Result<()> {
    register_at(world, &alias, &url).await
}

/// Registers a webhook endpoint on the host of the merchant's own endpoint (a stand-in the
/// operator's allow-list names), on another port, and keeps the answer. Nothing listens there
/// and nothing is sent: it is for a registration the allow-list does not cover.
/// Needs: merchant-endpoints
/// Example: When "Acme Coffee" registers a webhook endpoint on its endpoint's host at port 80
#[when(expr = "{actor} registers a webhook endpoint on its endpoint's host at port {int}")]
async fn registers_on_port(
    world: &mut MinibankWorld,
    alias: ActorName,
    port: u16,
) -> anyhow::Result<()> {
    world.require(Capability::MerchantEndpoints)?;
    let endpoint = world.endpoint(&alias.0)?.url();
    let mut url = reqwest::Url::parse(&endpoint)
        .with_context(|| format!("{alias}'s endpoint URL `{endpoint}`"))?;
    url.set_port(Some(port))
        .map_err(|()| anyhow::anyhow!("cannot set a port on `{endpoint}`"))?;
    register_at(world, &alias, url.as_str()).await
}

async fn register_at(world: &mut MinibankWorld, alias: &ActorName, url: &str) -> anyhow::Result<()> {
    let body = json!({"url": url, "events": ["payment.settled", "payment.failed"]});
    world
        .send_as(
            &alias.0,
            reqwest::Method::POST,
            "/v1/webhook-endpoints",
            Body::Json(body),
        )
        .await
}

/// Checks the last answer refused a webhook destination (422 `destination_refused`, field
/// `url`) and its message says why, e.g. "a private address (RFC 1918)".
/// Example: Then the destination is refused as "a cloud metadata service"
#[then(expr = "the destination is refused as {string}")]
async fn destination_refused(world: &mut MinibankWorld, reason: String) -> anyhow::Result<()> {
    let last = world.last()?;
    anyhow::ensure!(
        last.status == 422
            && last.error_code() == Some("destination_refused")
            && last.str_field("field") == Some("url"),
        "expected 422 destination_refused on `url`: {}",
        last.describe()
    );
    let message = last.str_field("message").unwrap_or_default();
    anyhow::ensure!(
        message.contains(&reason),
        "the refusal should say the destination is {reason:?}: {}",
        last.describe()
    );
    Ok(())
}

/// The merchant's endpoint answers 500 to the next deliveries, then 200 again.
/// Needs: merchant-endpoints
/// Scope: scenario
/// Example: Given "Acme Coffee"'s endpoint fails the next 2 deliveries
#[given(expr = "{actor}'s endpoint fails the next {int} deliveries")]
async fn fails_next(world: &mut MinibankWorld, alias: ActorName, times: u64) -> anyhow::Result<()> {
    world.require(Capability::MerchantEndpoints)?;
    world.endpoint(&alias.0)?.fail_next(times, 500).await;
    Ok(())
}

/// The merchant's endpoint answers 503 to every delivery until it comes back.
/// Needs: merchant-endpoints
/// Scope: scenario
/// Example: Given "Acme Coffee"'s endpoint is down
#[given(expr = "{actor}'s endpoint is down")]
async fn endpoint_down(world: &mut MinibankWorld, alias: ActorName) -> anyhow::Result<()> {
    world.require(Capability::MerchantEndpoints)?;
    world.endpoint(&alias.0)?.always_answer(503).await;
    Ok(())
}

/// Waits until the merchant's endpoint accepted an event of that type about the last payment,
/// and keeps that request for the checks that follow.
/// Needs: merchant-endpoints
/// Example: Then "Acme Coffee" receives a payment.settled webhook for the payment
#[then(expr = "{actor} receives a {event} webhook for the payment")]
async fn receives(
    world: &mut MinibankWorld,
    alias: ActorName,
    event: EventType,
) -> anyhow::Result<()> {
    world.require(Capability::MerchantEndpoints)?;
    let patience = world.patience();
    let world_ref = &*world;
    let webhook = wait::until(
        &format!(
            "{alias}'s endpoint to accept a {} webhook for the payment",
            event.0
        ),
        patience,
        || async {
            let seen = world_ref.webhooks_for_payment(&alias.0).await?;
            let hit = seen
                .iter()
                .find(|w| {
                    (200..300).contains(&w.answered)
                        && body_json(w).get("type").and_then(Value::as_str)
                            == Some(event.0.as_str())
                })
                .cloned();
            Ok(hit.ok_or_else(|| {
                format!(
                    "{} request(s) about the payment, answered {:?}",
                    seen.len(),
                    seen.iter().map(|w| w.answered).collect::<Vec<_>>()
                )
            }))
        },
    )
    .await?;
    let body = body_json(&webhook);
    anyhow::ensure!(
        header(&webhook, "minibank-event-id").is_some()
            && header(&webhook, "minibank-event-id") == body.get("id").and_then(Value::as_str),
        "minibank-event-id header does not name the event in the body: {body}"
    );
    world.webhook = Some(webhook);
    Ok(())
}

/// Checks the webhook's `minibank-signature` as a merchant would, with the secret that
/// merchant got at registration: HMAC-SHA256 over "<t>.<raw body>", timestamp within five
/// minutes.
/// Example: Then the webhook is signed with "Acme Coffee"'s secret
#[then(expr = "the webhook is signed with {actor}'s secret")]
async fn signed(world: &mut MinibankWorld, alias: ActorName) -> anyhow::Result<()> {
    check_signature(world, alias, true)
}

/// The same check the other way round: another party's secret does not verify the webhook.
/// That party needs a secret of its own first: give it an endpoint with
/// `{actor} listens for payment webhooks`.
/// Example: Then the webhook is not signed with "Bean There"'s secret
#[then(expr = "the webhook is not signed with {actor}'s secret")]
async fn not_signed(world: &mut MinibankWorld, alias: ActorName) -> anyhow::Result<()> {
    check_signature(world, alias, false)
}

/// Verifies the last webhook's signature with `alias`'s secret; `expected` says whether it
/// should verify.
fn check_signature(world: &MinibankWorld, alias: ActorName, expected: bool) -> anyhow::Result<()> {
    let webhook = world
        .webhook
        .as_ref()
        .context("no webhook received yet; wait for one first")?;
    let secret = world
        .actor(&alias.0)?
        .webhook_secret
        .clone()
        .with_context(|| format!("{alias} has no webhook secret"))?;
    let signature = header(webhook, "minibank-signature")
        .context("the webhook has no minibank-signature header")?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let verified = verify_signature(&secret, signature, &webhook.body, now);
    match (expected, verified) {
        (true, verified) => verified.map_err(anyhow::Error::msg),
        (false, Ok(())) => {
            anyhow::bail!("{alias}'s secret verifies a webhook meant for someone else")
        }
        (false, Err(_)) => Ok(()),
    }
}

/// Checks the webhook request continues the trace the payment request started:
/// its `traceparent` carries the same trace id.
/// Example: Then the webhook carries the payment's trace id
#[then(expr = "the webhook carries the payment's trace id")]
async fn carries_trace(world: &mut MinibankWorld) -> anyhow::Result<()> {
    let webhook = world
        .webhook
        .as_ref()
        .context("no webhook received yet; wait for one first")?;
    let payment = world
        .payments
        .iter()
        .rev()
        .find(|p| p.payment_id().is_some())
        .context("no payment made")?;
    let expected = payment
        .answer
        .started_trace_id
        .clone()
        .context("the payment request started no trace")?;
    let traceparent =
        header(webhook, "traceparent").context("the webhook has no traceparent header")?;
    let got = traceparent.split('-').nth(1).unwrap_or_default();
    anyhow::ensure!(
        got == expected,
        "the webhook's traceparent {traceparent} is not in the payment's trace {expected}"
    );
    Ok(())
}

/// Waits until the merchant's delivery of the last payment's event reaches that state
/// (`pending`, `delivered` or `dead-lettered`).
/// Example: Then "Acme Coffee"'s delivery for the payment is dead-lettered
#[then(expr = "{actor}'s delivery for the payment is {delivery_status}")]
async fn delivery_state(
    world: &mut MinibankWorld,
    alias: ActorName,
    status: DeliveryStatus,
) -> anyhow::Result<()> {
    delivery_reaches(world, alias, status, None).await
}

/// The same, then checks how many attempts it took.
/// Example: Then "Acme Coffee"'s delivery for the payment is delivered after 3 attempts
#[then(expr = "{actor}'s delivery for the payment is {delivery_status} after {int} attempt(s)")]
async fn delivery_state_after(
    world: &mut MinibankWorld,
    alias: ActorName,
    status: DeliveryStatus,
    attempts: u64,
) -> anyhow::Result<()> {
    delivery_reaches(world, alias, status, Some(attempts)).await
}

/// Waits for `alias`'s delivery of the last payment to reach `status`; checks `attempts` if
/// given.
async fn delivery_reaches(
    world: &mut MinibankWorld,
    alias: ActorName,
    status: DeliveryStatus,
    attempts: Option<u64>,
) -> anyhow::Result<()> {
    let payment_id = world.last_payment_id()?;
    let token = world.actor_token(&alias.0).await?;
    let patience = world.patience();
    let world_ref = &*world;
    let delivery = wait::until(
        &format!(
            "{alias}'s delivery for payment {payment_id} to be {}",
            status.0
        ),
        patience,
        || async {
            let answer = world_ref
                .send_raw(
                    Request::new(reqwest::Method::GET, "/v1/webhook-deliveries").bearer(&token),
                )
                .await?;
            anyhow::ensure!(
                answer.status == 200,
                "listing deliveries: {}",
                answer.describe()
            );
            let found = answer
                .json
                .as_ref()
                .and_then(|j| j.get("deliveries"))
                .and_then(Value::as_array)
                .and_then(|ds| {
                    ds.iter().find(|d| {
                        d.get("payment_id").and_then(Value::as_str) == Some(payment_id.as_str())
                    })
                })
                .cloned();
            Ok(match found {
                Some(d) if d.get("status").and_then(Value::as_str) == Some(status.0.as_str()) => {
                    Ok(d)
                }
                Some(d) => Err(d.to_string()),
                None => Err("no delivery for the payment yet".into()),
            })
        },
    )
    .await?;
    let got = delivery
        .get("attempts")
        .and_then(Value::as_i64)
        .unwrap_or(-1);
    if let Some(attempts) = attempts {
        anyhow::ensure!(
            got == attempts as i64,
            "the delivery took {got} attempts, expected {attempts}: {delivery}"
        );
    }
    world.delivery = Some(delivery);
    Ok(())
}

/// Checks the last delivery looked at was attempted exactly as often as the merchant's
/// endpoint was called about the payment, and more than once (it was retried).
/// Needs: merchant-endpoints
/// Example: Then every attempt reached "Acme Coffee"'s endpoint
#[then(expr = "every attempt reached {actor}'s endpoint")]
async fn every_attempt_reached(world: &mut MinibankWorld, alias: ActorName) -> anyhow::Result<()> {
    world.require(Capability::MerchantEndpoints)?;
    let delivery = world
        .delivery
        .clone()
        .context("look at the delivery first")?;
    let attempts = delivery
        .get("attempts")
        .and_then(Value::as_i64)
        .unwrap_or(-1);
    let seen = world.webhooks_for_payment(&alias.0).await?;
    anyhow::ensure!(
        attempts > 1 && seen.len() as i64 == attempts,
        "{attempts} attempts recorded, {} requests reached {alias}'s endpoint (answers {:?}): {delivery}",
        seen.len(),
        seen.iter().map(|w| w.answered).collect::<Vec<_>>()
    );
    Ok(())
}

/// Checks how many requests about the last payment reached the merchant's endpoint, answered or not.
/// Needs: merchant-endpoints
/// Example: Then "Acme Coffee"'s endpoint was called 3 times for the payment
#[then(expr = "{actor}'s endpoint was called {int} time(s) for the payment")]
async fn called_times(
    world: &mut MinibankWorld,
    alias: ActorName,
    times: usize,
) -> anyhow::Result<()> {
    world.require(Capability::MerchantEndpoints)?;
    let seen = world.webhooks_for_payment(&alias.0).await?;
    anyhow::ensure!(
        seen.len() == times,
        "{alias}'s endpoint was called {} times for the payment, expected {times} (answers {:?})",
        seen.len(),
        seen.iter().map(|w| w.answered).collect::<Vec<_>>()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sign(secret: &str, t: u64, body: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(format!("{t}.").as_bytes());
        mac.update(body);
        format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
    }

    #[test]
    fn a_signature_made_with_the_secret_verifies() {
        let header = sign("whsec_abc", 1_700_000_000, b"{\"id\":\"evt_1\"}");
        assert!(
            verify_signature("whsec_abc", &header, b"{\"id\":\"evt_1\"}", 1_700_000_010).is_ok()
        );
    }

    #[test]
    fn another_secret_another_body_or_an_old_timestamp_fail() {
        let header = sign("whsec_abc", 1_700_000_000, b"{}");
        assert!(verify_signature("whsec_other", &header, b"{}", 1_700_000_000).is_err());
        assert!(verify_signature("whsec_abc", &header, b"{ }", 1_700_000_000).is_err());
        assert!(verify_signature("whsec_abc", &header, b"{}", 1_700_001_000).is_err());
    }
}
