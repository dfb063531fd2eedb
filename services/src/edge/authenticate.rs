//! Who is calling: the bearer token is checked by auth's `/introspect`, with a small TTL cache so
//! a burst of requests with one token costs one introspection.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderMap, header};
use parking_lot::Mutex;
use tokio::time::Instant;

use super::error::AccessError;
use super::upstream::Upstream;
use crate::auth::model::{IntrospectBody, Introspection};
use crate::rpc::{Identity, RequestContext};

const CACHE_LIMIT: usize = 10_000;

/// Token → (identity if active, cached until).
type IntrospectionCache = HashMap<String, (Option<Identity>, Instant)>;

/// Turns `Authorization: Bearer …` into an [`Identity`].
#[derive(Clone, Debug)]
pub struct Authenticator {
    auth: Upstream,
    cache_ttl: Duration,
    cache: Arc<Mutex<IntrospectionCache>>,
}

impl Authenticator {
    /// Asks `auth`, caching answers for `cache_ttl` (zero = ask every time).
    pub fn new(auth: Upstream, cache_ttl: Duration) -> Self {
        Self {
            auth,
            cache_ttl,
            cache: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// The caller's identity; 401 `unauthenticated` without a valid token, 503
    /// `auth_unavailable` when auth cannot be asked.
    pub async fn identify(
        &self,
        ctx: &RequestContext,
        headers: &HeaderMap,
    ) -> Result<Identity, AccessError> {
        let token = bearer_token(headers)?;
        if let Some(cached) = self.cached(token) {
            return cached.ok_or(AccessError::InvalidToken);
        }
        let answer: Introspection = self
            .auth
            .pick()
            .post_json(
                ctx,
                "/introspect",
                &IntrospectBody {
                    token: token.to_owned(),
                },
            )
            .await
            .map_err(|error| {
                tracing::warn!(%error, "token introspection failed");
                AccessError::AuthUnavailable
            })?;
        let identity = match answer {
            Introspection {
                active: true,
                subject: Some(subject),
                role: Some(role),
                scopes,
                ..
            } => Some(Identity {
                subject,
                role,
                scopes,
            }),
            _ => None,
        };
        self.remember(token, identity.clone(), answer.exp);
        identity.ok_or(AccessError::InvalidToken)
    }

    fn cached(&self, token: &str) -> Option<Option<Identity>> {
        if self.cache_ttl.is_zero() {
            return None;
        }
        let cache = self.cache.lock();
        match cache.get(token) {
            Some((identity, until)) if *until > Instant::now() => Some(identity.clone()),
            _ => None,
        }
    }

    fn remember(&self, token: &str, identity: Option<Identity>, exp: Option<u64>) {
        if self.cache_ttl.is_zero() {
            return;
        }
        let mut ttl = self.cache_ttl;
        if let Some(exp) = exp {
            // Never trust a cached answer past the token's own expiry.
            let now = jsonwebtoken::get_current_timestamp();
            ttl = ttl.min(Duration::from_secs(exp.saturating_sub(now)));
        }
        let mut cache = self.cache.lock();
        if cache.len() >= CACHE_LIMIT {
            let now = Instant::now();
            cache.retain(|_, (_, until)| *until > now);
            if cache.len() >= CACHE_LIMIT {
                cache.clear();
            }
        }
        cache.insert(token.to_owned(), (identity, Instant::now() + ttl));
    }
}

fn bearer_token(headers: &HeaderMap) -> Result<&str, AccessError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or(AccessError::MissingToken)?
        .to_str()
        .map_err(|_| AccessError::MalformedAuthorization)?;
    let (scheme, token) = value
        .split_once(' ')
        .ok_or(AccessError::MalformedAuthorization)?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return Err(AccessError::MalformedAuthorization);
    }
    Ok(token)
}
