//! "Did you mean": the known sentences closest to a step nobody understands, filled in with
//! the writer's own values.
//!
//! A step and a sentence are compared word by word, in order (an alignment, as `diff` does):
//! a fixed word of the sentence counts when the step has a word spelled alike (`pay` for
//! `pays`), and a parameter counts when the step has a value of its type in that place
//! (`Alice` or `"Acme Coffee"` for `{actor}`, `12.50 GBP` for `{money}`, `3` for `{int}`).
//! A word with alternatives (`her/his/their`, cucumber's alternation) counts for whichever
//! alternative the step wrote, and keeps that one in the suggestion.
//! The score is the share of both sides that lined up. The best sentences are shown with the
//! step's values put in their parameters' places, so the answer can be pasted back.

use std::sync::LazyLock;

use regex::Regex;

use crate::catalogue;

/// A known sentence, close to what was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Suggestion {
    /// The sentence as the catalogue lists it, e.g. `{actor} pays {actor} {money}`.
    pub sentence: String,
    /// The same sentence with the writer's values in place, keyword first, e.g.
    /// `When Alice pays "Acme Coffee" 12.50 GBP`.
    pub filled: String,
    /// How well it lines up, from 0 (nothing in common) to 1 (every word and value).
    pub score: f64,
}

/// The `limit` known sentences closest to `step` (keyword optional), best first.
pub fn suggest(step: &str, limit: usize) -> Vec<Suggestion> {
    rank(step, &KNOWN, limit)
}

/// One sentence the suggestions may propose, and the keywords that may introduce it.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// The cucumber expression, or an example sentence for a regex step.
    pub sentence: String,
    /// `Given`, `When`, `Then`: those the definition answers.
    pub keywords: Vec<&'static str>,
}

static KNOWN: LazyLock<Vec<Candidate>> = LazyLock::new(|| {
    let mut out: Vec<Candidate> = Vec::new();
    for entry in catalogue::entries() {
        let sentence = entry.sentence().to_owned();
        match out.iter_mut().find(|c| c.sentence == sentence) {
            Some(known) if !known.keywords.contains(&entry.keyword) => {
                known.keywords.push(entry.keyword)
            }
            Some(_) => {}
            None => out.push(Candidate {
                sentence,
                keywords: vec![entry.keyword],
            }),
        }
    }
    out
});

/// Ranks `candidates` for `step`; the suggestion machinery without the catalogue (for tests).
pub fn rank(step: &str, candidates: &[Candidate], limit: usize) -> Vec<Suggestion> {
    let (keyword, text) = split_keyword(step);
    let tokens = tokenize(text);
    let mut scored: Vec<Suggestion> = candidates
        .iter()
        .map(|c| {
            let pattern = pattern_of(&c.sentence);
            let (score, fills) = align(&pattern, &tokens);
            let keyword = match keyword {
                Some(k) if c.keywords.contains(&k) => k,
                _ => c.keywords.first().copied().unwrap_or("Given"),
            };
            Suggestion {
                sentence: c.sentence.clone(),
                filled: format!("{keyword} {}", render(&pattern, &fills, &tokens)),
                score,
            }
        })
        .collect();
    // Best first; among equals, the shorter sentence (fewer words left to guess).
    scored.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then(a.sentence.len().cmp(&b.sentence.len()))
    });
    scored.truncate(limit);
    scored
}

/// The keyword a step starts with (`And`/`But`/`*` say nothing) and the rest.
fn split_keyword(step: &str) -> (Option<&'static str>, &str) {
    let step = step.trim();
    for (word, keyword) in [
        ("Given ", Some("Given")),
        ("When ", Some("When")),
        ("Then ", Some("Then")),
        ("And ", None),
        ("But ", None),
        ("* ", None),
    ] {
        if let Some(rest) = step.strip_prefix(word) {
            return (keyword, rest.trim_start());
        }
    }
    (None, step)
}

/// One piece of the step as written.
#[derive(Debug, Clone, PartialEq)]
struct Token {
    text: String,
    /// Written straight after the previous piece, without a space (`'s`, `,`).
    glued: bool,
}

/// Splits a step into words; a quoted text is one word, and `'s`, `,` and `:` are words of
/// their own so that `"Acme Coffee"'s` lines up with `{actor}'s`.
fn tokenize(text: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut chars = text.char_indices().peekable();
    let mut glued = false;
    while let Some(&(start, c)) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            glued = false;
            continue;
        }
        let end = if c == '"' || c == '\'' && !text[start..].starts_with("'s") {
            // A quoted text runs to its closing quote (or the end).
            chars.next();
            let mut end = text.len();
            for (i, ch) in chars.by_ref() {
                if ch == c {
                    end = i + ch.len_utf8();
                    break;
                }
            }
            end
        } else {
            let mut end = text.len();
            while let Some(&(i, ch)) = chars.peek() {
                if ch.is_whitespace() || ch == '"' {
                    end = i;
                    break;
                }
                chars.next();
            }
            end
        };
        for (i, piece) in split_suffixes(&text[start..end]).into_iter().enumerate() {
            out.push(Token {
                text: piece.to_owned(),
                glued: glued || i > 0,
            });
        }
        glued = true;
    }
    out
}

