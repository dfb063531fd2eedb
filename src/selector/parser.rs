//! Recursive-descent parser: tokens -> [`Selector`] or [`Assertion`]s, checking each value
//! against its key (a duration needs a unit, a status is `ok`, `error` or `unset`, ...).

use super::lexer::{Located, Token, tokenize};
use super::{
    Assertion, Combinator, Key, Op, Position, Predicate, Selector, SelectorError, Step, Value,
};
use crate::model::{SpanKind, StatusCode};

/// Reads a selector such as `span[service="ledger" name="POST /holds"]:first`.
pub fn parse_selector(text: &str) -> Result<Selector, SelectorError> {
    let mut parser = Parser::new(text)?;
    let selector = parser.selector()?;
    parser.end("`span`, `>` or the end of the selector")?;
    Ok(selector)
}

/// Reads assertions such as `count = 1 and duration < 50ms`.
pub fn parse_assertions(text: &str) -> Result<Vec<Assertion>, SelectorError> {
    let mut parser = Parser::new(text)?;
    let mut assertions = vec![parser.assertion()?];
    while parser.eat_word("and") {
        assertions.push(parser.assertion()?);
    }
    parser.end("`and` or the end of the assertion")?;
    Ok(assertions)
}

/// Reads a duration as written in a table cell or a sentence: `50ms`, `50 ms`, `1.5 s`.
pub fn parse_duration(text: &str) -> Result<u64, SelectorError> {
    let compact: String = text.split_whitespace().collect();
    let expected = "a duration with a unit (ns, us, ms or s), such as `50 ms`";
    match tokenize(&compact)?.as_slice() {
        [
            Located {
                token: Token::Number { digits, unit },
                ..
            },
        ] => duration_nanos(digits, unit)
            .ok_or_else(|| SelectorError::new(1, expected, format!("`{}`", text.trim()))),
        _ => Err(SelectorError::new(
            1,
            expected,
            format!("`{}`", text.trim()),
        )),
    }
}

struct Parser {
    tokens: Vec<Located>,
    at: usize,
    end_column: usize,
}

