//! Service discovery by DNS, as Kubernetes headless services and Docker network aliases do it:
//! one name resolves to the address of every replica. [`follow_dns`] turns peer URLs into a
//! [`Replicas`] channel: each URL whose host is a name is resolved again every interval, and
//! its addresses (`http://<ip>:<port>`) become the replicas a balanced client spreads calls
//! over, so replicas added or removed behind the name are followed without a restart.
//!
//! A name that does not resolve (its only replica is off the network) stays in the list as
//! the name itself, so a call to it fails as it would without discovery ("unreachable").

use std::net::IpAddr;
use std::time::Duration;

use tokio::sync::watch;

use super::balance::Replicas;

/// One peer URL, as discovery treats it.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Peer {
    /// Called as it is: its host is an address or `localhost`, or it is no URL.
    Fixed(String),
    /// Its host is a name, resolved again and again.
    Named {
        url: String,
        scheme: String,
        host: String,
        port: u16,
    },
}

impl Peer {
    fn of(url: &str) -> Peer {
        let url = url.trim_end_matches('/').to_owned();
        let Ok(parsed) = reqwest::Url::parse(&url) else {
            return Peer::Fixed(url);
        };
        let (Some(host), Some(port)) = (parsed.host_str(), parsed.port_or_known_default()) else {
            return Peer::Fixed(url);
        };
        let is_address = host.trim_matches(['[', ']']).parse::<IpAddr>().is_ok();
        if is_address || host.eq_ignore_ascii_case("localhost") {
            return Peer::Fixed(url);
        }
        Peer::Named {
            scheme: parsed.scheme().to_owned(),
            host: host.to_owned(),
            port,
            url,
        }
    }

    fn url(&self) -> &str {
        match self {
            Peer::Fixed(url) | Peer::Named { url, .. } => url,
        }
    }

    /// The replica URLs behind this peer, sorted: one per address its name resolves to, or
    /// the URL itself when it is fixed or its name does not resolve.
    async fn resolve(&self) -> Vec<String> {
        let Peer::Named {
            url,
            scheme,
            host,
            port,
        } = self
        else {
            return vec![self.url().to_owned()];
        };
        let mut replicas: Vec<String> = match tokio::net::lookup_host((host.as_str(), *port)).await
        {
            Ok(addresses) => addresses
                .map(|address| format!("{scheme}://{address}"))
                .collect(),
            Err(error) => {
                tracing::debug!(%host, %error, "peer name does not resolve; calling it by name");
                Vec::new()
            }
        };
        replicas.sort();
        replicas.dedup();
        if replicas.is_empty() {
            replicas.push(url.clone());
        }
        replicas
    }
}

/// Whether `url`'s host is a name discovery would resolve (not an address, not `localhost`).
pub fn has_name(url: &str) -> bool {
    matches!(Peer::of(url), Peer::Named { .. })
}

/// Follows `urls` (peer base URLs) by DNS, every `every`. A URL whose host is an address or
/// `localhost` is kept as it is. Outside a Tokio runtime, or when no URL has a name to
/// resolve, the list is fixed. The resolving task ends when every receiver is dropped.
pub fn follow_dns(urls: &[String], every: Duration) -> Replicas {
    let peers: Vec<Peer> = urls.iter().map(|url| Peer::of(url)).collect();
    follow(peers, every)
}

fn follow(peers: Vec<Peer>, every: Duration) -> Replicas {
    let initial = peers.iter().map(|peer| peer.url().to_owned()).collect();
    let (sender, receiver) = watch::channel(initial);
    let has_names = peers.iter().any(|peer| matches!(peer, Peer::Named { .. }));
    if has_names && let Ok(runtime) = tokio::runtime::Handle::try_current() {
        runtime.spawn(refresh(sender, peers, every));
    }
    receiver
}

async fn refresh(sender: watch::Sender<Vec<String>>, peers: Vec<Peer>, every: Duration) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            () = sender.closed() => return,
        }
        let mut replicas = Vec::new();
        for peer in &peers {
            replicas.extend(peer.resolve().await);
        }
        sender.send_if_modified(|current| {
            let changed = *current != replicas;
            if changed {
                tracing::info!(from = ?current, to = ?replicas, "replicas changed (DNS)");
                *current = replicas;
            }
            changed
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_and_localhost_are_called_as_they_are() {
        for url in [
            "http://127.0.0.1:8080",
            "http://[::1]:8080",
            "http://localhost:8080",
            "",
        ] {
            assert_eq!(Peer::of(url), Peer::Fixed(url.to_owned()), "{url}");
        }
        assert!(has_name("http://ledger:8080") && !has_name("http://127.0.0.1:8080"));
        assert_eq!(
            Peer::of("https://bank.example/"),
            Peer::Named {
                url: "https://bank.example".to_owned(),
                scheme: "https".to_owned(),
                host: "bank.example".to_owned(),
                port: 443,
            }
        );
    }

    #[tokio::test]
    async fn a_fixed_list_stays_as_given() {
        let replicas = follow_dns(
            &["http://127.0.0.1:1/".to_owned()],
            Duration::from_millis(5),
        );
        assert_eq!(*replicas.borrow(), ["http://127.0.0.1:1"]);
    }

    /// `localhost` (which [`follow_dns`] leaves alone) stands for a name the resolver answers
    /// without a DNS server: the list becomes its addresses, each with the URL's port.
    #[tokio::test]
    async fn a_name_becomes_the_addresses_it_resolves_to() {
        let peer = Peer::Named {
            url: "http://localhost:4321".to_owned(),
            scheme: "http".to_owned(),
            host: "localhost".to_owned(),
            port: 4321,
        };
        let mut replicas = follow(vec![peer], Duration::from_millis(10));
        let resolved = tokio::time::timeout(
            Duration::from_secs(5),
            replicas.wait_for(|urls| urls.iter().all(|url| !url.contains("localhost"))),
        )
        .await
        .expect("the name was resolved within 5 s")
        .expect("the resolving task is alive")
        .clone();
        assert!(!resolved.is_empty());
        for url in &resolved {
            let parsed = reqwest::Url::parse(url).unwrap();
            assert_eq!(parsed.port(), Some(4321), "{url}");
            let host = parsed.host_str().unwrap().trim_matches(['[', ']']);
            assert!(host.parse::<IpAddr>().unwrap().is_loopback(), "{url}");
        }
    }

    #[tokio::test]
    async fn a_name_that_does_not_resolve_is_called_by_name() {
        let peer = Peer::of("http://no-such-host.invalid:8080");
        assert_eq!(peer.resolve().await, ["http://no-such-host.invalid:8080"]);
    }
}
