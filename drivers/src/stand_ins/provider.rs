//! The external bank provider stand-in: one wiremock server shared by every scenario of a run.
//!
//! Default answers come from `fixtures/provider/*.json` (accept every transfer; status queries
//! 404). A scenario changes how the provider treats *its own* debtor accounts with
//! [`ProviderControl::set_behaviour`]; other scenarios running at the same time are unaffected.
//!
//! How scoping works: per account, one `POST /transfers` mock matching
//! `body_partial_json({"debtor_account": account})` with priority 1 (defaults use 100). It only
//! matches while that account has a non-default behaviour, so `Accepts` simply steps aside and
//! the default stubs answer again. The responder records `transfer_id -> account`, which is how
//! the one `GET /transfers/{id}` override (a custom matcher) knows which scenario a status query
//! belongs to: the transfer id is the payment id, unknown until the platform sends it.
//!
//! Like the real provider, the stand-in remembers the transfers it processed (accepted by a
//! default stub, or processed behind a `TimesOut { processed: true }`): a status query for one
//! answers `accepted` whatever the scope's behaviour later becomes, so a transfer answered
//! too late for the platform (a loaded machine) is still settled rather than failed. Status
//! queries for anything else get the default stub (404).

use std::{
    collections::{HashMap, HashSet},
    net::{IpAddr, Ipv4Addr},
    path::Path,
    sync::Arc,
    time::Duration,
};

use async_trait::async_trait;
use parking_lot::Mutex;
use serde_json::{Value, json};
use wiremock::{
    Match, Mock, MockServer, Request, Respond, ResponseTemplate,
    matchers::{body_partial_json, method, path, path_regex},
};

use super::fixtures::{AnswerObserver, load_provider_stubs};
use crate::{ProviderBehaviour, ProviderControl};

/// Priority of per-scenario overrides.
const OVERRIDE_PRIORITY: u8 = 1;
/// Priority of the status answer for transfers the stand-in processed; fixture defaults must
/// use a larger number.
const PROCESSED_PRIORITY: u8 = 50;

/// Who gets which behaviour, and which account each overridden transfer came from.
#[derive(Default)]
struct Scopes {
    /// Accounts with a behaviour other than `Accepts`.
    behaviours: HashMap<String, ProviderBehaviour>,
    /// `transfer_id -> debtor_account` for transfers answered by an override.
    transfers: HashMap<String, String>,
    /// Transfers the provider processed (money moved), by id.
    processed: HashSet<String>,
    /// How long a `TimesOut` answer is held back (beyond the platform's provider timeout).
    slow_answer_after: Duration,
}

impl Scopes {
    fn behaviour_of_transfer(&self, transfer_id: &str) -> Option<ProviderBehaviour> {
        let account = self.transfers.get(transfer_id)?;
        self.behaviours.get(account).cloned()
    }
}

/// The provider stand-in. Also implements [`ProviderControl`] for the steps.
pub struct ProviderStandIn {
    server: MockServer,
    scopes: Arc<Mutex<Scopes>>,
    /// Accounts whose override mock is mounted (mounted once, then steered through `scopes`).
    mounted: tokio::sync::Mutex<HashSet<String>>,
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
        let stubs = load_provider_stubs(fixtures_dir)?;
        if let Some(low) = stubs.iter().find(|s| s.priority <= PROCESSED_PRIORITY) {
            anyhow::bail!(
                "provider stub {:?} has priority {}; defaults need a priority above {PROCESSED_PRIORITY} \
                 so per-scenario behaviours and the status of processed transfers win",
                low.description,
                low.priority
            );
        }
        let listener = std::net::TcpListener::bind((ip, 0))
            .map_err(|e| anyhow::anyhow!("binding the provider stand-in to {ip}: {e}"))?;
        let server = MockServer::builder().listener(listener).start().await;
        let scopes = Arc::new(Mutex::new(Scopes {
            slow_answer_after,
            ..Scopes::default()
        }));
        let remember = remember_processed(scopes.clone());
        for stub in &stubs {
            server
                .register(stub.to_mock_observed(Some(remember.clone())))
                .await;
        }
        server
            .register(
                Mock::given(method("GET"))
                    .and(path_regex(r"^/transfers/[^/]+$"))
                    .and(ProcessedTransfer(scopes.clone()))
                    .respond_with(|request: &Request| {
                        ResponseTemplate::new(200).set_body_json(
                            json!({"transfer_id": transfer_id_in_path(request), "status": "accepted"}),
                        )
                    })
                    .with_priority(PROCESSED_PRIORITY)
                    .named("status query of a transfer the provider processed"),
            )
            .await;
        // One status-query override for every scope: it finds the scope through the transfer id.
        server
            .register(
                Mock::given(method("GET"))
                    .and(path_regex(r"^/transfers/[^/]+$"))
                    .and(StatusOfOverriddenTransfer(scopes.clone()))
                    .respond_with(StatusResponder(scopes.clone()))
                    .with_priority(OVERRIDE_PRIORITY)
                    .named("status query of a transfer with a per-scenario behaviour"),
            )
            .await;
        Ok(ProviderStandIn {
            server,
            scopes,
            mounted: tokio::sync::Mutex::new(HashSet::new()),
        })
    }

    /// Base URL the platform should call, e.g. `http://127.0.0.1:40123`.
    pub fn url(&self) -> String {
        self.server.uri()
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
        {
            let mut scopes = self.scopes.lock();
            for account in accounts {
                if behaviour == ProviderBehaviour::Accepts {
                    scopes.behaviours.remove(account);
                } else {
                    scopes.behaviours.insert(account.clone(), behaviour.clone());
                }
            }
        }
        let mut mounted = self.mounted.lock().await;
        for account in accounts {
            if mounted.insert(account.clone()) {
                self.server
                    .register(
                        Mock::given(method("POST"))
                            .and(path("/transfers"))
                            .and(body_partial_json(json!({ "debtor_account": account })))
                            .and(AccountOverridden {
                                account: account.clone(),
                                scopes: self.scopes.clone(),
                            })
                            .respond_with(TransferResponder(self.scopes.clone()))
                            .with_priority(OVERRIDE_PRIORITY)
                            .named(format!("transfers from {account}")),
                    )
                    .await;
            }
        }
    }

    async fn transfers_received(&self, accounts: &[String]) -> Vec<Value> {
        let requests = self.server.received_requests().await.unwrap_or_default();
        requests
            .iter()
            .filter(|r| r.method == http::Method::POST && r.url.path() == "/transfers")
            .filter_map(|r| r.body_json::<Value>().ok())
            .filter(|body| {
                body.get("debtor_account")
                    .and_then(Value::as_str)
                    .is_some_and(|debtor| accounts.iter().any(|a| a == debtor))
            })
            .collect()
    }
}

