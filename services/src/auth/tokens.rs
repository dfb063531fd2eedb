//! Short-lived signed access tokens: JWT, HS256, signed with the configured key.

use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::config::Secret;
use crate::rpc::Role;

const ISSUER: &str = "minibank-auth";

/// What a token says about its holder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Party id or operator client id.
    pub sub: String,
    /// The holder's role.
    pub role: Role,
    /// Granted scopes, space separated (OAuth style).
    pub scope: String,
    /// Expiry, unix seconds.
    pub exp: u64,
    /// Issued at, unix seconds.
    pub iat: u64,
    /// Issuer, always `minibank-auth`.
    pub iss: String,
    /// Unique token id.
    pub jti: String,
}

impl Claims {
    /// The scopes as a list.
    pub fn scopes(&self) -> Vec<String> {
        self.scope.split_whitespace().map(str::to_owned).collect()
    }
}

/// Issues and verifies tokens with one key.
#[derive(Clone)]
pub struct TokenSigner {
    encoding: EncodingKey,
    decoding: DecodingKey,
    ttl: Duration,
}

impl std::fmt::Debug for TokenSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSigner")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl TokenSigner {
    /// A signer for `key` (at least 32 bytes) issuing tokens valid for `ttl`.
    pub fn new(key: &Secret, ttl: Duration) -> anyhow::Result<Self> {
        anyhow::ensure!(
            key.expose().len() >= 32,
            "the token signing key must be at least 32 bytes long"
        );
        anyhow::ensure!(ttl.as_secs() >= 1, "the token lifetime must be at least 1s");
        super::hs256::install();
        Ok(Self {
            encoding: EncodingKey::from_secret(key.expose().as_bytes()),
            decoding: DecodingKey::from_secret(key.expose().as_bytes()),
            ttl,
        })
    }

    /// Lifetime of issued tokens.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Signs a token for `subject` with `role` and `scopes`; returns it with its claims.
    pub fn issue(
        &self,
        subject: &str,
        role: Role,
        scopes: &[String],
    ) -> anyhow::Result<(String, Claims)> {
        let now = jsonwebtoken::get_current_timestamp();
        let claims = Claims {
            sub: subject.to_owned(),
            role,
            scope: scopes.join(" "),
            exp: now + self.ttl.as_secs(),
            iat: now,
            iss: ISSUER.to_owned(),
            jti: uuid::Uuid::new_v4().to_string(),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)?;
        Ok((token, claims))
    }

    /// The claims of a token this signer issued that has not expired; `None` otherwise
    /// (bad signature, expired, malformed, other issuer or algorithm).
    pub fn verify(&self, token: &str) -> Option<Claims> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
            .ok()
            .map(|data| data.claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer(key: &str) -> TokenSigner {
        TokenSigner::new(&Secret::new(key), Duration::from_secs(60)).unwrap()
    }

    #[test]
    fn an_issued_token_verifies_with_its_claims() {
        let signer = signer("0123456789abcdef0123456789abcdef");
        let (token, claims) = signer
            .issue("cus_1", Role::Customer, &["payments:write".to_owned()])
            .unwrap();
        let verified = signer.verify(&token).unwrap();
        assert_eq!(verified, claims);
        assert_eq!(verified.scopes(), vec!["payments:write".to_owned()]);
    }

    #[test]
    fn a_token_signed_with_another_key_or_tampered_is_rejected() {
        let (token, _) = signer("0123456789abcdef0123456789abcdef")
            .issue("cus_1", Role::Customer, &[])
            .unwrap();
        assert!(
            signer("another-key-another-key-another-k")
                .verify(&token)
                .is_none()
        );
        let tampered = format!("{token}x");
        assert!(
            signer("0123456789abcdef0123456789abcdef")
                .verify(&tampered)
                .is_none()
        );
        assert!(
            signer("0123456789abcdef0123456789abcdef")
                .verify("not a token")
                .is_none()
        );
    }

    /// RFC 7515 appendix A.1: the HS256 example, key and signature, verifies (whatever its old
    /// expiry and foreign issuer, which the format check below does not ask about).
    #[test]
    fn the_rfc_7515_hs256_example_verifies_and_a_changed_signature_does_not() {
        use base64::Engine as _;
        let _ = signer("0123456789abcdef0123456789abcdef"); // installs the provider
        let key = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode("AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow")
            .unwrap();
        let signed = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ";
        let mut format_only = Validation::new(Algorithm::HS256);
        format_only.validate_exp = false;
        format_only.set_required_spec_claims::<&str>(&[]);
        let decode = |token: &str| {
            jsonwebtoken::decode::<serde_json::Value>(
                token,
                &DecodingKey::from_secret(&key),
                &format_only,
            )
        };
        let claims = decode(&format!(
            "{signed}.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
        ))
        .unwrap()
        .claims;
        assert_eq!(claims["iss"], "joe");
        assert!(
            decode(&format!(
                "{signed}.eBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
            ))
            .is_err()
        );
    }

    /// A token naming another algorithm (or none) is refused even with the right key.
    #[test]
    fn tokens_of_other_algorithms_are_refused() {
        use base64::Engine as _;
        let signer = signer("0123456789abcdef0123456789abcdef");
        let (token, _) = signer.issue("cus_1", Role::Customer, &[]).unwrap();
        let (_, rest) = token.split_once('.').unwrap();
        for alg in ["HS512", "none", "RS256"] {
            let header = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(format!(r#"{{"typ":"JWT","alg":"{alg}"}}"#));
            assert!(
                signer.verify(&format!("{header}.{rest}")).is_none(),
                "{alg}"
            );
        }
    }

    #[test]
    fn short_keys_are_refused() {
        assert!(TokenSigner::new(&Secret::new("short"), Duration::from_secs(60)).is_err());
    }
}
