//! The `minibank` binary: thin on purpose. It parses flags, installs JSON logs, and calls into the
//! library: `minibank serve <service>` runs one service configured by the environment
//! (12-factor, one container image for all services); `minibank up` runs the whole platform in one
//! process with the harness's trace sink, for a person to try.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use harness::sink::{SinkConfig, TraceSink};
use minibank::app::Deps;
use minibank::config::{self, OperatorCredentials, Secret};
use minibank::fault_control;
use minibank::platform::{self, PlatformConfig};
use minibank::provider_sandbox;
use minibank::rpc::Resilience;
use minibank::service::{self, ServiceName, SettingsFrom};
use minibank::telemetry::{self, Telemetry, TelemetrySettings};
use minibank::webhooks::{destination, sealed_secret};

/// mimalloc instead of glibc's malloc: a payment makes thousands of small allocations across
/// tokio's workers and sqlx's SQLite threads, and glibc's malloc and free were a quarter of the
/// instructions per payment (BENCHMARKS.md, issue 16).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser, Debug)]
#[command(
    name = "minibank",
    version,
    about = "minibank: a small payments platform"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run one service, configured by MINIBANK_* and OTEL_* environment variables.
    Serve {
        /// edge, auth, ledger, payments or webhooks.
        service: ServiceName,
        /// Listen address (overrides MINIBANK_BIND).
        #[arg(long)]
        bind: Option<SocketAddr>,
    },
    /// Run the whole platform in this process, with a trace sink, for a person to try.
    Up {
        /// Where edge listens.
        #[arg(long, default_value = "127.0.0.1:8080")]
        edge_addr: SocketAddr,
        /// The external bank provider's base URL; without it, a provider sandbox starts here.
        #[arg(long, env = "MINIBANK_PROVIDER_URL")]
        provider_url: Option<String>,
        /// Where the provider sandbox listens (when no provider URL is given).
        #[arg(long, default_value = "127.0.0.1:9090")]
        sandbox_addr: SocketAddr,
        /// Directory for the services' SQLite files.
        #[arg(long, default_value = "minibank-data")]
        data_dir: PathBuf,
        /// Serve POST /test at edge (W3C trace-context test service).
        #[arg(long, env = "MINIBANK_PROPAGATION_PROBE")]
        propagation_probe: bool,
        /// Do not start the trace sink (and do not export spans).
        #[arg(long)]
        no_trace_sink: bool,
        /// Run the trace sink on ephemeral ports instead of 4317/4318/16686.
        #[arg(long)]
        ephemeral_sink_ports: bool,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    telemetry::init_logging()?;
    match cli.command {
        Command::Serve { service, bind } => serve(service, bind).await,
        Command::Up {
            edge_addr,
            provider_url,
            sandbox_addr,
            data_dir,
            propagation_probe,
            no_trace_sink,
            ephemeral_sink_ports,
        } => {
            up(UpOptions {
                edge_addr,
                provider_url,
                sandbox_addr,
                data_dir,
                propagation_probe,
                trace_sink: !no_trace_sink,
                ephemeral_sink_ports,
            })
            .await
        }
    }
}

async fn serve(service: ServiceName, bind: Option<SocketAddr>) -> anyhow::Result<()> {
    let telemetry = Telemetry::init(&TelemetrySettings::from_env(service.as_str())?)?;
    let resilience = Resilience::from_env()?;
    let fault_control = fault_control::bind_from_env()?;
    // The clone shares the fault rules and circuits the fault-control endpoint serves.
    let deps = Deps::with_own_pool(telemetry, resilience.clone());
    let app = service::start(service, SettingsFrom::Env { bind }, deps).await?;
    tracing::info!(service = service.as_str(), addr = %app.local_addr(), "listening");
    let shutdown = app.shutdown_handle();
    if let Some(addr) = fault_control {
        fault_control::serve(addr, service.as_str(), &resilience, shutdown.clone()).await?;
    }
    tokio::spawn(async move {
        shutdown_signal().await;
        shutdown.shutdown();
    });
    app.run_until_stopped().await
}

struct UpOptions {
    edge_addr: SocketAddr,
    provider_url: Option<String>,
    sandbox_addr: SocketAddr,
    data_dir: PathBuf,
    propagation_probe: bool,
    trace_sink: bool,
    ephemeral_sink_ports: bool,
}

