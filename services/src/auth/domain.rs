//! auth's own values, each built only through `parse`: party names, client ids,
//! generated secrets and the scopes each role is granted.

use crate::rpc::Role;

/// Why a value was refused: a machine code and a sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    /// snake_case code for the error body.
    pub code: &'static str,
    /// Human explanation.
    pub message: String,
}

/// A party's display name: 1 to 200 characters after trimming, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartyName(String);

impl PartyName {
    /// Validates a name.
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let name = raw.trim();
        let length = name.chars().count();
        if length == 0 || length > 200 || name.chars().any(char::is_control) {
            return Err(Invalid {
                code: "invalid_name",
                message: "name must be 1 to 200 printable characters".to_owned(),
            });
        }
        Ok(Self(name.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A fresh prefixed UUIDv7 id (`cus_…`, `mer_…`, `acc_…`, `cli_…`).
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}{}", uuid::Uuid::now_v7())
}

pub use crate::config::new_client_secret;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_must_not_be_empty() {
        assert_eq!(PartyName::parse("  Ada  ").unwrap().as_str(), "Ada");
        assert_eq!(PartyName::parse("   ").unwrap_err().code, "invalid_name");
        assert!(PartyName::parse("a\u{0}b").is_err());
    }

    #[test]
    fn customers_cannot_onboard_parties_but_operators_can() {
        assert!(!scopes_for(Role::Customer).contains(&"parties:write"));
        assert!(scopes_for(Role::Operator).contains(&"parties:write"));
        assert!(scopes_for(Role::Merchant).contains(&"webhooks:write"));
    }

    #[test]
    fn ids_carry_their_prefix_and_secrets_are_long() {
        assert!(new_id("cus_").starts_with("cus_"));
        assert_eq!(new_client_secret().len(), 4 + 64);
    }
}
