//! The containers driver against a real Docker engine: boot and readiness, traces through the
//! collector, captured logs, every fault, and clean-up (this run's and a crashed run's).
//! Each test says "skipped" and passes when no Docker engine answers (`docker info`); CI runs
//! them where one does.

mod docker_engine;

use std::{collections::HashMap, time::Duration};

use drivers::{
    COLLECTOR, Driver, Fault, ProcessFaults,
    containers::{
        ContainersDriver, ContainersOptions,
        run::{LABEL_OWNER, LABEL_PID, LABEL_RUN, remove_leftovers},
    },
    in_process::{InProcessDriver, InProcessOptions},
};
use harness::{
    model::TraceId,
    settle::{Expectation, settle},
};
use testcontainers::bollard::{
    Docker,
    models::NetworkCreateRequest,
    query_parameters::{ListContainersOptionsBuilder, ListNetworksOptionsBuilder},
};

async fn boot() -> ContainersDriver {
    ContainersDriver::start(ContainersOptions::default())
        .await
        .unwrap_or_else(|e| panic!("containers driver boots: {e:#}"))
}

/// Signs the operator in through edge (edge -> auth) inside a trace of our own; the status.
async fn sign_in(driver: &ContainersDriver, trace_id: &str) -> u16 {
    let operator = driver.operator().expect("an operator");
    reqwest::Client::new()
        .post(format!("{}/v1/tokens", driver.edge_url()))
        .header("traceparent", format!("00-{trace_id}-00f067aa0ba902b7-01"))
        .json(&serde_json::json!({"client_id": operator.client_id, "client_secret": operator.client_secret}))
        .timeout(Duration::from_secs(20))
        .send()
        .await
        .expect("edge answers")
        .status()
        .as_u16()
}

fn new_trace_id() -> String {
    format!("{:032x}", rand::random::<u128>() | 1)
}

/// Objects still labelled with `run`: (containers, networks).
async fn labelled(docker: &Docker, run: &str) -> (usize, usize) {
    let filters = HashMap::from([("label", vec![format!("{LABEL_RUN}={run}")])]);
    let containers = docker
        .list_containers(Some(
            ListContainersOptionsBuilder::default()
                .all(true)
                .filters(&filters)
                .build(),
        ))
        .await
        .expect("list containers");
    let networks = docker
        .list_networks(Some(
            ListNetworksOptionsBuilder::default()
                .filters(&filters)
                .build(),
        ))
        .await
        .expect("list networks");
    (containers.len(), networks.len())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_platform_boots_traces_flow_through_the_collector_and_nothing_is_left_behind() {
    if !docker_engine::answers() {
        return;
    }
    let driver = boot().await;
    println!(
        "boot {:?}: {:?}; images {:?}",
        driver.boot_time(),
        driver.boot_phases(),
        driver.image_report().built
    );
    let trace_id = new_trace_id();
    assert_eq!(sign_in(&driver, &trace_id).await, 200);

    let expectation = Expectation::services(["edge", "auth"])
        .within(Duration::from_secs(15))
        .quiet_for(Duration::from_millis(300));
    let trace = settle(
        driver.traces().as_ref(),
        &TraceId::parse(&trace_id).unwrap(),
        &expectation,
    )
    .await
    .unwrap_or_else(|e| panic!("the trace reached the sink through the collector: {e}"));
    assert!(trace.services().contains("auth"));

    let logs = driver.logs().expect("the containers driver reads logs");
    let lines = logs.lines_mentioning(&trace_id).await;
    assert!(
        lines.iter().any(|l| l["container"] == "edge"),
        "edge logged about trace {trace_id}: {lines:?}"
    );

    let docker = Docker::connect_with_local_defaults().unwrap();
    let run = driver.run_id().as_str().to_owned();
    assert_eq!(
        labelled(&docker, &run).await,
        (6, 1),
        "six containers, one network"
    );
    driver.shutdown().await;
    assert_eq!(labelled(&docker, &run).await, (0, 0), "nothing left behind");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fault_happens_and_is_undone() {
    if !docker_engine::answers() {
        return;
    }
    let driver = boot().await;

    driver.fault(Fault::Pause("auth".into())).await.unwrap();
    assert_eq!(
        sign_in(&driver, &new_trace_id()).await,
        504,
        "frozen auth times out"
    );
    driver.fault(Fault::Resume("auth".into())).await.unwrap();
    assert_eq!(sign_in(&driver, &new_trace_id()).await, 200);

    driver
        .fault(Fault::Disconnect("auth".into()))
        .await
        .unwrap();
    let cut_off = sign_in(&driver, &new_trace_id()).await;
    assert!(
        matches!(cut_off, 503 | 504),
        "cut-off auth is unavailable: {cut_off}"
    );
    driver.fault(Fault::Reconnect("auth".into())).await.unwrap();
    assert_eq!(sign_in(&driver, &new_trace_id()).await, 200);

    driver.fault(Fault::Stop(COLLECTOR.into())).await.unwrap();
    assert_eq!(
        sign_in(&driver, &new_trace_id()).await,
        200,
        "no collector, still served"
    );

    driver.fault(Fault::Stop("edge".into())).await.unwrap();
    // Faults left in force are undone by heal: the collector and edge start again.
    let undone = driver.heal().await.unwrap();
    assert_eq!(undone.len(), 2, "{undone:?}");
    assert_eq!(sign_in(&driver, &new_trace_id()).await, 200, "edge is back");

    let unknown = driver.fault(Fault::Stop("nope".into())).await.unwrap_err();
    assert!(unknown.to_string().contains("unknown target"), "{unknown}");
    driver.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_driver_without_the_capability_says_so() {
    let driver = InProcessDriver::start(InProcessOptions::default())
        .await
        .expect("in-process boots");
    // In-process offers no process faults at all, so none of their capabilities is listed.
    assert!(driver.process_faults().is_none());
    let pause = Fault::Pause("payments".into()).capability();
    assert!(!driver.capabilities().has(pause));
    let text = drivers::lacks(&driver, pause).to_string();
    assert!(
        text.contains("capability missing") && text.contains("@needs-pause-service"),
        "{text}"
    );
    driver.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_a_crashed_run_left_is_removed_and_a_live_run_is_kept() {
    if !docker_engine::answers() {
        return;
    }
    let docker = Docker::connect_with_local_defaults().unwrap();
    let suffix = rand::random::<u32>();
    let make = |pid: String, name: String| NetworkCreateRequest {
        name,
        labels: Some(HashMap::from([
            (LABEL_OWNER.to_owned(), "true".to_owned()),
            (LABEL_RUN.to_owned(), format!("test-{suffix}")),
            (LABEL_PID.to_owned(), pid),
        ])),
        ..Default::default()
    };
    let dead = format!("minibank-test-dead-{suffix}");
    let alive = format!("minibank-test-alive-{suffix}");
    // A pid above the kernel's maximum (4194304) never belongs to a live process.
    docker
        .create_network(make("999999999".into(), dead.clone()))
        .await
        .unwrap();
    docker
        .create_network(make(std::process::id().to_string(), alive.clone()))
        .await
        .unwrap();
    let removed = remove_leftovers(&docker).await.unwrap();
    assert!(removed.networks.contains(&dead), "{removed:?}");
    assert!(!removed.networks.contains(&alive), "{removed:?}");
    docker.remove_network(&alive).await.unwrap();
}