async fn up(options: UpOptions) -> anyhow::Result<()> {
    let sink = if options.trace_sink {
        let sink_config = if options.ephemeral_sink_ports {
            SinkConfig::ephemeral()
        } else {
            SinkConfig::standard()
        };
        Some(TraceSink::start(sink_config).await.context(
            "starting the trace sink (use --ephemeral-sink-ports if 4317/4318/16686 are taken)",
        )?)
    } else {
        None
    };
    let operator = match (
        config::env_var("MINIBANK_OPERATOR_CLIENT_ID"),
        config::env_var("MINIBANK_OPERATOR_CLIENT_SECRET"),
    ) {
        (Some(client_id), Some(secret)) => OperatorCredentials {
            client_id,
            client_secret: Secret::new(secret),
        },
        _ => OperatorCredentials::generate(),
    };
    let (provider_url, sandbox) = match options.provider_url.clone() {
        Some(url) => (url, None),
        None => {
            let settings = provider_sandbox::Settings::new(options.sandbox_addr);
            let telemetry = Telemetry::init(&TelemetrySettings::new(
                provider_sandbox::SERVICE_NAME,
                sink.as_ref().map(|sink| sink.otlp_traces_url()),
                Duration::from_millis(200),
            ))?;
            let sandbox = provider_sandbox::spawn(settings, telemetry).await.context(
                "starting the provider sandbox (--sandbox-addr 127.0.0.1:0 if 9090 is taken)",
            )?;
            (sandbox.url().to_owned(), Some(sandbox))
        }
    };
    let mut platform_config = PlatformConfig::for_tests(
        &options.data_dir,
        provider_url.clone(),
        sink.as_ref().map(|sink| sink.otlp_traces_url()),
    );
    platform_config.otlp_metrics_endpoint = sink.as_ref().map(|sink| sink.otlp_metrics_url());
    platform_config.metrics_interval = Duration::from_secs(1);
    platform_config.edge_addr = options.edge_addr;
    platform_config.operator = operator;
    platform_config.propagation_probe = options.propagation_probe;
    platform_config.export_delay = Duration::from_millis(200);
    platform_config.provider_timeout =
        config::env_parsed("MINIBANK_PROVIDER_TIMEOUT", config::parse_duration)?
            .unwrap_or(Duration::from_secs(2));
    platform_config.webhook_retry_schedule = config::env_parsed(
        "MINIBANK_WEBHOOK_RETRY_SCHEDULE",
        config::parse_duration_list,
    )?
    .unwrap_or_else(|| [1, 5, 30].into_iter().map(Duration::from_secs).collect());
    if let Some(key) = config::env_var("MINIBANK_TOKEN_SIGNING_KEY") {
        platform_config.token_signing_key = Secret::new(key);
    }
    // Secrets sealed with a generated key open only in this run: set the variable to keep
    // webhook endpoints across restarts on the same data folder.
    if config::env_var(sealed_secret::KEY_ENV).is_some() {
        platform_config.webhook_secret_key = sealed_secret::SecretKey::from_env()?;
    }
    // Webhooks may reach the sandbox's merchant inbox (on loopback), unless the operator says
    // otherwise.
    platform_config.webhook_destinations =
        match config::env_parsed(destination::ALLOW_ENV, |raw| {
            Ok(destination::DestinationPolicy::from_list(raw)?)
        })? {
            Some(policy) => policy,
            None => match &sandbox {
                Some(sandbox) => destination::DestinationPolicy::from_list(
                    &reqwest::Url::parse(sandbox.url())?.authority().to_owned(),
                )?,
                None => destination::DestinationPolicy::public_only(),
            },
        };
    platform_config.introspection_cache_ttl = Duration::from_secs(5);
    platform_config.test_timings = false;

    let running = platform::start(platform_config).await?;
    println!("minibank is up");
    for service in ServiceName::ALL {
        println!("  {:<9} {}", service.as_str(), running.service_url(service));
    }
    match &sandbox {
        Some(sandbox) => {
            println!("  provider  {} (sandbox, started here)", sandbox.url());
            println!(
                "            merchant inbox {}/merchant-inbox/<name>",
                sandbox.url()
            );
        }
        None => println!("  provider  {provider_url} (external; no sandbox started)"),
    }
    match &sink {
        Some(sink) => {
            println!(
                "  traces    OTLP/HTTP {}  OTLP/gRPC {}",
                sink.otlp_http_endpoint(),
                sink.otlp_grpc_endpoint()
            );
            println!(
                "            query API {}/api/v3/traces/<trace_id>",
                sink.query_url()
            );
            println!(
                "            waterfalls {0}/traces, {0}/trace/<trace_id>",
                sink.query_url()
            );
        }
        None => println!("  traces    not exported (--no-trace-sink)"),
    }
    println!("  data      {}", options.data_dir.display());
    println!(
        "operator credentials (POST {}/v1/tokens):",
        running.edge_url()
    );
    println!("  client_id     {}", running.operator().client_id);
    println!(
        "  client_secret {}",
        running.operator().client_secret.expose()
    );
    let env_file = options.data_dir.join("up.env");
    write_env_file(&env_file, &running, sandbox.as_ref(), sink.as_ref())?;
    println!("for the README's walk-through, in another shell in this directory:");
    println!("  source {}", env_file.display());
    println!("press Ctrl-C to stop");

    shutdown_signal().await;
    running.shutdown().await;
    let _ = std::fs::remove_file(&env_file);
    if let Some(sandbox) = sandbox {
        sandbox.shutdown().await?;
    }
    if let Some(sink) = sink {
        sink.shutdown().await;
    }
    Ok(())
}

/// Writes this run's addresses and operator credentials as shell variables (readable by the
/// owner only: it holds a secret), so the README's walk-through needs no copying by hand.
fn write_env_file(
    path: &std::path::Path,
    running: &platform::RunningPlatform,
    sandbox: Option<&provider_sandbox::RunningSandbox>,
    sink: Option<&harness::sink::RunningSink>,
) -> anyhow::Result<()> {
    use std::io::Write as _;
    // Single quotes keep every character but `'` literal; `'` becomes `'\''`.
    let quoted = |value: &str| format!("'{}'", value.replace('\'', r"'\''"));
    let mut lines = vec![format!("export EDGE={}", quoted(&running.edge_url()))];
    if let Some(sandbox) = sandbox {
        lines.push(format!("export SANDBOX={}", quoted(sandbox.url())));
    }
    if let Some(sink) = sink {
        lines.push(format!("export TRACES={}", quoted(&sink.query_url())));
    }
    let operator = running.operator();
    lines.push(format!(
        "export OPERATOR_ID={}",
        quoted(&operator.client_id)
    ));
    lines.push(format!(
        "export OPERATOR_SECRET={}",
        quoted(operator.client_secret.expose())
    ));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    writeln!(file, "{}", lines.join("\n")).with_context(|| format!("writing {}", path.display()))
}

/// Ctrl-C or SIGTERM (what a container runtime sends).
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
