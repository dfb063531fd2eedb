//! Customers, merchants and signing in.
//!
//! Onboarding goes through the operator (`POST /v1/customers`, `POST /v1/merchants`) under a
//! namespaced fake name; the feature file keeps using the alias.

use anyhow::Context as _;
use cucumber::{gherkin::Step, given, then, when};
use drivers::Capability;
use serde_json::json;

use crate::{
    MinibankWorld,
    client::Request,
    params::{ActorName, Currency, Money},
    world::{Actor, Caller, OPERATOR, Role, STRANGER},
};

impl MinibankWorld {
    /// Onboards `alias` as a customer or merchant with an account in `currency`.
    pub(crate) async fn onboard(
        &mut self,
        alias: &str,
        role: Role,
        currency: &str,
    ) -> anyhow::Result<()> {
        anyhow::ensure!(
            !self.actors.contains_key(alias),
            "{alias} was already introduced in this scenario"
        );
        anyhow::ensure!(
            alias != OPERATOR && alias != STRANGER,
            "{alias} cannot be onboarded: `the operator` runs the platform and `a stranger` is anyone without a token; name a person or company instead, e.g. Alice or \"Acme Coffee\""
        );
        self.require(Capability::OperatorAccess)?;
        let (path, name, id_field, account_field) = match role {
            Role::Customer => (
                "/v1/customers",
                self.ns.person(alias),
                "customer_id",
                "account_id",
            ),
            Role::Merchant => (
                "/v1/merchants",
                self.ns.company(alias),
                "merchant_id",
                "settlement_account_id",
            ),
        };
        let answer = self
            .call_expecting(
                Caller::Operator,
                Request::new(reqwest::Method::POST, path)
                    .json(json!({"name": name, "currency": currency})),
                201,
            )
            .await
            .map_err(|e| anyhow::anyhow!("onboarding {alias} as {name:?}: {e:#}"))?;
        let field = |f: &str| {
            answer
                .str_field(f)
                .map(str::to_owned)
                .with_context(|| format!("no {f} in {}", answer.describe()))
        };
        let actor = Actor {
            alias: alias.to_owned(),
            name,
            role,
            party_id: field(id_field)?,
            account_id: field(account_field)?,
            currency: currency.to_owned(),
            client_id: field("client_id")?,
            client_secret: field("client_secret")?,
            token: None,
            endpoint: None,
            webhook_secret: None,
            endpoint_id: None,
        };
        self.actors.insert(alias.to_owned(), actor);
        // A provider behaviour chosen earlier in the scenario covers newcomers too.
        self.apply_provider_behaviour().await
    }
}

/// Onboards a customer with an account in that currency and funds it (nothing is funded for zero).
/// Needs: operator
/// Example: Given Alice is a customer with 100.00 GBP
#[given(expr = "{actor} is a customer with {money}")]
async fn customer_with(
    world: &mut MinibankWorld,
    alias: ActorName,
    money: Money,
) -> anyhow::Result<()> {
    world
        .onboard(&alias.0, Role::Customer, &money.currency)
        .await?;
    if money.minor > 0 {
        world.top_up(&alias.0, &money).await?;
    }
    Ok(())
}

/// Onboards a merchant with a settlement account in that currency.
/// Needs: operator
/// Example: Given "Acme Coffee" is a merchant settling in GBP
#[given(expr = "{actor} is a merchant settling in {currency}")]
async fn merchant(
    world: &mut MinibankWorld,
    alias: ActorName,
    currency: Currency,
) -> anyhow::Result<()> {
    world.onboard(&alias.0, Role::Merchant, &currency.0).await
}

/// Onboards several customers at once; columns `customer`, `currency` and optional `balance`
/// (in major units, e.g. `25.00`).
/// Needs: operator
/// Example: Given these customers:
#[given(expr = "these customers:")]
async fn customers_table(world: &mut MinibankWorld, step: &Step) -> anyhow::Result<()> {
    let table = step
        .table
        .as_ref()
        .context("this step needs a table: | customer | currency | balance |")?;
    let header = table.rows.first().context("the table needs a header row")?;
    let col = |name: &str| header.iter().position(|h| h.trim() == name);
    let (c_name, c_currency) = (
        col("customer").context("no `customer` column")?,
        col("currency").context("no `currency` column")?,
    );
    let c_balance = col("balance");
    for row in table.rows.iter().skip(1) {
        let alias = row[c_name].trim().to_owned();
        let currency = row[c_currency].trim().to_owned();
        world.onboard(&alias, Role::Customer, &currency).await?;
        if let Some(b) = c_balance {
            let money: Money = format!("{} {currency}", row[b].trim())
                .parse()
                .map_err(anyhow::Error::msg)?;
            if money.minor > 0 {
                world.top_up(&alias, &money).await?;
            }
        }
    }
    Ok(())
}

