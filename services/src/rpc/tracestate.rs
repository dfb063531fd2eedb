//! W3C `tracestate` to the letter (Trace Context Level 1 §3.3, kept by Level 2): the one parser
//! every hop uses, so edge and every service accept, refuse and forward the same lists.
//!
//! - `list = list-member 0*31( OWS "," OWS list-member )`, `list-member = (key "=" value) / OWS`:
//!   at most 32 members; empty and whitespace-only members (spaces, tabs) are allowed and
//!   dropped; spaces and tabs around a member are not part of it.
//! - `key = simple-key / multi-tenant-key`; `simple-key = lcalpha 0*255(keychar)` (up to 256);
//!   `multi-tenant-key = tenant-id "@" system-id`, `tenant-id = (lcalpha / DIGIT)
//!   0*240(keychar)` (up to 241), `system-id = lcalpha 0*13(keychar)` (up to 14); `keychar =
//!   lcalpha / DIGIT / "_" / "-" / "*" / "/"`. So `foo@@bar`, `@foo` and `foo@` are refused.
//! - `value = 0*255(chr) nblk-chr`: 1 to 256 printable ASCII characters (0x20–0x7E) except `,`
//!   and `=`, not ending with a space (a leading space is part of the value).
//! - Only one entry per key: a list repeating a key is invalid.
//!
//! Discard rule: a list breaking any rule is discarded as a whole (never repaired member by
//! member: a half-kept list would misattribute positions); the `traceparent` is kept, since a
//! failure to parse `tracestate` must not affect it. So a received list of 33 members is
//! discarded, as the W3C test suite expects; dropping members (from the end, entries over 128
//! characters first) is for our own mutation only ([`TraceState::upsert`]).
//!
//! A leaf: it imports nothing from the rest of the rpc layer.

use std::fmt;

/// The most list members a `tracestate` may hold.
pub const MAX_MEMBERS: usize = 32;
/// The longest simple key, and the longest value.
pub const MAX_KEY_LEN: usize = 256;
/// The longest tenant id of a multi-tenant key (`tenant@system`).
pub const MAX_TENANT_LEN: usize = 241;
/// The longest system id of a multi-tenant key.
pub const MAX_SYSTEM_LEN: usize = 14;
/// The longest value.
pub const MAX_VALUE_LEN: usize = 256;
/// When our own mutation must drop members, entries longer than this go first (W3C §3.3.1.5).
const LONG_ENTRY: usize = 128;

/// A valid `tracestate`: its members in order, leftmost first (the most recent position).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TraceState {
    members: Vec<(String, String)>,
}

/// Why a `tracestate` was discarded (or a member refused), naming the offending part.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InvalidTraceState {
    /// A header field was not visible ASCII (HTTP allows other bytes; the grammar does not).
    #[error("tracestate is not ASCII text")]
    NotText,
    /// More than [`MAX_MEMBERS`] members.
    #[error("tracestate has {0} members, more than {MAX_MEMBERS}")]
    TooManyMembers(usize),
    /// A member without `=`.
    #[error("tracestate member {0:?} is not key=value")]
    NotKeyValue(String),
    /// A key outside the key grammar or its length limits.
    #[error("tracestate key {0:?} is not a valid simple or tenant@system key")]
    Key(String),
    /// A value outside the value grammar or its length limit.
    #[error(
        "tracestate value of {key:?} is not 1-256 printable ASCII characters without `,` `=` or a trailing space"
    )]
    Value {
        /// The member's key.
        key: String,
    },
    /// The same key twice.
    #[error("tracestate key {0:?} appears more than once")]
    DuplicateKey(String),
}

impl TraceState {
    /// Parses one combined `tracestate` value.
    pub fn parse(header: &str) -> Result<Self, InvalidTraceState> {
        Self::parse_fields([header])
    }

