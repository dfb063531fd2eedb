//! [`ServiceName`]: the names of minibank's five services. A leaf: everything that needs to
//! name a service (the app, the RPC clients, the platform, the binary) imports it from here.

use std::fmt;
use std::str::FromStr;

/// The services of minibank.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ServiceName {
    /// The public door.
    Edge,
    /// Clients and tokens.
    Auth,
    /// Accounts, holds, postings.
    Ledger,
    /// The payment saga and its outbox.
    Payments,
    /// Webhook endpoints and deliveries.
    Webhooks,
}

impl ServiceName {
    /// Every service, in start order.
    pub const ALL: [ServiceName; 5] = [
        ServiceName::Ledger,
        ServiceName::Webhooks,
        ServiceName::Auth,
        ServiceName::Payments,
        ServiceName::Edge,
    ];

    /// Every service's name, in start order.
    pub const NAMES: [&'static str; 5] = {
        let mut names = [""; 5];
        let mut index = 0;
        while index < names.len() {
            names[index] = ServiceName::ALL[index].as_str();
            index += 1;
        }
        names
    };

    /// The name it reports as (`service.name`), e.g. `payments`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ServiceName::Edge => "edge",
            ServiceName::Auth => "auth",
            ServiceName::Ledger => "ledger",
            ServiceName::Payments => "payments",
            ServiceName::Webhooks => "webhooks",
        }
    }
}

impl fmt::Display for ServiceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ServiceName {
    type Err = anyhow::Error;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        ServiceName::ALL
            .into_iter()
            .find(|name| name.as_str() == text.trim())
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "`{text}` is not a minibank service (edge, auth, ledger, payments, webhooks)"
                )
            })
    }
}
