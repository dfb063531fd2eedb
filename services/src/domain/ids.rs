//! Prefixed UUIDv7 identifiers (`acc_…`, `hld_…`, `pay_…`, …) and free-form operation keys.
//!
//! Each id is its own type so an account id can never be passed where a payment id is expected;
//! each is built only by `generate` (a fresh UUIDv7, so ids sort by creation time) or `parse`.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

use super::DomainError;

macro_rules! prefixed_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// The prefix every id of this kind starts with.
            pub const PREFIX: &'static str = $prefix;

            /// A fresh id: the prefix and a UUIDv7.
            pub fn generate() -> Self {
                $name(format!("{}{}", $prefix, Uuid::now_v7()))
            }

            /// Accepts the prefix followed by a hyphenated UUID.
            pub fn parse(raw: &str) -> Result<Self, DomainError> {
                match raw.strip_prefix($prefix).map(Uuid::try_parse) {
                    Some(Ok(uuid)) if uuid.hyphenated().to_string() == raw[$prefix.len()..] => {
                        Ok($name(raw.to_owned()))
                    }
                    _ => Err(DomainError::InvalidId(format!(
                        "`{raw}` is not a valid {} id (expected `{}` followed by a UUID)",
                        $what, $prefix
                    ))),
                }
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl TryFrom<&str> for $name {
            type Error = DomainError;
            fn try_from(raw: &str) -> Result<Self, Self::Error> {
                $name::parse(raw)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let raw = String::deserialize(deserializer)?;
                $name::parse(&raw).map_err(serde::de::Error::custom)
            }
        }
    };
}

prefixed_id!(
    /// A ledger account (`acc_…`).
    AccountId, "acc_", "account"
);
prefixed_id!(
    /// A hold on an account's funds (`hld_…`).
    HoldId, "hld_", "hold"
);
prefixed_id!(
    /// A payment (`pay_…`); also the provider's `transfer_id`.
    PaymentId, "pay_", "payment"
);
prefixed_id!(
    /// A customer (`cus_…`).
    CustomerId, "cus_", "customer"
);
prefixed_id!(
    /// A merchant (`mer_…`).
    MerchantId, "mer_", "merchant"
);
prefixed_id!(
    /// An event written by payments' outbox (`evt_…`).
    EventId, "evt_", "event"
);
prefixed_id!(
    /// A merchant's webhook endpoint (`whe_…`).
    EndpointId, "whe_", "webhook endpoint"
);
prefixed_id!(
    /// One event's delivery to one endpoint (`dlv_…`).
    DeliveryId, "dlv_", "delivery"
);

/// The party that owns an account: a customer or a merchant.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct OwnerId(String);

