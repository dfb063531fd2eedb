//! The payment saga end to end (payments + ledger + webhooks, wiremock as the provider and the
//! merchant): every provider answer leads to the right final state and ledger movement, money is
//! never lost or moved twice, a restart resumes, idempotency keys behave, events reach the
//! merchant signed and in the payment's trace.

#[macro_use]
mod database_support;
mod payments_support;

use std::time::Duration;

use assert_matches::assert_matches;
use payments_support::{Money, eventually, payment_body};
use serde_json::{Value, json};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn provider() -> MockServer {
    MockServer::start().await
}

fn accepted() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"status": "accepted"}))
}

async fn submit_answers(provider: &MockServer, answer: ResponseTemplate) {
    Mock::given(method("POST"))
        .and(path("/transfers"))
        .respond_with(answer)
        .mount(provider)
        .await;
}

async fn status_answers(provider: &MockServer, answer: ResponseTemplate) {
    Mock::given(method("GET"))
        .and(path_regex("^/transfers/pay_.+$"))
        .respond_with(answer)
        .mount(provider)
        .await;
}

fn submits(requests: &[wiremock::Request]) -> usize {
    requests
        .iter()
        .filter(|r| r.method.as_str() == "POST")
        .count()
}

fn status(payment: &Value) -> &str {
    payment["status"].as_str().unwrap_or("?")
}

on_every_database! {
    #[tokio::test]
    async fn an_accepted_transfer_settles_captures_and_notifies_the_merchant_in_the_same_trace(db) {
        let provider = provider().await;
        submit_answers(&provider, accepted()).await;
        let money = Money::start(db, &provider.uri()).await;
        let (customer, payer) = money.customer(1_000).await;
        let (merchant, payee) = money.merchant().await;
        let endpoint = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200))
            .mount(&endpoint)
            .await;
        let (_, secret) = money
            .register_endpoint(&merchant, &format!("{}/hooks", endpoint.uri()))
            .await;

        let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
        let traceparent = format!("00-{trace_id}-00f067aa0ba902b7-01");
        let (code, payment) = money
            .pay_with_headers(
                &customer,
                "k-1",
                &[("traceparent", &traceparent)],
                payment_body(&merchant, 250),
            )
            .await;
        assert_eq!(code, 201, "{payment}");
        assert_eq!(status(&payment), "settled");
        assert_eq!(payment["payer_account_id"], payer.as_str());
        assert_eq!(payment["payee_account_id"], payee.as_str());
        assert_eq!(money.account(&payer).await["balance"], 750);
        assert_eq!(money.account(&payer).await["held"], 0);
        assert_eq!(money.account(&payee).await["balance"], 250);
        let transfer: Value = provider.received_requests().await.unwrap()[0]
            .body_json()
            .unwrap();
        assert_eq!(transfer["transfer_id"], payment["payment_id"]);
        assert_eq!(
            (
                transfer["amount"].as_i64(),
                transfer["debtor_account"].as_str()
            ),
            (Some(250), Some(payer.as_str()))
        );

        let delivered = eventually(|| async {
            endpoint
                .received_requests()
                .await
                .unwrap_or_default()
                .into_iter()
                .next()
        })
        .await;
        let header = |name: &str| {
            delivered
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned()
        };
        let signature = header("minibank-signature");
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        assert_eq!(
            minibank::webhooks::signature::verify(&secret, &signature, &delivered.body, now, 300),
            Ok(())
        );
        let event: Value = delivered.body_json().unwrap();
        assert_eq!(event["type"], "payment.settled");
        assert_eq!(event["data"]["payment_id"], payment["payment_id"]);
        assert_eq!(header("minibank-event-id"), event["id"].as_str().unwrap());
        assert!(
            header("traceparent").contains(trace_id),
            "webhook continues the payment's trace: {}",
            header("traceparent")
        );
        let deliveries = eventually(|| async {
            let all = money.deliveries(&merchant).await;
            (all.first().map(|d| d["status"] == "delivered") == Some(true)).then_some(all)
        })
        .await;
        assert_eq!(deliveries.len(), 1);
    }
}

