//! The run's own Docker network: created with the run's labels, its gateway (the host's
//! address on it, where the harness's stand-ins and trace sink listen), container addresses
//! on it, and cutting a container off it and back.

use std::{net::IpAddr, time::Duration};

use anyhow::Context as _;
use testcontainers::bollard::{
    Docker,
    models::{
        EndpointSettings, NetworkConnectRequest, NetworkCreateRequest, NetworkDisconnectRequest,
    },
};

use super::run::RunId;

/// The run's network.
#[derive(Debug, Clone)]
pub struct RunNetwork {
    /// Its name (also its id for the Docker API).
    pub name: String,
    /// The host's address on it.
    pub gateway: IpAddr,
}

impl RunNetwork {
    /// Creates the run's bridge network and reads its gateway.
    pub async fn create(docker: &Docker, run: &RunId) -> anyhow::Result<RunNetwork> {
        let name = run.name_of("net");
        docker
            .create_network(NetworkCreateRequest {
                name: name.clone(),
                driver: Some("bridge".to_owned()),
                labels: Some(run.labels()),
                ..Default::default()
            })
            .await
            .with_context(|| format!("creating network {name}"))?;
        let inspect = docker
            .inspect_network(&name, None)
            .await
            .with_context(|| format!("inspecting network {name}"))?;
        let gateway = inspect
            .ipam
            .and_then(|ipam| ipam.config)
            .into_iter()
            .flatten()
            .find_map(|config| config.gateway)
            .with_context(|| format!("network {name} has no gateway address"))?;
        let gateway = gateway
            .parse()
            .with_context(|| format!("network {name}: gateway {gateway:?} is not an address"))?;
        Ok(RunNetwork { name, gateway })
    }

    /// The address of container `id` on this network, once it has one.
    pub async fn address_of(&self, docker: &Docker, id: &str) -> anyhow::Result<IpAddr> {
        let inspect = docker
            .inspect_container(id, None)
            .await
            .with_context(|| format!("inspecting container {id}"))?;
        let address = inspect
            .network_settings
            .and_then(|s| s.networks)
            .and_then(|mut n| n.remove(&self.name))
            .and_then(|endpoint| endpoint.ip_address)
            .filter(|ip| !ip.is_empty())
            .with_context(|| format!("container {id} has no address on {}", self.name))?;
        address
            .parse()
            .with_context(|| format!("container {id}: {address:?} is not an address"))
    }

    /// Takes container `id` off the network (its peers can no longer resolve or reach it).
    pub async fn disconnect(&self, docker: &Docker, id: &str) -> anyhow::Result<()> {
        docker
            .disconnect_network(
                &self.name,
                NetworkDisconnectRequest {
                    container: id.to_owned(),
                    force: Some(true),
                },
            )
            .await
            .with_context(|| format!("disconnecting {id} from {}", self.name))
    }

    /// Puts container `id` back on the network, reachable under `alias` (its service name).
    pub async fn connect(&self, docker: &Docker, id: &str, alias: &str) -> anyhow::Result<()> {
        docker
            .connect_network(
                &self.name,
                NetworkConnectRequest {
                    container: id.to_owned(),
                    endpoint_config: Some(EndpointSettings {
                        aliases: Some(vec![alias.to_owned()]),
                        ..Default::default()
                    }),
                },
            )
            .await
            .with_context(|| format!("connecting {id} to {}", self.name))
    }
}

impl RunNetwork {
    /// Makes container `id` (started on this network) reachable under `alias` too, its
    /// service's name, which every replica of the service shares: the network's DNS answers
    /// the name with all their addresses (service discovery). Docker sets aliases only when a
    /// container joins a network, so it leaves and joins again.
    pub async fn add_alias(&self, docker: &Docker, id: &str, alias: &str) -> anyhow::Result<()> {
        self.disconnect(docker, id).await?;
        self.connect(docker, id, alias).await
    }
}

/// How often a readiness condition is checked while it is awaited.
pub const POLL: Duration = Duration::from_millis(25);
