//! [`Amount`] and [`Money`]: integer minor units, always within the accepted range.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{Currency, DomainError};

/// The largest amount one operation may move: 1,000,000,000.00 in minor units.
#[allow(clippy::inconsistent_digit_grouping)] // written as major units and pence, like API.md
pub const MAX_AMOUNT: i64 = 1_000_000_000_00;

/// A strictly positive number of minor units, at most [`MAX_AMOUNT`]. The only way to build one
/// is [`Amount::parse`] (or deserialising, which calls it), so arithmetic on two amounts never
/// overflows an `i64`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Amount(i64);

impl Amount {
    /// Accepts `1 ..= MAX_AMOUNT`.
    pub fn parse(minor_units: i64) -> Result<Self, DomainError> {
        if (1..=MAX_AMOUNT).contains(&minor_units) {
            Ok(Amount(minor_units))
        } else {
            Err(DomainError::InvalidAmount(format!(
                "amount must be an integer number of minor units between 1 and {MAX_AMOUNT}, got {minor_units}"
            )))
        }
    }

    /// The number of minor units.
    pub fn minor_units(&self) -> i64 {
        self.0
    }

    /// Parses a JSON number as it arrived in a request body, so `12.5` or `1e3` is reported
    /// as `invalid_amount` rather than as a malformed request.
    pub fn from_json(value: &serde_json::Value) -> Result<Self, DomainError> {
        match value.as_i64() {
            Some(minor_units) if value.is_i64() || value.is_u64() => Amount::parse(minor_units),
            _ => Err(DomainError::InvalidAmount(format!(
                "amount must be an integer number of minor units, got {value}"
            ))),
        }
    }
}

impl fmt::Debug for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl TryFrom<i64> for Amount {
    type Error = DomainError;
    fn try_from(minor_units: i64) -> Result<Self, Self::Error> {
        Amount::parse(minor_units)
    }
}

impl Serialize for Amount {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_i64(self.0)
    }
}

impl<'de> Deserialize<'de> for Amount {
    /// Accepts only a JSON integer: `12.5`, `"12"` and out-of-range numbers are errors.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = serde_json::Number::deserialize(deserializer)?;
        let minor_units = value.as_i64().ok_or_else(|| {
            serde::de::Error::custom(format!(
                "amount must be an integer number of minor units, got {value}"
            ))
        })?;
        Amount::parse(minor_units).map_err(serde::de::Error::custom)
    }
}

/// An amount in a currency: the unit every ledger operation moves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Money {
    amount: Amount,
    currency: Currency,
}

impl Money {
    /// Pairs an amount with its currency.
    pub fn new(amount: Amount, currency: Currency) -> Self {
        Money { amount, currency }
    }

    /// Parses raw minor units and a currency code.
    pub fn parse(minor_units: i64, currency: &str) -> Result<Self, DomainError> {
        Ok(Money::new(
            Amount::parse(minor_units)?,
            Currency::parse(currency)?,
        ))
    }

    /// The amount.
    pub fn amount(&self) -> Amount {
        self.amount
    }

    /// The number of minor units.
    pub fn minor_units(&self) -> i64 {
        self.amount.0
    }

    /// The currency.
    pub fn currency(&self) -> Currency {
        self.currency
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount, self.currency)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_in_range_parse() {
        assert_eq!(Amount::parse(1).unwrap().minor_units(), 1);
        assert_eq!(Amount::parse(MAX_AMOUNT).unwrap().minor_units(), MAX_AMOUNT);
    }

    #[test]
    fn zero_negative_and_too_large_amounts_are_rejected() {
        for bad in [0, -1, i64::MIN, MAX_AMOUNT + 1, i64::MAX] {
            assert!(matches!(
                Amount::parse(bad),
                Err(DomainError::InvalidAmount(_))
            ));
        }
    }

    #[test]
    fn json_amount_must_be_an_integer() {
        assert_eq!(
            serde_json::from_str::<Amount>("1250")
                .unwrap()
                .minor_units(),
            1250
        );
        for bad in ["12.5", "\"12\"", "0", "-3", "100000000001", "1e3"] {
            assert!(serde_json::from_str::<Amount>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn request_amounts_parse_from_json_values() {
        assert_eq!(
            Amount::from_json(&serde_json::json!(7))
                .unwrap()
                .minor_units(),
            7
        );
        for bad in [
            serde_json::json!(1.5),
            serde_json::json!("7"),
            serde_json::json!(null),
            serde_json::json!(0),
        ] {
            assert!(
                matches!(Amount::from_json(&bad), Err(DomainError::InvalidAmount(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn money_parses_both_parts() {
        let money = Money::parse(500, "GBP").unwrap();
        assert_eq!(money.minor_units(), 500);
        assert_eq!(money.currency().as_str(), "GBP");
        assert_eq!(money.to_string(), "500 GBP");
        assert!(Money::parse(500, "XYZ").is_err());
        assert!(Money::parse(0, "GBP").is_err());
    }
}
