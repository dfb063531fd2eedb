//! auth's own values, each built only through `parse` or `generate` (party names, client ids,
//! the scopes each role is granted), and the wire views it shares: the onboarding body both
//! onboarding operations take, and the introspection answer edge reads.

use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use crate::domain::{CustomerId, MerchantId};
use crate::http_error::{Answer, ErrorAnswer};
use crate::rpc::Role;

pub use crate::config::new_client_secret;

/// A party's display name, taken as given: 1 to 200 characters (Unicode scalar values), none of
/// them a control character (Unicode `Cc`), neither the first nor the last a white space (Unicode
/// `White_Space`; so a name is never blank). `openapi.json` states the same rule as a `pattern`
/// (`PartyRequest.name`), so what the schema accepts is what auth accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartyName(String);

impl PartyName {
    /// The longest name accepted, in characters.
    pub const MAX_CHARS: usize = 200;

    /// Validates a name (the `name` field of an onboarding body).
    pub fn parse(raw: &str) -> Result<Self, InvalidName> {
        let length = raw.chars().count();
        let (Some(first), Some(last)) = (raw.chars().next(), raw.chars().next_back()) else {
            return Err(InvalidName);
        };
        if length > Self::MAX_CHARS
            || raw.chars().any(char::is_control)
            || first.is_whitespace()
            || last.is_whitespace()
        {
            return Err(InvalidName);
        }
        Ok(Self(raw.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A name [`PartyName`] refuses: 422 `invalid_name`, about the field `name`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "name must be 1 to 200 characters, no control characters, not starting or ending with a space"
)]
pub struct InvalidName;

impl InvalidName {
    const ANSWER: Answer = Answer::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_name");
}

impl ErrorAnswer for InvalidName {
    fn answer(&self) -> Answer {
        Self::ANSWER
    }

    fn answers() -> Vec<Answer> {
        vec![Self::ANSWER]
    }

    fn field(&self) -> Option<&str> {
        Some("name")
    }
}

/// A client id: `cli_` and a UUIDv7 for onboarded parties (the operator's comes from
/// configuration).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientId(String);

impl ClientId {
    /// A fresh id for an onboarded party's client.
    pub fn generate() -> Self {
        Self(format!("cli_{}", uuid::Uuid::now_v7()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The kinds of party auth onboards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartyKind {
    /// A paying customer (`cus_…`), with a current account.
    Customer,
    /// A merchant being paid (`mer_…`), with a settlement account.
    Merchant,
}

impl PartyKind {
    /// The role its client and tokens carry.
    pub fn role(self) -> Role {
        match self {
            PartyKind::Customer => Role::Customer,
            PartyKind::Merchant => Role::Merchant,
        }
    }

    /// A fresh party id of this kind.
    pub fn new_party_id(self) -> String {
        match self {
            PartyKind::Customer => CustomerId::generate().as_str().to_owned(),
            PartyKind::Merchant => MerchantId::generate().as_str().to_owned(),
        }
    }
}

/// The scopes a role is granted (API.md, "Public API").
pub fn scopes_for(role: Role) -> &'static [&'static str] {
    match role {
        Role::Customer => &["accounts:read", "payments:write", "payments:read"],
        Role::Merchant => &[
            "accounts:read",
            "payments:read",
            "webhooks:write",
            "webhooks:read",
        ],
        Role::Operator => &[
            "parties:write",
            "accounts:fund",
            "accounts:read",
            "ledger:audit",
            "payments:read",
        ],
    }
}

/// The scope onboarding needs.
pub const ONBOARDING_SCOPE: &str = "parties:write";

/// The body of `POST /customers` and `POST /merchants` (wire).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OnboardBody {
    /// Display name.
    pub name: String,
    /// The account's currency.
    pub currency: String,
}

/// The answer of `POST /introspect` (edge decodes it); only `active` when the token is not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Introspection {
    /// True for a token auth signed that has not expired.
    pub active: bool,
    /// Party id or operator client id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// The holder's role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    /// Granted scopes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
    /// Expiry, unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<u64>,
}

impl Introspection {
    /// The answer for a token that is not valid.
    pub fn inactive() -> Self {
        Self {
            active: false,
            subject: None,
            role: None,
            scopes: Vec::new(),
            exp: None,
        }
    }
}

/// The body of `POST /introspect` (wire; edge sends it).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntrospectBody {
    /// The bearer token.
    pub token: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_must_not_be_empty_long_padded_or_hold_control_characters() {
        assert_eq!(
            PartyName::parse("Ada Lovelace").unwrap().as_str(),
            "Ada Lovelace"
        );
        assert_eq!(PartyName::parse(""), Err(InvalidName));
        assert_eq!(PartyName::parse("   "), Err(InvalidName));
        assert_eq!(PartyName::parse("  Ada"), Err(InvalidName));
        assert_eq!(PartyName::parse("Ada\u{3000}"), Err(InvalidName));
        assert!(PartyName::parse("a\u{0}b").is_err());
        assert!(
            PartyName::parse("a\u{85}b").is_err(),
            "a C1 control character"
        );
        assert!(PartyName::parse(&"x".repeat(200)).is_ok());
        assert!(
            PartyName::parse(&"é".repeat(200)).is_ok(),
            "characters, not bytes"
        );
        assert!(PartyName::parse(&"x".repeat(201)).is_err());
    }

    /// The contract found a schema-valid non-ASCII name refused while the schema said nothing
    /// of what a name holds: the schema's pattern now states the rule, and these names, which
    /// the pattern accepts, are accepted.
    #[test]
    fn non_ascii_names_the_schema_accepts_are_accepted() {
        for name in [
            "Zoë",
            "Łódź Bakery",
            "東京",
            "Ω",
            "a\u{a0}b",
            "🙂",
            "x\u{200b}",
        ] {
            assert!(PartyName::parse(name).is_ok(), "{name:?}");
        }
    }

    #[test]
    fn a_refused_name_is_422_invalid_name_about_the_name_field() {
        let answer = InvalidName.answer();
        assert_eq!(
            (answer.status.as_u16(), answer.code, InvalidName.field()),
            (422, "invalid_name", Some("name"))
        );
    }

    #[test]
    fn customers_cannot_onboard_parties_but_operators_can() {
        assert!(!scopes_for(Role::Customer).contains(&ONBOARDING_SCOPE));
        assert!(scopes_for(Role::Operator).contains(&ONBOARDING_SCOPE));
        assert!(scopes_for(Role::Merchant).contains(&"webhooks:write"));
    }

    #[test]
    fn party_ids_carry_their_kinds_prefix() {
        assert!(PartyKind::Customer.new_party_id().starts_with("cus_"));
        assert!(PartyKind::Merchant.new_party_id().starts_with("mer_"));
    }

    #[test]
    fn client_ids_carry_their_prefix_and_secrets_are_long() {
        assert!(ClientId::generate().as_str().starts_with("cli_"));
        assert_eq!(new_client_secret().len(), 4 + 64);
    }
}
