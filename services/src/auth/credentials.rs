//! Client secrets at rest: a random salt and HMAC-SHA256(salt, secret); verified in constant time.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// A stored secret: salt and hash, both hex.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HashedSecret {
    /// 16 random bytes, hex.
    pub salt: String,
    /// HMAC-SHA256 keyed by the salt over the secret, hex.
    pub hash: String,
}

impl HashedSecret {
    /// Hashes `secret` with a fresh salt.
    pub fn new(secret: &str) -> Self {
        let salt = hex::encode(rand::random::<[u8; 16]>());
        let hash = hex::encode(mac(&salt, secret).finalize().into_bytes());
        Self { salt, hash }
    }

    /// True when `candidate` is the secret this was made from (constant-time comparison).
    pub fn verify(&self, candidate: &str) -> bool {
        match hex::decode(&self.hash) {
            Ok(expected) => mac(&self.salt, candidate).verify_slice(&expected).is_ok(),
            Err(_) => false,
        }
    }
}

fn mac(salt: &str, secret: &str) -> HmacSha256 {
    let mut mac = <HmacSha256 as KeyInit>::new_from_slice(salt.as_bytes())
        .expect("HMAC accepts keys of any length");
    mac.update(secret.as_bytes());
    mac
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_right_secret_verifies_and_a_wrong_one_does_not() {
        let stored = HashedSecret::new("sec_abc");
        assert!(stored.verify("sec_abc"));
        assert!(!stored.verify("sec_abd"));
        assert!(!stored.verify(""));
    }

    #[test]
    fn the_same_secret_hashes_differently_each_time() {
        assert_ne!(HashedSecret::new("s").hash, HashedSecret::new("s").hash);
    }
}
