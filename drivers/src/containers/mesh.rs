//! Call faults and circuits in containers ([`crate::Capability::InjectFaults`]): the same
//! fault layer as in-process, reached through each service container's fault-control endpoint
//! (`minibank::fault_control`, on [`FAULT_CONTROL_PORT`], which the driver's environment turns
//! on). A fault for any caller is added to every service; its hits are the sum.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::Context as _;
use serde_json::{Value, json};

use super::spec::FAULT_CONTROL_PORT;
use crate::{CallFault, CallFaultId, CallFaultKind, CircuitView};

/// A circuit as a caller's fault-control endpoint reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CircuitReport {
    /// The worst state among the replicas (a replica failing health checks counts as open).
    pub state: CircuitView,
    /// The replicas the caller balances over now (`http://ip:port`), with their states.
    pub replicas: Vec<(String, CircuitView)>,
}

/// Talks to the services' fault-control endpoints and remembers where each fault went.
#[derive(Debug)]
pub struct FaultControl {
    http: reqwest::Client,
    next_id: AtomicU64,
    /// Each injected fault: the services it was added to and the id each gave it.
    placed: parking_lot::Mutex<HashMap<u64, Vec<(String, u64)>>>,
}

impl Default for FaultControl {
    fn default() -> Self {
        FaultControl {
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(5))
                .no_proxy()
                .build()
                .unwrap_or_default(),
            next_id: AtomicU64::new(1),
            placed: parking_lot::Mutex::default(),
        }
    }
}

/// The fault-control base URL of a container at `ip`.
pub fn control_url(ip: std::net::IpAddr) -> String {
    format!("http://{ip}:{FAULT_CONTROL_PORT}")
}

/// The endpoint's `POST /faults` body for `fault`, limited to the replica at `address`.
pub fn fault_body(fault: &CallFault, address: Option<String>) -> Value {
    let mut body = json!({
        "target": fault.target,
        "method": fault.method,
        "path_contains": fault.path_contains,
        "address": address,
        "scenario": fault.scenario,
        "times": fault.times,
    });
    let kind = match fault.kind {
        CallFaultKind::Latency(delay) => {
            body["latency_ms"] = json!(u64::try_from(delay.as_millis()).unwrap_or(u64::MAX));
            "latency"
        }
        CallFaultKind::Error(status) => {
            body["status"] = json!(status);
            "error"
        }
        CallFaultKind::Drop => "drop",
        CallFaultKind::Hang => "hang",
    };
    body["kind"] = json!(kind);
    body
}

fn view(state: &str) -> anyhow::Result<CircuitView> {
    Ok(match state {
        "closed" => CircuitView::Closed,
        "open" => CircuitView::Open,
        "half_open" => CircuitView::HalfOpen,
        other => anyhow::bail!("unknown circuit state {other:?}"),
    })
}

impl FaultControl {
    /// Adds `body` to each `(service, control URL)`; one id for all of them.
    pub async fn add(
        &self,
        places: &[(String, String)],
        body: &Value,
    ) -> anyhow::Result<CallFaultId> {
        let mut placed = Vec::with_capacity(places.len());
        for (service, url) in places {
            let response = self
                .http
                .post(format!("{url}/faults"))
                .json(body)
                .send()
                .await
                .with_context(|| format!("adding a fault at {service}'s fault control"))?;
            let status = response.status();
            let answer: Value = response.json().await.unwrap_or_default();
            anyhow::ensure!(
                status.is_success(),
                "{service}'s fault control refused {body}: {status} {answer}"
            );
            let id = answer["id"]
                .as_u64()
                .with_context(|| format!("{service}'s fault control gave no id: {answer}"))?;
            placed.push((service.clone(), id));
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.placed.lock().insert(id, placed);
        Ok(CallFaultId(id))
    }

    /// Where fault `id` was added: `(service, its id there)`.
    pub fn placed(&self, id: CallFaultId) -> anyhow::Result<Vec<(String, u64)>> {
        self.placed
            .lock()
            .get(&id.0)
            .cloned()
            .with_context(|| format!("no call fault {} was injected by this driver", id.0))
    }

    /// How many calls fault `remote` met at the endpoint `url` (0 if that service restarted
    /// since and forgot it).
    pub async fn hits(&self, url: &str, remote: u64) -> anyhow::Result<u32> {
        let response = self
            .http
            .get(format!("{url}/faults/{remote}"))
            .send()
            .await
            .context("reading a fault's hits")?;
        if response.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(0);
        }
        let status = response.status();
        let answer: Value = response.json().await.unwrap_or_default();
        anyhow::ensure!(
            status.is_success(),
            "reading fault {remote}: {status} {answer}"
        );
        answer["hits"]
            .as_u64()
            .and_then(|hits| u32::try_from(hits).ok())
            .with_context(|| format!("fault {remote} has no hits: {answer}"))
    }

    /// Removes fault `remote` at `url` (gone already is fine).
    pub async fn clear(&self, url: &str, remote: u64) -> anyhow::Result<()> {
        let response = self
            .http
            .delete(format!("{url}/faults/{remote}"))
            .send()
            .await
            .context("clearing a fault")?;
        let status = response.status();
        anyhow::ensure!(
            status.is_success() || status == reqwest::StatusCode::NOT_FOUND,
            "clearing fault {remote}: {status}"
        );
        Ok(())
    }

    /// The circuit towards `target` of the service whose endpoint is `url`; `None` when that
    /// service does not call `target`.
    pub async fn circuit(&self, url: &str, target: &str) -> anyhow::Result<Option<CircuitReport>> {
        let response = self
            .http
            .get(format!("{url}/circuits/{target}"))
            .send()
            .await
            .with_context(|| format!("reading the circuit to {target}"))?;
        let status = response.status();
        let answer: Value = response.json().await.unwrap_or_default();
        if status == reqwest::StatusCode::NOT_FOUND && answer["code"] == "no_client" {
            return Ok(None);
        }
        anyhow::ensure!(
            status.is_success(),
            "reading the circuit to {target}: {status} {answer}"
        );
        let replicas = answer["replicas"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|replica| {
                let url = replica["url"].as_str().unwrap_or_default().to_owned();
                Ok((url, view(replica["state"].as_str().unwrap_or_default())?))
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(Some(CircuitReport {
            state: view(answer["state"].as_str().unwrap_or_default())?,
            replicas,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn each_fault_kind_becomes_the_endpoints_body() {
        let fault = CallFault {
            caller: Some("edge".into()),
            target: "ledger".into(),
            method: Some("GET".into()),
            path_contains: Some("acc_1".into()),
            replica: Some(2),
            scenario: Some("s3f9a1".into()),
            kind: CallFaultKind::Latency(Duration::from_millis(1500)),
            times: Some(3),
        };
        let body = fault_body(&fault, Some("10.0.0.7:8080".into()));
        assert_eq!(
            body,
            json!({"target": "ledger", "kind": "latency", "latency_ms": 1500, "method": "GET",
                   "path_contains": "acc_1", "address": "10.0.0.7:8080", "scenario": "s3f9a1",
                   "times": 3})
        );
        let error = CallFault {
            kind: CallFaultKind::Error(503),
            ..fault.clone()
        };
        assert_eq!(fault_body(&error, None)["status"], 503);
        assert_eq!(fault_body(&error, None)["kind"], "error");
        let hang = CallFault {
            kind: CallFaultKind::Hang,
            ..fault
        };
        assert_eq!(fault_body(&hang, None)["kind"], "hang");
    }
}