on_every_database! {
    #[tokio::test]
    async fn a_rejected_transfer_fails_and_releases_the_hold(db) {
        let provider = provider().await;
        submit_answers(
            &provider,
            ResponseTemplate::new(422).set_body_json(json!({"status": "rejected", "reason": "closed"})),
        )
        .await;
        let money = Money::start(db, &provider.uri()).await;
        let (customer, payer) = money.customer(1_000).await;
        let (merchant, payee) = money.merchant().await;
        let (code, payment) = money
            .pay(&customer, "k-1", payment_body(&merchant, 400))
            .await;
        assert_eq!(code, 201);
        assert_eq!(
            (status(&payment), payment["failure_reason"].as_str()),
            ("failed", Some("provider_rejected"))
        );
        let account = money.account(&payer).await;
        assert_eq!(
            (account["balance"].as_i64(), account["held"].as_i64()),
            (Some(1000), Some(0))
        );
        assert_eq!(money.account(&payee).await["balance"], 0);
        assert_eq!(money.audit().await["currencies"][0]["open_holds"], 0);
    }
}

on_every_database! {
    #[tokio::test]
    async fn a_timeout_then_accepted_status_captures_exactly_once(db) {
        let provider = provider().await;
        submit_answers(&provider, accepted().set_delay(Duration::from_secs(3))).await;
        status_answers(&provider, accepted()).await;
        let money = Money::start(db, &provider.uri()).await;
        let (customer, payer) = money.customer(1_000).await;
        let (merchant, payee) = money.merchant().await;
        let (code, payment) = money
            .pay(&customer, "k-1", payment_body(&merchant, 300))
            .await;
        assert_eq!(code, 201);
        assert_eq!(status(&payment), "settled");
        assert_eq!(money.account(&payer).await["balance"], 700);
        assert_eq!(money.account(&payee).await["balance"], 300);
        let requests = provider.received_requests().await.unwrap();
        assert_eq!(submits(&requests), 1, "submitted once, then asked");
        assert!(requests.iter().any(|r| r.method.as_str() == "GET"));
    }
}

on_every_database! {
    #[tokio::test]
    async fn a_server_error_then_unknown_transfer_releases(db) {
        let provider = provider().await;
        submit_answers(&provider, ResponseTemplate::new(503)).await;
        status_answers(&provider, ResponseTemplate::new(404)).await;
        let money = Money::start(db, &provider.uri()).await;
        let (customer, payer) = money.customer(1_000).await;
        let (merchant, _) = money.merchant().await;
        let (_, payment) = money
            .pay(&customer, "k-1", payment_body(&merchant, 300))
            .await;
        assert_eq!(
            (status(&payment), payment["failure_reason"].as_str()),
            ("failed", Some("provider_failed"))
        );
        let account = money.account(&payer).await;
        assert_eq!(
            (account["balance"].as_i64(), account["available"].as_i64()),
            (Some(1000), Some(1000))
        );
    }
}

on_every_database! {
    #[tokio::test]
    async fn an_unreachable_provider_releases_the_hold(db) {
        // A port nobody listens on: bind, note it, close.
        let closed = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let money = Money::start(db, &format!("http://{closed}")).await;
        let (customer, payer) = money.customer(1_000).await;
        let (merchant, _) = money.merchant().await;
        let (_, payment) = money
            .pay(&customer, "k-1", payment_body(&merchant, 300))
            .await;
        assert_eq!(
            (status(&payment), payment["failure_reason"].as_str()),
            ("failed", Some("provider_unavailable"))
        );
        assert_eq!(money.account(&payer).await["held"], 0);
    }
}

