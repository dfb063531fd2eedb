//! The containers driver itself: boot, the `Driver` impl with its faults, shutdown.

use std::{
    collections::HashMap,
    net::IpAddr,
    path::PathBuf,
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::Context as _;
use async_trait::async_trait;
use futures::future::{join_all, try_join_all};
use harness::{fetch::TraceFetcher, sink::RunningSink};
use testcontainers::{
    ContainerAsync, GenericImage,
    bollard::{Docker, models::VolumeCreateRequest},
    runners::AsyncRunner as _,
};

use super::mesh::FaultControl;
use super::{
    SETTLE_TIMING,
    images::{ImageOptions, ImageReport, ensure_images},
    logs::ContainerLogs,
    network::{POLL, RunNetwork},
    run::{RunId, remove_leftovers, remove_run},
    spec::{self, COLLECTOR_HTTP_PORT, PlatformSettings, SERVICE_PORT},
};
use crate::{
    COLLECTOR, CallFault, CallFaultId, CallFaults, Capability, CircuitView, Driver, Fault,
    LogReader, MerchantEndpoints, MetricsReader, OperatorCredentials, ProcessFaults,
    ProviderControl, ReplicaControl, Restarts, SERVICES,
    harness_side::{BootPhases, HarnessSide},
    in_process::DEFAULT_PROVIDER_FIXTURES,
};

/// Where every container's captured output is written when the driver shuts down.
pub const LOG_DIR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../target/acceptance/containers"
);

/// Options of the containers driver; [`Default`] is what a normal run uses.
#[derive(Debug, Clone)]
pub struct ContainersOptions {
    /// Folder of provider stub files.
    pub provider_fixtures: PathBuf,
    /// How the images are built (or found).
    pub images: ImageOptions,
    /// How long a container may take to become ready.
    pub ready_timeout: Duration,
    /// How long payments waits for the provider before asking for the transfer's status.
    pub provider_timeout: Duration,
}

impl Default for ContainersOptions {
    fn default() -> Self {
        ContainersOptions {
            provider_fixtures: PathBuf::from(DEFAULT_PROVIDER_FIXTURES),
            images: ImageOptions::default(),
            ready_timeout: Duration::from_secs(30),
            provider_timeout: Duration::from_millis(500),
        }
    }
}