/// `Alice's` → `Alice`, `'s`; `money,` → `money`, `,`.
fn split_suffixes(word: &str) -> Vec<&str> {
    for suffix in ["'s", ",", ":"] {
        if word.len() > suffix.len()
            && let Some(stem) = word.strip_suffix(suffix)
        {
            let mut out = split_suffixes(stem);
            out.push(suffix);
            return out;
        }
    }
    vec![word]
}

/// One piece of a known sentence.
#[derive(Debug, Clone, PartialEq)]
enum Piece {
    /// A word that must be written as it is (lower-cased for comparing), or one of its
    /// alternatives when the sentence gives several (`her/his/their`).
    Word { text: String, glued: bool },
    /// A `{parameter}`.
    Param { name: String, glued: bool },
}

fn pattern_of(sentence: &str) -> Vec<Piece> {
    let mut out = Vec::new();
    for token in tokenize(sentence) {
        // `{actor}'s` was split into `{actor}` and `'s`; `time(s)` reads as `times`.
        let text = token.text;
        if let Some(name) = text.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
            out.push(Piece::Param {
                name: name.to_owned(),
                glued: token.glued,
            });
        } else {
            out.push(Piece::Word {
                text: text.replace(['(', ')'], ""),
                glued: token.glued,
            });
        }
    }
    out
}

/// Whether `words` (one to three tokens) is a value of parameter type `name`.
fn is_value_of(name: &str, words: &[Token]) -> bool {
    let joined = words
        .iter()
        .map(|t| t.text.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let quoted = |s: &str| {
        s.len() >= 2
            && ((s.starts_with('"') && s.ends_with('"'))
                || (s.starts_with('\'') && s.ends_with('\'')))
    };
    match name {
        "string" => words.len() == 1 && quoted(&joined),
        "int" => words.len() == 1 && joined.bytes().all(|b| b.is_ascii_digit()),
        "float" => words.len() == 1 && joined.parse::<f64>().is_ok(),
        "word" => words.len() == 1 && !quoted(&joined),
        other => PARAM_REGEXES
            .iter()
            .find(|(n, _)| n == other)
            .is_some_and(|(_, re)| re.is_match(&joined)),
    }
}

/// The custom parameter types and their regexes, anchored.
static PARAM_REGEXES: LazyLock<Vec<(String, Regex)>> = LazyLock::new(|| {
    catalogue::params()
        .into_iter()
        .filter_map(|p| {
            Regex::new(&format!("^(?:{})$", p.regex))
                .ok()
                .map(|re| (p.name, re))
        })
        .collect()
});

/// How alike two words are, 0 to 1 (case ignored).
fn likeness(a: &str, b: &str) -> f64 {
    strsim::normalized_levenshtein(&a.to_lowercase(), &b.to_lowercase())
}

/// Below this, two words are different words, not a typo of one another.
const ALIKE: f64 = 0.6;

/// The best alignment of `pattern` with `tokens`: its score and, for each parameter piece,
/// the tokens that fill it.
fn align(pattern: &[Piece], tokens: &[Token]) -> (f64, Vec<Option<(usize, usize)>>) {
    let (n, m) = (pattern.len(), tokens.len());
    // gain[i][j]: best gain lining up pattern[i..] with tokens[j..]; `extra` counts tokens
    // beyond the first that a parameter took (a value of two words counts as one).
    #[derive(Clone, Copy, Default)]
    struct Cell {
        gain: f64,
        extra: usize,
        step: Step,
    }
    #[derive(Clone, Copy, Default)]
    enum Step {
        #[default]
        End,
        SkipPiece,
        SkipToken,
        Word,
        Fill(usize),
    }
    let mut best = vec![vec![Cell::default(); m + 1]; n + 1];
    let better = |c: Cell, old: Cell| {
        c.gain > old.gain + 1e-9 || ((c.gain - old.gain).abs() <= 1e-9 && c.extra > old.extra)
    };
    for i in (0..=n).rev() {
        for j in (0..=m).rev() {
            if i == n && j == m {
                continue;
            }
            let mut cell = Cell {
                gain: -1.0,
                ..Cell::default()
            };
            if i < n {
                let c = Cell {
                    step: Step::SkipPiece,
                    ..best[i + 1][j]
                };
                if better(c, cell) {
                    cell = c;
                }
            }
            if j < m {
                let c = Cell {
                    step: Step::SkipToken,
                    ..best[i][j + 1]
                };
                if better(c, cell) {
                    cell = c;
                }
            }
            if i < n && j < m {
                match &pattern[i] {
                    Piece::Word { text, .. } => {
                        let like = alternatives(text)
                            .map(|alt| likeness(alt, &tokens[j].text))
                            .fold(0.0, f64::max);
                        if like >= ALIKE {
                            let next = best[i + 1][j + 1];
                            let c = Cell {
                                gain: next.gain + like,
                                extra: next.extra,
                                step: Step::Word,
                            };
                            if better(c, cell) {
                                cell = c;
                            }
                        }
                    }
                    Piece::Param { name, .. } => {
                        for k in 1..=3.min(m - j) {
                            if is_value_of(name, &tokens[j..j + k]) {
                                let next = best[i + 1][j + k];
                                let c = Cell {
                                    gain: next.gain + 1.0,
                                    extra: next.extra + k - 1,
                                    step: Step::Fill(k),
                                };
                                if better(c, cell) {
                                    cell = c;
                                }
                            }
                        }
                    }
                }
            }
            best[i][j] = cell;
        }
    }
    let mut fills = vec![None; n];
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        match best[i][j].step {
            Step::End => break,
            Step::SkipPiece => i += 1,
            Step::SkipToken => j += 1,
            Step::Word => {
                fills[i] = Some((j, j + 1));
                i += 1;
                j += 1;
            }
            Step::Fill(k) => {
                fills[i] = Some((j, j + k));
                i += 1;
                j += k;
            }
        }
    }
    let start = best[0][0];
    let units = (n + m - start.extra).max(1) as f64;
    let score = (2.0 * start.gain / units).clamp(0.0, 1.0);
    (score, fills)
}