/// Remembers the transfers a default stub accepted (2xx to `POST /transfers`).
fn remember_processed(scopes: Arc<Mutex<Scopes>>) -> AnswerObserver {
    Arc::new(move |request: &Request, status: u16| {
        let accepted = (200..300).contains(&status)
            && request.method == http::Method::POST
            && request.url.path() == "/transfers";
        let id = request
            .body_json::<Value>()
            .ok()
            .and_then(|b| b.get("transfer_id")?.as_str().map(str::to_string));
        if let (true, Some(id)) = (accepted, id) {
            scopes.lock().processed.insert(id);
        }
    })
}

/// Matches a status query for a transfer the provider processed.
struct ProcessedTransfer(Arc<Mutex<Scopes>>);

impl Match for ProcessedTransfer {
    fn matches(&self, request: &Request) -> bool {
        self.0
            .lock()
            .processed
            .contains(transfer_id_in_path(request))
    }
}

/// Matches while `account` has a behaviour other than the default.
struct AccountOverridden {
    account: String,
    scopes: Arc<Mutex<Scopes>>,
}

impl Match for AccountOverridden {
    fn matches(&self, _request: &Request) -> bool {
        self.scopes.lock().behaviours.contains_key(&self.account)
    }
}

/// Matches a status query for a transfer answered by an override still in force.
struct StatusOfOverriddenTransfer(Arc<Mutex<Scopes>>);

impl Match for StatusOfOverriddenTransfer {
    fn matches(&self, request: &Request) -> bool {
        let id = transfer_id_in_path(request);
        self.0.lock().behaviour_of_transfer(id).is_some()
    }
}

fn transfer_id_in_path(request: &Request) -> &str {
    request.url.path().rsplit('/').next().unwrap_or_default()
}

/// Answers `POST /transfers` for an overridden account, and remembers whose transfer it was.
struct TransferResponder(Arc<Mutex<Scopes>>);

impl Respond for TransferResponder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: Value = request.body_json().unwrap_or(Value::Null);
        let transfer_id = body.get("transfer_id").cloned().unwrap_or(Value::Null);
        let debtor = body
            .get("debtor_account")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let mut scopes = self.0.lock();
        if let Some(id) = transfer_id.as_str() {
            scopes.transfers.insert(id.to_string(), debtor.to_string());
        }
        match scopes.behaviours.get(debtor) {
            Some(ProviderBehaviour::Rejects) => ResponseTemplate::new(422).set_body_json(
                json!({"transfer_id": transfer_id, "status": "rejected", "reason": "rejected by the provider stand-in"}),
            ),
            Some(ProviderBehaviour::TimesOut { processed }) => {
                if let (true, Some(id)) = (*processed, transfer_id.as_str()) {
                    scopes.processed.insert(id.to_string());
                }
                ResponseTemplate::new(201)
                    .set_body_json(json!({"transfer_id": transfer_id, "status": "accepted"}))
                    .set_delay(scopes.slow_answer_after)
            }
            Some(ProviderBehaviour::IsDown) => provider_down(),
            // The matcher let the request through, then the behaviour changed: answer normally.
            Some(ProviderBehaviour::Accepts) | None => {
                if let Some(id) = transfer_id.as_str() {
                    scopes.processed.insert(id.to_string());
                }
                ResponseTemplate::new(201)
                    .set_body_json(json!({"transfer_id": transfer_id, "status": "accepted"}))
            }
        }
    }
}

/// Answers `GET /transfers/{id}` for a transfer of an overridden account.
struct StatusResponder(Arc<Mutex<Scopes>>);

impl Respond for StatusResponder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let id = transfer_id_in_path(request);
        let behaviour = self.0.lock().behaviour_of_transfer(id);
        match behaviour {
            Some(ProviderBehaviour::TimesOut { processed: true }) => ResponseTemplate::new(200)
                .set_body_json(json!({"transfer_id": id, "status": "accepted"})),
            Some(ProviderBehaviour::Rejects) => ResponseTemplate::new(200).set_body_json(
                json!({"transfer_id": id, "status": "rejected", "reason": "rejected by the provider stand-in"}),
            ),
            Some(ProviderBehaviour::IsDown) => provider_down(),
            Some(ProviderBehaviour::TimesOut { processed: false })
            | Some(ProviderBehaviour::Accepts)
            | None => ResponseTemplate::new(404)
                .set_body_json(json!({"code": "not_found", "message": "no such transfer"})),
        }
    }
}

fn provider_down() -> ResponseTemplate {
    ResponseTemplate::new(503).set_body_json(
        json!({"code": "service_unavailable", "message": "provider stand-in is down"}),
    )
}
