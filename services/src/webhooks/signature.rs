//! The `minibank-signature` header: `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
//!
//! Signing the timestamp together with the raw body lets a merchant reject both tampered bodies
//! and replays of old deliveries (by refusing timestamps far from its own clock).

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The header name.
pub const SIGNATURE_HEADER: &str = "minibank-signature";

/// The hex HMAC-SHA256 of `"<timestamp>.<body>"` under `secret`.
pub fn compute(secret: &str, timestamp: i64, body: &[u8]) -> String {
    hex::encode(mac(secret, timestamp, body).finalize().into_bytes())
}

/// The full header value for a delivery sent at `timestamp` (unix seconds).
pub fn header_value(secret: &str, timestamp: i64, body: &[u8]) -> String {
    format!("t={timestamp},v1={}", compute(secret, timestamp, body))
}

fn mac(secret: &str, timestamp: i64, body: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <HmacSha256 as KeyInit>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// Why a signature header was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The header is not `t=<digits>,v1=<hex>`.
    #[error("malformed minibank-signature header")]
    Malformed,
    /// The timestamp is further from `now` than the tolerance allows.
    #[error("signature timestamp outside the tolerance")]
    Stale,
    /// No `v1` signature matches the body.
    #[error("signature does not match the body")]
    Mismatch,
}

/// Verifies a header the way a merchant should: parse `t` and every `v1`, refuse timestamps
/// more than `tolerance_secs` from `now`, and compare the HMAC in constant time.
pub fn verify(
    secret: &str,
    header: &str,
    body: &[u8],
    now: i64,
    tolerance_secs: i64,
) -> Result<(), VerifyError> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => timestamp = value.parse::<i64>().ok(),
            Some(("v1", value)) => {
                signatures.push(hex::decode(value).map_err(|_| VerifyError::Malformed)?)
            }
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(VerifyError::Malformed)?;
    if signatures.is_empty() {
        return Err(VerifyError::Malformed);
    }
    if (now - timestamp).abs() > tolerance_secs {
        return Err(VerifyError::Stale);
    }
    let matches = signatures
        .iter()
        .any(|signature| mac(secret, timestamp, body).verify_slice(signature).is_ok());
    if matches {
        Ok(())
    } else {
        Err(VerifyError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_an_independently_computed_hmac() {
        // python3: hmac.new(b"whsec_test", b"1.{}", hashlib.sha256).hexdigest()
        assert_eq!(
            compute("whsec_test", 1, b"{}"),
            "7500d5d4be4b3ef07af1fe56f7d522d135cdaa7530de557e67cc1049c52de094"
        );
    }

    #[test]
    fn a_signed_body_verifies() {
        let body = br#"{"id":"evt_1"}"#;
        let header = header_value("whsec_abc", 1_700_000_000, body);
        assert!(header.starts_with("t=1700000000,v1="));
        assert_eq!(
            verify("whsec_abc", &header, body, 1_700_000_010, 300),
            Ok(())
        );
    }

    #[test]
    fn a_tampered_body_or_other_secret_does_not_verify() {
        let header = header_value("whsec_abc", 100, b"{\"a\":1}");
        assert_eq!(
            verify("whsec_abc", &header, b"{\"a\":2}", 100, 300),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            verify("whsec_xyz", &header, b"{\"a\":1}", 100, 300),
            Err(VerifyError::Mismatch)
        );
    }

    #[test]
    fn old_or_malformed_headers_are_refused() {
        let header = header_value("s", 100, b"x");
        assert_eq!(
            verify("s", &header, b"x", 1000, 300),
            Err(VerifyError::Stale)
        );
        for bad in ["", "t=1", "v1=00", "t=x,v1=00", "t=1,v1=zz"] {
            assert_eq!(
                verify("s", bad, b"x", 1, 300),
                Err(VerifyError::Malformed),
                "{bad}"
            );
        }
    }
}
