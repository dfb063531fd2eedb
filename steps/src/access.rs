//! Access control: who may read what. Another party's data is "not found", never "forbidden",
//! so its existence is not revealed.

use cucumber::{then, when};

use crate::{
    MinibankWorld,
    client::{Body, Request},
    params::ActorName,
    world::Caller,
};

/// Someone asks for an actor's account (their own or another's).
/// Example: When Bob reads Alice's account
#[when(expr = "{actor} reads {actor}'s account")]
async fn reads_account(
    world: &mut MinibankWorld,
    who: ActorName,
    owner: ActorName,
) -> anyhow::Result<()> {
    let account_id = world.actor(&owner.0)?.account_id.clone();
    world
        .send_as(
            &who.0,
            reqwest::Method::GET,
            &format!("/v1/accounts/{account_id}"),
            Body::None,
        )
        .await
}

/// Someone asks for the last payment.
/// Example: When Bob looks up the payment
#[when(expr = "{actor} looks up the payment")]
async fn looks_up_payment(world: &mut MinibankWorld, who: ActorName) -> anyhow::Result<()> {
    let payment_id = world.last_payment_id()?;
    world
        .send_as(
            &who.0,
            reqwest::Method::GET,
            &format!("/v1/payments/{payment_id}"),
            Body::None,
        )
        .await
}

/// Someone asks for the operator's ledger audit.
/// Example: When Alice asks for the ledger audit
#[when(expr = "{actor} asks for the ledger audit")]
async fn asks_audit(world: &mut MinibankWorld, who: ActorName) -> anyhow::Result<()> {
    world
        .send_as(&who.0, reqwest::Method::GET, "/v1/ledger/audit", Body::None)
        .await
}

/// Reads an actor's account with a token that was never issued.
/// Example: When someone with a forged token reads Alice's account
#[when(expr = "someone with a forged token reads {actor}'s account")]
async fn forged_token(world: &mut MinibankWorld, owner: ActorName) -> anyhow::Result<()> {
    let account_id = world.actor(&owner.0)?.account_id.clone();
    let forged = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJjdXNfZm9yZ2VkIn0.c2lnbmF0dXJl".to_owned();
    world
        .call(
            Caller::Bearer(forged),
            Request::new(reqwest::Method::GET, format!("/v1/accounts/{account_id}")),
        )
        .await?;
    Ok(())
}

/// Checks the last answer is a 404 `not_found` that tells nothing the caller did not already
/// send: not the owner's id or name, no balance.
/// Example: Then the answer reveals nothing about Alice
#[then(expr = "the answer reveals nothing about {actor}")]
async fn reveals_nothing(world: &mut MinibankWorld, owner: ActorName) -> anyhow::Result<()> {
    let last = world.last()?;
    anyhow::ensure!(
        last.status == 404 && last.error_code() == Some("not_found"),
        "expected 404 not_found: {}",
        last.describe()
    );
    let actor = world.actor(&owner.0)?;
    for secret in [&actor.party_id, &actor.name] {
        anyhow::ensure!(
            !last.body.contains(secret.as_str()),
            "the answer mentions {secret}: {}",
            last.describe()
        );
    }
    for field in ["balance", "available", "held"] {
        anyhow::ensure!(
            last.json.as_ref().and_then(|j| j.get(field)).is_none(),
            "the answer shows {field}: {}",
            last.describe()
        );
    }
    Ok(())
}
