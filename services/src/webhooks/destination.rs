//! Where a webhook may be sent: never inward. A merchant's URL is refused when it names the
//! platform itself or its network: loopback, private (RFC 1918), link-local, unique-local
//! (`fc00::/7`), cloud-metadata (`169.254.169.254`, `fd00:ec2::254`, `metadata.google.internal`),
//! unspecified and other non-public addresses, the platform's own service names (edge, auth,
//! ledger, payments, webhooks), `localhost`, and names only the cluster can resolve (one label,
//! `*.svc`, `*.cluster.local`, `*.internal`). IPv4-mapped and IPv4-embedding IPv6 forms are
//! judged by their IPv4 address; decimal, octal and hex IPv4 literals (`http://2130706433/`)
//! are normalised by the URL parser into the address they mean, and judged as that.
//!
//! Two checks, one policy ([`DestinationPolicy`]):
//! - at registration, [`DestinationPolicy::check_url`] judges the URL as written (no DNS);
//! - at delivery, [`DestinationPolicy::resolve`] resolves the name and refuses the destination
//!   if any address is inward; the worker then connects to exactly those addresses
//!   (`checked_connect`), so a name that is rebound between the check and the connection
//!   cannot slip in.
//!
//! An operator-set allow-list ([`DestinationPolicy::from_list`],
//! `MINIBANK_WEBHOOK_ALLOWED_DESTINATIONS`) names exceptions: `host`, `host:port`,
//! `host:low-high` (ports) or a CIDR (`10.1.0.0/16`, any port). The test drivers allow their
//! merchant stand-ins with it; production profiles set none.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::ops::RangeInclusive;
use std::sync::Arc;

use ipnet::IpNet;
use reqwest::Url;
use url::Host;

use super::error::RefusedDestination;
use crate::service::ServiceName;

/// The environment variable of the allow-list.
pub const ALLOW_ENV: &str = "MINIBANK_WEBHOOK_ALLOWED_DESTINATIONS";

/// Why a destination is inward (refused).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inward {
    /// `127.0.0.0/8`, `::1`, `localhost`.
    Loopback,
    /// RFC 1918: `10/8`, `172.16/12`, `192.168/16`.
    Private,
    /// `169.254/16`, `fe80::/10`.
    LinkLocal,
    /// `fc00::/7`.
    UniqueLocal,
    /// A cloud's instance-metadata service.
    CloudMetadata,
    /// `0.0.0.0`, `::`.
    Unspecified,
    /// One of the platform's own services.
    PlatformService,
    /// A name only the platform's network resolves (one label, `*.svc`, `*.cluster.local`,
    /// `*.internal`).
    InternalName,
    /// Another special-purpose address: shared (CGNAT), multicast, broadcast, documentation,
    /// benchmarking, reserved.
    NotPublic,
}

impl Inward {
    /// Why, in words (the `message` of the refusal).
    pub fn describe(self) -> &'static str {
        match self {
            Inward::Loopback => "a loopback address",
            Inward::Private => "a private address (RFC 1918)",
            Inward::LinkLocal => "a link-local address",
            Inward::UniqueLocal => "a unique-local address (fc00::/7)",
            Inward::CloudMetadata => "a cloud metadata service",
            Inward::Unspecified => "the unspecified address",
            Inward::PlatformService => "one of the platform's own services",
            Inward::InternalName => "a name only the platform's network resolves",
            Inward::NotPublic => "not a public unicast address",
        }
    }
}

