//! Selector text -> tokens, each with the column (1-based, in characters) it starts at.

use super::SelectorError;

/// One token of a selector or an assertion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Token {
    /// A bare word: `span`, `service`, `http.response.status_code`, `error`, `count`.
    Word(String),
    /// A double-quoted string, unescaped (`\"` and `\\` are the escapes).
    Str(String),
    /// A number as written, with the unit letters glued to it: `201`, `1.5`, `50ms`.
    Number {
        /// The digits (and one optional dot).
        digits: String,
        /// Letters right after the digits (`ms`, `s`), empty when none.
        unit: String,
    },
    /// `[`
    Open,
    /// `]`
    Close,
    /// `(`
    OpenParen,
    /// `)`
    CloseParen,
    /// `:`
    Colon,
    /// `>` between two span steps, or a comparison.
    Gt,
    /// `>=`
    Ge,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `=`
    Eq,
    /// `!=`
    Ne,
}

impl Token {
    /// How the token is named in an error message.
    pub fn describe(&self) -> String {
        match self {
            Self::Word(w) => format!("`{w}`"),
            Self::Str(s) => format!("the string \"{s}\""),
            Self::Number { digits, unit } => format!("the number `{digits}{unit}`"),
            Self::Open => "`[`".into(),
            Self::Close => "`]`".into(),
            Self::OpenParen => "`(`".into(),
            Self::CloseParen => "`)`".into(),
            Self::Colon => "`:`".into(),
            Self::Gt => "`>`".into(),
            Self::Ge => "`>=`".into(),
            Self::Lt => "`<`".into(),
            Self::Le => "`<=`".into(),
            Self::Eq => "`=`".into(),
            Self::Ne => "`!=`".into(),
        }
    }
}

/// A token and the column it starts at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// The token.
    pub token: Token,
    /// 1-based column, counted in characters.
    pub column: usize,
}

fn is_word_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '/')
}

/// Splits `text` into tokens; whitespace only separates them.
pub fn tokenize(text: &str) -> Result<Vec<Located>, SelectorError> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let column = i + 1;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let (token, next) = match c {
            '[' => (Token::Open, i + 1),
            ']' => (Token::Close, i + 1),
            '(' => (Token::OpenParen, i + 1),
            ')' => (Token::CloseParen, i + 1),
            ':' => (Token::Colon, i + 1),
            '=' => (Token::Eq, i + 1),
            '>' if chars.get(i + 1) == Some(&'=') => (Token::Ge, i + 2),
            '>' => (Token::Gt, i + 1),
            '<' if chars.get(i + 1) == Some(&'=') => (Token::Le, i + 2),
            '<' => (Token::Lt, i + 1),
            '!' if chars.get(i + 1) == Some(&'=') => (Token::Ne, i + 2),
            '"' => string(&chars, i)?,
            c if c.is_ascii_digit()
                || (c == '-' && chars.get(i + 1).is_some_and(char::is_ascii_digit)) =>
            {
                number(&chars, i)
            }
            c if is_word_start(c) => {
                let end = (i..chars.len())
                    .find(|&j| !is_word_char(chars[j]))
                    .unwrap_or(chars.len());
                (Token::Word(chars[i..end].iter().collect()), end)
            }
            other => {
                return Err(SelectorError::new(
                    column,
                    "a span step, `[`, `]`, a key, a comparison or a value",
                    format!("`{other}`"),
                ));
            }
        };
        tokens.push(Located { token, column });
        i = next;
    }
    Ok(tokens)
}

fn string(chars: &[char], start: usize) -> Result<(Token, usize), SelectorError> {
    let mut out = String::new();
    let mut i = start + 1;
    while i < chars.len() {
        match chars[i] {
            '"' => return Ok((Token::Str(out), i + 1)),
            '\\' if i + 1 < chars.len() => {
                out.push(chars[i + 1]);
                i += 2;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Err(SelectorError::new(
        chars.len() + 1,
        format!("`\"` closing the string opened at column {}", start + 1),
        "the end of the selector",
    ))
}

fn number(chars: &[char], start: usize) -> (Token, usize) {
    let mut i = start + 1;
    let mut seen_dot = false;
    while i < chars.len() {
        match chars[i] {
            c if c.is_ascii_digit() => i += 1,
            '.' if !seen_dot && chars.get(i + 1).is_some_and(char::is_ascii_digit) => {
                seen_dot = true;
                i += 1;
            }
            _ => break,
        }
    }
    let digits: String = chars[start..i].iter().collect();
    let unit_end = (i..chars.len())
        .find(|&j| !chars[j].is_ascii_alphabetic())
        .unwrap_or(chars.len());
    let unit: String = chars[i..unit_end].iter().collect();
    (Token::Number { digits, unit }, unit_end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(text: &str) -> Vec<Token> {
        tokenize(text)
            .unwrap()
            .into_iter()
            .map(|l| l.token)
            .collect()
    }

    #[test]
    fn words_strings_numbers_and_punctuation_with_columns() {
        let located = tokenize(r#"span[service="ledger" http.response.status_code>=201]"#).unwrap();
        assert_eq!(located[0].token, Token::Word("span".into()));
        assert_eq!(
            located[1],
            Located {
                token: Token::Open,
                column: 5
            }
        );
        assert_eq!(located[3].token, Token::Eq);
        assert_eq!(located[4].token, Token::Str("ledger".into()));
        assert_eq!(located[5].column, 23);
        assert_eq!(located[6].token, Token::Ge);
        assert_eq!(
            located[7].token,
            Token::Number {
                digits: "201".into(),
                unit: String::new()
            }
        );
    }

    #[test]
    fn durations_keep_their_unit_and_strings_their_escapes() {
        assert_eq!(
            tokens(r#"duration < 1.5s "a \"b\"""#),
            vec![
                Token::Word("duration".into()),
                Token::Lt,
                Token::Number {
                    digits: "1.5".into(),
                    unit: "s".into()
                },
                Token::Str("a \"b\"".into()),
            ]
        );
    }

    #[test]
    fn an_unclosed_string_and_a_stray_character_name_their_column() {
        let error = tokenize(r#"span[name="POST"#).unwrap_err();
        assert_eq!(error.column, 16);
        assert!(error.expected.contains("column 11"), "{error}");
        let error = tokenize("span[name=#]").unwrap_err();
        assert_eq!((error.column, error.found.as_str()), (11, "`#`"));
    }
}