on_every_database! {
    #[tokio::test]
    async fn a_failing_status_query_keeps_the_payment_processing_until_the_provider_answers(db) {
        let provider = provider().await;
        submit_answers(&provider, ResponseTemplate::new(500)).await;
        status_answers(&provider, ResponseTemplate::new(500)).await;
        let money = Money::start(db, &provider.uri()).await;
        let (customer, payer) = money.customer(1_000).await;
        let (merchant, payee) = money.merchant().await;
        let (code, payment) = money
            .pay(&customer, "k-1", payment_body(&merchant, 100))
            .await;
        assert_eq!((code, status(&payment)), (201, "processing"));
        let payment_id = payment["payment_id"].as_str().unwrap();
        // The background worker keeps asking while the provider cannot answer; the hold stays.
        eventually(|| async {
            let asked = provider.received_requests().await.unwrap_or_default();
            (asked.iter().filter(|r| r.method.as_str() == "GET").count() >= 3).then_some(())
        })
        .await;
        assert_eq!(
            status(&money.payment(&customer, payment_id).await),
            "processing"
        );
        assert_eq!(
            money.account(&payer).await["held"],
            100,
            "still held while unknown"
        );

        // The provider recovers and says the transfer went through.
        provider.reset().await;
        status_answers(&provider, accepted()).await;
        let settled = money.final_payment(&customer, payment_id).await;
        assert_eq!(status(&settled), "settled");
        assert_eq!(money.account(&payee).await["balance"], 100);
        assert_eq!(money.account(&payer).await["held"], 0);
        assert_eq!(
            submits(&provider.received_requests().await.unwrap()),
            0,
            "never resubmitted"
        );
    }
}

on_every_database! {
    #[tokio::test]
    async fn a_restart_mid_saga_resumes_and_pays_exactly_once(db) {
        let provider = provider().await;
        // The first submit hangs (the process "crashes" during it); later ones are accepted.
        Mock::given(method("POST"))
            .and(path("/transfers"))
            .respond_with(accepted().set_delay(Duration::from_secs(30)))
            .up_to_n_times(1)
            .with_priority(1)
            .mount(&provider)
            .await;
        submit_answers(&provider, accepted()).await;
        let mut money = Money::start_with(db, &provider.uri(), |s| {
            s.provider_timeout = Duration::from_secs(60)
        })
        .await;
        let (customer, payer) = money.customer(1_000).await;
        let (merchant, payee) = money.merchant().await;

        let pay = {
            let url = format!("{}/v1/payments", money.payments.url);
            let http = money.http.clone();
            let (customer, body) = (customer.clone(), payment_body(&merchant, 600));
            tokio::spawn(async move {
                http.post(url)
                    .header("x-minibank-subject", customer)
                    .header("x-minibank-role", "customer")
                    .header("x-minibank-scopes", "payments:write")
                    .header("idempotency-key", "k-restart")
                    .json(&body)
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
            })
        };
        eventually(|| async {
            (submits(&provider.received_requests().await.unwrap_or_default()) == 1).then_some(())
        })
        .await;
        assert_eq!(
            money.account(&payer).await["held"],
            600,
            "held before the crash"
        );
        money.restart_payments().await;
        assert_matches!(pay.await.unwrap(), Ok(503) | Err(_));

        // Replaying the key finds the same payment; the resumed saga finishes it.
        let (code, payment) = money
            .pay(&customer, "k-restart", payment_body(&merchant, 600))
            .await;
        assert_eq!(code, 200, "{payment}");
        let settled = money
            .final_payment(&customer, payment["payment_id"].as_str().unwrap())
            .await;
        assert_eq!(status(&settled), "settled");
        assert_eq!(money.account(&payer).await["balance"], 400);
        assert_eq!(money.account(&payer).await["held"], 0);
        assert_eq!(money.account(&payee).await["balance"], 600);
        assert_eq!(money.audit().await["balanced"], true);
    }
}