/// Judges an address: `None` when it is a public unicast address.
pub fn classify_ip(ip: IpAddr) -> Option<Inward> {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> Option<Inward> {
    let [a, b, c, _] = ip.octets();
    Some(match (a, b, c) {
        // Before link-local: the metadata services are link-local addresses too.
        _ if ip == Ipv4Addr::new(169, 254, 169, 254) || ip == Ipv4Addr::new(100, 100, 100, 200) => {
            Inward::CloudMetadata
        }
        _ if ip.is_unspecified() => Inward::Unspecified,
        _ if ip.is_loopback() => Inward::Loopback,
        _ if ip.is_private() => Inward::Private,
        _ if ip.is_link_local() => Inward::LinkLocal,
        (0, _, _) | (240..=255, _, _) | (224..=239, _, _) => Inward::NotPublic,
        (100, 64..=127, _) | (198, 18..=19, _) => Inward::NotPublic,
        (192, 0, 0 | 2) | (198, 51, 100) | (203, 0, 113) => Inward::NotPublic,
        _ => return None,
    })
}

fn classify_v6(ip: Ipv6Addr) -> Option<Inward> {
    let segments = ip.segments();
    if ip == Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254) {
        return Some(Inward::CloudMetadata);
    }
    if ip.is_unspecified() {
        return Some(Inward::Unspecified);
    }
    if ip.is_loopback() {
        return Some(Inward::Loopback);
    }
    // IPv4 inside IPv6: mapped (::ffff:a.b.c.d), compatible (::a.b.c.d), NAT64 (64:ff9b::/96),
    // 6to4 (2002:AABB:CCDD::/48) are judged by their IPv4 address.
    if let Some(v4) = ip.to_ipv4_mapped() {
        return classify_v4(v4);
    }
    if segments[..6] == [0; 6] {
        return Some(
            classify_v4(embedded_v4(segments[6], segments[7])).unwrap_or(Inward::NotPublic),
        );
    }
    if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return classify_v4(embedded_v4(segments[6], segments[7]));
    }
    if segments[0] == 0x2002 {
        return classify_v4(embedded_v4(segments[1], segments[2]));
    }
    Some(match segments[0] {
        s if s & 0xfe00 == 0xfc00 => Inward::UniqueLocal,
        s if s & 0xffc0 == 0xfe80 => Inward::LinkLocal,
        // Site-local (deprecated), multicast.
        s if s & 0xffc0 == 0xfec0 || s & 0xff00 == 0xff00 => Inward::NotPublic,
        // Documentation, discard-only.
        0x2001 if segments[1] == 0xdb8 => Inward::NotPublic,
        0x100 if segments[1..4] == [0; 3] => Inward::NotPublic,
        _ => return None,
    })
}

fn embedded_v4(high: u16, low: u16) -> Ipv4Addr {
    Ipv4Addr::from((u32::from(high) << 16) | u32::from(low))
}

/// Names of cloud metadata services.
const METADATA_NAMES: [&str; 4] = [
    "metadata.google.internal",
    "metadata.goog",
    "instance-data",
    "instance-data.ec2.internal",
];

/// Judges a host name (lowercase, no trailing dot): `None` when it may be public.
pub fn classify_name(name: &str) -> Option<Inward> {
    let first_label = name.split('.').next().unwrap_or_default();
    let platform = ServiceName::ALL
        .iter()
        .any(|service| service.as_str() == first_label);
    let cluster_suffix = [".svc", ".cluster.local", ".svc.cluster.local"]
        .iter()
        .any(|suffix| name.ends_with(suffix));
    Some(if name == "localhost" || name.ends_with(".localhost") {
        Inward::Loopback
    } else if METADATA_NAMES.contains(&name) {
        Inward::CloudMetadata
    } else if platform && (name == first_label || cluster_suffix) {
        Inward::PlatformService
    } else if !name.contains('.') || cluster_suffix || name.ends_with(".internal") {
        Inward::InternalName
    } else {
        return None;
    })
}

/// A URL's host as the policy compares it: a normalised name or an address (an IPv4-mapped
/// IPv6 address as its IPv4 address).
#[derive(Debug, Clone, PartialEq, Eq)]
enum HostKey {
    Name(String),
    Ip(IpAddr),
}

