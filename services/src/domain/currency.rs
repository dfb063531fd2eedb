//! [`Currency`]: one of the ISO 4217 codes minibank accepts.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::DomainError;

/// The ISO 4217 codes minibank accepts; anything else is `invalid_currency`.
const ACCEPTED: [&str; 10] = [
    "GBP", "EUR", "USD", "JPY", "CHF", "CAD", "AUD", "SEK", "NOK", "DKK",
];

/// An accepted ISO 4217 currency code. Built only through [`Currency::parse`], so holding one
/// proves the code is on the accepted list.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency(&'static str);

impl Currency {
    /// Parses an upper-case three-letter code from the accepted list.
    pub fn parse(code: &str) -> Result<Self, DomainError> {
        ACCEPTED
            .iter()
            .find(|accepted| **accepted == code)
            .map(|accepted| Currency(accepted))
            .ok_or_else(|| {
                DomainError::InvalidCurrency(format!(
                    "`{code}` is not an accepted ISO 4217 currency code ({})",
                    ACCEPTED.join(", ")
                ))
            })
    }

    /// Every accepted currency, in a stable order.
    pub fn all() -> impl Iterator<Item = Currency> {
        ACCEPTED.iter().map(|code| Currency(code))
    }

    /// The three-letter code.
    pub fn as_str(&self) -> &'static str {
        self.0
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl TryFrom<&str> for Currency {
    type Error = DomainError;
    fn try_from(code: &str) -> Result<Self, Self::Error> {
        Currency::parse(code)
    }
}

impl Serialize for Currency {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0)
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = String::deserialize(deserializer)?;
        Currency::parse(&code).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_codes_parse() {
        for code in ["GBP", "EUR", "USD", "JPY", "CHF"] {
            assert_eq!(Currency::parse(code).unwrap().as_str(), code);
        }
    }

    #[test]
    fn unknown_lower_case_and_empty_codes_are_rejected() {
        for code in ["XXX", "gbp", "", "GBPP", "US"] {
            assert!(matches!(
                Currency::parse(code),
                Err(DomainError::InvalidCurrency(_))
            ));
        }
    }

    #[test]
    fn serde_round_trips_and_rejects_unknown_codes() {
        let c: Currency = serde_json::from_str("\"EUR\"").unwrap();
        assert_eq!(serde_json::to_string(&c).unwrap(), "\"EUR\"");
        assert!(serde_json::from_str::<Currency>("\"ZZZ\"").is_err());
    }
}
