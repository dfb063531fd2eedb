//! The external bank provider stand-in: one small HTTP server shared by every scenario of a run.
//!
//! Default answers come from `fixtures/provider/*.json` (accept every transfer; status queries
//! 404). A scenario changes how the provider treats *its own* debtor accounts with
//! [`ProviderControl::set_behaviour`]; other scenarios running at the same time are unaffected.
//!
//! Which answer wins, first match in this order:
//! 1. a `POST /transfers` whose `debtor_account` has a behaviour other than `Accepts` answers
//!    by that behaviour, and the stand-in notes `transfer_id -> account`; a status query
//!    `GET /transfers/{id}` of such a transfer answers by the account's behaviour still in
//!    force (the transfer id is the payment id, unknown until the platform sends it);
//! 2. a status query for a transfer the stand-in processed (accepted by a default stub, or
//!    processed behind a `TimesOut { processed: true }`) answers `accepted`, whatever the
//!    scope's behaviour later becomes, as the real provider would: a transfer answered too late
//!    for the platform (a loaded machine) is still settled rather than failed;
//! 3. the fixture stubs, lowest priority first (ties in file-name order);
//! 4. anything else: 404 with no body.
//!
//! Memory is bounded: what the stand-in remembers per transfer (processed ids, the accounts of
//! overridden transfers, the transfer requests it received) keeps the newest
//! [`REMEMBERED_TRANSFERS`] of each, so a long run does not grow with every payment.

use std::{
    collections::{HashMap, VecDeque},
    net::{IpAddr, Ipv4Addr},
    path::Path,
    sync::Arc,
    time::Duration,
};

use async_trait::async_trait;
use parking_lot::Mutex;
use serde_json::{Value, json};

use super::fixtures::{ProviderStub, load_provider_stubs};
use super::recent::Recent;
use super::server::{IncomingRequest, StubAnswer, StubServer};
use crate::{ProviderBehaviour, ProviderControl};

/// Priority the fixture defaults must be above: per-scenario behaviours and the status of a
/// processed transfer answer first (`fixtures/provider/README.md`).
const PROCESSED_PRIORITY: u8 = 50;

/// How many transfers the stand-in remembers, newest first (per kind of memory, see the
/// module's documentation): far more than a test run makes, so only a long load forgets.
pub const REMEMBERED_TRANSFERS: usize = 65_536;

/// Who gets which behaviour, and what the stand-in remembers of the transfers it was sent.
struct Scopes {
    /// Accounts with a behaviour other than `Accepts`.
    behaviours: HashMap<String, ProviderBehaviour>,
    /// `transfer_id -> debtor_account` for transfers answered by an override.
    transfers: Recent<String, String>,
    /// Transfers the provider processed (money moved), by id.
    processed: Recent<String, ()>,
    /// Every `POST /transfers` body received, as `(debtor_account, body)`, oldest first.
    received: VecDeque<(String, Value)>,
    /// How many of each `transfers`, `processed` and `received` keeps.
    remembered: usize,
    /// How long a `TimesOut` answer is held back (beyond the platform's provider timeout).
    slow_answer_after: Duration,
}

impl Scopes {
    fn new(slow_answer_after: Duration, remembered: usize) -> Self {
        Scopes {
            behaviours: HashMap::new(),
            transfers: Recent::new(remembered),
            processed: Recent::new(remembered),
            received: VecDeque::new(),
            remembered,
            slow_answer_after,
        }
    }

    fn behaviour_of_transfer(&self, transfer_id: &str) -> Option<ProviderBehaviour> {
        let account = self.transfers.get(transfer_id)?;
        self.behaviours.get(account).cloned()
    }

    fn remember_received(&mut self, debtor: &str, body: &Value) {
        if self.received.len() >= self.remembered {
            self.received.pop_front();
        }
        self.received.push_back((debtor.to_owned(), body.clone()));
    }
}

/// The provider stand-in. Also implements [`ProviderControl`] for the steps.
pub struct ProviderStandIn {
    server: StubServer,
    scopes: Arc<Mutex<Scopes>>,
}

impl ProviderStandIn {
    /// Start on 127.0.0.1 with the default stubs in `fixtures_dir`. `slow_answer_after` is how
    /// long a `TimesOut` transfer answer is delayed: make it longer than the platform's
    /// provider timeout.
    pub async fn start(fixtures_dir: &Path, slow_answer_after: Duration) -> anyhow::Result<Self> {
        Self::start_on(Ipv4Addr::LOCALHOST.into(), fixtures_dir, slow_answer_after).await
    }

