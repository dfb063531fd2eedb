//! ledger over HTTP: accounts, top-ups, holds, capture, release, idempotency, the no-overdraft
//! rule under concurrency, owner checks on the public route, and the audit.

#[macro_use]
mod database_support;

use std::time::Duration;

use minibank::app::Deps;
use minibank::domain::{AccountId, CustomerId, MerchantId};
use minibank::rpc::RpcClient;
use minibank::telemetry::Telemetry;
use serde_json::{Value, json};

struct Ledger {
    url: String,
    http: reqwest::Client,
}

async fn spawn_ledger(db: &database_support::Databases) -> Ledger {
    let settings = minibank::ledger::Settings {
        bind: "127.0.0.1:0".parse().unwrap(),
        database_url: db.url("ledger").await,
    };
    let deps = Deps::new(Telemetry::disabled("ledger"), RpcClient::shared_http());
    let app = minibank::ledger::build(settings, deps).await.unwrap();
    let url = app.base_url();
    tokio::spawn(app.run_until_stopped());
    Ledger {
        url,
        http: RpcClient::shared_http(),
    }
}

impl Ledger {
    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let response = self
            .http
            .post(format!("{}{path}", self.url))
            .json(&body)
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str, identity: Option<(&str, &str, &str)>) -> (u16, Value) {
        let mut request = self.http.get(format!("{}{path}", self.url));
        if let Some((subject, role, scopes)) = identity {
            request = request
                .header("x-minibank-subject", subject)
                .header("x-minibank-role", role)
                .header("x-minibank-scopes", scopes);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn open(&self, owner: &str, currency: &str, kind: &str) -> String {
        let account_id = AccountId::generate().to_string();
        let (status, _) = self
            .post(
                "/accounts",
                json!({"account_id": account_id, "owner_id": owner, "currency": currency, "kind": kind}),
            )
            .await;
        assert_eq!(status, 201);
        account_id
    }

    async fn top_up(&self, account_id: &str, amount: i64) {
        let (status, body) = self
            .post(
                &format!("/accounts/{account_id}/top-ups"),
                json!({"operation_id": format!("top-{}", uuid::Uuid::now_v7()), "amount": amount, "currency": "GBP"}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
    }

    async fn account(&self, account_id: &str) -> Value {
        let (status, body) = self.get(&format!("/accounts/{account_id}"), None).await;
        assert_eq!(status, 200, "{body}");
        body
    }

    async fn hold(&self, operation_id: &str, account_id: &str, amount: i64) -> (u16, Value) {
        self.post(
            "/holds",
            json!({"operation_id": operation_id, "account_id": account_id, "amount": amount, "currency": "GBP"}),
        )
        .await
    }
}

fn customer() -> String {
    CustomerId::generate().to_string()
}

on_every_database! {
    #[tokio::test]
    async fn opening_an_account_is_idempotent_by_account_id_and_refuses_a_different_owner(db) {
        let ledger = spawn_ledger(&db).await;
        let owner = customer();
        let account_id = AccountId::generate().to_string();
        let body =
            json!({"account_id": account_id, "owner_id": owner, "currency": "GBP", "kind": "customer"});
        assert_eq!(ledger.post("/accounts", body.clone()).await.0, 201);
        let (status, again) = ledger.post("/accounts", body).await;
        assert_eq!((status, again["balance"].as_i64()), (200, Some(0)));
        let (status, conflict) = ledger
            .post(
                "/accounts",
                json!({"account_id": account_id, "owner_id": customer(), "currency": "GBP", "kind": "customer"}),
            )
            .await;
        assert_eq!(
            (status, conflict["code"].as_str()),
            (409, Some("account_exists"))
        );
        let (status, listed) = ledger
            .get(&format!("/accounts?owner_id={owner}&currency=GBP"), None)
            .await;
        assert_eq!(status, 200);
        assert_eq!(listed["accounts"][0]["account_id"], account_id.as_str());
        let (_, none) = ledger
            .get(&format!("/accounts?owner_id={owner}&currency=EUR"), None)
            .await;
        assert_eq!(none["accounts"].as_array().map(Vec::len), Some(0));
    }
}

on_every_database! {
    #[tokio::test]
    async fn bad_amounts_currencies_and_fields_are_refused_with_their_codes(db) {
        let ledger = spawn_ledger(&db).await;
        let account = ledger.open(&customer(), "GBP", "customer").await;
        let path = format!("/accounts/{account}/top-ups");
        for (body, code) in [
            (
                json!({"operation_id": "a", "amount": 0, "currency": "GBP"}),
                "invalid_amount",
            ),
            (
                json!({"operation_id": "b", "amount": 1.5, "currency": "GBP"}),
                "invalid_amount",
            ),
            (
                json!({"operation_id": "c", "amount": -5, "currency": "GBP"}),
                "invalid_amount",
            ),
            (
                json!({"operation_id": "d", "amount": 5, "currency": "XXX"}),
                "invalid_currency",
            ),
            (
                json!({"operation_id": "e", "amount": 5, "currency": "GBP", "extra": 1}),
                "unknown_field",
            ),
            (
                json!({"operation_id": "has spaces", "amount": 5, "currency": "GBP"}),
                "invalid_key",
            ),
            (json!({"amount": 5, "currency": "GBP"}), "missing_field"),
            (
                json!({"operation_id": "f", "amount": 5, "currency": "EUR"}),
                "currency_mismatch",
            ),
        ] {
            let (status, answer) = ledger.post(&path, body).await;
            assert_eq!(
                (status, answer["code"].as_str()),
                (422, Some(code)),
                "{answer}"
            );
        }
        assert_eq!(ledger.account(&account).await["balance"], 0);
    }
}

on_every_database! {
    #[tokio::test]
    async fn a_hold_reduces_available_and_one_that_would_overdraw_is_refused(db) {
        let ledger = spawn_ledger(&db).await;
        let account = ledger.open(&customer(), "GBP", "customer").await;
        ledger.top_up(&account, 1_000).await;
        let (status, hold) = ledger.hold("h1", &account, 700).await;
        assert_eq!(status, 201, "{hold}");
        let view = ledger.account(&account).await;
        assert_eq!(
            (
                view["balance"].as_i64(),
                view["held"].as_i64(),
                view["available"].as_i64()
            ),
            (Some(1000), Some(700), Some(300))
        );
        let (status, refused) = ledger.hold("h2", &account, 301).await;
        assert_eq!(
            (status, refused["code"].as_str()),
            (422, Some("insufficient_funds"))
        );
        // The refusal is recorded: replaying it refuses again even after money arrives.
        ledger.top_up(&account, 1_000).await;
        assert_eq!(ledger.hold("h2", &account, 301).await.0, 422);
    }
}

on_every_database! {
    #[tokio::test]
    async fn replaying_an_operation_returns_the_first_result_and_a_reused_id_is_refused(db) {
        let ledger = spawn_ledger(&db).await;
        let account = ledger.open(&customer(), "GBP", "customer").await;
        ledger.top_up(&account, 500).await;
        let (_, first) = ledger.hold("op-1", &account, 100).await;
        let (status, replay) = ledger.hold("op-1", &account, 100).await;
        assert_eq!(status, 201);
        assert_eq!(replay["hold_id"], first["hold_id"]);
        assert_eq!(
            ledger.account(&account).await["held"],
            100,
            "held once, not twice"
        );
        let (status, reused) = ledger.hold("op-1", &account, 200).await;
        assert_eq!(
            (status, reused["code"].as_str()),
            (422, Some("operation_id_reused"))
        );
    }
}

on_every_database! {
    #[tokio::test]
    async fn capture_moves_held_money_to_the_payee_and_release_gives_it_back(db) {
        let ledger = spawn_ledger(&db).await;
        let payer = ledger.open(&customer(), "GBP", "customer").await;
        let payee = ledger
            .open(&MerchantId::generate().to_string(), "GBP", "merchant")
            .await;
        ledger.top_up(&payer, 1_000).await;
        let (_, hold) = ledger.hold("pay-1:hold", &payer, 400).await;
        let hold_id = hold["hold_id"].as_str().unwrap();
        let capture = json!({"operation_id": "pay-1:capture", "to_account_id": payee});
        let (status, captured) = ledger
            .post(&format!("/holds/{hold_id}/capture"), capture.clone())
            .await;
        assert_eq!(
            (status, captured["status"].as_str()),
            (200, Some("captured"))
        );
        assert_eq!(
            ledger
                .post(&format!("/holds/{hold_id}/capture"), capture)
                .await
                .0,
            200,
            "replay"
        );
        assert_eq!(ledger.account(&payer).await["balance"], 600);
        assert_eq!(ledger.account(&payee).await["balance"], 400);
        // A captured hold cannot be released by another operation.
        let (status, body) = ledger
            .post(
                &format!("/holds/{hold_id}/release"),
                json!({"operation_id": "pay-1:release"}),
            )
            .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (409, Some("hold_not_active"))
        );

        let (_, hold) = ledger.hold("pay-2:hold", &payer, 600).await;
        let hold_id = hold["hold_id"].as_str().unwrap();
        let (status, released) = ledger
            .post(
                &format!("/holds/{hold_id}/release"),
                json!({"operation_id": "pay-2:release"}),
            )
            .await;
        assert_eq!(
            (status, released["status"].as_str()),
            (200, Some("released"))
        );
        let view = ledger.account(&payer).await;
        assert_eq!(
            (view["balance"].as_i64(), view["available"].as_i64()),
            (Some(600), Some(600))
        );

        let (status, audit) = ledger.get("/audit", None).await;
        assert_eq!(status, 200);
        assert_eq!(audit["balanced"], true, "{audit}");
        assert_eq!(audit["currencies"][0]["total_balances"], 0);
        assert_eq!(audit["currencies"][0]["total_top_ups"], 1000);
        assert_eq!(audit["currencies"][0]["open_holds"], 0);
    }
}

on_every_database! {
    #[tokio::test]
    async fn a_closed_account_takes_no_holds_or_top_ups(db) {
        let ledger = spawn_ledger(&db).await;
        let account = ledger.open(&customer(), "GBP", "customer").await;
        ledger.top_up(&account, 100).await;
        assert_eq!(
            ledger
                .post(&format!("/accounts/{account}/close"), json!({}))
                .await
                .0,
            200
        );
        let (status, body) = ledger.hold("closed-1", &account, 10).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (422, Some("account_closed"))
        );
        let (status, body) = ledger
            .post(
                &format!("/accounts/{account}/top-ups"),
                json!({"operation_id": "t", "amount": 5, "currency": "GBP"}),
            )
            .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (422, Some("account_closed"))
        );
    }
}

