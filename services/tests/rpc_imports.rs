//! The rpc modules import in one direction: types ← layers ← stack ← entry points (client,
//! server). Reads `services/src/rpc` as text: every `use`, and every path, that names another
//! rpc module (`super::x`, `crate::rpc::x`, or a name `rpc/mod.rs` re-exports) is an edge, and
//! each edge must point to a lower tier. Layers never import each other; types and stack
//! modules may import their own tier, without a cycle. Unit tests at the end of a file
//! (`#[cfg(test)]`) are left out: a layer's test may stack another layer on a mock.
//!
//! Run alone: `cargo test -p minibank --test rpc_imports`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Where a module sits. Edges go from a higher tier to a lower one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Tier {
    /// What flows through the stack and what every layer shares.
    Types,
    /// One concern each, over the types.
    Layers,
    /// Puts the layers together.
    Stack,
    /// What services use: the client (over the stack) and the server middleware.
    EntryPoints,
}

/// Every rpc module and its tier; a module missing here fails the test (place it first).
const TIERS: &[(&str, Tier)] = &[
    ("call", Tier::Types),
    ("request", Tier::Types),
    ("response", Tier::Types),
    ("error", Tier::Types),
    ("context", Tier::Types),
    ("propagation", Tier::Types),
    ("tracestate", Tier::Types),
    ("headers", Tier::Types),
    ("pool", Tier::Types),
    ("trace", Tier::Layers),
    ("retry", Tier::Layers),
    ("balance", Tier::Layers),
    ("breaker", Tier::Layers),
    ("deadline", Tier::Layers),
    ("fault", Tier::Layers),
    ("transport", Tier::Layers),
    ("stack", Tier::Stack),
    ("from_env", Tier::Stack),
    ("rotation", Tier::Stack),
    ("dns", Tier::Stack),
    ("client", Tier::EntryPoints),
    ("server", Tier::EntryPoints),
];

fn tier(module: &str) -> Option<Tier> {
    TIERS
        .iter()
        .find(|(name, _)| *name == module)
        .map(|(_, tier)| *tier)
}

/// The sources of `services/src/rpc`, by path relative to it (`breaker/service.rs`).
fn rpc_sources() -> BTreeMap<String, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/rpc");
    let mut files = BTreeMap::new();
    let mut folders = vec![root.clone()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).expect("read src/rpc") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                folders.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let relative = path.strip_prefix(&root).unwrap();
                let name = relative.to_string_lossy().replace('\\', "/");
                files.insert(name, std::fs::read_to_string(&path).expect("read source"));
            }
        }
    }
    files
}

/// The code without comments, string and char literals, and without the unit tests at the end.
fn code_of(source: &str) -> String {
    let source = match source.find("#[cfg(test)]") {
        Some(at) => &source[..at],
        None => source,
    };
    let bytes = source.as_bytes();
    let mut code = String::with_capacity(source.len());
    let mut i = 0;
    while i < bytes.len() {
        let rest = &source[i..];
        if rest.starts_with("//") {
            i += rest.find('\n').unwrap_or(rest.len());
        } else if rest.starts_with("/*") {
            i += rest.find("*/").map_or(rest.len(), |end| end + 2);
        } else if rest.starts_with("r#\"") || rest.starts_with("r\"") {
            let hashes = rest[1..].chars().take_while(|c| *c == '#').count();
            let close = format!("\"{}", "#".repeat(hashes));
            let open = 2 + hashes;
            i += open
                + rest[open..]
                    .find(&close)
                    .map_or(rest.len(), |end| end + close.len());
            code.push_str("\"\"");
        } else if bytes[i] == b'"' {
            i += 1;
            while i < bytes.len() && bytes[i] != b'"' {
                i += if bytes[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
            code.push_str("\"\"");
        } else if bytes[i] == b'\'' && char_literal_len(rest).is_some() {
            i += char_literal_len(rest).unwrap();
            code.push_str("' '");
        } else {
            let c = rest.chars().next().unwrap();
            code.push(c);
            i += c.len_utf8();
        }
    }
    code
}

/// The length of a char literal at the start of `rest` (`'a'`, `'\n'`, `'"'`); `None` for a
/// lifetime (`'static`).
fn char_literal_len(rest: &str) -> Option<usize> {
    let mut chars = rest.char_indices().skip(1);
    let (_, first) = chars.next()?;
    if first == '\\' {
        return rest[2..].find('\'').map(|end| end + 3);
    }
    let (at, second) = chars.next()?;
    (second == '\'').then_some(at + 1)
}

#[derive(Debug, PartialEq, Eq)]
enum Token {
    Ident(String),
    PathSep,
    Open,
    Close,
    Comma,
    Star,
    Other,
}

fn tokens(code: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let chars: Vec<char> = code.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            tokens.push(Token::Ident(chars[start..i].iter().collect()));
            continue;
        }
        match c {
            ':' if chars.get(i + 1) == Some(&':') => {
                tokens.push(Token::PathSep);
                i += 1;
            }
            '{' => tokens.push(Token::Open),
            '}' => tokens.push(Token::Close),
            ',' => tokens.push(Token::Comma),
            '*' => tokens.push(Token::Star),
            c if c.is_whitespace() => {}
            _ => tokens.push(Token::Other),
        }
        i += 1;
    }
    tokens
}

