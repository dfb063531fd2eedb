//! The World: everything one scenario knows, and the calls every step makes through it.
//!
//! One [`MinibankWorld`] per scenario. Actors are known by the alias the feature file uses
//! ("Alice", "Acme Coffee"); on the platform they are onboarded under namespaced fake names.
//! The World keeps their credentials and tokens, the last answer, the payments and top-ups the
//! scenario made (for the money-conservation check) and the trace of the last request.

use std::{collections::BTreeMap, fmt, sync::Arc, time::Duration};

use anyhow::anyhow;
use drivers::{
    CallFaultId, Capability, Driver, MerchantEndpoint, PoolUse, ProviderBehaviour, RouteMetrics,
};
use serde_json::{Value, json};

use crate::{
    client::{self, Exchange, Request},
    context,
    namespace::Namespace,
};

/// What a party is on the platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A customer: has an account, pays.
    Customer,
    /// A merchant: has a settlement account, gets paid, receives webhooks.
    Merchant,
}

/// A party the scenario onboarded.
#[derive(Clone)]
pub struct Actor {
    /// The name the feature file uses.
    pub alias: String,
    /// The namespaced fake name it was onboarded under.
    pub name: String,
    /// Customer or merchant.
    pub role: Role,
    /// `cus_…` or `mer_…`.
    pub party_id: String,
    /// Its account (`acc_…`): the customer's account or the merchant's settlement account.
    pub account_id: String,
    /// Account currency.
    pub currency: String,
    /// Client credentials.
    pub client_id: String,
    /// Client secret (never printed).
    pub client_secret: String,
    /// The current access token, once signed in.
    pub token: Option<String>,
    /// The merchant's webhook endpoint stand-in, once listening.
    pub endpoint: Option<Arc<dyn MerchantEndpoint>>,
    /// The endpoint's signing secret (`whsec_…`), once registered.
    pub webhook_secret: Option<String>,
    /// The registered endpoint id (`whe_…`).
    pub endpoint_id: Option<String>,
}

impl fmt::Debug for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Actor")
            .field("alias", &self.alias)
            .field("name", &self.name)
            .field("role", &self.role)
            .field("party_id", &self.party_id)
            .field("account_id", &self.account_id)
            .field("currency", &self.currency)
            .field("endpoint", &self.endpoint.as_ref().map(|e| e.url()))
            .finish_non_exhaustive()
    }
}

/// The `{actor}` that means the platform operator.
pub(crate) const OPERATOR: &str = "the operator";
/// The `{actor}` that means a caller without any token.
pub(crate) const STRANGER: &str = "a stranger";

/// Who sends a request.
#[derive(Debug, Clone)]
pub enum Caller {
    /// An actor of the scenario, with its token (signed in on first use).
    Actor(String),
    /// The platform operator.
    Operator,
    /// Nobody: no `authorization` header.
    Anonymous,
    /// Whatever bearer token is given (forged, expired, ...).
    Bearer(String),
}

/// Money the operator put into an account.
#[derive(Debug, Clone)]
pub struct TopUp {
    /// Account funded.
    pub account_id: String,
    /// Minor units.
    pub amount: i64,
    /// Currency.
    pub currency: String,
}

/// A payment the scenario asked for.
#[derive(Debug, Clone)]
pub struct PaymentAttempt {
    /// Who paid (alias).
    pub payer: String,
    /// Who was paid (alias).
    pub payee: String,
    /// The idempotency key sent.
    pub key: String,
    /// The body sent.
    pub body: Value,
    /// The answer.
    pub answer: Exchange,
}

impl PaymentAttempt {
    /// The payment id of the answer, if a payment came back.
    pub fn payment_id(&self) -> Option<&str> {
        self.answer.str_field("payment_id")
    }
}

/// A payment the customer gave up waiting for (the connection closed before the answer).
#[derive(Debug, Clone)]
pub struct Abandoned {
    /// The trace the request started.
    pub trace_id: String,
    /// Its idempotency key, to send it again.
    pub key: String,
    /// Who was to be paid (alias).
    pub payee: String,
    /// The body sent.
    pub body: Value,
}