on_every_database! {
    #[tokio::test]
    async fn concurrent_holds_never_overdraw_an_account(db) {
        let ledger = spawn_ledger(&db).await;
        let account = ledger.open(&customer(), "GBP", "customer").await;
        ledger.top_up(&account, 100).await;
        let attempts = (0..30).map(|n| {
            let ledger = &ledger;
            let account = account.clone();
            async move { ledger.hold(&format!("race-{n}"), &account, 10).await.0 }
        });
        let statuses = futures::future::join_all(attempts).await;
        assert_eq!(
            statuses.iter().filter(|s| **s == 201).count(),
            10,
            "{statuses:?}"
        );
        assert!(
            statuses.iter().all(|s| *s == 201 || *s == 422),
            "{statuses:?}"
        );
        let view = ledger.account(&account).await;
        assert_eq!(
            (view["held"].as_i64(), view["available"].as_i64()),
            (Some(100), Some(0))
        );
    }
}

on_every_database! {
    #[tokio::test]
    async fn the_public_account_route_shows_an_account_only_to_its_owner(db) {
        let ledger = spawn_ledger(&db).await;
        let owner = customer();
        let account = ledger.open(&owner, "GBP", "customer").await;
        let path = format!("/v1/accounts/{account}");
        let (status, body) = ledger
            .get(&path, Some((&owner, "customer", "accounts:read")))
            .await;
        assert_eq!(
            (status, body["owner_id"].as_str()),
            (200, Some(owner.as_str()))
        );
        let (status, body) = ledger
            .get(&path, Some((&customer(), "customer", "accounts:read")))
            .await;
        assert_eq!((status, body["code"].as_str()), (404, Some("not_found")));
        assert_eq!(
            ledger
                .get(&path, Some((&owner, "customer", "payments:read")))
                .await
                .0,
            403
        );
        assert_eq!(ledger.get(&path, None).await.0, 401);
        let (status, _) = ledger
            .get(
                "/v1/ledger/audit",
                Some(("op_1", "operator", "ledger:audit")),
            )
            .await;
        assert_eq!(status, 200);
    }
}

