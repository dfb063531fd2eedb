//! Conservation under load and faults, in containers (issue 17, item 6): a bounded load of
//! payments from concurrent clients runs while payments, webhooks and ledger are each
//! restarted once, and the bank provider times out for a quarter of the payers (half of those
//! transfers processed anyway, half never). At the end:
//! - every payment is final (`settled` or `failed`; none `pending` or `processing`), and no
//!   payment whose transfer the provider never made is settled;
//! - every account holds exactly its top-up minus (customers) or plus (merchants) its settled
//!   payments, nothing is held, and the operator's ledger audit balances with no open hold;
//! - every final payment's webhook reached its merchant exactly once (one request, one event
//!   id, of the payment's final type), and no other webhook arrived.
//!
//! A request that goes unanswered (502, 503, 504, a broken connection) is resent with the same
//! idempotency key, as a client must when the outcome is unknown (services/API.md). The test
//! prints its figures (BENCHMARKS.md, "Conservation under load and faults"); it says "skipped"
//! and passes when no Docker engine answers (`docker info`), like the other containers tests.

mod docker_engine;

use std::{
    collections::{BTreeMap, HashMap},
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::Context as _;
use drivers::{
    Driver, MerchantEndpoint, ProviderBehaviour,
    containers::{ContainersDriver, ContainersOptions},
};
use minibank::api_client::{self, Parties};
use parking_lot::Mutex;
use serde_json::{Value, json};

/// Payments sent in all, by `CLIENTS` concurrent clients (each one payment at a time).
const PAYMENTS: u64 = 2_000;
const CLIENTS: usize = 16;
const CUSTOMERS: usize = 16;
const MERCHANTS: usize = 4;
/// Each payment, in pence; each customer is topped up with enough for every payment.
const AMOUNT: i64 = 100;
const TOP_UP: i64 = AMOUNT * PAYMENTS as i64;
/// Restarted one after the other while the load runs, evenly spread over it.
const RESTARTED: [&str; 3] = ["payments", "webhooks", "ledger"];
/// How long the whole load, and then the last payments and webhooks, may take. A payment cut
/// short by the payments restart is resumed at the latest when its lease ends (payments'
/// `lease`, 60 s, from the restart, which is before the load ends), hence 90 s.
const LOAD_DEADLINE: Duration = Duration::from_secs(240);
const SETTLE_DEADLINE: Duration = Duration::from_secs(90);
/// Between two resends of an unanswered payment, and between two reads of a condition: the
/// interval of a check, not a wait for its outcome.
const PAUSE: Duration = Duration::from_millis(50);

/// How the provider treats customer `n`'s transfers: every eighth from 3 on times out but
/// processes them, every eighth from 7 on times out and never processes them.
fn provider_behaviour(n: usize) -> ProviderBehaviour {
    match n % 8 {
        3 => ProviderBehaviour::TimesOut { processed: true },
        7 => ProviderBehaviour::TimesOut { processed: false },
        _ => ProviderBehaviour::Accepts,
    }
}

/// One payment as the load sent it, and what it became.
struct Sent {
    customer: usize,
    merchant: usize,
    payment: Value,
}

impl Sent {
    fn id(&self) -> &str {
        self.payment["payment_id"].as_str().unwrap_or_default()
    }

    fn status(&self) -> &str {
        self.payment["status"].as_str().unwrap_or_default()
    }

    fn is_final(&self) -> bool {
        matches!(self.status(), "settled" | "failed")
    }
}

/// What the load shares between its clients.
struct Load {
    http: reqwest::Client,
    edge: String,
    parties: Parties,
    run: String,
    started: AtomicU64,
    progress: tokio::sync::watch::Sender<u64>,
    /// Resends of an unanswered payment, by what the previous attempt got.
    resends: Mutex<BTreeMap<String, u64>>,
}

impl Load {
    /// Sends payment `n` until edge answers it with a payment (resending with the same key).
    async fn pay(&self, n: u64, deadline: Instant) -> anyhow::Result<Sent> {
        let customer = n as usize % CUSTOMERS;
        let merchant = (n as usize / CUSTOMERS) % MERCHANTS;
        let body = json!({
            "merchant_id": self.parties.merchants[merchant].merchant_id,
            "amount": AMOUNT,
            "currency": "GBP",
        });
        let key = format!("{}-{n}", self.run);
        loop {
            let answer = self
                .http
                .post(format!("{}/v1/payments", self.edge))
                .bearer_auth(&self.parties.customers[customer].token)
                .header("idempotency-key", &key)
                .json(&body)
                .send()
                .await;
            let unanswered = match answer {
                Ok(response) if matches!(response.status().as_u16(), 200 | 201) => {
                    let payment = response.json().await.context("a payment's body")?;
                    return Ok(Sent {
                        customer,
                        merchant,
                        payment,
                    });
                }
                Ok(response) if matches!(response.status().as_u16(), 429 | 502 | 503 | 504) => {
                    let status = response.status().as_u16();
                    let body: Value = response.json().await.unwrap_or(Value::Null);
                    format!("{status} {}", body["code"].as_str().unwrap_or("?"))
                }
                Ok(response) => {
                    let status = response.status();
                    let body = response.text().await.unwrap_or_default();
                    anyhow::bail!("payment {n} (key {key}) was answered {status}: {body}");
                }
                Err(e) if e.is_timeout() => "client timeout".to_owned(),
                Err(_) => "connection error".to_owned(),
            };
            *self.resends.lock().entry(unanswered.clone()).or_default() += 1;
            anyhow::ensure!(
                Instant::now() < deadline,
                "payment {n} (key {key}) still unanswered at the deadline: {unanswered}"
            );
            tokio::time::sleep(PAUSE).await;
        }
    }

    /// One client: payments one after another until `PAYMENTS` were started in all.
    async fn client(&self, deadline: Instant) -> anyhow::Result<Vec<Sent>> {
        let mut sent = Vec::new();
        loop {
            let n = self.started.fetch_add(1, Ordering::Relaxed);
            if n >= PAYMENTS {
                return Ok(sent);
            }
            self.progress
                .send_modify(|started| *started = (*started).max(n + 1));
            sent.push(self.pay(n, deadline).await?);
        }
    }

    /// Reads the payments that are not final yet again (`CLIENTS` at a time), round after
    /// round, until every one is.
    async fn await_final(&self, sent: &mut [Sent], deadline: Instant) -> anyhow::Result<()> {
        use futures::StreamExt as _;
        loop {
            let open: Vec<&mut Sent> = sent.iter_mut().filter(|s| !s.is_final()).collect();
            let Some(first) = open.first() else {
                return Ok(());
            };
            anyhow::ensure!(
                Instant::now() < deadline,
                "{} payments are not final at the deadline, e.g. {} is still {}",
                open.len(),
                first.id(),
                first.status()
            );
            futures::stream::iter(open)
                .for_each_concurrent(CLIENTS, |s| async move {
                    let read = self
                        .http
                        .get(format!("{}/v1/payments/{}", self.edge, s.id()))
                        .bearer_auth(&self.parties.customers[s.customer].token);
                    if let Ok(payment) = api_client::expect(read, 200).await {
                        s.payment = payment;
                    }
                })
                .await;
            if sent.iter().any(|s| !s.is_final()) {
                tokio::time::sleep(PAUSE).await;
            }
        }
    }
}

/// Restarts each of `RESTARTED` once the load has started its share of payments; how long
/// each restart took.
async fn restart_during(
    driver: &ContainersDriver,
    mut progress: tokio::sync::watch::Receiver<u64>,
) -> anyhow::Result<Vec<(&'static str, Duration)>> {
    let restarts = driver
        .restarts()
        .context("the containers driver restarts")?;
    let mut took = Vec::new();
    for (i, service) in RESTARTED.into_iter().enumerate() {
        let at = PAYMENTS * (i as u64 + 1) / (RESTARTED.len() as u64 + 1);
        tokio::time::timeout(LOAD_DEADLINE, progress.wait_for(|started| *started >= at))
            .await
            .with_context(|| format!("the load never reached payment {at}"))??;
        let started = Instant::now();
        restarts.restart(service).await?;
        took.push((service, started.elapsed()));
        eprintln!(
            "restarted {service} at payment {at} in {:?}",
            started.elapsed()
        );
    }
    Ok(took)
}

/// Every merchant endpoint's requests, by payment id: (event type, event id, answered status).
async fn webhooks_by_payment(
    endpoints: &[Arc<dyn MerchantEndpoint>],
) -> HashMap<String, Vec<(usize, String, String)>> {
    let mut by_payment: HashMap<String, Vec<(usize, String, String)>> = HashMap::new();
    for (merchant, endpoint) in endpoints.iter().enumerate() {
        for request in endpoint.received().await {
            let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
            let event_id = request
                .headers
                .iter()
                .find(|(name, _)| name == "minibank-event-id")
                .map(|(_, value)| value.clone())
                .unwrap_or_default();
            by_payment
                .entry(
                    body["data"]["payment_id"]
                        .as_str()
                        .unwrap_or("?")
                        .to_owned(),
                )
                .or_default()
                .push((
                    merchant,
                    body["type"].as_str().unwrap_or("?").to_owned(),
                    event_id,
                ));
        }
    }
    by_payment
}

/// Checks each account against the settled payments, then the operator's audit.
async fn check_money(load: &Load, operator: &str, sent: &[Sent]) -> anyhow::Result<Value> {
    let mut paid = vec![0i64; CUSTOMERS];
    let mut received = vec![0i64; MERCHANTS];
    for s in sent.iter().filter(|s| s.status() == "settled") {
        paid[s.customer] += AMOUNT;
        received[s.merchant] += AMOUNT;
    }
    let customers = load.parties.customers.iter().map(|c| &c.account_id);
    let merchants = load.parties.merchants.iter().map(|m| &m.account_id);
    let expected = paid
        .iter()
        .map(|p| TOP_UP - p)
        .chain(received.iter().copied());
    for (account_id, expected) in customers.chain(merchants).zip(expected) {
        let account = api_client::expect(
            load.http
                .get(format!("{}/v1/accounts/{account_id}", load.edge))
                .bearer_auth(operator),
            200,
        )
        .await?;
        anyhow::ensure!(
            account["balance"] == json!(expected) && account["held"] == json!(0),
            "account {account_id} should hold {expected} with nothing held: {account}"
        );
    }
    let (balanced, report) = api_client::audit(&load.http, &load.edge, operator).await?;
    let open_holds = report["currencies"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| c["open_holds"].as_i64().unwrap_or(-1))
        .sum::<i64>();
    anyhow::ensure!(balanced && open_holds == 0, "the ledger audit: {report}");
    Ok(report)
}

/// Waits until every payment's webhook arrived, then checks each arrived exactly once.
async fn check_webhooks(
    endpoints: &[Arc<dyn MerchantEndpoint>],
    sent: &[Sent],
    deadline: Instant,
) -> anyhow::Result<usize> {
    let mut by_payment = webhooks_by_payment(endpoints).await;
    while let Some(missing) = sent.iter().find(|s| !by_payment.contains_key(s.id())) {
        anyhow::ensure!(
            Instant::now() < deadline,
            "no webhook for payment {} ({}) at the deadline; {} of {} payments have one",
            missing.id(),
            missing.status(),
            by_payment.len(),
            sent.len()
        );
        tokio::time::sleep(PAUSE).await;
        by_payment = webhooks_by_payment(endpoints).await;
    }
    for s in sent {
        let got = by_payment.remove(s.id()).unwrap_or_default();
        let expected = (s.merchant, format!("payment.{}", s.status()));
        anyhow::ensure!(
            got.len() == 1 && (got[0].0, got[0].1.clone()) == expected,
            "payment {} ({}, merchant {}) should have reached its merchant exactly once as {}: {got:?}",
            s.id(),
            s.status(),
            s.merchant,
            expected.1
        );
    }
    anyhow::ensure!(
        by_payment.is_empty(),
        "webhooks for no payment of the load: {by_payment:?}"
    );
    Ok(sent.len())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn money_is_conserved_and_each_webhook_arrives_once_while_services_restart_and_the_provider_times_out()
 {
    if !docker_engine::answers() {
        return;
    }
    let began = Instant::now();
    let driver = ContainersDriver::start(ContainersOptions::default())
        .await
        .unwrap_or_else(|e| panic!("containers driver boots: {e:#}"));
    let outcome = run(&driver, began).await;
    driver.shutdown().await;
    if let Err(e) = outcome {
        panic!("{e:#}");
    }
}

/// Onboards the parties through edge, one merchant stand-in each, and tells the provider
/// stand-in which payers' transfers time out; the load, the operator's token and the endpoints.
async fn set_up(
    driver: &ContainersDriver,
) -> anyhow::Result<(Load, String, Vec<Arc<dyn MerchantEndpoint>>)> {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(CLIENTS * 2)
        .timeout(Duration::from_secs(30))
        .build()?;
    let edge = driver.edge_url();
    let credentials = driver.operator().context("the operator")?;
    let credentials = json!({
        "client_id": credentials.client_id,
        "client_secret": credentials.client_secret,
    });
    let operator = api_client::token(&http, &edge, &credentials).await?;
    let merchants = driver.merchant_endpoints().context("merchant endpoints")?;
    let mut endpoints = Vec::new();
    for _ in 0..MERCHANTS {
        endpoints.push(merchants.new_merchant_endpoint().await?);
    }
    let urls: Vec<String> = endpoints.iter().map(|e| e.url()).collect();
    let parties = api_client::onboard(&http, &edge, &operator, CUSTOMERS, TOP_UP, &urls).await?;
    let provider = driver.provider().context("the provider stand-in")?;
    for (n, customer) in parties.customers.iter().enumerate() {
        provider
            .set_behaviour(&[customer.account_id.clone()], provider_behaviour(n))
            .await;
    }
    let load = Load {
        http,
        edge,
        parties,
        run: format!("{:016x}", rand::random::<u64>()),
        started: AtomicU64::new(0),
        progress: tokio::sync::watch::channel(0).0,
        resends: Mutex::default(),
    };
    Ok((load, operator, endpoints))
}

/// Payment outcomes: "settled", or "failed <reason>", with their counts.
fn outcomes(sent: &[Sent]) -> BTreeMap<String, u64> {
    let mut outcomes: BTreeMap<String, u64> = BTreeMap::new();
    for s in sent {
        let reason = s.payment["failure_reason"].as_str().unwrap_or_default();
        *outcomes
            .entry(format!("{} {reason}", s.status()).trim().to_owned())
            .or_default() += 1;
    }
    outcomes
}

async fn run(driver: &ContainersDriver, began: Instant) -> anyhow::Result<()> {
    let mut phases = vec![("boot", driver.boot_time())];
    let mut phase = Instant::now();
    let mut mark = |name: &'static str| {
        phases.push((name, phase.elapsed()));
        phase = Instant::now();
    };
    let (load, operator, endpoints) = set_up(driver).await?;
    mark("set-up");

    let deadline = Instant::now() + LOAD_DEADLINE;
    let clients = futures::future::try_join_all((0..CLIENTS).map(|_| load.client(deadline)));
    let restarts = restart_during(driver, load.progress.subscribe());
    let (sent, restarts) = tokio::try_join!(clients, restarts)?;
    mark("load");
    let mut sent: Vec<Sent> = sent.into_iter().flatten().collect();
    anyhow::ensure!(
        sent.len() as u64 == PAYMENTS,
        "{} payments answered",
        sent.len()
    );
    let processing_at_end = sent.iter().filter(|s| !s.is_final()).count();

    load.await_final(&mut sent, Instant::now() + SETTLE_DEADLINE)
        .await?;
    mark("every payment final");
    let never_processed = sent.iter().filter(|s| {
        provider_behaviour(s.customer) == ProviderBehaviour::TimesOut { processed: false }
    });
    if let Some(s) = never_processed.clone().find(|s| s.status() == "settled") {
        anyhow::bail!(
            "payment {} settled though the provider never made its transfer",
            s.id()
        );
    }
    let audit = check_money(&load, &operator, &sent).await?;
    mark("accounts and audit checked");
    let webhooks = check_webhooks(&endpoints, &sent, Instant::now() + SETTLE_DEADLINE).await?;
    mark("every webhook arrived");

    let timed_out: Vec<String> = (0..CUSTOMERS)
        .filter(|n| provider_behaviour(*n) != ProviderBehaviour::Accepts)
        .map(|n| load.parties.customers[n].account_id.clone())
        .collect();
    let provider = driver.provider().context("the provider stand-in")?;
    let timed_out_transfers = provider.transfers_received(&timed_out).await.len();
    anyhow::ensure!(
        never_processed.count() > 0 && timed_out_transfers > 0,
        "the provider timed out for no payment"
    );
    let load_wall = phases[2].1;
    println!(
        "conservation under faults: {PAYMENTS} payments from {CLIENTS} clients in {:.1} s = {:.1} payments/s; \
         outcomes {:?} ({processing_at_end} answered processing); resends {:?}; \
         restarts {restarts:?}; transfers to the timing-out provider {timed_out_transfers}; \
         {webhooks} webhooks each delivered once; audit {audit}; phases {phases:?}; \
         whole test {:.1} s; load average {}",
        load_wall.as_secs_f64(),
        PAYMENTS as f64 / load_wall.as_secs_f64(),
        outcomes(&sent),
        load.resends.lock(),
        began.elapsed().as_secs_f64(),
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim(),
    );
    Ok(())
}
