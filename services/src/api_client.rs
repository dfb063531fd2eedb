//! A small client of the public API through edge, for the load generators that set up parties
//! and check the books afterwards: the payments benchmark (`services/examples/payments_bench.rs`)
//! and the containers' conservation test (`drivers/tests/conservation_under_faults.rs`).
//! Not a service: nothing in the platform uses it.

use anyhow::Context as _;
use serde_json::{Value, json};

/// A customer onboarded and funded: its token (`payments:write`) and its account.
pub struct Customer {
    /// Bearer token of the customer.
    pub token: String,
    /// The customer's ledger account.
    pub account_id: String,
}

/// A merchant onboarded with one webhook endpoint.
pub struct Merchant {
    /// The merchant's id (what a payment names).
    pub merchant_id: String,
    /// The merchant's settlement account.
    pub account_id: String,
}

/// Who [`onboard`] set up.
pub struct Parties {
    /// Funded customers, in the order they were made.
    pub customers: Vec<Customer>,
    /// Merchants, one per webhook URL given, in that order.
    pub merchants: Vec<Merchant>,
}

/// Sends `request` and answers its JSON body when the status is `status`, else an error
/// naming both statuses and the body.
pub async fn expect(request: reqwest::RequestBuilder, status: u16) -> anyhow::Result<Value> {
    let response = request.send().await?;
    let code = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    anyhow::ensure!(code == status, "expected {status}, got {code}: {body}");
    Ok(body)
}

/// Signs in a party (`{"client_id","client_secret"}` as onboarding answered them): its token.
pub async fn token(http: &reqwest::Client, edge: &str, party: &Value) -> anyhow::Result<String> {
    let body = expect(
        http.post(format!("{edge}/v1/tokens")).json(&json!({
            "client_id": party["client_id"],
            "client_secret": party["client_secret"],
        })),
        200,
    )
    .await?;
    Ok(body["access_token"]
        .as_str()
        .context("access_token")?
        .to_owned())
}

/// As the operator (`operator_token`): `customers` customers in GBP, each topped up with
/// `top_up` (minor units), and one GBP merchant per URL of `webhook_urls`, each with that URL
/// as its webhook endpoint for `payment.settled` and `payment.failed`.
pub async fn onboard(
    http: &reqwest::Client,
    edge: &str,
    operator_token: &str,
    customers: usize,
    top_up: i64,
    webhook_urls: &[String],
) -> anyhow::Result<Parties> {
    let mut parties = Parties {
        customers: Vec::new(),
        merchants: Vec::new(),
    };
    // `POST /v1/customers` or `/v1/merchants`.
    let new_party = |collection: &'static str, name: String| {
        expect(
            http.post(format!("{edge}/v1/{collection}"))
                .bearer_auth(operator_token)
                .json(&json!({"name": name, "currency": "GBP"})),
            201,
        )
    };
    for n in 0..customers {
        let customer = new_party("customers", format!("Customer {n}")).await?;
        let account = customer["account_id"].as_str().context("account_id")?;
        expect(
            http.post(format!("{edge}/v1/accounts/{account}/top-ups"))
                .bearer_auth(operator_token)
                .json(&json!({"amount": top_up, "currency": "GBP"})),
            201,
        )
        .await?;
        parties.customers.push(Customer {
            token: token(http, edge, &customer).await?,
            account_id: account.to_owned(),
        });
    }
    for (n, url) in webhook_urls.iter().enumerate() {
        let merchant = new_party("merchants", format!("Merchant {n}")).await?;
        let token = token(http, edge, &merchant).await?;
        expect(
            http.post(format!("{edge}/v1/webhook-endpoints"))
                .bearer_auth(&token)
                .json(&json!({"url": url, "events": ["payment.settled", "payment.failed"]})),
            201,
        )
        .await?;
        let field = |name: &str| {
            merchant[name]
                .as_str()
                .map(str::to_owned)
                .with_context(|| format!("{name} in {merchant}"))
        };
        parties.merchants.push(Merchant {
            merchant_id: field("merchant_id")?,
            account_id: field("settlement_account_id")?,
        });
    }
    Ok(parties)
}

/// The operator's ledger audit (`GET /v1/ledger/audit`): whether it balanced, and the report.
pub async fn audit(
    http: &reqwest::Client,
    edge: &str,
    operator_token: &str,
) -> anyhow::Result<(bool, Value)> {
    let report = expect(
        http.get(format!("{edge}/v1/ledger/audit"))
            .bearer_auth(operator_token),
        200,
    )
    .await
    .context("the operator's ledger audit")?;
    Ok((report["balanced"] == json!(true), report))
}