on_every_database! {
    #[tokio::test]
    async fn a_payee_closed_after_the_hold_still_receives_the_capture(db) {
        let ledger = spawn_ledger(&db).await;
        let payer = ledger.open(&customer(), "GBP", "customer").await;
        let payee = ledger
            .open(&MerchantId::generate().to_string(), "GBP", "merchant")
            .await;
        ledger.top_up(&payer, 100).await;
        let (_, hold) = ledger.hold("late-close:hold", &payer, 60).await;
        assert_eq!(
            ledger
                .post(&format!("/accounts/{payee}/close"), json!({}))
                .await
                .0,
            200
        );
        let (status, captured) = ledger
            .post(
                &format!("/holds/{}/capture", hold["hold_id"].as_str().unwrap()),
                json!({"operation_id": "late-close:capture", "to_account_id": payee}),
            )
            .await;
        assert_eq!(status, 200, "{captured}");
        assert_eq!(ledger.account(&payee).await["balance"], 60);
    }
}

on_every_database! {
    // Two customers pay each other back and forth while the audit is read again and again: every
    // read must see a balanced ledger (one snapshot, also on PostgreSQL), and opposite captures
    // must not deadlock each other.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn the_audit_stays_balanced_while_money_moves_both_ways(db) {
        use std::sync::atomic::{AtomicBool, Ordering};

        let ledger = spawn_ledger(&db).await;
        let alice = ledger.open(&customer(), "GBP", "customer").await;
        let bob = ledger.open(&customer(), "GBP", "customer").await;
        ledger.top_up(&alice, 10_000).await;
        ledger.top_up(&bob, 10_000).await;
        let moves = (0..60).map(|n| {
            let (ledger, from, to) = (&ledger, &alice, &bob);
            let (from, to) = if n % 2 == 0 { (from, to) } else { (to, from) };
            async move {
                let (status, hold) = ledger.hold(&format!("move-{n}"), from, 10).await;
                assert_eq!(status, 201, "hold {n}: {hold}");
                let hold_id = hold["hold_id"].as_str().unwrap();
                let capture = json!({"operation_id": format!("move-{n}:capture"), "to_account_id": to});
                let (status, body) = ledger
                    .post(&format!("/holds/{hold_id}/capture"), capture)
                    .await;
                assert_eq!(status, 200, "capture {n}: {body}");
            }
        });
        let done = AtomicBool::new(false);
        let move_money = async {
            futures::future::join_all(moves).await;
            done.store(true, Ordering::SeqCst);
        };
        let read_audits = async {
            let mut reads = 0;
            loop {
                let finished = done.load(Ordering::SeqCst);
                let (status, audit) = ledger.get("/audit", None).await;
                assert_eq!(status, 200, "{audit}");
                assert_eq!(audit["balanced"], true, "audit read {reads} mid-flight: {audit}");
                reads += 1;
                if finished {
                    break reads;
                }
            }
        };
        let ((), reads) = tokio::join!(move_money, read_audits);
        assert!(reads > 1, "the audit was read while money moved ({reads} reads)");
        let (alice_after, bob_after) = (ledger.account(&alice).await, ledger.account(&bob).await);
        assert_eq!(
            (alice_after["balance"].as_i64(), bob_after["balance"].as_i64()),
            (Some(10_000), Some(10_000)),
            "30 moves each way cancel out"
        );
    }
}

