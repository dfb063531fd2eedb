//! One run's identity and the labels that mark everything it creates, so that nothing is left
//! behind: [`RunId::labels`] goes on every container and the network, [`remove_leftovers`]
//! removes what crashed earlier runs left, and [`remove_run`] removes one run's objects.

use std::collections::HashMap;

use anyhow::Context as _;
use futures::future::join_all;
use testcontainers::bollard::{
    Docker,
    query_parameters::{
        ListContainersOptionsBuilder, ListNetworksOptionsBuilder, ListVolumesOptionsBuilder,
        RemoveContainerOptionsBuilder, RemoveVolumeOptions,
    },
};

/// Label present on every object a containers run creates.
pub const LABEL_OWNER: &str = "org.minibank.acceptance";
/// Label holding the run id.
pub const LABEL_RUN: &str = "org.minibank.acceptance.run";
/// Label holding the pid of the process that owns the run (a dead pid means a crashed run).
pub const LABEL_PID: &str = "org.minibank.acceptance.pid";

/// A run's identity: short, unique, and safe in container and network names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunId(String);

impl RunId {
    /// A fresh id: this process's pid and a random suffix.
    pub fn new() -> Self {
        RunId(format!(
            "{}-{:06x}",
            std::process::id(),
            rand::random::<u32>() & 0xff_ffff
        ))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The labels every object of this run carries.
    pub fn labels(&self) -> HashMap<String, String> {
        HashMap::from([
            (LABEL_OWNER.to_owned(), "true".to_owned()),
            (LABEL_RUN.to_owned(), self.0.clone()),
            (LABEL_PID.to_owned(), std::process::id().to_string()),
        ])
    }

    /// The Docker object name of `component` in this run, e.g. `minibank-1234-a1b2c3-payments`.
    pub fn name_of(&self, component: &str) -> String {
        format!("minibank-{}-{component}", self.0)
    }
}

impl Default for RunId {
    fn default() -> Self {
        Self::new()
    }
}

/// What a clean-up removed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Removed {
    /// Container names.
    pub containers: Vec<String>,
    /// Network names.
    pub networks: Vec<String>,
    /// Volume names (the data a service shares with its replicas).
    pub volumes: Vec<String>,
}

/// Removes the containers and networks of runs whose owning process is gone (crashed or
/// killed runs). Runs of live processes, e.g. a test running beside this one, are kept.
pub async fn remove_leftovers(docker: &Docker) -> anyhow::Result<Removed> {
    remove_matching(docker, |labels| {
        labels
            .get(LABEL_PID)
            .and_then(|pid| pid.parse::<u32>().ok())
            .is_none_or(|pid| !process_alive(pid))
    })
    .await
}

/// Removes every container and network of `run`.
pub async fn remove_run(docker: &Docker, run: &RunId) -> anyhow::Result<Removed> {
    remove_matching(docker, |labels| {
        labels.get(LABEL_RUN).map(String::as_str) == Some(run.as_str())
    })
    .await
}

/// Removes labelled containers (force, with their anonymous volumes), then networks and
/// volumes whose labels satisfy `doomed`.
async fn remove_matching(
    docker: &Docker,
    doomed: impl Fn(&HashMap<String, String>) -> bool,
) -> anyhow::Result<Removed> {
    let filters = HashMap::from([("label", vec![LABEL_OWNER])]);
    let containers = docker
        .list_containers(Some(
            ListContainersOptionsBuilder::default()
                .all(true)
                .filters(&filters)
                .build(),
        ))
        .await
        .context("listing labelled containers")?;
    let doomed_containers: Vec<(String, String)> = containers
        .into_iter()
        .filter(|c| c.labels.as_ref().is_some_and(&doomed))
        .filter_map(|c| {
            let name = c
                .names
                .as_ref()
                .and_then(|n| n.first())
                .map(|n| n.trim_start_matches('/').to_owned())
                .unwrap_or_default();
            c.id.map(|id| (id, name))
        })
        .collect();
    let options = RemoveContainerOptionsBuilder::default()
        .force(true)
        .v(true)
        .build();
    let results = join_all(doomed_containers.iter().map(|(id, _)| {
        let options = options.clone();
        async move { docker.remove_container(id, Some(options)).await }
    }))
    .await;
    let mut removed = Removed::default();
    for ((_, name), result) in doomed_containers.into_iter().zip(results) {
        match result {
            Ok(()) => removed.containers.push(name),
            Err(e) if is_not_found(&e) => {}
            Err(e) => return Err(e).with_context(|| format!("removing container {name}")),
        }
    }
    let networks = docker
        .list_networks(Some(
            ListNetworksOptionsBuilder::default()
                .filters(&filters)
                .build(),
        ))
        .await
        .context("listing labelled networks")?;
    for network in networks {
        if !network.labels.as_ref().is_some_and(&doomed) {
            continue;
        }
        let Some(name) = network.name else { continue };
        match docker.remove_network(&name).await {
            Ok(()) => removed.networks.push(name),
            Err(e) if is_not_found(&e) => {}
            Err(e) => return Err(e).with_context(|| format!("removing network {name}")),
        }
    }
    let volumes = docker
        .list_volumes(Some(
            ListVolumesOptionsBuilder::default()
                .filters(&filters)
                .build(),
        ))
        .await
        .context("listing labelled volumes")?;
    for volume in volumes.volumes.unwrap_or_default() {
        if !doomed(&volume.labels) {
            continue;
        }
        match docker
            .remove_volume(&volume.name, None::<RemoveVolumeOptions>)
            .await
        {
            Ok(()) => removed.volumes.push(volume.name),
            Err(e) if is_not_found(&e) => {}
            Err(e) => return Err(e).with_context(|| format!("removing volume {}", volume.name)),
        }
    }
    Ok(removed)
}

/// Whether a Docker error says the object does not exist (already removed).
pub fn is_not_found(error: &testcontainers::bollard::errors::Error) -> bool {
    matches!(
        error,
        testcontainers::bollard::errors::Error::DockerResponseServerError {
            status_code: 404,
            ..
        }
    )
}

/// Whether a process with this pid runs on this machine (a zombie, killed but not yet reaped
/// by its parent, does not count).
fn process_alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        let state = stat.rsplit_once(") ").map(|(_, rest)| rest.trim_start());
        !state.is_some_and(|s| s.starts_with('Z') || s.starts_with('X'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_label_names_the_run_and_its_owner() {
        let run = RunId::new();
        let labels = run.labels();
        assert_eq!(labels[LABEL_RUN], run.as_str());
        assert_eq!(labels[LABEL_PID], std::process::id().to_string());
        assert!(run.name_of("edge").ends_with("-edge"));
        assert_ne!(RunId::new(), RunId::new());
    }

    #[test]
    fn this_process_is_alive_and_an_impossible_pid_is_not() {
        assert!(process_alive(std::process::id()));
        assert!(!process_alive(u32::MAX));
    }
}