fn is_ident(token: Option<&Token>, name: &str) -> bool {
    matches!(token, Some(Token::Ident(ident)) if ident == name)
}

/// The first segments of the paths starting at `tokens[at]`: one for `name::…`, several for
/// `{a::…, b, c::{…}}`; `*` for a glob. Returns them and where the tree ends.
fn first_segments(tokens: &[Token], at: usize) -> (Vec<String>, usize) {
    match tokens.get(at) {
        Some(Token::Ident(name)) => (vec![name.clone()], at + 1),
        Some(Token::Star) => (vec!["*".to_owned()], at + 1),
        Some(Token::Open) => {
            let mut names = Vec::new();
            let mut i = at + 1;
            let mut item_start = true;
            let mut depth = 0;
            while i < tokens.len() {
                match &tokens[i] {
                    Token::Open => depth += 1,
                    Token::Close if depth == 0 => return (names, i + 1),
                    Token::Close => depth -= 1,
                    Token::Comma if depth == 0 => {
                        item_start = true;
                        i += 1;
                        continue;
                    }
                    Token::Ident(name) if item_start => names.push(name.clone()),
                    Token::Star if item_start => names.push("*".to_owned()),
                    _ => {}
                }
                item_start = false;
                i += 1;
            }
            (names, i)
        }
        _ => (Vec::new(), at),
    }
}

/// The names `rpc/mod.rs` re-exports, and the module each comes from (`RpcClient` → `client`).
fn reexports(mod_rs: &str) -> BTreeMap<String, String> {
    let tokens = tokens(&code_of(mod_rs));
    let mut names = BTreeMap::new();
    for i in 0..tokens.len() {
        if !(is_ident(tokens.get(i), "pub") && is_ident(tokens.get(i + 1), "use")) {
            continue;
        }
        let Some(Token::Ident(module)) = tokens.get(i + 2) else {
            continue;
        };
        // The last identifier of each item is the name it exports.
        let mut last = None;
        for token in &tokens[i + 3..] {
            match token {
                Token::Ident(name) => last = Some(name.clone()),
                Token::Comma | Token::Close => {
                    if let Some(name) = last.take() {
                        names.insert(name, module.clone());
                    }
                }
                Token::Other => {
                    if let Some(name) = last.take() {
                        names.insert(name, module.clone());
                    }
                    break;
                }
                _ => {}
            }
        }
    }
    names
}

/// The rpc modules (top level: `breaker`, not `breaker::service`) that the file at `path`
/// refers to, besides its own; or an error for a reference that cannot be told (a glob).
fn references(
    path: &str,
    source: &str,
    reexported: &BTreeMap<String, String>,
) -> Result<BTreeSet<String>, String> {
    // `breaker/service.rs` is module breaker::service, `breaker/mod.rs` is breaker.
    let mut own: Vec<String> = path
        .trim_end_matches(".rs")
        .split('/')
        .map(str::to_owned)
        .collect();
    if own.last().is_some_and(|last| last == "mod") {
        own.pop();
    }
    let tokens = tokens(&code_of(source));
    let mut found = BTreeSet::new();
    let mut i = 0;
    while i < tokens.len() {
        // Where the path is rooted, within rpc (empty: rpc itself), and where its tree starts.
        let rooted = if is_ident(tokens.get(i), "crate")
            && tokens.get(i + 1) == Some(&Token::PathSep)
            && is_ident(tokens.get(i + 2), "rpc")
        {
            if tokens.get(i + 3) != Some(&Token::PathSep) {
                return Err(format!(
                    "{path}: names `crate::rpc` itself; name its modules"
                ));
            }
            Some((Vec::new(), i + 4))
        } else if is_ident(tokens.get(i), "super") && (i == 0 || tokens[i - 1] != Token::PathSep) {
            let mut base = own.clone();
            let mut j = i;
            while is_ident(tokens.get(j), "super") && tokens.get(j + 1) == Some(&Token::PathSep) {
                base.pop();
                j += 2;
            }
            Some((base, j))
        } else {
            None
        };
        let Some((base, start)) = rooted else {
            i += 1;
            continue;
        };
        let (segments, end) = first_segments(&tokens, start);
        for segment in segments {
            let module = match base.first() {
                // Inside a folder module: its own files, or a path below another module.
                Some(module) => module.clone(),
                None if segment == "*" => {
                    return Err(format!("{path}: a glob import of rpc hides what it uses"));
                }
                None if tier(&segment).is_some() => segment,
                None => match reexported.get(&segment) {
                    Some(module) => module.clone(),
                    None => {
                        return Err(format!(
                            "{path}: `{segment}` is neither an rpc module nor re-exported by rpc"
                        ));
                    }
                },
            };
            if module != own[0] {
                found.insert(module);
            }
        }
        i = end.max(i + 1);
    }
    Ok(found)
}