impl OwnerId {
    /// Accepts a customer id (`cus_…`) or a merchant id (`mer_…`).
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        if CustomerId::parse(raw).is_ok() || MerchantId::parse(raw).is_ok() {
            Ok(OwnerId(raw.to_owned()))
        } else {
            Err(DomainError::InvalidId(format!(
                "`{raw}` is not a valid owner id (expected a `cus_…` or `mer_…` id)"
            )))
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<CustomerId> for OwnerId {
    fn from(id: CustomerId) -> Self {
        OwnerId(id.0)
    }
}

impl From<MerchantId> for OwnerId {
    fn from(id: MerchantId) -> Self {
        OwnerId(id.0)
    }
}

impl fmt::Display for OwnerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for OwnerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for OwnerId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for OwnerId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        OwnerId::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// Checks a caller-chosen key: 1 to `max` visible ASCII characters, no spaces.
fn parse_key(raw: &str, max: usize, what: &str) -> Result<String, DomainError> {
    if !raw.is_empty() && raw.len() <= max && raw.bytes().all(|b| b.is_ascii_graphic()) {
        Ok(raw.to_owned())
    } else {
        Err(DomainError::InvalidKey(format!(
            "{what} must be 1 to {max} visible ASCII characters without spaces"
        )))
    }
}

/// The key that makes a ledger mutation idempotent: the first result is stored under it and
/// replayed for every later request with the same key.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct OperationId(String);

impl OperationId {
    /// At most this many characters.
    pub const MAX_LEN: usize = 128;

    /// Accepts 1 to 128 visible ASCII characters.
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        parse_key(raw, Self::MAX_LEN, "operation_id").map(OperationId)
    }

    /// A fresh random operation id (`op_<uuidv7>`), for callers that did not choose one.
    pub fn generate() -> Self {
        OperationId(format!("op_{}", Uuid::now_v7()))
    }

    /// A deterministic operation id for one step of a larger process (`<owner>:<step>`), so
    /// the step replays the same operation after a restart.
    pub fn for_step(owner: &str, step: &str) -> Result<Self, DomainError> {
        OperationId::parse(&format!("{owner}:{step}"))
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for OperationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for OperationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for OperationId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for OperationId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        OperationId::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// The `Idempotency-Key` header of `POST /v1/payments`, scoped per customer.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// At most this many characters.
    pub const MAX_LEN: usize = 255;

    /// Accepts 1 to 255 visible ASCII characters.
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        parse_key(raw, Self::MAX_LEN, "Idempotency-Key").map(IdempotencyKey)
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<&str> for IdempotencyKey {
    type Error = DomainError;
    fn try_from(raw: &str) -> Result<Self, Self::Error> {
        IdempotencyKey::parse(raw)
    }
}

impl TryFrom<&str> for OperationId {
    type Error = DomainError;
    fn try_from(raw: &str) -> Result<Self, Self::Error> {
        OperationId::parse(raw)
    }
}

impl TryFrom<&str> for OwnerId {
    type Error = DomainError;
    fn try_from(raw: &str) -> Result<Self, Self::Error> {
        OwnerId::parse(raw)
    }
}

impl fmt::Debug for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_parse_back_and_carry_their_prefix() {
        let id = AccountId::generate();
        assert!(id.as_str().starts_with("acc_"));
        assert_eq!(AccountId::parse(id.as_str()).unwrap(), id);
        assert!(PaymentId::generate().as_str().starts_with("pay_"));
    }

    #[test]
    fn wrong_prefix_or_malformed_uuid_is_rejected() {
        let pay = PaymentId::generate();
        assert!(AccountId::parse(pay.as_str()).is_err());
        for bad in [
            "acc_",
            "acc_123",
            "",
            "acc_not-a-uuid",
            "ACC_0190c1a0-0000-7000-8000-000000000000",
        ] {
            assert!(
                matches!(AccountId::parse(bad), Err(DomainError::InvalidId(_))),
                "{bad}"
            );
        }
        // A UUID in another spelling (simple, upper case) is not the canonical id.
        assert!(AccountId::parse("acc_0190C1A0000070008000000000000000").is_err());
    }

    #[test]
    fn owner_is_a_customer_or_a_merchant() {
        assert!(OwnerId::parse(CustomerId::generate().as_str()).is_ok());
        assert!(OwnerId::parse(MerchantId::generate().as_str()).is_ok());
        assert!(OwnerId::parse(AccountId::generate().as_str()).is_err());
    }

    #[test]
    fn keys_must_be_short_visible_ascii() {
        assert!(OperationId::parse("pay_1:hold").is_ok());
        assert!(IdempotencyKey::parse("order-42").is_ok());
        for bad in ["", "has space", "é", "tab\t"] {
            assert!(OperationId::parse(bad).is_err(), "{bad:?}");
            assert!(IdempotencyKey::parse(bad).is_err(), "{bad:?}");
        }
        assert!(OperationId::parse(&"x".repeat(129)).is_err());
        assert!(IdempotencyKey::parse(&"x".repeat(255)).is_ok());
        assert!(IdempotencyKey::parse(&"x".repeat(256)).is_err());
    }

    #[test]
    fn json_ids_are_validated() {
        assert!(serde_json::from_str::<AccountId>("\"acc_x\"").is_err());
        let id = HoldId::generate();
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(serde_json::from_str::<HoldId>(&json).unwrap(), id);
    }
}