/// The containers driver. See the module documentation.
pub struct ContainersDriver {
    pub(super) run: RunId,
    pub(super) docker: Docker,
    pub(super) network: RunNetwork,
    operator: OperatorCredentials,
    edge_url: parking_lot::RwLock<String>,
    /// The sink (the collector forwards the services' traces and metrics to it), the
    /// provider stand-in and merchant endpoints, on the network's gateway.
    harness: HarnessSide,
    pub(super) logs: Arc<ContainerLogs>,
    pub(super) http: reqwest::Client,
    pub(super) ready_timeout: Duration,
    pub(super) image_report: ImageReport,
    boot_time: Duration,
    boot_phases: Vec<(&'static str, Duration)>,
    /// Removes this run's containers and network on Ctrl-C or SIGTERM, then exits.
    interrupt_guard: tokio::task::JoinHandle<()>,
    /// `None` once shut down.
    pub(super) running: tokio::sync::Mutex<Option<Running>>,
    /// Faults in force, by target: what [`ProcessFaults::heal`] undoes.
    in_force: parking_lot::Mutex<HashMap<String, Fault>>,
    /// What every service container is configured with (replicas get the same).
    pub(super) platform: PlatformSettings,
    /// Call faults, through the services' fault-control endpoints ([`super::mesh`]).
    pub(super) faults: FaultControl,
}

/// What [`ContainersDriver::boot`] brings up.
struct Booted {
    network: RunNetwork,
    sink: RunningSink,
    harness: HarnessSide,
    containers: HashMap<String, ContainerAsync<GenericImage>>,
    logs: Arc<ContainerLogs>,
    operator: OperatorCredentials,
    platform: PlatformSettings,
}

/// What must stay alive (and be removed) while the driver runs.
pub(super) struct Running {
    /// By component: the five services and the collector.
    pub(super) containers: HashMap<String, ContainerAsync<GenericImage>>,
    /// Replicas added while running, by service, oldest first ([`super::replicas`]).
    pub(super) replicas: Vec<(String, ContainerAsync<GenericImage>)>,
    sink: RunningSink,
}

impl ContainersDriver {
    /// Boot: clean what crashed runs left, build or reuse the images, create the run's
    /// network, start the trace sink and the provider stand-in on its gateway, start the
    /// collector and every service, and wait until each is ready.
    pub async fn start(options: ContainersOptions) -> anyhow::Result<Self> {
        let started = Instant::now();
        let mut phases = BootPhases::default();
        let docker = Docker::connect_with_local_defaults().context(
            "connecting to the Docker engine (is DOCKER_HOST or /var/run/docker.sock right?)",
        )?;
        docker
            .ping()
            .await
            .context("the Docker engine does not answer (docker info)")?;
        let run = RunId::new();
        let interrupt_guard = spawn_interrupt_guard(docker.clone(), run.clone());
        let leftovers = remove_leftovers(&docker).await?;
        if !leftovers.containers.is_empty() || !leftovers.networks.is_empty() {
            eprintln!(
                "containers: removed what earlier runs left: containers {:?}, networks {:?}",
                leftovers.containers, leftovers.networks
            );
        }
        phases.mark("docker ping + leftovers");
        let image_report = ensure_images(&docker, &options.images)
            .await
            .context("building the images")?;
        phases.mark("images (build or reuse)");
        let booted = Self::boot(&docker, &run, &options, &image_report, &mut phases).await;
        let Booted {
            network,
            sink,
            harness,
            containers,
            logs,
            operator,
            platform,
        } = match booted {
            Ok(booted) => booted,
            Err(e) => {
                // Leave nothing behind when the boot fails half way.
                let _ = remove_run(&docker, &run).await;
                interrupt_guard.abort();
                return Err(e);
            }
        };
        let edge_ip = network.address_of(&docker, containers["edge"].id()).await?;
        Ok(ContainersDriver {
            edge_url: parking_lot::RwLock::new(format!("http://{edge_ip}:{SERVICE_PORT}")),
            harness,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(2))
                .build()
                .context("building the readiness HTTP client")?,
            ready_timeout: options.ready_timeout,
            image_report,
            boot_time: started.elapsed(),
            boot_phases: phases.0,
            interrupt_guard,
            running: tokio::sync::Mutex::new(Some(Running {
                containers,
                replicas: Vec::new(),
                sink,
            })),
            in_force: parking_lot::Mutex::default(),
            platform,
            faults: FaultControl::default(),
            run,
            docker,
            network,
            operator,
            logs,
        })
    }

