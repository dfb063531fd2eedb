//! Parameter types of the step sentences: `{actor}`, `{money}`, `{currency}`, ...
//!
//! Each is parsed once from the sentence (parse, don't validate) so steps get typed values.
//! The doc comment and `regex` of each type are also what the step catalogue shows.

use std::{fmt, str::FromStr};

use cucumber::Parameter;

/// Who acts: a person or company of the scenario by alias, one capitalised word (`Alice`) or
/// any name in double quotes (`"Acme Coffee"`); or `the operator`; or `a stranger` (no token).
#[derive(Debug, Clone, PartialEq, Eq, Parameter)]
#[param(
    name = "actor",
    regex = r#"[A-Z][A-Za-z0-9_-]*|"[^"]+"|the operator|a stranger"#
)]
pub struct ActorName(pub String);

impl FromStr for ActorName {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(Self(s.trim_matches('"').to_owned()))
    }
}

impl fmt::Display for ActorName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Minor-unit exponent of the currencies the features use (ISO 4217).
pub fn exponent(currency: &str) -> u32 {
    match currency {
        "JPY" | "KRW" => 0,
        _ => 2,
    }
}

/// An amount of money in major units and its ISO 4217 code: `12.50 GBP`, `1000 JPY`.
#[derive(Debug, Clone, PartialEq, Eq, Parameter)]
#[param(name = "money", regex = r"\d+(?:\.\d{1,2})? [A-Z]{3}")]
pub struct Money {
    /// Minor units (pence, cents, yen).
    pub minor: i64,
    /// Currency code.
    pub currency: String,
}

impl Money {
    /// Formats minor units back as `12.50 GBP`.
    pub fn format(minor: i64, currency: &str) -> String {
        match exponent(currency) {
            0 => format!("{minor} {currency}"),
            _ => format!(
                "{}{}.{:02} {currency}",
                if minor < 0 { "-" } else { "" },
                minor.abs() / 100,
                minor.abs() % 100
            ),
        }
    }
}

impl FromStr for Money {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (amount, currency) = s
            .split_once(' ')
            .ok_or_else(|| format!("not money: {s:?}"))?;
        let (whole, fraction) = amount.split_once('.').unwrap_or((amount, ""));
        let exp = exponent(currency);
        if fraction.len() > exp as usize {
            return Err(format!("{currency} has {exp} decimals: {s:?}"));
        }
        let whole: i64 = whole.parse().map_err(|e| format!("{s:?}: {e}"))?;
        let fraction_minor: i64 = if fraction.is_empty() {
            0
        } else {
            format!("{fraction:0<width$}", width = exp as usize)
                .parse()
                .map_err(|e| format!("{s:?}: {e}"))?
        };
        let minor = whole
            .checked_mul(10_i64.pow(exp))
            .and_then(|w| w.checked_add(fraction_minor))
            .ok_or_else(|| format!("too much money: {s:?}"))?;
        Ok(Self {
            minor,
            currency: currency.to_owned(),
        })
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&Money::format(self.minor, &self.currency))
    }
}

/// An ISO 4217 currency code: `GBP`, `EUR`, `USD`, `JPY`, `CHF`.
#[derive(Debug, Clone, PartialEq, Eq, Parameter)]
#[param(name = "currency", regex = r"[A-Z]{3}")]
pub struct Currency(pub String);

impl FromStr for Currency {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(Self(s.to_owned()))
    }
}

/// Which figure of an account: `available` (what can be spent now: balance minus holds),
/// `held` (kept aside by unfinished payments) or `in total` (the balance, holds included).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Parameter)]
#[param(name = "holding", regex = "available|held|in total")]
pub enum Holding {
    /// Balance minus holds.
    Available,
    /// Held by unfinished payments.
    Held,
    /// The whole balance.
    InTotal,
}

impl FromStr for Holding {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "available" => Ok(Self::Available),
            "held" => Ok(Self::Held),
            "in total" => Ok(Self::InTotal),
            other => Err(format!("not a figure of an account: {other:?}")),
        }
    }
}

impl fmt::Display for Holding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Available => "available",
            Self::Held => "held",
            Self::InTotal => "in total",
        })
    }
}

/// The state of a payment: `pending`, `processing`, `settled` or `failed`.
#[derive(Debug, Clone, PartialEq, Eq, Parameter)]
#[param(name = "payment_status", regex = "pending|processing|settled|failed")]
pub struct PaymentStatus(pub String);

impl FromStr for PaymentStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(Self(s.to_owned()))
    }
}

/// The state of a webhook delivery: `pending`, `delivered` or `dead-lettered`.
#[derive(Debug, Clone, PartialEq, Eq, Parameter)]
#[param(name = "delivery_status", regex = "pending|delivered|dead-lettered")]
pub struct DeliveryStatus(pub String);

impl FromStr for DeliveryStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(Self(s.replace('-', "_")))
    }
}

/// A webhook event type: `payment.settled` or `payment.failed`.
#[derive(Debug, Clone, PartialEq, Eq, Parameter)]
#[param(name = "event", regex = r"payment\.settled|payment\.failed")]
pub struct EventType(pub String);

impl FromStr for EventType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(Self(s.to_owned()))
    }
}

/// An HTTP method: `GET`, `POST`, `PUT`, `PATCH`, `DELETE`.
#[derive(Debug, Clone, PartialEq, Eq, Parameter)]
#[param(name = "method", regex = "GET|POST|PUT|PATCH|DELETE")]
pub struct Method(pub reqwest::Method);

impl FromStr for Method {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        reqwest::Method::from_str(s)
            .map(Self)
            .map_err(|e| e.to_string())
    }
}

/// A minibank service: `edge`, `auth`, `ledger`, `payments` or `webhooks`.
#[derive(Debug, Clone, PartialEq, Eq, Parameter)]
#[param(name = "service", regex = "edge|auth|ledger|payments|webhooks")]
pub struct Service(pub String);

impl FromStr for Service {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(Self(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_reads_major_units_into_minor_units() {
        assert_eq!("12.50 GBP".parse::<Money>().unwrap().minor, 1250);
        assert_eq!("12.5 GBP".parse::<Money>().unwrap().minor, 1250);
        assert_eq!("100 EUR".parse::<Money>().unwrap().minor, 10000);
        assert_eq!("1000 JPY".parse::<Money>().unwrap().minor, 1000);
        assert!("10.5 JPY".parse::<Money>().is_err());
    }

    #[test]
    fn money_prints_back_as_written() {
        assert_eq!(Money::format(1250, "GBP"), "12.50 GBP");
        assert_eq!(Money::format(5, "EUR"), "0.05 EUR");
        assert_eq!(Money::format(1000, "JPY"), "1000 JPY");
    }

    #[test]
    fn actor_names_may_be_quoted() {
        assert_eq!(
            "\"Acme Coffee\"".parse::<ActorName>().unwrap().0,
            "Acme Coffee"
        );
        assert_eq!("Alice".parse::<ActorName>().unwrap().0, "Alice");
    }
}