/// The alternatives of a sentence's word: `her/his/their` → `her`, `his`, `their`.
fn alternatives(word: &str) -> impl Iterator<Item = &str> {
    word.split('/')
}

/// The alternative of `word` closest to what the writer put in its place (the first one
/// when they put nothing there).
fn chosen_alternative(word: &str, written: Option<&Token>) -> String {
    let closest = |alt: &&str| written.map_or(0.0, |t| likeness(alt, &t.text));
    alternatives(word)
        .enumerate()
        .max_by(|(i, a), (j, b)| closest(a).total_cmp(&closest(b)).then(j.cmp(i)))
        .map_or_else(String::new, |(_, alt)| alt.to_owned())
}

/// The sentence with the writer's values in their parameters' places (and, for a word with
/// alternatives, the alternative they wrote).
fn render(pattern: &[Piece], fills: &[Option<(usize, usize)>], tokens: &[Token]) -> String {
    let mut out = String::new();
    for (piece, fill) in pattern.iter().zip(fills) {
        let (text, glued) = match (piece, fill) {
            (Piece::Word { text, glued }, fill) => (
                chosen_alternative(text, fill.map(|(a, _)| &tokens[a])),
                *glued,
            ),
            (Piece::Param { glued, .. }, Some((a, b))) => (
                tokens[*a..*b]
                    .iter()
                    .map(|t| t.text.as_str())
                    .collect::<Vec<_>>()
                    .join(" "),
                *glued,
            ),
            (Piece::Param { name, glued }, None) => (format!("{{{name}}}"), *glued),
        };
        if !out.is_empty() && !glued {
            out.push(' ');
        }
        out.push_str(&text);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_names_and_possessives_are_words_of_their_own() {
        let words: Vec<String> = tokenize(r#"Alice pays "Acme Coffee"'s 12.50 GBP, now"#)
            .into_iter()
            .map(|t| t.text)
            .collect();
        assert_eq!(
            words,
            [
                "Alice",
                "pays",
                "\"Acme Coffee\"",
                "'s",
                "12.50",
                "GBP",
                ",",
                "now"
            ]
        );
    }

    #[test]
    fn a_typo_in_a_verb_still_finds_the_sentence_filled_in() {
        let best = &suggest(r#"When Alice pay "Acme Coffee" 12.50 GBP"#, 3)[0];
        assert_eq!(best.sentence, "{actor} pays {actor} {money}");
        assert_eq!(best.filled, r#"When Alice pays "Acme Coffee" 12.50 GBP"#);
    }

    #[test]
    fn parameters_the_step_left_out_stay_named() {
        let best = &suggest("Then Alice's balance is", 1)[0];
        assert_eq!(best.filled, "Then Alice's balance is {money}");
    }
}