on_every_database! {
    #[tokio::test]
    async fn an_idempotency_key_replays_the_same_payment_and_refuses_another_body(db) {
        let provider = provider().await;
        submit_answers(&provider, accepted()).await;
        let money = Money::start(db, &provider.uri()).await;
        let (customer, payer) = money.customer(1_000).await;
        let (merchant, _) = money.merchant().await;
        let (first_code, first) = money
            .pay(&customer, "k-1", payment_body(&merchant, 100))
            .await;
        let (again_code, again) = money
            .pay(&customer, "k-1", payment_body(&merchant, 100))
            .await;
        assert_eq!((first_code, again_code), (201, 200));
        assert_eq!(first["payment_id"], again["payment_id"]);
        assert_eq!(money.account(&payer).await["balance"], 900, "paid once");
        let (code, body) = money
            .pay(&customer, "k-1", payment_body(&merchant, 101))
            .await;
        assert_eq!(
            (code, body["code"].as_str()),
            (422, Some("idempotency_key_reused"))
        );
        // Keys are scoped per customer: another customer may use the same key.
        let (other, _) = money.customer(500).await;
        let (code, other_payment) = money.pay(&other, "k-1", payment_body(&merchant, 100)).await;
        assert_eq!(code, 201);
        assert_ne!(other_payment["payment_id"], first["payment_id"]);
        assert_eq!(provider.received_requests().await.unwrap().len(), 2);
    }
}

on_every_database! {
    #[tokio::test]
    async fn bad_payment_requests_are_refused_with_their_codes(db) {
        let provider = provider().await;
        submit_answers(&provider, accepted()).await;
        let money = Money::start(db, &provider.uri()).await;
        let (customer, payer) = money.customer(100).await;
        let (merchant, _) = money.merchant().await;
        let unknown = minibank::domain::MerchantId::generate().to_string();
        let euro_merchant = minibank::domain::MerchantId::generate().to_string();
        money
            .open_account(&euro_merchant, "merchant", "EUR", 0)
            .await;
        let cases = [
            (payment_body(&unknown, 10), 422, "unknown_merchant"),
            (payment_body(&euro_merchant, 10), 422, "currency_mismatch"),
            (payment_body(&merchant, 0), 422, "invalid_amount"),
            (
                json!({"merchant_id": merchant, "amount": 10, "currency": "ABC"}),
                422,
                "invalid_currency",
            ),
            (
                json!({"merchant_id": merchant, "amount": 10, "currency": "GBP", "tip": 1}),
                422,
                "unknown_field",
            ),
            (payment_body(&merchant, 101), 422, "insufficient_funds"),
        ];
        for (n, (body, expected_status, expected_code)) in cases.into_iter().enumerate() {
            let (code, answer) = money.pay(&customer, &format!("bad-{n}"), body).await;
            assert_eq!(
                (code, answer["code"].as_str()),
                (expected_status, Some(expected_code)),
                "case {n}: {answer}"
            );
        }
        let (code, answer) = money
            .post(
                &format!("{}/v1/payments", money.payments.url),
                Some((&customer, "customer", "payments:write")),
                &[],
                payment_body(&merchant, 10),
            )
            .await;
        assert_eq!(
            (code, answer["code"].as_str()),
            (400, Some("missing_idempotency_key"))
        );
        // A key with a space (or over 255 characters) is refused with its own code.
        let (code, answer) = money
            .pay(&customer, "order 1", payment_body(&merchant, 10))
            .await;
        assert_eq!(
            (code, answer["code"].as_str()),
            (400, Some("invalid_idempotency_key")),
            "{answer}"
        );
        let account = money.account(&payer).await;
        assert_eq!(
            (account["balance"].as_i64(), account["held"].as_i64()),
            (Some(100), Some(0)),
            "nothing held"
        );
        assert!(provider.received_requests().await.unwrap().is_empty());
    }
}

on_every_database! {
    #[tokio::test]
    async fn a_payment_is_visible_to_its_customer_and_merchant_only(db) {
        let provider = provider().await;
        submit_answers(&provider, accepted()).await;
        let money = Money::start(db, &provider.uri()).await;
        let (customer, _) = money.customer(100).await;
        let (merchant, _) = money.merchant().await;
        let (_, payment) = money.pay(&customer, "k", payment_body(&merchant, 10)).await;
        let url = format!(
            "{}/v1/payments/{}",
            money.payments.url,
            payment["payment_id"].as_str().unwrap()
        );
        assert_eq!(
            money
                .get(&url, Some((&merchant, "merchant", "payments:read")))
                .await
                .0,
            200
        );
        let stranger = minibank::domain::CustomerId::generate().to_string();
        let (code, body) = money
            .get(&url, Some((&stranger, "customer", "payments:read")))
            .await;
        assert_eq!((code, body["code"].as_str()), (404, Some("not_found")));
        assert_eq!(money.get(&url, None).await.0, 401);
    }
}