    /// Parses the `tracestate` header fields of one request, combined in order with commas (RFC
    /// 7230 §3.2.2, as W3C requires); an empty field adds only an empty member.
    pub fn parse_fields<'a>(
        fields: impl IntoIterator<Item = &'a str>,
    ) -> Result<Self, InvalidTraceState> {
        let mut members: Vec<(String, String)> = Vec::new();
        for field in fields {
            for member in field.split(',') {
                let member = member.trim_matches([' ', '\t']);
                if member.is_empty() {
                    continue;
                }
                let (key, value) = member
                    .split_once('=')
                    .ok_or_else(|| InvalidTraceState::NotKeyValue(member.to_owned()))?;
                if !valid_key(key) {
                    return Err(InvalidTraceState::Key(key.to_owned()));
                }
                if !valid_value(value) {
                    return Err(InvalidTraceState::Value {
                        key: key.to_owned(),
                    });
                }
                if members.iter().any(|(seen, _)| seen == key) {
                    return Err(InvalidTraceState::DuplicateKey(key.to_owned()));
                }
                members.push((key.to_owned(), value.to_owned()));
            }
        }
        if members.len() > MAX_MEMBERS {
            return Err(InvalidTraceState::TooManyMembers(members.len()));
        }
        Ok(Self { members })
    }

    /// The header value to send: members in order, comma-separated, without optional whitespace.
    pub fn header(&self) -> String {
        let mut header = String::new();
        for (index, (key, value)) in self.members.iter().enumerate() {
            if index > 0 {
                header.push(',');
            }
            header.push_str(key);
            header.push('=');
            header.push_str(value);
        }
        header
    }

    /// True when there is no member (nothing to send: W3C says avoid empty headers).
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// The members in order, leftmost first.
    pub fn members(&self) -> impl Iterator<Item = (&str, &str)> {
        self.members.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.members
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// A service adds or updates its own member: it moves to the front, the others keep their
    /// order (W3C "Mutating the tracestate Field"). Past [`MAX_MEMBERS`], whole entries are
    /// dropped: those over 128 characters first, then from the end.
    pub fn upsert(&mut self, key: &str, value: &str) -> Result<(), InvalidTraceState> {
        if !valid_key(key) {
            return Err(InvalidTraceState::Key(key.to_owned()));
        }
        if !valid_value(value) {
            return Err(InvalidTraceState::Value {
                key: key.to_owned(),
            });
        }
        self.members.retain(|(k, _)| k != key);
        self.members.insert(0, (key.to_owned(), value.to_owned()));
        while self.members.len() > MAX_MEMBERS {
            let long = self
                .members
                .iter()
                .skip(1)
                .rposition(|(k, v)| k.len() + 1 + v.len() > LONG_ENTRY)
                .map(|at| at + 1);
            let drop = long.unwrap_or(self.members.len() - 1);
            self.members.remove(drop);
        }
        Ok(())
    }
}

impl fmt::Display for TraceState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.header())
    }
}

/// A key of the W3C grammar: a simple key, or `tenant@system`, within their length limits.
pub fn valid_key(key: &str) -> bool {
    match key.split_once('@') {
        None => id(key, MAX_KEY_LEN, false),
        Some((tenant, system)) => {
            id(tenant, MAX_TENANT_LEN, true) && id(system, MAX_SYSTEM_LEN, false)
        }
    }
}

/// One identifier: first a lowercase letter (or a digit, for a tenant id), then key characters;
/// `@` is not one, so a second `@` fails here.
fn id(part: &str, max: usize, digit_first: bool) -> bool {
    let bytes = part.as_bytes();
    let Some(first) = bytes.first() else {
        return false;
    };
    let first_ok = first.is_ascii_lowercase() || (digit_first && first.is_ascii_digit());
    first_ok
        && bytes.len() <= max
        && bytes[1..].iter().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'-' | b'*' | b'/')
        })
}

