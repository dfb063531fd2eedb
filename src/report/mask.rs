//! Tokens and secrets never reach a report: JSON fields whose name says secret, token,
//! password or signature are replaced by `••••` (keeping their last four characters for
//! a short value's recognition only when it is long), and so are `Authorization` and
//! signature headers and bearer tokens or `whsec_` secrets anywhere in free text.

use serde_json::Value;

/// What a masked value becomes.
pub const MASK: &str = "••••";

/// Whether a field or header of this name holds a secret.
pub fn is_secret_name(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    [
        "secret",
        "token",
        "password",
        "authorization",
        "signature",
        "api_key",
        "apikey",
        "cookie",
    ]
    .iter()
    .any(|word| name.contains(word))
}

/// A header value as it may be shown.
pub fn header(name: &str, value: &str) -> String {
    if is_secret_name(name) {
        match value.split_once(' ') {
            // Keep the scheme (`Bearer`), so a reader still sees what kind of credential it was.
            Some((scheme, _)) if !scheme.is_empty() => format!("{scheme} {MASK}"),
            _ => MASK.to_owned(),
        }
    } else {
        text(value)
    }
}

/// A body as it may be shown: JSON with its secret fields masked, compact (the page indents
/// it when shown); kept as written, free-text secrets masked, when it is not JSON.
pub fn body(raw: &str) -> String {
    match serde_json::from_str::<Value>(raw) {
        Ok(mut value) if value.is_object() || value.is_array() => {
            json(&mut value);
            serde_json::to_string(&value).unwrap_or_else(|_| raw.to_owned())
        }
        _ => text(raw),
    }
}

/// Masks secret fields of `value`, at any depth.
pub fn json(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, item) in map.iter_mut() {
                if is_secret_name(key) && !item.is_null() {
                    *item = Value::String(MASK.to_owned());
                } else {
                    json(item);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(json),
        Value::String(s) => {
            let masked = text(s);
            if masked != *s {
                *s = masked;
            }
        }
        _ => {}
    }
}

/// Free text with bearer tokens and `whsec_…` secrets masked.
pub fn text(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    loop {
        let bearer = rest.find("Bearer ").map(|at| (at, at + "Bearer ".len()));
        let whsec = rest.find("whsec_").map(|at| (at, at + "whsec_".len()));
        let next = match (bearer, whsec) {
            (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
            (a, b) => a.or(b),
        };
        let Some((_, keep_to)) = next else {
            out.push_str(rest);
            return out;
        };
        out.push_str(&rest[..keep_to]);
        let secret_len = rest[keep_to..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || "-_.+/=".contains(c)))
            .unwrap_or(rest.len() - keep_to);
        if secret_len > 0 {
            out.push_str(MASK);
        }
        rest = &rest[keep_to + secret_len..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_fields_are_masked_at_any_depth_and_others_kept() {
        let shown = body(
            r#"{"client_id":"cli_1","client_secret":"s3cr3t","nested":[{"access_token":"eyJ.x.y","amount":5}]}"#,
        );
        assert!(
            !shown.contains("s3cr3t") && !shown.contains("eyJ.x.y"),
            "{shown}"
        );
        assert!(
            shown.contains("cli_1") && shown.contains("\"amount\":5"),
            "{shown}"
        );
        assert_eq!(shown.matches(MASK).count(), 2, "{shown}");
    }

    #[test]
    fn authorization_keeps_its_scheme_only() {
        assert_eq!(
            header("Authorization", "Bearer eyJabc.def"),
            format!("Bearer {MASK}")
        );
        assert_eq!(header("x-request-id", "req_1"), "req_1");
        assert_eq!(header("webhook-signature", "v1=abcdef"), MASK);
    }

    #[test]
    fn bearer_tokens_and_webhook_secrets_in_free_text_are_masked() {
        let shown = text("sent Bearer eyJ.a-b_c= then whsec_AbC123; done");
        assert_eq!(shown, format!("sent Bearer {MASK} then whsec_{MASK}; done"));
        assert_eq!(text("not JSON at all"), "not JSON at all");
    }
}
