//! Refuses profiles that hold secrets.
//!
//! A profile is committed to the repository and shown in CI logs, so it may only *name* the
//! environment variables that hold credentials. Any key whose name looks like a secret
//! (`secret`, `password`, `token`, ...) must end in `_env` and hold a variable name; a literal
//! value is refused before anything else is read, naming the key (never the value).

use toml::{Table, Value};

/// Words that make a key name look like it holds a secret.
const SECRET_WORDS: [&str; 8] = [
    "secret",
    "password",
    "passwd",
    "token",
    "api_key",
    "apikey",
    "private_key",
    "credential",
];

/// Why a key is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SecretViolation {
    /// Dotted path of the key, e.g. `credentials.operator_client_secret`.
    pub key: String,
    /// Why it is refused.
    pub why: String,
}

/// Whether `name` is usable as an environment variable name (`[A-Za-z_][A-Za-z0-9_]*`).
pub(crate) fn is_env_var_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn looks_secret(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    SECRET_WORDS.iter().any(|word| key.contains(word))
}

/// Walks the whole document and returns the first key that holds a literal secret.
pub(crate) fn find_literal_secret(table: &Table) -> Option<SecretViolation> {
    walk_table(table, "")
}

fn walk_table(table: &Table, prefix: &str) -> Option<SecretViolation> {
    table.iter().find_map(|(key, value)| {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        walk_value(key, value, &path)
    })
}

fn walk_value(key: &str, value: &Value, path: &str) -> Option<SecretViolation> {
    match value {
        Value::Table(inner) => walk_table(inner, path),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| walk_value(key, item, &format!("{path}[{i}]"))),
        literal if looks_secret(key) => check_secret_key(key, literal, path),
        _ => None,
    }
}

fn check_secret_key(key: &str, value: &Value, path: &str) -> Option<SecretViolation> {
    let violation = |why: String| {
        Some(SecretViolation {
            key: path.to_string(),
            why,
        })
    };
    if !key.to_ascii_lowercase().ends_with("_env") {
        return violation(format!(
            "a profile must not hold secrets; name the environment variable that holds it \
             instead, as `{key}_env = \"SOME_VARIABLE\"`"
        ));
    }
    match value {
        Value::String(name) if is_env_var_name(name) => None,
        _ => violation(
            "must hold the name of an environment variable (letters, digits and `_`), \
             not the secret itself"
                .to_string(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(doc: &str) -> Option<SecretViolation> {
        find_literal_secret(&doc.parse::<Table>().expect("valid TOML"))
    }

    #[test]
    fn a_literal_secret_is_refused_naming_its_key() {
        let found = scan("[credentials]\noperator_client_secret = \"hunter2\"\n").unwrap();
        assert_eq!(found.key, "credentials.operator_client_secret");
        assert!(!found.why.contains("hunter2"), "{}", found.why);
    }

    #[test]
    fn secret_words_match_whatever_the_case_and_place() {
        for key in [
            "PASSWORD",
            "db_password",
            "access_token",
            "apiKey",
            "private_key_pem",
        ] {
            assert!(scan(&format!("{key} = \"x\"")).is_some(), "{key}");
        }
    }

    #[test]
    fn non_string_literals_under_secret_names_are_refused_too() {
        assert!(scan("token = 12345").is_some());
    }

    #[test]
    fn secrets_inside_arrays_of_tables_are_found() {
        let found = scan("[[extra]]\nname = \"a\"\n[[extra]]\npassword = \"x\"\n").unwrap();
        assert_eq!(found.key, "extra[1].password");
    }

    #[test]
    fn an_env_suffixed_key_naming_a_variable_is_allowed() {
        assert_eq!(scan("[c]\nclient_secret_env = \"STAGING_SECRET\"\n"), None);
    }

    #[test]
    fn an_env_suffixed_key_holding_something_else_is_refused() {
        let found = scan("[c]\nclient_secret_env = \"s3cr3t with spaces!\"\n").unwrap();
        assert_eq!(found.key, "c.client_secret_env");
    }

    #[test]
    fn ordinary_keys_are_left_alone() {
        assert_eq!(
            scan("[target]\nedge_url = \"http://x\"\ntags = [\"@a\"]\n"),
            None
        );
    }

    #[test]
    fn env_var_names_follow_the_posix_shape() {
        assert!(is_env_var_name("STAGING_OPERATOR_ID"));
        assert!(is_env_var_name("_x1"));
        assert!(!is_env_var_name("1ABC"));
        assert!(!is_env_var_name(""));
        assert!(!is_env_var_name("A-B"));
    }
}