impl HostKey {
    fn parse(raw: &str) -> HostKey {
        let trimmed = raw.trim_start_matches('[').trim_end_matches(']');
        match trimmed.parse::<IpAddr>() {
            Ok(ip) => HostKey::Ip(canonical(ip)),
            Err(_) => HostKey::Name(raw.trim_end_matches('.').to_ascii_lowercase()),
        }
    }

    fn of(url: &Url) -> Option<HostKey> {
        Some(match url.host()? {
            Host::Domain(name) => HostKey::parse(name),
            Host::Ipv4(ip) => HostKey::Ip(IpAddr::V4(ip)),
            Host::Ipv6(ip) => HostKey::Ip(canonical(IpAddr::V6(ip))),
        })
    }
}

fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// One allow-list entry.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Allowed {
    /// A host (name or address) on some ports.
    Host(HostKey, RangeInclusive<u16>),
    /// Every address of a network, any port.
    Net(IpNet),
}

/// An allow-list entry that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not host, host:port, host:low-high or a CIDR")]
pub struct InvalidAllowEntry(String);

/// What a delivery check found: the addresses to connect to, all checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    /// The name to pin to `addresses` (`None` when the URL's host is an address).
    pub name: Option<String>,
    /// Where to connect.
    pub addresses: Vec<SocketAddr>,
}

/// Why a delivery is not sent.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryRefusal {
    /// The destination is inward: the delivery fails for good.
    #[error(transparent)]
    Refused(#[from] RefusedDestination),
    /// The name did not resolve: try again later.
    #[error("`{host}` does not resolve: {message}")]
    Unresolved {
        /// The name.
        host: String,
        /// The resolver's error.
        message: String,
    },
}

/// Which destinations webhooks sends to: every public one, and the allow-list's exceptions.
/// Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct DestinationPolicy {
    allowed: Arc<[Allowed]>,
}

impl DestinationPolicy {
    /// No exceptions: only public destinations (what production runs with).
    pub fn public_only() -> Self {
        Self::default()
    }