/// Signs in with the actor's own client credentials (`POST /v1/tokens`); `the operator` signs
/// in with the platform's operator credentials. The token obtained is used for the actor's
/// next requests.
/// Example: When Alice signs in
#[when(expr = "{actor} signs in")]
async fn signs_in(world: &mut MinibankWorld, alias: ActorName) -> anyhow::Result<()> {
    let (client_id, secret, _) = world.credentials(&alias.0)?;
    sign_in(world, &alias.0, client_id, secret).await
}

/// Signs in with the actor's client id (the operator's too) and a secret that is not theirs.
/// Example: When Alice signs in with a wrong secret
#[when(expr = "{actor} signs in with a wrong secret")]
async fn signs_in_wrong_secret(world: &mut MinibankWorld, alias: ActorName) -> anyhow::Result<()> {
    let (client_id, _, _) = world.credentials(&alias.0)?;
    sign_in(world, &alias.0, client_id, "not-the-secret".to_owned()).await
}

/// Signs in with credentials nobody was given.
/// Example: When someone signs in as client "cli_nobody" with secret "guess"
#[when(expr = "someone signs in as client {string} with secret {string}")]
async fn stranger_signs_in(
    world: &mut MinibankWorld,
    client_id: String,
    secret: String,
) -> anyhow::Result<()> {
    sign_in(world, STRANGER, client_id, secret).await
}

/// The one sign-in of the sentences: `POST /v1/tokens`, the answer kept as the last one, and
/// a token obtained kept for `alias`'s next requests.
async fn sign_in(
    world: &mut MinibankWorld,
    alias: &str,
    client_id: String,
    secret: String,
) -> anyhow::Result<()> {
    let body = json!({"client_id": client_id, "client_secret": secret});
    let answer = world
        .call(
            Caller::Anonymous,
            Request::new(reqwest::Method::POST, "/v1/tokens").json(body),
        )
        .await?
        .clone();
    if alias != STRANGER
        && answer.status == 200
        && let Some(token) = answer.str_field("access_token")
    {
        world.keep_token(alias, token)?;
    }
    Ok(())
}

/// Checks the last sign-in gave a bearer token for that role (`customer`, `merchant` or
/// `operator`) naming the actor as subject (the operator's subject is its client id).
/// Example: Then Alice holds a customer token
#[then(expr = "{actor} holds a(n) {word} token")]
async fn holds_token(
    world: &mut MinibankWorld,
    alias: ActorName,
    role: String,
) -> anyhow::Result<()> {
    let answer = world.last()?;
    anyhow::ensure!(
        answer.status == 200,
        "the sign-in failed: {}",
        answer.describe()
    );
    let (_, _, subject) = world.credentials(&alias.0)?;
    anyhow::ensure!(
        answer.str_field("token_type") == Some("Bearer"),
        "token_type is not Bearer: {}",
        answer.describe()
    );
    anyhow::ensure!(
        answer.str_field("role") == Some(role.as_str()),
        "expected role {role}: {}",
        answer.describe()
    );
    anyhow::ensure!(
        answer.str_field("subject") == Some(subject.as_str()),
        "expected subject {subject} ({alias}): {}",
        answer.describe()
    );
    let expires = answer
        .json
        .as_ref()
        .and_then(|j| j.get("expires_in"))
        .and_then(|v| v.as_i64())
        .unwrap_or(0);
    anyhow::ensure!(
        expires > 0,
        "the token must expire in the future: {}",
        answer.describe()
    );
    Ok(())
}

/// Checks the scopes of the token just issued contain every scope listed (space separated).
/// Example: Then the token allows "payments:write accounts:read"
#[then(expr = "the token allows {string}")]
async fn token_allows(world: &mut MinibankWorld, scopes: String) -> anyhow::Result<()> {
    let answer = world.last()?;
    let granted: Vec<&str> = answer
        .str_field("scope")
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    let missing: Vec<&str> = scopes
        .split_whitespace()
        .filter(|s| !granted.contains(s))
        .collect();
    anyhow::ensure!(
        missing.is_empty(),
        "the token lacks {missing:?}; granted {granted:?}"
    );
    Ok(())
}

/// Checks the scopes of the token just issued contain none of those listed.
/// Example: Then the token does not allow "parties:write ledger:audit"
#[then(expr = "the token does not allow {string}")]
async fn token_does_not_allow(world: &mut MinibankWorld, scopes: String) -> anyhow::Result<()> {
    let answer = world.last()?;
    let granted: Vec<&str> = answer
        .str_field("scope")
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    let extra: Vec<&str> = scopes
        .split_whitespace()
        .filter(|s| granted.contains(s))
        .collect();
    anyhow::ensure!(
        extra.is_empty(),
        "the token should not allow {extra:?}; granted {granted:?}"
    );
    Ok(())
}
