//! A merchant's webhook endpoint stand-in: its own small HTTP server, answering 200 unless told
//! otherwise, recording every request with the status it answered (the newest
//! [`REMEMBERED_WEBHOOKS`], so a long run does not grow with every delivery).

use std::{
    collections::VecDeque,
    net::{IpAddr, Ipv4Addr},
    sync::Arc,
};

use async_trait::async_trait;
use parking_lot::Mutex;

use super::server::{IncomingRequest, StubAnswer, StubServer};
use crate::{MerchantEndpoint, ReceivedWebhook};

/// How many requests an endpoint remembers, newest first: far more than a scenario receives.
pub const REMEMBERED_WEBHOOKS: usize = 10_000;

/// What the endpoint answers next, and what it has received.
#[derive(Default)]
struct State {
    /// Requests still to fail with `fail_status`.
    fail_remaining: u64,
    fail_status: u16,
    /// Answer every request with this, overriding everything else.
    always: Option<u16>,
    received: VecDeque<ReceivedWebhook>,
}

/// A merchant endpoint on its own server.
pub struct MerchantStandIn {
    server: StubServer,
    state: Arc<Mutex<State>>,
}

impl MerchantStandIn {
    /// Start a fresh endpoint on 127.0.0.1 answering 200 to everything.
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_on(Ipv4Addr::LOCALHOST.into()).await
    }

    /// A fresh endpoint listening on `ip` (an ephemeral port): e.g. the gateway of a container
    /// network, so services in containers can reach it.
    pub async fn start_on(ip: IpAddr) -> anyhow::Result<Self> {
        let listener = std::net::TcpListener::bind((ip, 0))
            .map_err(|e| anyhow::anyhow!("binding a merchant endpoint to {ip}: {e}"))?;
        let state = Arc::new(Mutex::new(State::default()));
        let answering = state.clone();
        let server = StubServer::start(listener, move |request| {
            record(&mut answering.lock(), request)
        })?;
        Ok(MerchantStandIn { server, state })
    }
}

#[async_trait]
impl MerchantEndpoint for MerchantStandIn {
    fn url(&self) -> String {
        format!("{}/webhooks", self.server.url())
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
        self.state.lock().received.iter().cloned().collect()
    }
}

/// Decides the status under the lock, so concurrent deliveries each consume one failure.
fn record(state: &mut State, request: &IncomingRequest) -> StubAnswer {
    let status = match state.always {
        Some(status) => status,
        None if state.fail_remaining > 0 => {
            state.fail_remaining -= 1;
            state.fail_status
        }
        None => 200,
    };
    if state.received.len() >= REMEMBERED_WEBHOOKS {
        state.received.pop_front();
    }
    state.received.push_back(ReceivedWebhook {
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
        body: request.body.to_vec(),
        answered: status,
    });
    StubAnswer::status(status)
}