/// Every import that breaks the direction, or a cycle, as sentences; empty when all is well.
fn violations(sources: &BTreeMap<String, String>) -> Vec<String> {
    let mut problems = Vec::new();
    let reexported = reexports(sources.get("mod.rs").expect("rpc/mod.rs"));
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (path, source) in sources {
        if path == "mod.rs" {
            continue;
        }
        let module = path.split('/').next().unwrap().trim_end_matches(".rs");
        if tier(module).is_none() {
            problems.push(format!("{path}: module `{module}` has no tier in TIERS"));
            continue;
        }
        match references(path, source, &reexported) {
            Ok(found) => edges.entry(module.to_owned()).or_default().extend(found),
            Err(problem) => problems.push(problem),
        }
    }
    for (from, targets) in &edges {
        let from_tier = tier(from).unwrap();
        for to in targets {
            let to_tier = tier(to).unwrap();
            let allowed = to_tier < from_tier
                || (to_tier == from_tier && matches!(from_tier, Tier::Types | Tier::Stack));
            if !allowed {
                problems.push(format!(
                    "{from} ({from_tier:?}) imports {to} ({to_tier:?}): imports go from \
                     entry points to stack to layers to types, and layers never import each other"
                ));
            }
        }
    }
    if let Some(cycle) = find_cycle(&edges) {
        problems.push(format!("import cycle: {}", cycle.join(" → ")));
    }
    problems
}

/// A cycle in `edges`, as the modules along it, if there is one.
fn find_cycle(edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.to_owned());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in edges.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, edges, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    edges
        .keys()
        .find_map(|node| visit(node, edges, &mut Vec::new(), &mut done))
}

/// The sources with `line` added at the top of the file at `path`.
fn with_line(path: &str, line: &str) -> BTreeMap<String, String> {
    let mut sources = rpc_sources();
    let source = sources.get_mut(path).unwrap_or_else(|| panic!("no {path}"));
    *source = format!("{line}\n{source}");
    sources
}

#[test]
fn rpc_modules_import_in_one_direction() {
    let sources = rpc_sources();
    assert!(sources.len() > 20, "read {} files", sources.len());
    let problems = violations(&sources);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_client_depends_on_the_stack_and_a_layer_on_types() {
    let sources = rpc_sources();
    let reexported = reexports(&sources["mod.rs"]);
    let client = references("client.rs", &sources["client.rs"], &reexported).unwrap();
    assert!(client.contains("stack"), "{client:?}");
    let deadline = references(
        "deadline/service.rs",
        &sources["deadline/service.rs"],
        &reexported,
    )
    .unwrap();
    assert_eq!(
        deadline,
        BTreeSet::from(["call".into(), "error".into(), "response".into()])
    );
}

#[test]
fn a_layer_importing_the_client_fails_the_check() {
    for line in [
        "use crate::rpc::client::RpcClient;",
        "use crate::rpc::{call::RpcCall, RpcClient};",
        "use super::super::RpcClient;",
        "fn f(_: &crate::rpc::RpcClient) {}",
    ] {
        let problems = violations(&with_line("deadline/service.rs", line));
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with("deadline (Layers) imports client")),
            "`{line}` went unnoticed: {problems:?}"
        );
    }
}

#[test]
fn a_layer_importing_another_layer_or_the_stack_fails_the_check() {
    let problems = violations(&with_line(
        "retry/policy.rs",
        "use crate::rpc::breaker::CircuitOpen;",
    ));
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("retry (Layers) imports breaker")),
        "{problems:?}"
    );
    let problems = violations(&with_line("fault/mod.rs", "use super::Resilience;"));
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("fault (Layers) imports stack")),
        "{problems:?}"
    );
}

#[test]
fn a_cycle_among_types_fails_the_check() {
    // context.rs imports headers.rs already.
    let problems = violations(&with_line(
        "headers.rs",
        "use super::context::RequestContext;",
    ));
    assert!(
        problems.iter().any(|p| p.starts_with("import cycle")),
        "{problems:?}"
    );
}

#[test]
fn comments_strings_and_unit_tests_are_not_imports() {
    let source = "//! See [`RpcClient`](super::RpcClient).\n\
                  const A: &str = \"super::client\";\n\
                  fn f<'a>(x: &'a str) -> char { '\"' }\n\
                  #[cfg(test)]\nmod tests { use crate::rpc::client::RpcClient; }\n";
    let reexported = BTreeMap::from([("RpcClient".to_owned(), "client".to_owned())]);
    assert_eq!(
        references("deadline/service.rs", source, &reexported).unwrap(),
        BTreeSet::new()
    );
}

#[test]
fn a_module_without_a_tier_fails_the_check() {
    let mut sources = rpc_sources();
    sources.insert(
        "shortcut.rs".to_owned(),
        "use super::client::RpcClient;\n".to_owned(),
    );
    let problems = violations(&sources);
    assert!(
        problems
            .iter()
            .any(|p| p.contains("`shortcut` has no tier")),
        "{problems:?}"
    );
}