/// Everything one scenario knows. All scenario state lives here, never in process-wide
/// maps: scenarios run concurrently, and each World is dropped with its scenario.
#[derive(cucumber::World)]
#[world(init = Self::new)]
pub struct MinibankWorld {
    pub(crate) ns: Namespace,
    pub(crate) actors: BTreeMap<String, Actor>,
    pub(crate) operator_token: Option<String>,
    pub(crate) last: Option<Exchange>,
    pub(crate) top_ups: Vec<TopUp>,
    pub(crate) payments: Vec<PaymentAttempt>,
    pub(crate) provider: Option<ProviderBehaviour>,
    pub(crate) webhook: Option<drivers::ReceivedWebhook>,
    pub(crate) delivery: Option<Value>,
    /// The trace id of every request the scenario sent, in order (for the replay report).
    pub(crate) trace_ids: std::sync::Mutex<Vec<String>>,
    /// For each trace a check settled: its span count and the instant since which it had not
    /// changed (a later check's quiet period counts from there).
    pub(crate) traces_seen:
        std::sync::Mutex<std::collections::HashMap<String, (usize, tokio::time::Instant)>>,
    /// Every request the scenario sent and its answer, masked (for the HTML report).
    pub(crate) exchanges: crate::exchange_log::ExchangeLog,
    /// The payment the customer gave up on, if any.
    pub(crate) abandoned: Option<Abandoned>,
    /// Call faults the scenario injected and has not ended, oldest first.
    pub(crate) faults: Vec<CallFaultId>,
    /// How long the last timed request took.
    pub(crate) last_elapsed: Option<Duration>,
    /// Statuses and `Retry-After` values of a flood of requests.
    pub(crate) flood: Vec<(u16, Option<String>)>,
    /// The answers (status, trace id) of the latest series of balance reads.
    pub(crate) reads: Vec<(u16, Option<String>)>,
    /// The platform's figures as noted (edge's route metrics, the pool's counters).
    pub(crate) noted: Option<(Vec<RouteMetrics>, PoolUse)>,
}

impl fmt::Debug for MinibankWorld {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MinibankWorld")
            .field("namespace", &self.ns.tag())
            .field("actors", &self.actors)
            .field("last", &self.last.as_ref().map(Exchange::describe))
            .field("top_ups", &self.top_ups)
            .field(
                "payments",
                &self
                    .payments
                    .iter()
                    .map(|p| p.answer.describe())
                    .collect::<Vec<_>>(),
            )
            .field("provider", &self.provider)
            .finish()
    }
}

impl MinibankWorld {
    fn new() -> Self {
        // The before-scenario hook replaces this with the scenario's own namespace; a random
        // identity keeps scenarios apart even if an entry point forgets the hook.
        Self::with_namespace(
            Namespace::for_scenario(context::seed(), &uuid::Uuid::new_v4().to_string())
                .with_run(context::run_id()),
        )
    }

    pub(crate) fn with_namespace(ns: Namespace) -> Self {
        Self {
            ns,
            actors: BTreeMap::new(),
            operator_token: None,
            last: None,
            top_ups: Vec::new(),
            payments: Vec::new(),
            provider: None,
            webhook: None,
            delivery: None,
            trace_ids: Default::default(),
            traces_seen: Default::default(),
            exchanges: Default::default(),
            abandoned: None,
            faults: Vec::new(),
            last_elapsed: None,
            flood: Vec::new(),
            reads: Vec::new(),
            noted: None,
        }
    }

    /// Enters a scenario: its namespace derives from the run seed and `identity`
    /// (feature path, scenario name and line).
    pub fn enter_scenario(&mut self, identity: &str) {
        self.ns = Namespace::for_scenario(context::seed(), identity).with_run(context::run_id());
    }

    /// The scenario's namespace tag.
    pub fn namespace(&self) -> &str {
        self.ns.tag()
    }

    /// The driver, for steps.
    pub(crate) fn driver(&self) -> anyhow::Result<Arc<dyn Driver>> {
        context::driver()
    }

