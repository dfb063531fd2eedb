//! webhooks' own values and the wire view its operations share: [`WebhookUrl`] (where a
//! merchant's deliveries go), [`EventType`] (what a merchant subscribes to), the merchant a
//! public call acts for ([`calling_merchant`]), and [`DeliveryView`] (a delivery as listed).

use std::fmt;

use reqwest::Url;
use serde::{Deserialize, Serialize};

use super::error::{InvalidEvents, InvalidUrl, UnknownEventType};
use crate::domain::MerchantId;
use crate::rpc::AccessDenied;
use crate::rpc::{RequestContext, Role};

/// The merchant a public call acts for: the caller must hold `scope` and be a merchant, else
/// `action` (e.g. "register webhook endpoints") is refused.
pub fn calling_merchant(
    context: &RequestContext,
    scope: &str,
    action: &str,
) -> Result<MerchantId, AccessDenied> {
    let caller = context.require_scope(scope)?;
    if caller.role != Role::Merchant {
        return Err(AccessDenied::Forbidden(format!("only merchants {action}")));
    }
    MerchantId::parse(&caller.subject)
        .map_err(|_| AccessDenied::Forbidden("the caller is not a merchant".into()))
}

/// An absolute http(s) URL with a host and no embedded credentials. Built only by
/// [`WebhookUrl::parse`]; anything else is `invalid_url`.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookUrl(Url);

impl WebhookUrl {
    /// At most this many characters.
    pub const MAX_LEN: usize = 2048;

    /// Accepts an absolute `http://` or `https://` URL with a host.
    pub fn parse(raw: &str) -> Result<Self, InvalidUrl> {
        if raw.len() > Self::MAX_LEN {
            return Err(InvalidUrl(format!(
                "url is longer than {} characters",
                Self::MAX_LEN
            )));
        }
        let url = Url::parse(raw)
            .map_err(|err| InvalidUrl(format!("`{raw}` is not an absolute URL: {err}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(InvalidUrl(format!(
                "url must use http or https, not `{}`",
                url.scheme()
            )));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(InvalidUrl(format!("`{raw}` has no host")));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(InvalidUrl("url must not contain credentials".into()));
        }
        Ok(WebhookUrl(url))
    }

    /// The URL as text.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl TryFrom<&str> for WebhookUrl {
    type Error = InvalidUrl;
    fn try_from(raw: &str) -> Result<Self, Self::Error> {
        WebhookUrl::parse(raw)
    }
}

impl fmt::Display for WebhookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_str())
    }
}

impl fmt::Debug for WebhookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WebhookUrl({})", self.0)
    }
}

/// An event announced by payments' outbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventType {
    /// The payment settled: the money reached the merchant's account.
    PaymentSettled,
    /// The payment failed: nothing moved.
    PaymentFailed,
}

impl EventType {
    /// Every event type.
    pub const ALL: [EventType; 2] = [EventType::PaymentSettled, EventType::PaymentFailed];

    /// `payment.settled` or `payment.failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::PaymentSettled => "payment.settled",
            EventType::PaymentFailed => "payment.failed",
        }
    }

    /// Parses the wire name.
    pub fn parse(raw: &str) -> Result<Self, UnknownEventType> {
        EventType::ALL
            .into_iter()
            .find(|t| t.as_str() == raw)
            .ok_or_else(|| UnknownEventType(raw.to_owned()))
    }

    /// Parses a subscription list: non-empty, known types, duplicates removed, stable order.
    pub fn parse_list(raw: &[String]) -> Result<Vec<Self>, InvalidEvents> {
        if raw.is_empty() {
            return Err(InvalidEvents::Empty);
        }
        let mut types = raw
            .iter()
            .map(|t| EventType::parse(t))
            .collect::<Result<Vec<_>, _>>()?;
        types.sort();
        types.dedup();
        Ok(types)
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a delivery stands: its `status` as stored and as `GET /v1/webhook-deliveries` lists it.
/// The store's SQL also filters on `'pending'` as written here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryState {
    /// Waiting for its next attempt: the first is made at once, each later one after its
    /// delay on the retry schedule (the last attempt got no 2xx answer, or none was made yet).
    Pending,
    /// The endpoint answered an attempt with a 2xx status; no more attempts are made.
    Delivered,
    /// Every attempt on the retry schedule failed (no answer or not 2xx); none is made again.
    DeadLettered,
}

impl DeliveryState {
    /// Every state.
    pub const ALL: [DeliveryState; 3] = [
        DeliveryState::Pending,
        DeliveryState::Delivered,
        DeliveryState::DeadLettered,
    ];

