//! Webhook signing secrets at rest: sealed with AES-256-GCM under a key from the environment
//! (`MINIBANK_WEBHOOK_SECRET_KEY`, 32 bytes in base64), so the database never holds a secret
//! in plain text, and webhooks can still sign with it.
//!
//! A sealed secret is stored as `v1:<base64 of nonce ‖ ciphertext ‖ tag>`, with a fresh random
//! 96-bit nonce each time and the endpoint id as associated data: a sealed value copied onto
//! another endpoint's row does not open.
//!
//! Rows written before sealing existed hold `whsec_…` in plain text: webhooks seals them when
//! it starts ([`super::store::seal_plaintext_secrets`]), and until then [`SecretKey::open`]
//! reads them as they are (a replica of the old version may still write one during a rollout).

use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};

/// The environment variable holding the key.
pub const KEY_ENV: &str = "MINIBANK_WEBHOOK_SECRET_KEY";

/// The prefix of a sealed value (its format version).
const SEALED_PREFIX: &str = "v1:";

/// The prefix of a secret in plain text (rows written before sealing).
const PLAINTEXT_PREFIX: &str = "whsec_";

/// The key is missing or is not 32 bytes in base64.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{KEY_ENV} must be 32 random bytes in base64 (e.g. `openssl rand -base64 32`): {0}")]
pub struct InvalidSecretKey(String);

/// A stored secret that does not open (wrong key, another row's value, damaged).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the endpoint's stored secret does not open with this key: {0}")]
pub struct UnreadableSecret(&'static str);

/// The key secrets are sealed with. Cheap to clone; never printed.
#[derive(Clone)]
pub struct SecretKey(Arc<LessSafeKey>);

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(…)")
    }
}

impl SecretKey {
    /// The key from its base64 text.
    pub fn from_base64(raw: &str) -> Result<Self, InvalidSecretKey> {
        let bytes = STANDARD
            .decode(raw.trim())
            .map_err(|error| InvalidSecretKey(format!("not base64 ({error})")))?;
        let bytes: [u8; 32] = bytes
            .try_into()
            .map_err(|b: Vec<u8>| InvalidSecretKey(format!("{} bytes, not 32", b.len())))?;
        Ok(Self::from_bytes(&bytes))
    }

    /// The key from `MINIBANK_WEBHOOK_SECRET_KEY`; missing or malformed is an error.
    pub fn from_env() -> Result<Self, InvalidSecretKey> {
        match crate::config::env_var(KEY_ENV) {
            Some(raw) => Self::from_base64(&raw),
            None => Err(InvalidSecretKey("it is not set".into())),
        }
    }

    /// A fresh random key (tests and the in-process platform), with its base64 text.
    pub fn generate() -> (Self, String) {
        let bytes: [u8; 32] = rand::random();
        (Self::from_bytes(&bytes), STANDARD.encode(bytes))
    }

    fn from_bytes(bytes: &[u8; 32]) -> Self {
        // A 32-byte key is always valid for AES-256-GCM.
        let key = UnboundKey::new(&AES_256_GCM, bytes).unwrap_or_else(|_| unreachable!());
        SecretKey(Arc::new(LessSafeKey::new(key)))
    }

    /// Seals `secret` for the endpoint `endpoint_id`.
    pub fn seal(&self, endpoint_id: &str, secret: &str) -> String {
        let nonce: [u8; NONCE_LEN] = rand::random();
        let mut sealed = secret.as_bytes().to_vec();
        // Fails only for inputs beyond GCM's 64 GiB limit.
        self.0
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(endpoint_id.as_bytes()),
                &mut sealed,
            )
            .unwrap_or_else(|_| unreachable!());
        let mut stored = nonce.to_vec();
        stored.extend_from_slice(&sealed);
        format!("{SEALED_PREFIX}{}", STANDARD.encode(stored))
    }

    /// The secret of endpoint `endpoint_id` from its stored value (sealed, or plain text in a
    /// row from before sealing).
    pub fn open(&self, endpoint_id: &str, stored: &str) -> Result<String, UnreadableSecret> {
        if is_plaintext(stored) {
            return Ok(stored.to_owned());
        }
        let encoded = stored
            .strip_prefix(SEALED_PREFIX)
            .ok_or(UnreadableSecret("unknown format"))?;
        let bytes = STANDARD
            .decode(encoded)
            .map_err(|_| UnreadableSecret("not base64"))?;
        if bytes.len() < NONCE_LEN {
            return Err(UnreadableSecret("too short"));
        }
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        let nonce =
            Nonce::try_assume_unique_for_key(nonce).map_err(|_| UnreadableSecret("bad nonce"))?;
        let mut sealed = sealed.to_vec();
        let opened = self
            .0
            .open_in_place(nonce, Aad::from(endpoint_id.as_bytes()), &mut sealed)
            .map_err(|_| UnreadableSecret("authentication failed"))?;
        String::from_utf8(opened.to_vec()).map_err(|_| UnreadableSecret("not UTF-8"))
    }
}

/// Whether a stored value is a secret in plain text (a row from before sealing).
pub fn is_plaintext(stored: &str) -> bool {
    stored.starts_with(PLAINTEXT_PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_00112233445566778899aabbccddeeff";

    #[test]
    fn a_sealed_secret_opens_for_its_endpoint_only_and_hides_the_secret() {
        let (key, _) = SecretKey::generate();
        let sealed = key.seal("whe_1", SECRET);
        assert!(
            sealed.starts_with("v1:") && !sealed.contains("whsec_"),
            "{sealed}"
        );
        assert_ne!(sealed, key.seal("whe_1", SECRET), "a fresh nonce each time");
        assert_eq!(key.open("whe_1", &sealed).unwrap(), SECRET);
        assert!(key.open("whe_2", &sealed).is_err(), "bound to its endpoint");
        let (other, _) = SecretKey::generate();
        assert!(other.open("whe_1", &sealed).is_err(), "bound to its key");
        let mut damaged = sealed.clone();
        damaged.replace_range(10..11, if &sealed[10..11] == "A" { "B" } else { "A" });
        assert!(key.open("whe_1", &damaged).is_err());
        for bad in ["", "v1:", "v1:!!", "v2:AAAA"] {
            assert!(key.open("whe_1", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_row_from_before_sealing_is_read_as_it_is() {
        let (key, _) = SecretKey::generate();
        assert!(is_plaintext(SECRET));
        assert_eq!(key.open("whe_1", SECRET).unwrap(), SECRET);
    }

    #[test]
    fn the_key_is_32_bytes_of_base64_and_round_trips() {
        let (key, text) = SecretKey::generate();
        let again = SecretKey::from_base64(&text).unwrap();
        assert_eq!(
            again.open("whe_1", &key.seal("whe_1", SECRET)).unwrap(),
            SECRET
        );
        for bad in ["", "not base64!", &STANDARD.encode([0u8; 16])] {
            let error = SecretKey::from_base64(bad).unwrap_err().to_string();
            assert!(error.contains(KEY_ENV), "{error}");
        }
        assert_eq!(format!("{key:?}"), "SecretKey(…)");
    }
}