on_every_database! {
    #[tokio::test]
    async fn closed_accounts_take_no_new_payments(db) {
        let provider = provider().await;
        submit_answers(&provider, accepted()).await;
        let money = Money::start(db, &provider.uri()).await;
        let (customer, payer) = money.customer(1_000).await;
        let (merchant, payee) = money.merchant().await;
        let close = |account: String| {
            let money = &money;
            async move {
                let url = format!("{}/accounts/{account}/close", money.ledger_url);
                assert_eq!(money.post(&url, None, &[], json!({})).await.0, 200);
            }
        };
        close(payee).await;
        let (code, body) = money
            .pay(&customer, "k-1", payment_body(&merchant, 10))
            .await;
        assert_eq!((code, body["code"].as_str()), (422, Some("account_closed")));

        let (open_merchant, _) = money.merchant().await;
        close(payer.clone()).await;
        let (code, payment) = money
            .pay(&customer, "k-2", payment_body(&open_merchant, 10))
            .await;
        assert_eq!(code, 201, "{payment}");
        assert_eq!(
            (status(&payment), payment["failure_reason"].as_str()),
            ("failed", Some("account_closed"))
        );
        assert_eq!(money.account(&payer).await["balance"], 1_000);
        assert!(provider.received_requests().await.unwrap().is_empty());
    }
}

on_every_database! {
    #[tokio::test]
    async fn a_ledger_failure_during_capture_is_retried_until_it_captures_never_released(db) {
        let provider = provider().await;
        submit_answers(&provider, accepted()).await;
        // A ledger stand-in that fails the first four captures.
        let ledger = MockServer::start().await;
        let account = minibank::domain::AccountId::generate().to_string();
        Mock::given(method("GET"))
            .and(path("/accounts"))
            .respond_with(ResponseTemplate::new(200).set_body_json(
                json!({"accounts": [{"account_id": account, "currency": "GBP", "status": "open"}]}),
            ))
            .mount(&ledger)
            .await;
        Mock::given(method("POST"))
            .and(path("/holds"))
            .respond_with(ResponseTemplate::new(201).set_body_json(json!({"hold_id": "hld_1"})))
            .mount(&ledger)
            .await;
        Mock::given(method("POST"))
            .and(path("/holds/hld_1/capture"))
            .respond_with(ResponseTemplate::new(503))
            // More failures than the RPC layer's own retries (2), so the saga has to postpone.
            .up_to_n_times(4)
            .with_priority(1)
            .mount(&ledger)
            .await;
        Mock::given(method("POST"))
            .and(path("/holds/hld_1/capture"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"status": "captured"})))
            .mount(&ledger)
            .await;
        let ledger_url = ledger.uri();
        let money = Money::start_with(db, &provider.uri(), move |s| s.ledger_url = ledger_url).await;
        let customer = minibank::domain::CustomerId::generate().to_string();
        let merchant = minibank::domain::MerchantId::generate().to_string();

        let (code, payment) = money
            .pay(&customer, "k-1", payment_body(&merchant, 100))
            .await;
        assert_eq!((code, status(&payment)), (201, "processing"), "{payment}");
        let settled = money
            .final_payment(&customer, payment["payment_id"].as_str().unwrap())
            .await;
        assert_eq!(status(&settled), "settled");
        let calls = ledger.received_requests().await.unwrap();
        let captures: Vec<Value> = calls
            .iter()
            .filter(|r| r.url.path().ends_with("/capture"))
            .map(|r| r.body_json().unwrap())
            .collect();
        assert_eq!(captures.len(), 5);
        assert!(
            captures.iter().all(|c| c == &captures[0]),
            "same operation id every time: {captures:?}"
        );
        assert!(!calls.iter().any(|r| r.url.path().ends_with("/release")));
    }
}
