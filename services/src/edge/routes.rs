//! The public route table: which upstream serves each public route, under which path, and
//! which scope it needs (API.md, "Public API").

use axum::http::Method;

/// The services edge routes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// auth
    Auth,
    /// ledger
    Ledger,
    /// payments
    Payments,
    /// webhooks
    Webhooks,
}

/// Where the request goes upstream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpstreamPath {
    /// The same path and query as the public request (ledger, payments and webhooks serve the
    /// `/v1/...` routes themselves).
    Same,
    /// A fixed internal path (auth's `/tokens`, `/customers`, `/merchants`).
    Fixed(&'static str),
}

/// Who may call a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Anyone (the token endpoint: the credentials are the body).
    Public,
    /// A bearer token holding this scope.
    Scope(&'static str),
}

/// One public route.
#[derive(Clone, Debug)]
pub struct PublicRoute {
    /// HTTP method.
    pub method: Method,
    /// axum path pattern.
    pub pattern: &'static str,
    /// Serving service.
    pub target: Target,
    /// Path upstream.
    pub upstream_path: UpstreamPath,
    /// Who may call it.
    pub access: Access,
}

fn route(
    method: Method,
    pattern: &'static str,
    target: Target,
    upstream_path: UpstreamPath,
    access: Access,
) -> PublicRoute {
    PublicRoute {
        method,
        pattern,
        target,
        upstream_path,
        access,
    }
}

/// Every public route.
pub fn public_routes() -> Vec<PublicRoute> {
    use Access::{Public, Scope};
    use Target::{Auth, Ledger, Payments, Webhooks};
    use UpstreamPath::{Fixed, Same};
    vec![
        route(Method::POST, "/v1/tokens", Auth, Fixed("/tokens"), Public),
        route(
            Method::POST,
            "/v1/customers",
            Auth,
            Fixed("/customers"),
            Scope("parties:write"),
        ),
        route(
            Method::POST,
            "/v1/merchants",
            Auth,
            Fixed("/merchants"),
            Scope("parties:write"),
        ),
        route(
            Method::POST,
            "/v1/accounts/{account_id}/top-ups",
            Ledger,
            Same,
            Scope("accounts:fund"),
        ),
        route(
            Method::GET,
            "/v1/accounts/{account_id}",
            Ledger,
            Same,
            Scope("accounts:read"),
        ),
        route(
            Method::GET,
            "/v1/ledger/audit",
            Ledger,
            Same,
            Scope("ledger:audit"),
        ),
        route(
            Method::POST,
            "/v1/payments",
            Payments,
            Same,
            Scope("payments:write"),
        ),
        route(
            Method::GET,
            "/v1/payments/{payment_id}",
            Payments,
            Same,
            Scope("payments:read"),
        ),
        route(
            Method::POST,
            "/v1/webhook-endpoints",
            Webhooks,
            Same,
            Scope("webhooks:write"),
        ),
        route(
            Method::GET,
            "/v1/webhook-deliveries",
            Webhooks,
            Same,
            Scope("webhooks:read"),
        ),
    ]
}