impl Parser {
    fn new(text: &str) -> Result<Self, SelectorError> {
        Ok(Self {
            tokens: tokenize(text)?,
            at: 0,
            end_column: text.chars().count() + 1,
        })
    }

    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at).map(|l| &l.token)
    }

    fn column(&self) -> usize {
        self.tokens
            .get(self.at)
            .map_or(self.end_column, |l| l.column)
    }

    fn found(&self) -> String {
        self.peek()
            .map_or_else(|| "the end of the text".to_owned(), Token::describe)
    }

    fn error(&self, expected: impl Into<String>) -> SelectorError {
        SelectorError::new(self.column(), expected, self.found())
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.peek().cloned();
        if token.is_some() {
            self.at += 1;
        }
        token
    }

    fn eat(&mut self, token: &Token) -> bool {
        if self.peek() == Some(token) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn eat_word(&mut self, word: &str) -> bool {
        self.eat(&Token::Word(word.to_owned()))
    }

    fn expect(&mut self, token: Token, expected: &str) -> Result<(), SelectorError> {
        if self.eat(&token) {
            Ok(())
        } else {
            Err(self.error(expected))
        }
    }

    fn end(&self, expected: &str) -> Result<(), SelectorError> {
        match self.peek() {
            None => Ok(()),
            Some(_) => Err(self.error(expected)),
        }
    }

    fn selector(&mut self) -> Result<Selector, SelectorError> {
        let mut steps = vec![self.step(Combinator::Descendant)?];
        while self.peek().is_some() {
            let combinator = if self.eat(&Token::Gt) {
                Combinator::Child
            } else if self.peek() == Some(&Token::Word("span".into())) {
                Combinator::Descendant
            } else {
                break;
            };
            steps.push(self.step(combinator)?);
        }
        Ok(Selector { steps })
    }

    fn step(&mut self, combinator: Combinator) -> Result<Step, SelectorError> {
        if !self.eat_word("span") {
            return Err(self.error("`span`"));
        }
        let mut predicates = Vec::new();
        if self.eat(&Token::Open) {
            while !self.eat(&Token::Close) {
                if self.peek().is_none() {
                    return Err(self.error("a predicate such as `name=\"POST /holds\"` or `]`"));
                }
                predicates.push(self.predicate()?);
            }
        }
        let position = if self.eat(&Token::Colon) {
            Some(self.position()?)
        } else {
            None
        };
        Ok(Step {
            combinator,
            predicates,
            position,
        })
    }

    fn position(&mut self) -> Result<Position, SelectorError> {
        const EXPECTED: &str = "`first`, `last` or `nth(n)` after `:`";
        match self.peek() {
            Some(Token::Word(w)) if w == "first" => {
                self.at += 1;
                Ok(Position::First)
            }
            Some(Token::Word(w)) if w == "last" => {
                self.at += 1;
                Ok(Position::Last)
            }
            Some(Token::Word(w)) if w == "nth" => {
                self.at += 1;
                self.expect(Token::OpenParen, "`(` after `nth`")?;
                let n = self.integer("a position counted from 1, such as `nth(2)`")?;
                if n == 0 {
                    return Err(SelectorError::new(
                        self.column() - 1,
                        "a position counted from 1",
                        "`0`",
                    ));
                }
                self.expect(Token::CloseParen, "`)` closing `nth(`")?;
                Ok(Position::Nth(n as usize))
            }
            _ => Err(self.error(EXPECTED)),
        }
    }

    fn integer(&mut self, expected: &str) -> Result<u64, SelectorError> {
        match self.peek() {
            Some(Token::Number { digits, unit }) if unit.is_empty() => {
                let value = digits.parse().map_err(|_| self.error(expected))?;
                self.at += 1;
                Ok(value)
            }
            _ => Err(self.error(expected)),
        }
    }

    fn key(&mut self) -> Result<Key, SelectorError> {
        match self.peek() {
            Some(Token::Word(word)) => {
                let key = match word.as_str() {
                    "service" => Key::Service,
                    "name" => Key::Name,
                    "kind" => Key::Kind,
                    "status" => Key::Status,
                    "duration" => Key::Duration,
                    "event" => Key::Event,
                    other => Key::Attr(other.to_owned()),
                };
                self.at += 1;
                Ok(key)
            }
            Some(Token::Str(text)) => {
                // A quoted key is always an attribute, even one called `name`.
                let key = Key::Attr(text.clone());
                self.at += 1;
                Ok(key)
            }
            _ => {
                Err(self
                    .error("a key (service, name, kind, status, duration, event or an attribute)"))
            }
        }
    }

    fn op(&mut self) -> Result<Op, SelectorError> {
        let op = match self.peek() {
            Some(Token::Eq) => Op::Eq,
            Some(Token::Ne) => Op::Ne,
            Some(Token::Lt) => Op::Lt,
            Some(Token::Le) => Op::Le,
            Some(Token::Gt) => Op::Gt,
            Some(Token::Ge) => Op::Ge,
            _ => return Err(self.error("a comparison (=, !=, <, <=, >, >=)")),
        };
        self.at += 1;
        Ok(op)
    }

    fn predicate(&mut self) -> Result<Predicate, SelectorError> {
        let key = self.key()?;
        let op_column = self.column();
        let op = self.op()?;
        let value_column = self.column();
        let only_equality = |what: &str| {
            if matches!(op, Op::Eq | Op::Ne) {
                Ok(())
            } else {
                Err(SelectorError::new(
                    op_column,
                    format!("`=` or `!=` after `{what}`"),
                    format!("`{op}`"),
                ))
            }
        };
        let found = self.found();
        let token = self.next();
        let value = match (&key, token) {
            (Key::Duration, Some(Token::Number { digits, unit })) => {
                Value::Duration(duration_nanos(&digits, &unit).ok_or_else(|| {
                    SelectorError::new(
                        value_column,
                        "a duration with a unit (ns, us, ms or s), such as `50ms`",
                        found.clone(),
                    )
                })?)
            }
            (Key::Duration, _) => {
                return Err(SelectorError::new(
                    value_column,
                    "a duration with a unit (ns, us, ms or s), such as `50ms`",
                    found,
                ));
            }
            (Key::Status, Some(Token::Word(w) | Token::Str(w)))
                if StatusCode::parse(&w).is_some() =>
            {
                only_equality("status")?;
                Value::Status(StatusCode::parse(&w).unwrap_or(StatusCode::Unset))
            }
            (Key::Status, _) => {
                return Err(SelectorError::new(
                    value_column,
                    "`ok`, `error` or `unset`",
                    found,
                ));
            }
            (Key::Kind, Some(Token::Word(w) | Token::Str(w))) if SpanKind::parse(&w).is_some() => {
                only_equality("kind")?;
                Value::Kind(SpanKind::parse(&w).unwrap_or(SpanKind::Unspecified))
            }
            (Key::Kind, _) => {
                return Err(SelectorError::new(
                    value_column,
                    "a span kind (server, client, producer, consumer, internal)",
                    found,
                ));
            }
            (Key::Service | Key::Name | Key::Event, Some(Token::Str(text) | Token::Word(text))) => {
                only_equality(&key.to_string())?;
                Value::Text(text)
            }
            (Key::Service | Key::Name | Key::Event, _) => {
                return Err(SelectorError::new(value_column, "a quoted string", found));
            }
            (Key::Attr(_), Some(Token::Number { digits, unit })) if unit.is_empty() => {
                Value::Number(digits)
            }
            (Key::Attr(_), Some(Token::Str(text) | Token::Word(text))) => {
                only_equality("a text value")?;
                Value::Text(text)
            }
            (Key::Attr(_), _) => {
                return Err(SelectorError::new(
                    value_column,
                    "a value: a quoted string, a number or a word such as `true`",
                    found,
                ));
            }
        };
        Ok(Predicate { key, op, value })
    }

    fn assertion(&mut self) -> Result<Assertion, SelectorError> {
        if self.eat_word("count") {
            let op = self.op()?;
            let n = self.integer("a whole number of spans")?;
            return Ok(Assertion::Count(op, n));
        }
        if self.eat_word("attr") && !matches!(self.peek(), Some(Token::Word(_) | Token::Str(_))) {
            return Err(self.error("an attribute key after `attr`"));
        }
        if self.peek().is_none() {
            return Err(
                self.error("`count`, `duration`, `status`, `attr KEY` or another predicate")
            );
        }
        Ok(Assertion::Each(self.predicate()?))
    }
}