/// A value of the W3C grammar: 1 to 256 of 0x20–0x7E except `,` and `=`, last not a space.
pub fn valid_value(value: &str) -> bool {
    let bytes = value.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= MAX_VALUE_LEN
        && bytes
            .iter()
            .all(|b| (0x20..=0x7e).contains(b) && *b != b',' && *b != b'=')
        && bytes.last() != Some(&b' ')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn members(header: &str) -> Vec<(String, String)> {
        TraceState::parse(header)
            .unwrap()
            .members()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }

    fn numbered(count: usize) -> String {
        (1..=count)
            .map(|n| format!("k{n}={n}"))
            .collect::<Vec<_>>()
            .join(",")
    }

    #[test]
    fn members_keep_the_order_they_arrived_in() {
        let state = TraceState::parse("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE,a=1").unwrap();
        assert_eq!(
            state.header(),
            "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE,a=1"
        );
    }

    #[test]
    fn repeated_header_fields_are_combined_in_order() {
        let state = TraceState::parse_fields(["foo=1,bar=2", "rojo=1", "baz=3"]).unwrap();
        assert_eq!(state.header(), "foo=1,bar=2,rojo=1,baz=3");
    }

    #[test]
    fn empty_and_whitespace_only_members_are_allowed_and_dropped() {
        assert_eq!(
            TraceState::parse_fields(["", "foo=1", " \t", ",,bar=2, ,"])
                .unwrap()
                .header(),
            "foo=1,bar=2"
        );
        assert!(TraceState::parse("").unwrap().is_empty());
    }

    #[test]
    fn spaces_and_tabs_around_members_are_not_part_of_them() {
        assert_eq!(
            members("\t foo=1 \t , \t bar=2\t"),
            [("foo".into(), "1".into()), ("bar".into(), "2".into())]
        );
    }

    #[test]
    fn a_member_without_an_equals_sign_invalidates_the_list() {
        assert_eq!(
            TraceState::parse("foo=1,bar"),
            Err(InvalidTraceState::NotKeyValue("bar".into()))
        );
    }

    #[test]
    fn a_simple_key_takes_lowercase_letters_digits_and_underscore_dash_star_slash() {
        assert!(valid_key("abcdefghijklmnopqrstuvwxyz0123456789_-*/"));
        for key in ["FOO", "foo.bar", "foo bar", "", "_foo"] {
            assert!(!valid_key(key), "{key:?} must be refused");
        }
    }

    #[test]
    fn a_simple_key_starts_with_a_lowercase_letter() {
        assert!(!valid_key("1foo"));
        assert!(valid_key("f1oo"));
    }

    #[test]
    fn a_simple_key_may_have_256_characters_but_not_257() {
        assert!(valid_key(&"k".repeat(256)));
        assert!(!valid_key(&"k".repeat(257)));
    }

    #[test]
    fn a_multi_tenant_key_is_a_tenant_at_a_system() {
        for key in ["fw529a3039@dt", "1tenant@sys", "t_-*/0@s_-*/0", "9@a"] {
            assert!(valid_key(key), "{key:?} must be kept");
        }
    }

    #[test]
    fn a_malformed_multi_tenant_key_is_refused() {
        for key in [
            "foo@@bar",
            "foo@bar@baz",
            "@foo",
            "foo@",
            "foo@1bar",
            "_t@s",
        ] {
            assert!(!valid_key(key), "{key:?} must be refused");
        }
    }

    #[test]
    fn a_tenant_id_may_have_241_characters_but_not_242() {
        assert!(valid_key(&format!("{}@s", "t".repeat(241))));
        assert!(!valid_key(&format!("{}@s", "t".repeat(242))));
    }

    #[test]
    fn a_system_id_may_have_14_characters_but_not_15() {
        assert!(valid_key(&format!("t@{}", "s".repeat(14))));
        assert!(!valid_key(&format!("t@{}", "s".repeat(15))));
    }

    #[test]
    fn a_value_takes_every_printable_ascii_character_but_comma_and_equals() {
        let value: String = (0x20u8..=0x7e)
            .filter(|b| *b != b',' && *b != b'=')
            .map(char::from)
            .collect();
        assert_eq!(
            TraceState::parse(&format!("foo={value}"))
                .unwrap()
                .get("foo"),
            Some(value.as_str())
        );
    }

    #[test]
    fn a_value_with_an_illegal_character_invalidates_the_list() {
        for value in ["a\tb", "a\u{7f}b", "caf\u{e9}", "a\u{1}b"] {
            assert_eq!(
                TraceState::parse(&format!("ok=1,foo={value}")),
                Err(InvalidTraceState::Value { key: "foo".into() }),
                "{value:?}"
            );
        }
        assert!(TraceState::parse("foo=a=b").is_err());
    }

    #[test]
    fn an_empty_value_invalidates_the_list() {
        assert!(TraceState::parse("foo=,bar=1").is_err());
    }

    #[test]
    fn a_value_keeps_its_leading_space_and_loses_its_trailing_optional_whitespace() {
        assert_eq!(members("foo= 1 "), [("foo".into(), " 1".into())]);
        assert!(!valid_value("1 "));
    }

    #[test]
    fn a_value_may_have_256_characters_but_not_257() {
        assert!(TraceState::parse(&format!("foo={}", "v".repeat(256))).is_ok());
        assert!(TraceState::parse(&format!("foo={}", "v".repeat(257))).is_err());
    }

    #[test]
    fn thirty_two_members_are_kept() {
        assert_eq!(
            TraceState::parse(&numbered(32)).unwrap().members().count(),
            32
        );
    }

    #[test]
    fn a_received_list_of_thirty_three_members_is_discarded() {
        assert_eq!(
            TraceState::parse(&numbered(33)),
            Err(InvalidTraceState::TooManyMembers(33))
        );
    }

    #[test]
    fn empty_members_do_not_count_toward_the_limit() {
        let padded = format!("{},,,, ,", numbered(32));
        assert!(TraceState::parse(&padded).is_ok());
    }

    #[test]
    fn a_repeated_key_invalidates_the_list() {
        assert_eq!(
            TraceState::parse("foo=1,bar=2,foo=1"),
            Err(InvalidTraceState::DuplicateKey("foo".into()))
        );
        assert!(TraceState::parse_fields(["foo=1", "foo=2"]).is_err());
    }

    #[test]
    fn a_new_own_member_goes_to_the_front() {
        let mut state = TraceState::parse("rojo=1,congo=2").unwrap();
        state.upsert("minibank", "a1").unwrap();
        assert_eq!(state.header(), "minibank=a1,rojo=1,congo=2");
    }

    #[test]
    fn an_updated_own_member_moves_to_the_front_and_the_rest_keep_their_order() {
        let mut state = TraceState::parse("rojo=1,congo=2,minibank=old,zed=3").unwrap();
        state.upsert("minibank", "new").unwrap();
        assert_eq!(state.header(), "minibank=new,rojo=1,congo=2,zed=3");
    }

    #[test]
    fn an_own_member_that_breaks_the_grammar_is_refused_and_changes_nothing() {
        let mut state = TraceState::parse("rojo=1").unwrap();
        assert!(state.upsert("Bad", "1").is_err());
        assert!(state.upsert("ok", "a,b").is_err());
        assert_eq!(state.header(), "rojo=1");
    }

    #[test]
    fn adding_a_thirty_third_member_drops_the_last_one() {
        let mut state = TraceState::parse(&numbered(32)).unwrap();
        state.upsert("minibank", "1").unwrap();
        assert_eq!(state.members().count(), 32);
        assert_eq!(state.members().next(), Some(("minibank", "1")));
        assert_eq!(state.get("k31"), Some("31"));
        assert_eq!(state.get("k32"), None);
    }

    #[test]
    fn adding_past_the_limit_drops_entries_over_128_characters_first() {
        let long = format!("long={}", "v".repeat(130));
        let state = format!("{long},{}", numbered(31));
        let mut state = TraceState::parse(&state).unwrap();
        state.upsert("minibank", "1").unwrap();
        assert_eq!(state.members().count(), 32);
        assert_eq!(state.get("long"), None);
        assert_eq!(state.get("k31"), Some("31"));
    }
}