    async fn boot(
        docker: &Docker,
        run: &RunId,
        options: &ContainersOptions,
        images: &ImageReport,
        phases: &mut BootPhases,
    ) -> anyhow::Result<Booted> {
        let network = RunNetwork::create(docker, run).await?;
        phases.mark("network");
        // The containers reach the host at the network's gateway: listen there, not on 0.0.0.0.
        let slow_answer = options.provider_timeout * 3 + Duration::from_millis(200);
        let (harness, sink) =
            HarnessSide::start(network.gateway, &options.provider_fixtures, slow_answer)
                .await
                .context("on the network's gateway")?;
        phases.mark("trace sink + provider stand-in");
        let operator = OperatorCredentials {
            client_id: format!("operator-{}", run.as_str()),
            client_secret: hex_secret(),
        };
        let settings = PlatformSettings {
            operator: operator.clone(),
            token_signing_key: hex_secret(),
            provider_url: harness.provider.url(),
            provider_timeout: options.provider_timeout,
            export_delay: Duration::from_millis(20),
            webhook_secret_key: minibank::webhooks::sealed_secret::SecretKey::generate().1,
            // The merchant stand-ins listen on the gateway, on ephemeral ports.
            webhook_allowed_destinations: match network.gateway {
                std::net::IpAddr::V4(ip) => format!("{ip}:1024-65535"),
                std::net::IpAddr::V6(ip) => format!("[{ip}]:1024-65535"),
            },
        };
        let mut requests = vec![(
            COLLECTOR.to_owned(),
            spec::collector(&images.images, run, &network.name, sink.otlp_grpc_addr()),
        )];
        for service in SERVICES {
            requests.push((
                service.to_owned(),
                spec::service(&images.images, run, &network.name, service, &settings),
            ));
        }
        // The data volumes replicas share, labelled so that clean-up finds them.
        for volume in SERVICES.iter().filter_map(|s| spec::data_volume(run, s)) {
            docker
                .create_volume(VolumeCreateRequest {
                    name: Some(volume.clone()),
                    labels: Some(run.labels()),
                    ..Default::default()
                })
                .await
                .with_context(|| format!("creating volume {volume}"))?;
        }
        let network_ref = &network;
        let started = try_join_all(requests.into_iter().map(|(component, request)| async move {
            let container = request
                .start()
                .await
                .with_context(|| format!("starting the {component} container"))?;
            if component != COLLECTOR {
                // The service's name, shared by its replicas (service discovery by DNS).
                network_ref
                    .add_alias(docker, container.id(), &component)
                    .await
                    .with_context(|| format!("giving {component} its network alias"))?;
            }
            anyhow::Ok((component, container))
        }))
        .await?;
        let containers: HashMap<_, _> = started.into_iter().collect();
        let logs = Arc::new(ContainerLogs::default());
        for (component, container) in &containers {
            logs.follow(docker.clone(), component, container.id());
        }
        phases.mark("containers started");
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()?;
        try_join_all(containers.iter().map(|(component, container)| {
            await_ready(
                docker,
                &network,
                &http,
                &logs,
                component,
                container,
                options.ready_timeout,
            )
        }))
        .await?;
        phases.mark("every container ready");
        Ok(Booted {
            network,
            sink,
            harness,
            containers,
            logs,
            operator,
            platform: settings,
        })
    }

    /// How long [`ContainersDriver::start`] took.
    pub fn boot_time(&self) -> Duration {
        self.boot_time
    }

    /// Where the boot time went, phase by phase, in order.
    pub fn boot_phases(&self) -> &[(&'static str, Duration)] {
        &self.boot_phases
    }

    /// What the image step built or reused.
    pub fn image_report(&self) -> &ImageReport {
        &self.image_report
    }

    /// This run's id (every container and the network carry it as a label).
    pub fn run_id(&self) -> &RunId {
        &self.run
    }

    /// The captured output of every container.
    pub fn container_logs(&self) -> Arc<ContainerLogs> {
        self.logs.clone()
    }

    async fn apply(&self, fault: &Fault) -> anyhow::Result<()> {
        let target = fault.target();
        anyhow::ensure!(
            target == COLLECTOR || SERVICES.contains(&target),
            "unknown target {target:?}; known: {SERVICES:?} and {COLLECTOR:?}"
        );
        let guard = self.running.lock().await;
        let running = guard
            .as_ref()
            .context("the containers driver was shut down")?;
        let container = &running.containers[target];
        match fault {
            Fault::Stop(_) => container.stop_with_timeout(Some(10)).await?,
            Fault::Pause(_) => container.pause().await?,
            Fault::Resume(_) => container.unpause().await?,
            Fault::Disconnect(_) => {
                self.network
                    .disconnect(&self.docker, container.id())
                    .await?
            }
            Fault::Start(_) | Fault::Reconnect(_) => {
                if matches!(fault, Fault::Start(_)) {
                    container.start().await?;
                    self.logs
                        .follow(self.docker.clone(), target, container.id());
                } else {
                    self.network
                        .connect(&self.docker, container.id(), target)
                        .await?;
                }
                let ip = await_ready(
                    &self.docker,
                    &self.network,
                    &self.http,
                    &self.logs,
                    target,
                    container,
                    self.ready_timeout,
                )
                .await?;
                if target == "edge" {
                    *self.edge_url.write() = format!("http://{ip}:{SERVICE_PORT}");
                }
                if target != COLLECTOR {
                    // Its address may be new: back only once its callers follow it.
                    drop(guard);
                    self.await_callers(target, ip, true).await?;
                }
            }
        }
        Ok(())
    }
}

/// Waits until `component` answers: a service's `GET /health/ready` is 200, the collector
/// accepts connections on its OTLP/HTTP port (rotel has no health endpoint). Fails at once
/// when the container exits, and at the deadline, with the container's last log lines.
pub(super) async fn await_ready(
    docker: &Docker,
    network: &RunNetwork,
    http: &reqwest::Client,
    logs: &ContainerLogs,
    component: &str,
    container: &ContainerAsync<GenericImage>,
    timeout: Duration,
) -> anyhow::Result<IpAddr> {
    let deadline = Instant::now() + timeout;
    let mut last_error = String::from("no address on the network yet");
    let mut checks = 0u32;
    loop {
        if let Ok(ip) = network.address_of(docker, container.id()).await {
            let answered = if component == COLLECTOR {
                tokio::net::TcpStream::connect((ip, COLLECTOR_HTTP_PORT))
                    .await
                    .map(drop)
                    .map_err(|e| e.to_string())
            } else {
                let url = format!("http://{ip}:{SERVICE_PORT}/health/ready");
                match http.get(&url).send().await {
                    Ok(r) if r.status().is_success() => Ok(()),
                    Ok(r) => Err(format!("{url} answered {}", r.status())),
                    Err(e) => Err(format!("{url}: {e}")),
                }
            };
            match answered {
                Ok(()) => return Ok(ip),
                Err(e) => last_error = e,
            }
        }
        checks += 1;
        let exited = checks % 8 == 0 && !container.is_running().await.unwrap_or(true);
        if exited || Instant::now() >= deadline {
            let why = if exited {
                format!(
                    "exited (code {:?})",
                    container.exit_code().await.ok().flatten()
                )
            } else {
                format!("not ready after {timeout:?} ({last_error})")
            };
            anyhow::bail!(
                "{component} {why}; its last log lines:\n{}",
                logs.tail(component, 20).join("\n")
            );
        }
        // The interval between two checks of the condition, not a wait for it.
        tokio::time::sleep(POLL).await;
    }
}

#[async_trait]
impl Driver for ContainersDriver {
    fn name(&self) -> &str {
        "containers"
    }