    /// As [`ProviderStandIn::start`], listening on `ip` (an ephemeral port): e.g. the gateway
    /// of a container network, so services in containers can reach it.
    pub async fn start_on(
        ip: IpAddr,
        fixtures_dir: &Path,
        slow_answer_after: Duration,
    ) -> anyhow::Result<Self> {
        let mut stubs = load_provider_stubs(fixtures_dir)?;
        if let Some(low) = stubs.iter().find(|s| s.priority <= PROCESSED_PRIORITY) {
            anyhow::bail!(
                "provider stub {:?} has priority {}; defaults need a priority above {PROCESSED_PRIORITY} \
                 so per-scenario behaviours and the status of processed transfers win",
                low.description,
                low.priority
            );
        }
        // Stable: equal priorities stay in file-name order.
        stubs.sort_by_key(|stub| stub.priority);
        let listener = std::net::TcpListener::bind((ip, 0))
            .map_err(|e| anyhow::anyhow!("binding the provider stand-in to {ip}: {e}"))?;
        let scopes = Arc::new(Mutex::new(Scopes::new(
            slow_answer_after,
            REMEMBERED_TRANSFERS,
        )));
        let answering = scopes.clone();
        let server = StubServer::start(listener, move |request| {
            answer(&mut answering.lock(), &stubs, request)
        })?;
        Ok(ProviderStandIn { server, scopes })
    }

    /// Base URL the platform should call, e.g. `http://127.0.0.1:40123`.
    pub fn url(&self) -> String {
        self.server.url().to_owned()
    }

    /// Change how long a `TimesOut` answer is held back (e.g. once the platform's provider
    /// timeout is known).
    pub fn set_slow_answer_after(&self, delay: Duration) {
        self.scopes.lock().slow_answer_after = delay;
    }
}

#[async_trait]
impl ProviderControl for ProviderStandIn {
    async fn set_behaviour(&self, accounts: &[String], behaviour: ProviderBehaviour) {
        let mut scopes = self.scopes.lock();
        for account in accounts {
            if behaviour == ProviderBehaviour::Accepts {
                scopes.behaviours.remove(account);
            } else {
                scopes.behaviours.insert(account.clone(), behaviour.clone());
            }
        }
    }

    async fn transfers_received(&self, accounts: &[String]) -> Vec<Value> {
        self.scopes
            .lock()
            .received
            .iter()
            .filter(|(debtor, _)| accounts.iter().any(|a| a == debtor))
            .map(|(_, body)| body.clone())
            .collect()
    }
}

/// The stand-in's answer to `request` (the order is the module's documentation's).
fn answer(scopes: &mut Scopes, stubs: &[ProviderStub], request: &IncomingRequest) -> StubAnswer {
    let body = request.json();
    let is_get = request.method == http::Method::GET;
    let is_post = request.method == http::Method::POST;
    if is_post && request.path == "/transfers" {
        let debtor = body
            .get("debtor_account")
            .and_then(Value::as_str)
            .unwrap_or_default();
        scopes.remember_received(debtor, &body);
        if scopes.behaviours.contains_key(debtor) {
            return overridden_transfer(scopes, &body, debtor);
        }
    }
    if let (true, Some(id)) = (is_get, status_query_id(&request.path)) {
        if scopes.behaviour_of_transfer(id).is_some() {
            return overridden_status(scopes, id);
        }
        if scopes.processed.get(id).is_some() {
            return StubAnswer::json(200, json!({"transfer_id": id, "status": "accepted"}));
        }
    }
    let Some(stub) = stubs.iter().find(|stub| stub.matches(request)) else {
        return StubAnswer::status(404);
    };
    let answer = stub.answer(request, &body);
    let accepted = (200..300).contains(&answer.status);
    if let (true, true, Some(id)) = (is_post, accepted, transfer_id(&body)) {
        if request.path == "/transfers" {
            scopes.processed.insert(id.to_owned(), ());
        }
    }
    answer
}

/// `{id}` of `/transfers/{id}`.
fn status_query_id(path: &str) -> Option<&str> {
    let id = path.strip_prefix("/transfers/")?;
    (!id.is_empty() && !id.contains('/')).then_some(id)
}