/// `50` + `ms` -> nanoseconds; `None` for an unknown or missing unit.
fn duration_nanos(digits: &str, unit: &str) -> Option<u64> {
    let scale = match unit {
        "ns" => 1.0,
        "us" => 1e3,
        "ms" => 1e6,
        "s" => 1e9,
        _ => return None,
    };
    let value: f64 = digits.parse().ok()?;
    (value >= 0.0).then(|| (value * scale).round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_selector_with_predicates_descendants_children_and_positions() {
        let selector = parse_selector(
            r#"span[service="payments" kind=server] span[service="ledger" name="POST /holds" http.response.status_code=201] > span:nth(2)"#,
        )
        .unwrap();
        assert_eq!(selector.steps.len(), 3);
        assert_eq!(
            selector.steps[1].predicates,
            vec![
                Predicate::eq(Key::Service, Value::Text("ledger".into())),
                Predicate::eq(Key::Name, Value::Text("POST /holds".into())),
                Predicate::eq(
                    Key::Attr("http.response.status_code".into()),
                    Value::Number("201".into())
                ),
            ]
        );
        assert_eq!(selector.steps[1].combinator, Combinator::Descendant);
        assert_eq!(selector.steps[2].combinator, Combinator::Child);
        assert_eq!(selector.steps[2].position, Some(Position::Nth(2)));
        assert_eq!(
            selector.steps[0].predicates[1].value,
            Value::Kind(SpanKind::Server)
        );
        // Display reads back to the same selector.
        assert_eq!(parse_selector(&selector.to_string()).unwrap(), selector);
    }

    #[test]
    fn assertions_on_count_duration_status_and_attributes() {
        let assertions = parse_assertions(
            "count = 1 and duration < 50ms and status != error and attr http.response.status_code = 201",
        )
        .unwrap();
        assert_eq!(assertions[0], Assertion::Count(Op::Eq, 1));
        assert_eq!(
            assertions[1],
            Assertion::Each(Predicate {
                key: Key::Duration,
                op: Op::Lt,
                value: Value::Duration(50_000_000)
            })
        );
        assert_eq!(
            assertions[2],
            Assertion::Each(Predicate {
                key: Key::Status,
                op: Op::Ne,
                value: Value::Status(StatusCode::Error)
            })
        );
        assert_eq!(
            assertions[3],
            Assertion::Each(Predicate::eq(
                Key::Attr("http.response.status_code".into()),
                Value::Number("201".into())
            ))
        );
        assert_eq!(
            parse_assertions("duration <= 1.5s").unwrap()[0],
            Assertion::Each(Predicate {
                key: Key::Duration,
                op: Op::Le,
                value: Value::Duration(1_500_000_000)
            })
        );
    }

    #[test]
    fn table_durations_take_a_space_before_the_unit() {
        assert_eq!(parse_duration("50 ms"), Ok(50_000_000));
        assert_eq!(parse_duration("2s"), Ok(2_000_000_000));
        assert!(parse_duration("50").is_err());
        assert!(parse_duration("fast").is_err());
    }

    #[test]
    fn errors_name_the_column_and_what_was_expected() {
        let e = parse_selector(r#"span[service="ledger" name]"#).unwrap_err();
        assert_eq!(e.column, 27);
        assert!(e.expected.contains("comparison"), "{e}");
        assert_eq!(e.found, "`]`");

        let e = parse_selector(r#"span[service="ledger""#).unwrap_err();
        assert_eq!(e.column, 22);
        assert!(e.expected.contains("`]`"), "{e}");

        let e = parse_selector("span[duration<50]").unwrap_err();
        assert_eq!(e.column, 15);
        assert!(e.expected.contains("unit"), "{e}");

        let e = parse_selector("span:second").unwrap_err();
        assert_eq!((e.column, e.found.as_str()), (6, "`second`"));

        let e = parse_selector("spans[name=\"x\"]").unwrap_err();
        assert_eq!((e.column, e.expected.as_str()), (1, "`span`"));

        let e = parse_selector("span[status=broken]").unwrap_err();
        assert_eq!(e.column, 13);

        let e = parse_selector("span[name<\"a\"]").unwrap_err();
        assert_eq!((e.column, e.found.as_str()), (10, "`<`"));

        let e = parse_selector("span:nth(0)").unwrap_err();
        assert!(e.expected.contains("from 1"), "{e}");

        let e = parse_assertions("count = 1 or duration < 5ms").unwrap_err();
        assert_eq!(e.column, 11);
        assert_eq!(
            e.to_string(),
            "column 11: expected `and` or the end of the assertion, found `or`"
        );
    }
}
