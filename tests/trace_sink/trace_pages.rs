//! The query port's pages for people: `/trace/{id}` (one waterfall) and `/traces` (recent).

use harness::model::{AttrValue, SpanKind};

use crate::support::{http_client, span, start_sink, trace_id};

#[tokio::test]
async fn a_trace_page_is_one_html_document_carrying_the_waterfall_renderer_and_the_trace() {
    let sink = start_sink().await;
    sink.store().insert(vec![
        span(1, 1, "payments").kind(SpanKind::Server).build(),
        span(1, 2, "payments")
            .parent(1)
            .kind(SpanKind::Client)
            .name("POST")
            .attr("peer.service", AttrValue::String("ledger".into()))
            .attr("url.template", AttrValue::String("/holds".into()))
            .build(),
    ]);
    let url = format!("{}/trace/{}", sink.query_url(), trace_id(1));
    let response = http_client().get(&url).send().await.expect("get");
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let page = response.text().await.expect("body");
    assert!(page.contains("var Waterfall"), "the report's renderer");
    assert!(page.contains(&format!("\"id\":\"{}\"", trace_id(1))));
    assert!(page.contains("payments → ledger POST /holds"), "{page}");
    assert!(
        !page.contains("http://") && !page.contains("https://"),
        "no network"
    );
}

#[tokio::test]
async fn an_unknown_trace_page_is_404_and_a_malformed_id_400() {
    let sink = start_sink().await;
    let client = http_client();
    let unknown = format!("{}/trace/{}", sink.query_url(), trace_id(9));
    let response = client.get(&unknown).send().await.expect("get");
    assert_eq!(response.status(), 404);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("is not (or no longer) held")
    );
    let bad = format!("{}/trace/nope", sink.query_url());
    assert_eq!(client.get(&bad).send().await.expect("get").status(), 400);
}

#[tokio::test]
async fn recent_traces_are_listed_newest_first_each_linking_to_its_page() {
    let sink = start_sink().await;
    sink.store().insert(vec![span(1, 1, "edge").build()]);
    sink.store().insert(vec![
        span(2, 2, "auth").build(),
        span(2, 3, "auth").parent(2).build(),
    ]);
    let page = http_client()
        .get(format!("{}/traces", sink.query_url()))
        .send()
        .await
        .expect("get")
        .text()
        .await
        .expect("body");
    let newer = page
        .find(&format!("<a href=\"/trace/{}\">", trace_id(2)))
        .expect("the newer trace is linked");
    let older = page
        .find(&format!("<a href=\"/trace/{}\">", trace_id(1)))
        .expect("the older trace is linked");
    assert!(newer < older, "newest first: {page}");
    assert!(page.contains("2 trace(s), newest first"));
}