    /// Fails with a message naming `capability` when the driver lacks it: a step must never
    /// pass silently without doing what it says.
    pub(crate) fn require(&self, capability: Capability) -> anyhow::Result<Arc<dyn Driver>> {
        let driver = self.driver()?;
        if driver.capabilities().has(capability) {
            Ok(driver)
        } else {
            Err(drivers::lacks(&*driver, capability))
        }
    }

    /// Who calls, for an `{actor}` of a sentence: `the operator`, `a stranger` or an actor.
    pub(crate) fn caller(&self, alias: &str) -> anyhow::Result<Caller> {
        Ok(match alias {
            OPERATOR => Caller::Operator,
            STRANGER => Caller::Anonymous,
            alias => {
                self.actor(alias)?;
                Caller::Actor(alias.to_owned())
            }
        })
    }

    /// An actor by alias: a customer or merchant of this scenario. `the operator` and `a
    /// stranger` are refused in plain words: they have no account or party of their own.
    pub(crate) fn actor(&self, alias: &str) -> anyhow::Result<&Actor> {
        match alias {
            OPERATOR => anyhow::bail!(
                "the operator runs the platform and has no account, payments or endpoint of their own: this sentence is about a customer or a merchant"
            ),
            STRANGER => anyhow::bail!(
                "a stranger is anyone without a token and has no account, payments or endpoint: this sentence is about a customer or a merchant"
            ),
            _ => {}
        }
        self.actors.get(alias).ok_or_else(|| {
            anyhow!(
                "nobody called {alias:?} in this scenario (known: {}); introduce them first, e.g. `Given {alias} is a customer with 100.00 GBP`",
                self.actors.keys().cloned().collect::<Vec<_>>().join(", ")
            )
        })
    }

    /// The client credentials `alias` signs in with, and the subject its token names:
    /// an actor's own, or the operator's.
    pub(crate) fn credentials(&self, alias: &str) -> anyhow::Result<(String, String, String)> {
        match alias {
            OPERATOR => {
                let driver = self.require(Capability::OperatorAccess)?;
                let operator = driver
                    .operator()
                    .ok_or_else(|| drivers::lacks(&*driver, Capability::OperatorAccess))?;
                let subject = operator.client_id.clone();
                Ok((operator.client_id, operator.client_secret, subject))
            }
            STRANGER => anyhow::bail!(
                "a stranger was given no credentials: to sign in with made-up ones, write `When someone signs in as client \"cli_nobody\" with secret \"guess\"`"
            ),
            alias => {
                let actor = self.actor(alias)?;
                Ok((
                    actor.client_id.clone(),
                    actor.client_secret.clone(),
                    actor.party_id.clone(),
                ))
            }
        }
    }

    /// Keeps a token `alias` was just given, so their next requests use it.
    pub(crate) fn keep_token(&mut self, alias: &str, token: &str) -> anyhow::Result<()> {
        if alias == OPERATOR {
            self.operator_token = Some(token.to_owned());
        } else {
            self.actor_mut(alias)?.token = Some(token.to_owned());
        }
        Ok(())
    }

    /// An actor by alias, mutable.
    pub(crate) fn actor_mut(&mut self, alias: &str) -> anyhow::Result<&mut Actor> {
        self.actor(alias)?;
        Ok(self.actors.get_mut(alias).expect("checked above"))
    }

    /// The last answer.
    pub(crate) fn last(&self) -> anyhow::Result<&Exchange> {
        self.last
            .as_ref()
            .ok_or_else(|| anyhow!("no request was sent yet in this scenario"))
    }

    /// The last payment attempt.
    pub(crate) fn last_payment(&self) -> anyhow::Result<&PaymentAttempt> {
        self.payments
            .last()
            .ok_or_else(|| anyhow!("no payment was made yet in this scenario"))
    }

    /// The id of the last payment that came back.
    pub(crate) fn last_payment_id(&self) -> anyhow::Result<String> {
        self.payments
            .iter()
            .rev()
            .find_map(|p| p.payment_id().map(str::to_owned))
            .ok_or_else(|| anyhow!("no payment was created yet in this scenario"))
    }