on_every_database! {
    #[tokio::test]
    async fn a_refused_field_is_named_and_nothing_is_written(db) {
        let ledger = spawn_ledger(&db).await;
        let account = ledger.open(&customer(), "GBP", "customer").await;
        let (status, body) = ledger
            .post(
                &format!("/accounts/{account}/top-ups"),
                json!({"operation_id": "", "amount": 5, "currency": "GBP"}),
            )
            .await;
        assert_eq!(
            (status, body["code"].as_str(), body["field"].as_str()),
            (422, Some("invalid_key"), Some("operation_id")),
            "{body}"
        );
        let (status, body) = ledger
            .post(
                "/holds",
                json!({"operation_id": "h", "account_id": "acc_nope", "amount": 5, "currency": "GBP"}),
            )
            .await;
        assert_eq!(
            (status, body["code"].as_str(), body["field"].as_str()),
            (422, Some("invalid_id"), Some("account_id")),
            "{body}"
        );
        let (status, body) = ledger.get("/accounts", None).await;
        assert_eq!(
            (status, body["code"].as_str(), body["field"].as_str()),
            (422, Some("missing_field"), Some("owner_id")),
            "{body}"
        );
        assert_eq!(ledger.account(&account).await["balance"], 0);
    }
}

on_every_database! {
    #[tokio::test]
    async fn a_recorded_refusal_is_replayed_word_for_word_and_a_missing_account_is_not_recorded(db) {
        let ledger = spawn_ledger(&db).await;
        let account = ledger.open(&customer(), "GBP", "customer").await;
        let path = format!("/accounts/{account}/top-ups");
        let euros = json!({"operation_id": "eur-1", "amount": 5, "currency": "EUR"});
        let first = ledger.post(&path, euros.clone()).await;
        assert_eq!(
            (first.0, first.1["code"].as_str()),
            (422, Some("currency_mismatch")),
            "{}",
            first.1
        );
        assert_eq!(ledger.post(&path, euros).await, first, "replayed as first answered");

        // An account that does not exist yet: refused, not recorded, so the same operation id
        // succeeds once it is opened.
        let later = AccountId::generate().to_string();
        let body = json!({"operation_id": "early-1", "amount": 5, "currency": "GBP"});
        let later_path = format!("/accounts/{later}/top-ups");
        let (status, refused) = ledger.post(&later_path, body.clone()).await;
        assert_eq!(
            (status, refused["code"].as_str()),
            (404, Some("account_not_found"))
        );
        let owner = customer();
        let (status, _) = ledger
            .post(
                "/accounts",
                json!({"account_id": later, "owner_id": owner, "currency": "GBP", "kind": "customer"}),
            )
            .await;
        assert_eq!(status, 201);
        assert_eq!(ledger.post(&later_path, body).await.0, 201);
    }
}

