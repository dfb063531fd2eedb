//! # minibank
//!
//! A small but real payments platform to run the acceptance harness against: five services that
//! speak JSON over HTTP through one shared RPC layer, each with its own database and its own
//! OpenTelemetry tracer provider. `services/API.md` is the contract.
//!
//! ## The foundation every service is built on
//! - [`config`]: secrets that never print, durations like `50ms`, the `MINIBANK_*` variables.
//! - [`telemetry`]: one [`telemetry::Telemetry`] (tracer provider, `service.name`) per service,
//!   OTLP/HTTP export through a bounded queue that drops (and counts) rather than block;
//!   [`telemetry::init_logging`] for the binary's JSON logs.
//! - [`rpc`]: the shared RPC layer. [`rpc::ServerLayer`] (server spans, W3C trace context and
//!   baggage, deadline, request id, identity → [`rpc::RequestContext`]) and [`rpc::RpcClient`]
//!   (deadline, typed [`rpc::RpcError`] with [`rpc::CallOutcome`]). Every call goes through
//!   the tower stack [`rpc::build_stack`] builds: client span and W3C propagation → retry
//!   policy with a budget (idempotent calls only) → round-robin balancer over discovered
//!   replicas (health checks, open circuits skipped) → circuit breaker → deadline → fault
//!   injection → pooled transport. Its modules import one way: types ← layers ← stack ←
//!   client. Settings: [`rpc::Resilience`]; faults: [`rpc::FaultInjector`].
//! - [`http_error`]: the one wire shape of an error (`{"code","message","field"?}`); typed
//!   errors implement [`http_error::ErrorAnswer`] (each variant mapped once to a status and a
//!   code, usually with [`error_answers!`]); [`http_error::ApiJson`] refuses a bad body with a
//!   typed [`http_error::InvalidRequest`] naming the field.
//! - [`domain`]: the values the services share (ids, [`domain::Money`], [`domain::Currency`]),
//!   built only through `parse`.
//! - [`db`]: a `sqlx::AnyPool` from a URL (SQLite file with WAL by default, PostgreSQL when the
//!   URL says so), embedded migrations, and [`db::WriteGate`] (one SQLite writer at a time).
//! - [`app`]: [`app::ServiceBuilder`] → [`app::Application`]: health routes, JSON 404/405,
//!   background tasks, graceful shutdown, binding so port 0 works; [`app::Deps`] is what every
//!   `build(settings, deps)` receives (its telemetry, the shared HTTP client).
//! - [`service`]: the one list of services: [`service::ServiceName`], the [`service::Service`]
//!   seam every service implements (settings from the environment or from the in-process
//!   platform, test timings, its public operations, `build`) and [`service::start`].
//!
//! Migrations live in `services/migrations/<service>/NNNN_name.sql` and are compiled in.
//!
//! ## The services
//! Every data service (auth, ledger, payments, webhooks) is a folder with the same entries:
//! - `mod.rs`: what it owns and does, its routes, `Settings`, its [`service::Service`] impl,
//!   `build`;
//! - `ops/<operation>.rs`: one file per operation, read as parse → apply → encode;
//! - `store.rs`: all of its SQL;
//! - `error.rs`: its typed errors, each variant mapped once to a status and a code;
//! - `model.rs`: its own values and the bodies it answers with.
//!
//! Beside them, each keeps its own machinery in role-named files (the payments saga and outbox
//! relay, webhooks' delivery worker, auth's token signer). Edge has no database: it has the same
//! `mod.rs` and `error.rs`, then its own parts (routing, authentication, limits, trace response).
//! - [`edge`]: the only public door.
//! - [`auth`]: clients, tokens, introspection, onboarding.
//! - [`ledger`], [`payments`], [`webhooks`]: accounts and holds, the payment saga, webhook
//!   delivery.
//!
//! ## Running them
//! - [`platform`]: every service as tasks in one process (the in-process test driver and
//!   `minibank up`).
//! - the `minibank` binary: `minibank serve <service>` (one service, 12-factor) and `minibank up`.
//! - [`provider_sandbox`]: a bank provider (and a merchant webhook inbox) in memory, which
//!   `minibank up` starts unless it is given a provider URL; not a minibank service.
//! - [`fault_control`]: the test-only endpoint (off unless `MINIBANK_FAULT_CONTROL_BIND` is set)
//!   through which a driver injects call faults into a `minibank serve` process and reads its
//!   circuits.
//! - [`api_client`]: a small client of the public API through edge (onboard funded parties, the
//!   operator's audit) for the load generators; not used by the platform.

pub mod api_client;
pub mod app;
pub mod config;
pub mod db;
pub mod domain;
pub mod fault_control;
pub mod http_error;
pub mod platform;
pub mod provider_sandbox;
pub mod rpc;
pub mod service;
pub mod telemetry;

// Services.
pub mod auth;
pub mod edge;
pub mod ledger;
pub mod payments;
pub mod webhooks;
