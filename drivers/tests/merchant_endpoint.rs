//! A merchant endpoint stand-in fails as told, then recovers, recording what it answered.

use drivers::{MerchantEndpoint, stand_ins::MerchantStandIn};

async fn deliver(endpoint: &MerchantStandIn, body: &str) -> u16 {
    reqwest::Client::new()
        .post(endpoint.url())
        .header("minibank-event-id", "evt_1")
        .body(body.to_string())
        .send()
        .await
        .expect("endpoint answers")
        .status()
        .as_u16()
}

#[tokio::test]
async fn fail_next_fails_that_many_times_then_answers_200_and_records_each_status() {
    let endpoint = MerchantStandIn::start()
        .await
        .expect("merchant stand-in starts");
    endpoint.fail_next(2, 500).await;
    let statuses = [
        deliver(&endpoint, "a").await,
        deliver(&endpoint, "b").await,
        deliver(&endpoint, "c").await,
    ];
    assert_eq!(statuses, [500, 500, 200]);
    let received = endpoint.received().await;
    let answered: Vec<u16> = received.iter().map(|r| r.answered).collect();
    assert_eq!(answered, [500, 500, 200]);
    assert_eq!(received[2].body, b"c");
    assert!(
        received[0]
            .headers
            .iter()
            .any(|(k, v)| k == "minibank-event-id" && v == "evt_1")
    );
}

#[tokio::test]
async fn always_answer_holds_until_changed() {
    let endpoint = MerchantStandIn::start()
        .await
        .expect("merchant stand-in starts");
    endpoint.always_answer(410).await;
    assert_eq!(deliver(&endpoint, "x").await, 410);
    assert_eq!(deliver(&endpoint, "y").await, 410);
    endpoint.always_answer(200).await;
    assert_eq!(deliver(&endpoint, "z").await, 200);
}

#[tokio::test]
async fn each_endpoint_has_its_own_address_and_record() {
    let first = MerchantStandIn::start()
        .await
        .expect("merchant stand-in starts");
    let second = MerchantStandIn::start()
        .await
        .expect("merchant stand-in starts");
    assert_ne!(first.url(), second.url());
    deliver(&first, "only first").await;
    assert_eq!(first.received().await.len(), 1);
    assert!(second.received().await.is_empty());
}