    fn edge_url(&self) -> String {
        self.edge_url.read().clone()
    }

    fn operator(&self) -> Option<OperatorCredentials> {
        Some(self.operator.clone())
    }

    fn traces(&self) -> Arc<dyn TraceFetcher> {
        self.harness.fetcher.clone()
    }

    fn harness_otlp_traces_url(&self) -> Option<String> {
        Some(self.harness.otlp_traces_url.clone())
    }

    fn settle_timing(&self) -> (Duration, Duration) {
        SETTLE_TIMING
    }

    fn provider(&self) -> Option<Arc<dyn ProviderControl>> {
        Some(self.harness.provider.clone())
    }

    fn merchant_endpoints(&self) -> Option<&dyn MerchantEndpoints> {
        Some(&self.harness)
    }

    fn logs(&self) -> Option<Arc<dyn LogReader>> {
        Some(self.logs.clone())
    }

    fn restarts(&self) -> Option<&dyn Restarts> {
        Some(self)
    }

    fn call_faults(&self) -> Option<&dyn CallFaults> {
        Some(self)
    }

    fn process_faults(&self) -> Option<&dyn ProcessFaults> {
        Some(self)
    }

    fn replicas(&self) -> Option<&dyn ReplicaControl> {
        Some(self)
    }

    fn metrics(&self) -> Option<&dyn MetricsReader> {
        Some(&self.harness)
    }

    async fn shutdown(&self) {
        let Some(running) = self.running.lock().await.take() else {
            return;
        };
        let replicas = running.replicas.into_iter().map(|(_, container)| container);
        join_all(
            running
                .containers
                .into_values()
                .chain(replicas)
                .map(|c| c.rm()),
        )
        .await;
        let dir = PathBuf::from(LOG_DIR);
        if let Err(e) = self.logs.write_to(&dir) {
            eprintln!(
                "containers: writing the containers' logs to {}: {e}",
                dir.display()
            );
        }
        if let Err(e) = remove_run(&self.docker, &self.run).await {
            eprintln!("containers: cleaning up run {}: {e:#}", self.run.as_str());
        }
        running.sink.shutdown().await;
        self.interrupt_guard.abort();
    }
}

#[async_trait]
impl Restarts for ContainersDriver {
    async fn restart(&self, service: &str) -> anyhow::Result<()> {
        self.fault(Fault::Stop(service.to_owned())).await?;
        self.fault(Fault::Start(service.to_owned())).await
    }
}

#[async_trait]
impl ProcessFaults for ContainersDriver {
    fn offers(&self) -> Vec<Capability> {
        vec![
            Capability::StopService,
            Capability::PauseService,
            Capability::DisconnectService,
            Capability::StopCollector,
        ]
    }