    /// The allow-list `raw`: entries separated by commas or spaces (empty: no exceptions).
    pub fn from_list(raw: &str) -> Result<Self, InvalidAllowEntry> {
        let allowed = raw
            .split([',', ' ', '\n', '\t'])
            .filter(|entry| !entry.is_empty())
            .map(parse_entry)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            allowed: allowed.into(),
        })
    }

    /// The loopback merchant stand-ins of the test drivers: `127.0.0.1` on unprivileged
    /// (ephemeral) ports, so `http://127.0.0.1:9/` or `http://2130706433/` are still refused.
    pub fn loopback_stand_ins() -> Self {
        Self::from_list("127.0.0.1:1024-65535").unwrap_or_default()
    }

    fn allows(&self, host: &HostKey, port: u16) -> bool {
        self.allowed.iter().any(|entry| match (entry, host) {
            (Allowed::Host(allowed, ports), _) => allowed == host && ports.contains(&port),
            (Allowed::Net(net), HostKey::Ip(ip)) => net.contains(ip),
            (Allowed::Net(_), HostKey::Name(_)) => false,
        })
    }

    /// Judges `url` as written, without DNS: refused when its host is an inward address or
    /// name and the allow-list does not name it.
    pub fn check_url(&self, url: &Url) -> Result<(), RefusedDestination> {
        let (Some(host), Some(port)) = (HostKey::of(url), url.port_or_known_default()) else {
            return Err(refused(url, Inward::InternalName));
        };
        if self.allows(&host, port) {
            return Ok(());
        }
        let inward = match &host {
            HostKey::Ip(ip) => classify_ip(*ip),
            HostKey::Name(name) => classify_name(name),
        };
        inward.map_or(Ok(()), |reason| Err(refused(url, reason)))
    }

    /// The delivery-time check: [`DestinationPolicy::check_url`], then the name's addresses
    /// (from the system resolver), every one of which must be public or allowed. Returns where
    /// to connect.
    pub async fn resolve(&self, url: &Url) -> Result<Checked, DeliveryRefusal> {
        self.resolve_with(url, |name, port| async move {
            tokio::net::lookup_host((name.as_str(), port))
                .await
                .map(Iterator::collect)
        })
        .await
    }

    /// [`DestinationPolicy::resolve`] with `lookup` as the resolver (tests answer as a
    /// rebinding DNS server would).
    pub async fn resolve_with<F, Fut>(
        &self,
        url: &Url,
        lookup: F,
    ) -> Result<Checked, DeliveryRefusal>
    where
        F: FnOnce(String, u16) -> Fut,
        Fut: Future<Output = std::io::Result<Vec<SocketAddr>>>,
    {
        self.check_url(url)?;
        let port = url.port_or_known_default().unwrap_or(80);
        let name = match HostKey::of(url) {
            Some(HostKey::Ip(ip)) => {
                return Ok(Checked {
                    name: None,
                    addresses: vec![SocketAddr::new(ip, port)],
                });
            }
            Some(HostKey::Name(name)) => name,
            None => return Err(refused(url, Inward::InternalName).into()),
        };
        let addresses =
            lookup(name.clone(), port)
                .await
                .map_err(|error| DeliveryRefusal::Unresolved {
                    host: name.clone(),
                    message: error.to_string(),
                })?;
        if addresses.is_empty() {
            return Err(DeliveryRefusal::Unresolved {
                host: name,
                message: "no addresses".into(),
            });
        }
        self.check_addresses(url, &addresses)?;
        Ok(Checked {
            name: Some(name),
            addresses,
        })
    }

    /// Refuses `addresses` (what `url`'s name resolved to) if any is inward and not allowed.
    pub fn check_addresses(
        &self,
        url: &Url,
        addresses: &[SocketAddr],
    ) -> Result<(), RefusedDestination> {
        if HostKey::of(url)
            .is_some_and(|host| self.allows(&host, url.port_or_known_default().unwrap_or_default()))
        {
            return Ok(());
        }
        for address in addresses {
            let ip = HostKey::Ip(canonical(address.ip()));
            if self.allows(&ip, address.port()) {
                continue;
            }
            if let Some(reason) = classify_ip(address.ip()) {
                return Err(RefusedDestination {
                    destination: format!("{url} (resolved to {})", address.ip()),
                    reason,
                });
            }
        }
        Ok(())
    }
}

fn refused(url: &Url, reason: Inward) -> RefusedDestination {
    RefusedDestination {
        destination: url.to_string(),
        reason,
    }
}

