//! A merchant's webhook endpoint stand-in: its own wiremock server, answering 200 unless told
//! otherwise, recording every request with the status it answered.

use std::{net::IpAddr, sync::Arc};

use async_trait::async_trait;
use parking_lot::Mutex;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate, matchers::any};

use crate::{MerchantEndpoint, ReceivedWebhook};

/// What the endpoint answers next, and what it has received.
#[derive(Default)]
struct State {
    /// Requests still to fail with `fail_status`.
    fail_remaining: u64,
    fail_status: u16,
    /// Answer every request with this, overriding everything else.
    always: Option<u16>,
    received: Vec<ReceivedWebhook>,
}

/// A merchant endpoint on its own wiremock server on 127.0.0.1.
pub struct WiremockMerchantEndpoint {
    server: MockServer,
    state: Arc<Mutex<State>>,
}

impl WiremockMerchantEndpoint {
    /// Start a fresh endpoint answering 200 to everything.
    pub async fn start() -> Self {
        let server = MockServer::builder().start().await;
        Self::serve(server).await
    }

    /// A fresh endpoint listening on `ip` (an ephemeral port): e.g. the gateway of a container
    /// network, so services in containers can reach it.
    pub async fn start_on(ip: IpAddr) -> anyhow::Result<Self> {
        let listener = std::net::TcpListener::bind((ip, 0))
            .map_err(|e| anyhow::anyhow!("binding a merchant endpoint to {ip}: {e}"))?;
        Ok(Self::serve(MockServer::builder().listener(listener).start().await).await)
    }

    async fn serve(server: MockServer) -> Self {
        let state = Arc::new(Mutex::new(State::default()));
        server
            .register(
                Mock::given(any())
                    .respond_with(Recorder(state.clone()))
                    .named("merchant endpoint"),
            )
            .await;
        WiremockMerchantEndpoint { server, state }
    }
}

#[async_trait]
impl MerchantEndpoint for WiremockMerchantEndpoint {
    fn url(&self) -> String {
        format!("{}/webhooks", self.server.uri())
    }

    async fn fail_next(&self, times: u64, status: u16) {
        let mut state = self.state.lock();
        state.always = None;
        state.fail_remaining = times;
        state.fail_status = status;
    }

    async fn always_answer(&self, status: u16) {
        let mut state = self.state.lock();
        state.fail_remaining = 0;
        state.always = Some(status);
    }

    async fn received(&self) -> Vec<ReceivedWebhook> {
        self.state.lock().received.clone()
    }
}

/// Decides the status under the lock, so concurrent deliveries each consume one failure.
struct Recorder(Arc<Mutex<State>>);

impl Respond for Recorder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut state = self.0.lock();
        let status = match state.always {
            Some(status) => status,
            None if state.fail_remaining > 0 => {
                state.fail_remaining -= 1;
                state.fail_status
            }
            None => 200,
        };
        state.received.push(ReceivedWebhook {
            headers: request
                .headers
                .iter()
                .map(|(name, value)| {
                    (
                        name.as_str().to_ascii_lowercase(),
                        String::from_utf8_lossy(value.as_bytes()).into_owned(),
                    )
                })
                .collect(),
            body: request.body.clone(),
            answered: status,
        });
        ResponseTemplate::new(status)
    }
}
