//! Placeholders in paths and bodies written in feature files: `{Alice.account_id}`,
//! `{Acme Coffee.merchant_id}`, `{payment_id}` (the last payment), `{namespace}`.
//!
//! JSON bodies are full of braces that are not placeholders; only an innermost `{…}` naming a
//! known actor (or one of the scenario-wide names) is replaced, everything else is kept as is.

use crate::MinibankWorld;

impl MinibankWorld {
    /// Replaces `{Alice.account_id}`, `{Acme Coffee.merchant_id}`, `{payment_id}` and
    /// `{namespace}` in a path or body written in a feature file.
    pub(crate) fn expand(&self, text: &str) -> anyhow::Result<String> {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            // The innermost candidate: no other brace before the closing one (JSON bodies
            // are full of braces that are not placeholders).
            let close = after.find('}');
            let nested = after.find('{');
            match close {
                Some(close) if nested.is_none_or(|n| n > close) => {
                    match self.placeholder(&after[..close])? {
                        Some(value) => {
                            out.push_str(&value);
                            rest = &after[close + 1..];
                        }
                        None => {
                            out.push('{');
                            rest = after;
                        }
                    }
                }
                _ => {
                    out.push('{');
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        Ok(out)
    }

    fn placeholder(&self, inner: &str) -> anyhow::Result<Option<String>> {
        match inner {
            "payment_id" => return self.last_payment_id().map(Some),
            "namespace" => return Ok(Some(self.ns.tag().to_owned())),
            _ => {}
        }
        let Some((alias, field)) = inner.rsplit_once('.') else {
            return Ok(None);
        };
        let Some(actor) = self.actors.get(alias) else {
            return Ok(None);
        };
        Ok(Some(match field {
            "account_id" => actor.account_id.clone(),
            "customer_id" | "merchant_id" | "party_id" => actor.party_id.clone(),
            "client_id" => actor.client_id.clone(),
            "currency" => actor.currency.clone(),
            "name" => actor.name.clone(),
            other => anyhow::bail!(
                "unknown field {other:?} of {alias} (account_id, customer_id, merchant_id, client_id, currency, name)"
            ),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        namespace::Namespace,
        world::{Actor, Role},
    };

    #[test]
    fn placeholders_inside_json_are_expanded_and_json_braces_kept() {
        let mut world = MinibankWorld::with_namespace(Namespace::for_scenario(1, "t"));
        world.actors.insert(
            "Acme Coffee".into(),
            Actor {
                alias: "Acme Coffee".into(),
                name: "Acme".into(),
                role: Role::Merchant,
                party_id: "mer_1".into(),
                account_id: "acc_1".into(),
                currency: "GBP".into(),
                client_id: "cli".into(),
                client_secret: "sec".into(),
                token: None,
                endpoint: None,
                webhook_secret: None,
                endpoint_id: None,
            },
        );
        let body = r#"{"merchant_id": "{Acme Coffee.merchant_id}", "x": {"y": "{nobody.id}"}}"#;
        assert_eq!(
            world.expand(body).unwrap(),
            r#"{"merchant_id": "mer_1", "x": {"y": "{nobody.id}"}}"#
        );
        assert_eq!(
            world
                .expand("/v1/accounts/{Acme Coffee.account_id}")
                .unwrap(),
            "/v1/accounts/acc_1"
        );
    }
}
