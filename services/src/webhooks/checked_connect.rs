//! The HTTP client deliveries are sent with: it connects only to addresses the destination
//! check approved. Its DNS resolver never asks DNS itself; it answers a name with the addresses
//! [`super::destination::DestinationPolicy::resolve`] checked for it just before the send
//! ([`PinnedNames::pin`]), so a name rebound between the check and the connection still leads
//! to a checked address, and a name nobody checked does not resolve at all. Redirects are not
//! followed (a 3xx is the endpoint's answer), so an endpoint cannot send a delivery inward.
//! A URL whose host is an address does not resolve; the check judged that address itself.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::rpc::PoolStats;

/// Names and the checked addresses they resolve to. Cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct PinnedNames(Arc<Mutex<HashMap<String, Vec<SocketAddr>>>>);

/// A name was sent to without being checked first.
#[derive(Debug, thiserror::Error)]
#[error("`{0}` was not checked as a webhook destination; not resolving it")]
struct Unchecked(String);

impl PinnedNames {
    /// From now on, `name` resolves to `addresses` (checked by the caller).
    pub fn pin(&self, name: &str, addresses: Vec<SocketAddr>) {
        self.0.lock().insert(name.to_ascii_lowercase(), addresses);
    }

    /// The HTTP client for deliveries: this resolver, no redirects, no proxy, connections
    /// counted into `pool` as every client's are.
    pub fn client(&self, pool: &PoolStats) -> reqwest::Client {
        reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .pool_idle_timeout(Duration::from_secs(30))
            .connector_layer(pool.connector_layer())
            .dns_resolver(Arc::new(self.clone()))
            .build()
            .unwrap_or_else(|error| {
                tracing::error!(%error, "could not build the webhook client; deliveries fail");
                reqwest::Client::builder()
                    .dns_resolver(Arc::new(PinnedNames::default()))
                    .redirect(reqwest::redirect::Policy::none())
                    .build()
                    .unwrap_or_default()
            })
    }
}

impl Resolve for PinnedNames {
    fn resolve(&self, name: Name) -> Resolving {
        let found = self.0.lock().get(name.as_str()).cloned();
        let name = name.as_str().to_owned();
        Box::pin(async move {
            match found {
                Some(addresses) => Ok(Box::new(addresses.into_iter()) as Addrs),
                None => Err(Box::new(Unchecked(name)) as _),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn only_pinned_names_resolve_and_to_their_pinned_addresses() {
        let names = PinnedNames::default();
        let loopback: SocketAddr = "127.0.0.1:0".parse().unwrap();
        names.pin("Merchant.Example", vec![loopback]);
        let found: Vec<_> = names
            .resolve("merchant.example".parse().unwrap())
            .await
            .unwrap()
            .collect();
        assert_eq!(found, [loopback]);
        let unchecked = names
            .resolve("other.example".parse().unwrap())
            .await
            .err()
            .unwrap();
        assert!(unchecked.to_string().contains("not checked"), "{unchecked}");
    }

    /// A name the check never pinned is not resolved by DNS: the request fails to connect
    /// (nothing is sent). `localhost` stands for any name; no traffic leaves the machine.
    #[tokio::test]
    async fn the_client_does_not_connect_to_an_unchecked_name() {
        let client = PinnedNames::default().client(&PoolStats::default());
        let error = client
            .get("http://localhost:9/never")
            .send()
            .await
            .unwrap_err();
        assert!(error.is_connect(), "{error:?}");
    }
}