    /// `pending`, `delivered` or `dead_lettered`.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Delivered => "delivered",
            DeliveryState::DeadLettered => "dead_lettered",
        }
    }

    /// Reads a stored or listed state; `None` for anything else.
    pub fn parse(raw: &str) -> Option<Self> {
        DeliveryState::ALL.into_iter().find(|s| s.as_str() == raw)
    }
}

impl fmt::Display for DeliveryState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A delivery as the merchant lists it (and as the store reads it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryView {
    /// `dlv_…`.
    pub delivery_id: String,
    /// `evt_…`.
    pub event_id: String,
    /// `payment.settled | payment.failed`.
    pub event_type: String,
    /// `whe_…`.
    pub endpoint_id: String,
    /// The payment the event is about.
    pub payment_id: String,
    /// A [`DeliveryState`]: `pending | delivered | dead_lettered`.
    pub status: String,
    /// Attempts made.
    pub attempts: i64,
    /// HTTP status of the last attempt, if it got one.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub last_response_status: Option<i64>,
    /// Transport error or non-2xx summary of the last attempt.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub last_error: Option<String>,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339.
    pub updated_at: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http_error::{Answer, ErrorAnswer};
    use crate::rpc::Identity;
    use axum::http::StatusCode;

    fn context(identity: Option<(&str, Role, &str)>) -> RequestContext {
        RequestContext::background(opentelemetry::Context::new()).with_identity(identity.map(
            |(subject, role, scope)| Identity {
                subject: subject.into(),
                role,
                scopes: vec![scope.into()],
            },
        ))
    }

    fn refusal(context: &RequestContext) -> Answer {
        calling_merchant(context, "webhooks:read", "list deliveries")
            .unwrap_err()
            .answer()
    }

    #[test]
    fn absolute_http_and_https_urls_are_accepted() {
        for good in [
            "http://127.0.0.1:9000/hook",
            "https://merchant.example/webhooks?x=1",
        ] {
            assert_eq!(WebhookUrl::parse(good).unwrap().as_str(), good);
        }
    }

    #[test]
    fn relative_other_scheme_and_credential_urls_are_refused() {
        for bad in [
            "",
            "/hook",
            "merchant.example/hook",
            "ftp://merchant.example/",
            "file:///etc/passwd",
            "javascript:alert(1)",
            "https://user:pw@merchant.example/",
            "http://",
        ] {
            assert!(WebhookUrl::parse(bad).is_err(), "{bad}");
        }
        assert!(WebhookUrl::parse(&format!("https://a.example/{}", "x".repeat(2048))).is_err());
    }

    #[test]
    fn known_types_parse_and_lists_are_deduplicated() {
        let list = EventType::parse_list(&[
            "payment.failed".into(),
            "payment.settled".into(),
            "payment.failed".into(),
        ])
        .unwrap();
        assert_eq!(
            list,
            vec![EventType::PaymentSettled, EventType::PaymentFailed]
        );
    }

    #[test]
    fn unknown_or_empty_lists_are_refused() {
        assert_eq!(EventType::parse_list(&[]), Err(InvalidEvents::Empty));
        assert!(EventType::parse_list(&["payment.created".into()]).is_err());
        assert!(EventType::parse("PAYMENT.SETTLED").is_err());
    }

    #[test]
    fn only_a_merchant_holding_the_scope_is_a_calling_merchant() {
        let merchant = MerchantId::generate();
        let good = context(Some((merchant.as_str(), Role::Merchant, "webhooks:read")));
        assert_eq!(
            calling_merchant(&good, "webhooks:read", "list deliveries").unwrap(),
            merchant
        );
        let forbidden = Answer::new(StatusCode::FORBIDDEN, "forbidden");
        let customer = crate::domain::CustomerId::generate();
        for (subject, role, scope) in [
            (merchant.as_str(), Role::Merchant, "webhooks:write"),
            (customer.as_str(), Role::Customer, "webhooks:read"),
            ("mer_not-an-id", Role::Merchant, "webhooks:read"),
        ] {
            assert_eq!(
                refusal(&context(Some((subject, role, scope)))),
                forbidden,
                "{subject} {scope}"
            );
        }
        assert_eq!(
            refusal(&context(None)),
            Answer::new(StatusCode::UNAUTHORIZED, "unauthenticated"),
            "no identity at all"
        );
    }

    #[test]
    fn delivery_states_read_back_what_they_write() {
        for state in DeliveryState::ALL {
            assert_eq!(DeliveryState::parse(state.as_str()), Some(state));
        }
        // The store's SQL selects due deliveries with this literal.
        assert_eq!(DeliveryState::Pending.as_str(), "pending");
        assert_eq!(DeliveryState::parse("dead-lettered"), None);
    }
}
