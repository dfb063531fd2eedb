//! [`EventType`]: the events a merchant can subscribe to.

use std::fmt;

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
    pub fn parse(raw: &str) -> Result<Self, String> {
        EventType::ALL
            .into_iter()
            .find(|t| t.as_str() == raw)
            .ok_or_else(|| {
                format!("`{raw}` is not an event type (payment.settled, payment.failed)")
            })
    }

    /// Parses a subscription list: non-empty, known types, duplicates removed, stable order.
    pub fn parse_list(raw: &[String]) -> Result<Vec<Self>, String> {
        if raw.is_empty() {
            return Err("events must list at least one event type".into());
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

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(EventType::parse_list(&[]).is_err());
        assert!(EventType::parse_list(&["payment.created".into()]).is_err());
        assert!(EventType::parse("PAYMENT.SETTLED").is_err());
    }
}
