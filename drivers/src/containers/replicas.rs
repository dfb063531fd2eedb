//! Replicas in containers ([`crate::Capability::Replicas`]) and the mesh glue of the driver.
//!
//! A replica is one more `minibank serve <service>` container with the service's network alias
//! (and its data volume): the network's DNS answers the service's name with every replica's
//! address, and the callers, which resolve it again every [`DNS_REFRESH`], balance over them.
//! Adding one waits until it is ready AND every caller balances over it; removing one stops it
//! (gracefully: in-flight calls finish) and waits until no caller lists it before removing it.

use std::net::IpAddr;
use std::time::Instant;

use anyhow::Context as _;
use testcontainers::runners::AsyncRunner as _;

use super::driver::ContainersDriver;
use super::mesh::{CircuitReport, control_url, fault_body};
use super::network::POLL;
use super::spec::{self, DNS_REFRESH, REPLICABLE, SERVICE_PORT};
use crate::{CallFault, CallFaultId, CircuitView, SERVICES};

impl ContainersDriver {
    /// The address of `service`'s replica number `ordinal` on the network (1: the container
    /// started at boot; 2 and up: those [`ContainersDriver::start_replica`] added, oldest first).
    async fn replica_ip(&self, service: &str, ordinal: usize) -> anyhow::Result<IpAddr> {
        let running = self.running.lock().await;
        let running = running
            .as_ref()
            .context("the containers driver was shut down")?;
        let container = match ordinal {
            0 => anyhow::bail!("replicas are numbered from 1"),
            1 => running
                .containers
                .get(service)
                .with_context(|| format!("{service} is not a service of this run"))?,
            n => running
                .replicas
                .iter()
                .filter(|(name, _)| name == service)
                .nth(n - 2)
                .map(|(_, container)| container)
                .with_context(|| format!("{service} has no replica number {n}"))?,
        };
        self.network.address_of(&self.docker, container.id()).await
    }

    /// The fault-control URL of `service`'s first replica.
    async fn control_of(&self, service: &str) -> anyhow::Result<String> {
        Ok(control_url(self.replica_ip(service, 1).await?))
    }

    pub(super) async fn inject(&self, fault: CallFault) -> anyhow::Result<CallFaultId> {
        let callers: Vec<&str> = match &fault.caller {
            Some(caller) => {
                anyhow::ensure!(
                    SERVICES.contains(&caller.as_str()),
                    "unknown caller {caller:?}; known: {SERVICES:?}"
                );
                vec![caller.as_str()]
            }
            None => SERVICES.to_vec(),
        };
        let address = match fault.replica {
            Some(ordinal) => Some(format!(
                "{}:{SERVICE_PORT}",
                self.replica_ip(&fault.target, ordinal).await?
            )),
            None => None,
        };
        let mut places = Vec::with_capacity(callers.len());
        for caller in callers {
            places.push((caller.to_owned(), self.control_of(caller).await?));
        }
        self.faults.add(&places, &fault_body(&fault, address)).await
    }

    pub(super) async fn fault_hits(&self, id: CallFaultId) -> anyhow::Result<u32> {
        let mut hits = 0;
        for (service, remote) in self.faults.placed(id)? {
            hits += self
                .faults
                .hits(&self.control_of(&service).await?, remote)
                .await?;
        }
        Ok(hits)
    }

    pub(super) async fn clear_fault(&self, id: CallFaultId) -> anyhow::Result<()> {
        for (service, remote) in self.faults.placed(id)? {
            self.faults
                .clear(&self.control_of(&service).await?, remote)
                .await?;
        }
        Ok(())
    }

    async fn circuit_report(
        &self,
        caller: &str,
        target: &str,
    ) -> anyhow::Result<Option<CircuitReport>> {
        let url = self.control_of(caller).await?;
        self.faults.circuit(&url, target).await
    }

    pub(super) async fn circuit_view(
        &self,
        caller: &str,
        target: &str,
    ) -> anyhow::Result<CircuitView> {
        self.circuit_report(caller, target)
            .await?
            .map(|report| report.state)
            .with_context(|| format!("{caller} does not call {target}"))
    }

    /// Waits until every service that calls `service` balances over the replica at `ip`, in
    /// rotation (`present`), or no longer lists it (`!present`).
    pub(super) async fn await_callers(
        &self,
        service: &str,
        ip: IpAddr,
        present: bool,
    ) -> anyhow::Result<()> {
        let url = format!("http://{ip}:{SERVICE_PORT}");
        let deadline = Instant::now() + self.ready_timeout;
        loop {
            let mut waiting_for = Vec::new();
            for caller in SERVICES {
                let Some(report) = self.circuit_report(caller, service).await? else {
                    continue;
                };
                let listed = report.replicas.iter().any(|(replica, state)| {
                    *replica == url && (!present || *state == CircuitView::Closed)
                });
                if listed != present {
                    waiting_for.push(caller);
                }
            }
            if waiting_for.is_empty() {
                return Ok(());
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "{waiting_for:?} still {} {service}'s replica {url} after {:?} (peers are \
                 resolved again every {DNS_REFRESH:?})",
                if present {
                    "do not balance over"
                } else {
                    "list"
                },
                self.ready_timeout
            );
            // The interval between two checks of the condition, not a wait for it.
            tokio::time::sleep(POLL).await;
        }
    }

    pub(super) async fn start_replica(&self, service: &str) -> anyhow::Result<()> {
        anyhow::ensure!(
            REPLICABLE.contains(&service),
            "only {REPLICABLE:?} can have replicas here, not {service:?} (the others run \
             background workers that would contend over one database)"
        );
        let mut guard = self.running.lock().await;
        let running = guard
            .as_mut()
            .context("the containers driver was shut down")?;
        let ordinal = 2 + running
            .replicas
            .iter()
            .filter(|(name, _)| name == service)
            .count();
        let component = format!("{service}-{ordinal}");
        let request = spec::replica(
            &self.image_report.images,
            &self.run,
            &self.network.name,
            service,
            ordinal,
            &self.platform,
        );
        let container = request
            .start()
            .await
            .with_context(|| format!("starting the {component} container"))?;
        self.logs
            .follow(self.docker.clone(), &component, container.id());
        let added = async {
            self.network
                .add_alias(&self.docker, container.id(), service)
                .await?;
            super::driver::await_ready(
                &self.docker,
                &self.network,
                &self.http,
                &self.logs,
                &component,
                &container,
                self.ready_timeout,
            )
            .await
        }
        .await;
        let ip = match added {
            Ok(ip) => ip,
            Err(error) => {
                let _ = container.rm().await;
                return Err(error);
            }
        };
        running.replicas.push((service.to_owned(), container));
        drop(guard);
        self.await_callers(service, ip, true).await
    }

    pub(super) async fn stop_replica(&self, service: &str) -> anyhow::Result<()> {
        let container = {
            let mut running = self.running.lock().await;
            let running = running
                .as_mut()
                .context("the containers driver was shut down")?;
            let index = running
                .replicas
                .iter()
                .rposition(|(name, _)| name == service)
                .with_context(|| format!("{service} has no added replica to remove"))?;
            running.replicas.remove(index).1
        };
        let ip = self
            .network
            .address_of(&self.docker, container.id())
            .await?;
        // Graceful: in-flight calls finish, then it leaves the network and its name.
        container.stop_with_timeout(Some(10)).await?;
        self.await_callers(service, ip, false).await?;
        container.rm().await?;
        Ok(())
    }
}