    /// Sends a raw request with no identity handling and without recording it as the last answer.
    pub(crate) async fn send_raw(&self, request: Request) -> anyhow::Result<Exchange> {
        let driver = self.driver()?;
        let otlp = driver.harness_otlp_traces_url();
        let (sent, sent_at) = (request.clone(), std::time::SystemTime::now());
        let answer =
            client::send(&driver.edge_url(), otlp.as_deref(), self.ns.tag(), request).await;
        self.exchanges.record(&sent, &answer, sent_at);
        let answer = answer?;
        if let Some(trace_id) = answer.trace_id() {
            let mut seen = self.trace_ids.lock().unwrap_or_else(|e| e.into_inner());
            if !seen.contains(&trace_id) {
                seen.push(trace_id);
            }
        }
        Ok(answer)
    }

    /// A token for the operator (signed in once per scenario).
    pub(crate) async fn operator_token(&mut self) -> anyhow::Result<String> {
        if let Some(token) = &self.operator_token {
            return Ok(token.clone());
        }
        let driver = self.require(Capability::OperatorAccess)?;
        let operator = driver
            .operator()
            .ok_or_else(|| drivers::lacks(&*driver, Capability::OperatorAccess))?;
        let token = self
            .sign_in(&operator.client_id, &operator.client_secret)
            .await
            .map_err(|e| anyhow!("signing in as the operator: {e:#}"))?;
        self.operator_token = Some(token.clone());
        Ok(token)
    }

    /// A token for an actor (signed in on first use).
    pub(crate) async fn actor_token(&mut self, alias: &str) -> anyhow::Result<String> {
        let actor = self.actor(alias)?;
        if let Some(token) = &actor.token {
            return Ok(token.clone());
        }
        let (id, secret) = (actor.client_id.clone(), actor.client_secret.clone());
        let token = self
            .sign_in(&id, &secret)
            .await
            .map_err(|e| anyhow!("signing in as {alias}: {e:#}"))?;
        self.actor_mut(alias)?.token = Some(token.clone());
        Ok(token)
    }

    async fn sign_in(&self, client_id: &str, client_secret: &str) -> anyhow::Result<String> {
        let answer = self
            .send_raw(
                Request::new(reqwest::Method::POST, "/v1/tokens").json(json!({
                    "client_id": client_id, "client_secret": client_secret
                })),
            )
            .await?;
        anyhow::ensure!(
            answer.status == 200,
            "could not sign in: {}",
            answer.describe()
        );
        answer
            .str_field("access_token")
            .map(str::to_owned)
            .ok_or_else(|| anyhow!("no access_token in {}", answer.describe()))
    }

    /// Sends a request as `caller` and keeps the answer as the last one.
    pub(crate) async fn call(
        &mut self,
        caller: Caller,
        mut request: Request,
    ) -> anyhow::Result<&Exchange> {
        let token = match &caller {
            Caller::Actor(alias) => Some(self.actor_token(alias).await?),
            Caller::Operator => Some(self.operator_token().await?),
            Caller::Anonymous => None,
            Caller::Bearer(token) => Some(token.clone()),
        };
        if let Some(token) = token {
            request = request.bearer(&token);
        }
        let answer = self.send_raw(request).await?;
        self.last = Some(answer);
        Ok(self.last.as_ref().expect("just set"))
    }

    /// Sends a request as `caller` and insists on `expected` status; the answer becomes the last.
    pub(crate) async fn call_expecting(
        &mut self,
        caller: Caller,
        request: Request,
        expected: u16,
    ) -> anyhow::Result<Exchange> {
        let answer = self.call(caller, request).await?.clone();
        anyhow::ensure!(
            answer.status == expected,
            "expected {expected}, got {}",
            answer.describe()
        );
        Ok(answer)
    }

    /// How long to wait for something asynchronous (a payment finishing, a webhook arriving):
    /// the driver's patience ([`drivers::timings::patience`], which the catalogue shows).
    pub(crate) fn patience(&self) -> Duration {
        drivers::timings::patience(
            self.driver()
                .map(|d| d.settle_timing().0)
                .unwrap_or_default(),
        )
    }

    /// The account ids of every actor of this scenario (the provider's behaviour is scoped to them).
    pub(crate) fn account_ids(&self) -> Vec<String> {
        self.actors.values().map(|a| a.account_id.clone()).collect()
    }
}