    async fn fault(&self, fault: Fault) -> anyhow::Result<()> {
        self.apply(&fault)
            .await
            .map_err(|e| anyhow::anyhow!("containers driver: {fault}: {e:#}"))?;
        let target = fault.target().to_owned();
        let mut in_force = self.in_force.lock();
        match fault {
            Fault::Stop(_) | Fault::Pause(_) | Fault::Disconnect(_) => {
                in_force.insert(target, fault);
            }
            Fault::Start(_) | Fault::Resume(_) | Fault::Reconnect(_) => {
                in_force.remove(&target);
            }
        }
        Ok(())
    }

    async fn heal(&self) -> anyhow::Result<Vec<Fault>> {
        let in_force: Vec<Fault> = self.in_force.lock().values().cloned().collect();
        let mut undone = Vec::new();
        for fault in in_force {
            let undo = match &fault {
                Fault::Stop(t) => Fault::Start(t.clone()),
                Fault::Pause(t) => Fault::Resume(t.clone()),
                Fault::Disconnect(t) => Fault::Reconnect(t.clone()),
                Fault::Start(_) | Fault::Resume(_) | Fault::Reconnect(_) => continue,
            };
            self.fault(undo.clone()).await?;
            undone.push(undo);
        }
        Ok(undone)
    }
}

#[async_trait]
impl CallFaults for ContainersDriver {
    async fn inject_call_fault(&self, fault: CallFault) -> anyhow::Result<CallFaultId> {
        self.inject(fault).await
    }

    async fn call_fault_hits(&self, id: CallFaultId) -> anyhow::Result<u32> {
        self.fault_hits(id).await
    }

    async fn clear_call_fault(&self, id: CallFaultId) -> anyhow::Result<()> {
        self.clear_fault(id).await
    }

    async fn circuit(&self, caller: &str, target: &str) -> anyhow::Result<CircuitView> {
        self.circuit_view(caller, target).await
    }
}

#[async_trait]
impl ReplicaControl for ContainersDriver {
    async fn add_replica(&self, service: &str) -> anyhow::Result<()> {
        self.start_replica(service).await
    }

    async fn remove_replica(&self, service: &str) -> anyhow::Result<()> {
        self.stop_replica(service).await
    }
}

impl Drop for ContainersDriver {
    /// Dropped without [`Driver::shutdown`] (a panic): remove the run's objects anyway, from a
    /// thread of its own, since this may run outside (or inside) an async context.
    fn drop(&mut self) {
        let Some(running) = self.running.get_mut().take() else {
            return;
        };
        let run = self.run.clone();
        let cleaned = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let docker = Docker::connect_with_local_defaults().ok()?;
                remove_run(&docker, &run).await.ok()
            })
        })
        .join();
        if !matches!(cleaned, Ok(Some(_))) {
            eprintln!("containers: could not remove run {}", self.run.as_str());
        }
        // The containers are gone; their own drop would need a runtime to remove them again.
        std::mem::forget(running.containers);
        std::mem::forget(running.replicas);
        self.interrupt_guard.abort();
    }
}

/// On Ctrl-C or SIGTERM: remove this run's containers and network, then exit (130).
fn spawn_interrupt_guard(docker: Docker, run: RunId) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let terminate = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut signal) => {
                    signal.recv().await;
                }
                Err(_) => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            () = terminate => {}
        }
        eprintln!(
            "containers: interrupted; removing run {}'s containers and network",
            run.as_str()
        );
        match remove_run(&docker, &run).await {
            Ok(removed) => eprintln!("containers: removed {removed:?}"),
            Err(e) => eprintln!("containers: clean-up failed: {e:#}"),
        }
        std::process::exit(130);
    })
}

fn hex_secret() -> String {
    rand::random::<[u8; 32]>()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