on_every_database! {
    #[tokio::test]
    async fn a_capture_to_an_unknown_payee_or_of_an_unknown_hold_is_refused_and_changes_nothing(db) {
        let ledger = spawn_ledger(&db).await;
        let payer = ledger.open(&customer(), "GBP", "customer").await;
        ledger.top_up(&payer, 100).await;
        let (_, hold) = ledger.hold("fund:hold", &payer, 60).await;
        let capture = format!("/holds/{}/capture", hold["hold_id"].as_str().unwrap());
        for (operation_id, payee, expected) in [
            // A funding account is not an account id a caller can name.
            ("fund:capture", "funding:GBP".to_owned(), (422, Some("invalid_id"))),
            (
                "nowhere:capture",
                AccountId::generate().to_string(),
                (404, Some("account_not_found")),
            ),
        ] {
            let (status, body) = ledger
                .post(
                    &capture,
                    json!({"operation_id": operation_id, "to_account_id": payee}),
                )
                .await;
            assert_eq!((status, body["code"].as_str()), expected, "{body}");
        }
        let (status, body) = ledger
            .post(
                "/holds/hld_0190f4a4-5b6c-7d8e-9fa0-b1c2d3e4f5a6/release",
                json!({"operation_id": "ghost:release"}),
            )
            .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (404, Some("hold_not_found"))
        );
        assert_eq!(ledger.account(&payer).await["held"], 60, "the hold is untouched");
    }
}