fn transfer_id(body: &Value) -> Option<&str> {
    body.get("transfer_id").and_then(Value::as_str)
}

/// Answers `POST /transfers` for an overridden account, and remembers whose transfer it was.
fn overridden_transfer(scopes: &mut Scopes, body: &Value, debtor: &str) -> StubAnswer {
    let transfer_id = body.get("transfer_id").cloned().unwrap_or(Value::Null);
    if let Some(id) = transfer_id.as_str() {
        scopes.transfers.insert(id.to_owned(), debtor.to_owned());
    }
    match scopes.behaviours.get(debtor) {
        Some(ProviderBehaviour::Rejects) => StubAnswer::json(
            422,
            json!({"transfer_id": transfer_id, "status": "rejected", "reason": "rejected by the provider stand-in"}),
        ),
        Some(ProviderBehaviour::TimesOut { processed }) => {
            if let (true, Some(id)) = (*processed, transfer_id.as_str()) {
                scopes.processed.insert(id.to_owned(), ());
            }
            StubAnswer::json(
                201,
                json!({"transfer_id": transfer_id, "status": "accepted"}),
            )
            .after(scopes.slow_answer_after)
        }
        Some(ProviderBehaviour::IsDown) => provider_down(),
        // Only called for an account with a behaviour; answer normally all the same.
        Some(ProviderBehaviour::Accepts) | None => {
            if let Some(id) = transfer_id.as_str() {
                scopes.processed.insert(id.to_owned(), ());
            }
            StubAnswer::json(
                201,
                json!({"transfer_id": transfer_id, "status": "accepted"}),
            )
        }
    }
}

/// Answers `GET /transfers/{id}` for a transfer of an overridden account.
fn overridden_status(scopes: &Scopes, id: &str) -> StubAnswer {
    match scopes.behaviour_of_transfer(id) {
        Some(ProviderBehaviour::TimesOut { processed: true }) => {
            StubAnswer::json(200, json!({"transfer_id": id, "status": "accepted"}))
        }
        Some(ProviderBehaviour::Rejects) => StubAnswer::json(
            200,
            json!({"transfer_id": id, "status": "rejected", "reason": "rejected by the provider stand-in"}),
        ),
        Some(ProviderBehaviour::IsDown) => provider_down(),
        Some(ProviderBehaviour::TimesOut { processed: false })
        | Some(ProviderBehaviour::Accepts)
        | None => StubAnswer::json(
            404,
            json!({"code": "not_found", "message": "no such transfer"}),
        ),
    }
}

fn provider_down() -> StubAnswer {
    StubAnswer::json(
        503,
        json!({"code": "service_unavailable", "message": "provider stand-in is down"}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post_transfer(id: &str, debtor: &str) -> IncomingRequest {
        IncomingRequest {
            method: http::Method::POST,
            path: "/transfers".to_owned(),
            headers: http::HeaderMap::new(),
            body: json!({"transfer_id": id, "debtor_account": debtor})
                .to_string()
                .into(),
        }
    }

    fn status_query(id: &str) -> IncomingRequest {
        IncomingRequest {
            method: http::Method::GET,
            path: format!("/transfers/{id}"),
            headers: http::HeaderMap::new(),
            body: Default::default(),
        }
    }

    #[test]
    fn a_long_run_keeps_only_the_newest_transfers() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/provider");
        let mut stubs = load_provider_stubs(&dir).expect("fixtures load");
        stubs.sort_by_key(|stub| stub.priority);
        let mut scopes = Scopes::new(Duration::ZERO, 3);
        for n in 0..10 {
            let answered = answer(
                &mut scopes,
                &stubs,
                &post_transfer(&format!("pay_{n}"), "acc_a"),
            );
            assert_eq!(answered.status, 201);
        }
        assert_eq!(scopes.received.len(), 3, "received requests are bounded");
        assert_eq!(scopes.processed.len(), 3, "processed ids are bounded");
        assert_eq!(
            answer(&mut scopes, &stubs, &status_query("pay_9")).status,
            200,
            "the newest processed transfer is still known"
        );
        assert_eq!(
            answer(&mut scopes, &stubs, &status_query("pay_0")).status,
            404,
            "the oldest was forgotten"
        );
    }
}