fn parse_entry(entry: &str) -> Result<Allowed, InvalidAllowEntry> {
    let invalid = || InvalidAllowEntry(entry.to_owned());
    if entry.contains('/') {
        return entry
            .parse::<IpNet>()
            .map(Allowed::Net)
            .map_err(|_| invalid());
    }
    if let Ok(ip) = entry.parse::<IpAddr>() {
        return Ok(Allowed::Host(HostKey::Ip(canonical(ip)), 0..=u16::MAX));
    }
    let (host, ports) = match entry.rsplit_once(':') {
        Some((host, ports)) if !host.ends_with(':') => (host, Some(ports)),
        _ => (entry, None),
    };
    if host.is_empty() || (host.contains(':') && !host.starts_with('[')) {
        return Err(invalid());
    }
    let ports = match ports {
        None => 0..=u16::MAX,
        Some(ports) => match ports.split_once('-') {
            Some((low, high)) => {
                let (low, high) = (low.parse::<u16>(), high.parse::<u16>());
                match (low, high) {
                    (Ok(low), Ok(high)) if low <= high => low..=high,
                    _ => return Err(invalid()),
                }
            }
            None => {
                let port = ports.parse::<u16>().map_err(|_| invalid())?;
                port..=port
            }
        },
    };
    Ok(Allowed::Host(HostKey::parse(host), ports))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(policy: &DestinationPolicy, raw: &str) -> Result<(), Inward> {
        policy
            .check_url(&Url::parse(raw).unwrap())
            .map_err(|refused| refused.reason)
    }

    #[test]
    fn inward_destinations_are_refused_with_their_reason() {
        let policy = DestinationPolicy::public_only();
        for (url, reason) in [
            ("http://127.0.0.1:9/hook", Inward::Loopback),
            ("http://[::1]:80/x", Inward::Loopback),
            ("http://localhost:8080/x", Inward::Loopback),
            ("http://LOCALHOST./x", Inward::Loopback),
            ("http://shop.localhost/x", Inward::Loopback),
            ("http://2130706433/", Inward::Loopback),
            ("http://017700000001/", Inward::Loopback),
            ("http://0x7f.1/", Inward::Loopback),
            ("http://127.1/", Inward::Loopback),
            ("http://[::ffff:127.0.0.1]/", Inward::Loopback),
            ("http://[::ffff:7f00:1]/", Inward::Loopback),
            ("http://10.0.0.1/x", Inward::Private),
            ("http://172.16.3.4/", Inward::Private),
            ("http://192.168.1.1/", Inward::Private),
            ("http://[::ffff:10.0.0.1]/", Inward::Private),
            ("http://[64:ff9b::a00:1]/", Inward::Private),
            ("http://[2002:c0a8:101::1]/", Inward::Private),
            ("http://169.254.1.1/", Inward::LinkLocal),
            ("http://[fe80::1]/", Inward::LinkLocal),
            ("http://[fc00::1]/", Inward::UniqueLocal),
            ("http://[fd12:3456::1]/", Inward::UniqueLocal),
            (
                "http://169.254.169.254/latest/meta-data/",
                Inward::CloudMetadata,
            ),
            ("http://[fd00:ec2::254]/", Inward::CloudMetadata),
            ("http://[::ffff:169.254.169.254]/", Inward::CloudMetadata),
            (
                "http://metadata.google.internal/computeMetadata/v1/",
                Inward::CloudMetadata,
            ),
            ("http://0.0.0.0/", Inward::Unspecified),
            ("http://[::]/", Inward::Unspecified),
            ("http://0/", Inward::Unspecified),
            ("http://ledger/holds", Inward::PlatformService),
            ("http://payments:8080/", Inward::PlatformService),
            ("http://EDGE./", Inward::PlatformService),
            (
                "http://auth.minibank.svc.cluster.local/",
                Inward::PlatformService,
            ),
            ("http://webhooks.svc/", Inward::PlatformService),
            ("http://collector:4318/", Inward::InternalName),
            ("http://db.prod.internal/", Inward::InternalName),
            ("http://100.64.0.1/", Inward::NotPublic),
            ("http://224.0.0.1/", Inward::NotPublic),
            ("http://255.255.255.255/", Inward::NotPublic),
            ("http://[ff02::1]/", Inward::NotPublic),
            ("http://[::8.8.8.8]/", Inward::NotPublic),
        ] {
            assert_eq!(check(&policy, url), Err(reason), "{url}");
        }
    }

    #[test]
    fn public_destinations_pass() {
        let policy = DestinationPolicy::public_only();
        for url in [
            "https://shop.example/hooks",
            "https://ledger.shop.example/",
            "http://8.8.8.8/",
            "http://[2606:4700::1111]/",
            "http://[::ffff:8.8.8.8]/",
            "http://[64:ff9b::808:808]/",
        ] {
            assert_eq!(check(&policy, url), Ok(()), "{url}");
        }
    }

    #[test]
    fn the_allow_list_names_exceptions_by_host_port_range_or_network() {
        let policy = DestinationPolicy::from_list(
            "127.0.0.1:1024-65535, merchant-sim:8080 10.1.0.0/16,[::1]:9000,localhost",
        )
        .unwrap();
        for url in [
            "http://127.0.0.1:41234/webhooks",
            "http://[::ffff:127.0.0.1]:2000/",
            "http://merchant-sim:8080/",
            "http://10.1.2.3/",
            "http://[::1]:9000/",
            "http://localhost/",
        ] {
            assert_eq!(check(&policy, url), Ok(()), "{url}");
        }
        for (url, reason) in [
            ("http://127.0.0.1:9/", Inward::Loopback),
            ("http://2130706433/", Inward::Loopback),
            ("http://merchant-sim:8081/", Inward::InternalName),
            ("http://10.2.0.1/", Inward::Private),
            ("http://[::1]:9001/", Inward::Loopback),
        ] {
            assert_eq!(check(&policy, url), Err(reason), "{url}");
        }
        let stand_ins = DestinationPolicy::loopback_stand_ins();
        assert_eq!(check(&stand_ins, "http://127.0.0.1:50000/"), Ok(()));
        assert_eq!(
            check(&stand_ins, "http://127.0.0.1/"),
            Err(Inward::Loopback)
        );
        for bad in ["::1:", "host:x", "host:9-1", "10.0.0.0/40", ":80", "a:b:c"] {
            assert!(DestinationPolicy::from_list(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn resolved_addresses_are_refused_when_any_is_inward() {
        let policy = DestinationPolicy::public_only();
        let url = Url::parse("https://shop.example/hooks").unwrap();
        let public: SocketAddr = "93.184.216.34:443".parse().unwrap();
        let inward: SocketAddr = "10.0.0.7:443".parse().unwrap();
        assert!(policy.check_addresses(&url, &[public]).is_ok());
        let refused = policy.check_addresses(&url, &[public, inward]).unwrap_err();
        assert_eq!(refused.reason, Inward::Private);
        assert!(
            refused.to_string().contains("resolved to 10.0.0.7"),
            "{refused}"
        );
        let allowed = DestinationPolicy::from_list("10.0.0.0/24").unwrap();
        assert!(allowed.check_addresses(&url, &[public, inward]).is_ok());
    }

    /// A name that passes the registration check but resolves inward at delivery (a
    /// rebinding DNS server's answer) is refused, naming the address; a public answer gives
    /// the addresses to connect to. No connection is made.
    #[tokio::test]
    async fn a_name_is_resolved_and_refused_at_delivery_when_it_points_inward() {
        let policy = DestinationPolicy::public_only();
        let url = Url::parse("https://rebind.shop.example/hooks").unwrap();
        let answer = |ip: &str| {
            let address = SocketAddr::new(ip.parse().unwrap(), 443);
            move |_: String, _: u16| async move { Ok(vec![address]) }
        };
        match policy.resolve_with(&url, answer("169.254.169.254")).await {
            Err(DeliveryRefusal::Refused(refused)) => {
                assert_eq!(refused.reason, Inward::CloudMetadata);
                assert!(refused.to_string().contains("169.254.169.254"), "{refused}");
            }
            other => panic!("not refused: {other:?}"),
        }
        let checked = policy
            .resolve_with(&url, answer("93.184.216.34"))
            .await
            .unwrap();
        assert_eq!(checked.name.as_deref(), Some("rebind.shop.example"));
        assert_eq!(checked.addresses, ["93.184.216.34:443".parse().unwrap()]);
        let unresolved = policy
            .resolve_with(&url, |_, _| async { Ok(Vec::new()) })
            .await;
        assert!(matches!(
            unresolved,
            Err(DeliveryRefusal::Unresolved { .. })
        ));
        let literal = policy
            .resolve(&Url::parse("http://8.8.8.8:81/").unwrap())
            .await
            .unwrap();
        assert_eq!(literal.addresses, ["8.8.8.8:81".parse().unwrap()]);
        assert!(matches!(
            policy
                .resolve(&Url::parse("http://localhost:4321/").unwrap())
                .await,
            Err(DeliveryRefusal::Refused(_))
        ));
    }
}
