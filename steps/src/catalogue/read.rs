//! Reads step definitions out of Rust source with a real parser (`syn`): each function's
//! `#[given]`/`#[when]`/`#[then]` attributes and its doc comment, and, over every function of
//! the step sources, who calls whom, to tell which sentences send a request and which replace
//! the scenario's last answer.

use std::collections::{BTreeMap, BTreeSet};

use syn::{
    Attribute, Expr, ExprLit, Lit, LitStr, Meta,
    visit::{self, Visit},
};

use super::{ParamEntry, StepEntry};

/// The text of an item's doc comment, one entry per `///` line.
pub(crate) fn doc_lines(attrs: &[Attribute]) -> Vec<String> {
    attrs
        .iter()
        .filter(|a| a.path().is_ident("doc"))
        .filter_map(|a| match &a.meta {
            Meta::NameValue(nv) => match &nv.value {
                Expr::Lit(ExprLit {
                    lit: Lit::Str(s), ..
                }) => Some(s.value()),
                _ => None,
            },
            _ => None,
        })
        .map(|line| line.strip_prefix(' ').unwrap_or(&line).to_owned())
        .collect()
}

/// A doc comment split into its description and its `Example:`, `Needs:` and `Scope:` lines.
pub(crate) struct Doc {
    pub description: String,
    pub examples: Vec<String>,
    pub needs: Vec<String>,
    pub scope: Option<String>,
}

pub(crate) fn split_doc(doc: &[String]) -> Doc {
    let mut description = Vec::new();
    let mut examples = Vec::new();
    let mut needs = Vec::new();
    let mut scope = None;
    for line in doc {
        let line = line.trim();
        if let Some(example) = line.strip_prefix("Example:") {
            examples.push(example.trim().to_owned());
        } else if let Some(need) = line.strip_prefix("Needs:") {
            needs.extend(
                need.split(|c: char| c.is_whitespace() || c == ',')
                    .filter(|n| !n.is_empty())
                    .map(|n| format!("needs-{}", n.trim_start_matches("needs-"))),
            );
        } else if let Some(s) = line.strip_prefix("Scope:") {
            scope = Some(s.trim().to_owned());
        } else {
            description.push(line.to_owned());
        }
    }
    let description = description
        .join(" ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    Doc {
        description,
        examples,
        needs,
        scope,
    }
}

/// The keyword and expression (or regex) of a `#[given(...)]`-style attribute.
fn step_attribute(attr: &Attribute) -> Option<(&'static str, String, bool)> {
    let keyword = ["given", "when", "then"]
        .into_iter()
        .find(|k| attr.path().is_ident(k))?;
    let mut found = None;
    let _ = attr.parse_nested_meta(|meta| {
        let is_regex = meta.path.is_ident("regex");
        if meta.path.is_ident("expr") || is_regex {
            let value: LitStr = meta.value()?.parse()?;
            found = Some((value.value(), is_regex));
        } else if meta.input.peek(syn::Token![=]) {
            // Another `key = value` (e.g. `parser = ...`): read and ignore it.
            let _: Expr = meta.value()?.parse()?;
        }
        Ok(())
    });
    let (pattern, is_regex) = found?;
    let keyword = match keyword {
        "given" => "Given",
        "when" => "When",
        _ => "Then",
    };
    Some((keyword, pattern, is_regex))
}

/// Every step definition of one source file, in source order.
///
/// # Errors
/// When the file is not valid Rust.
pub fn parse_steps(file: &'static str, text: &str) -> Result<Vec<StepEntry>, String> {
    let ast = syn::parse_file(text).map_err(|e| format!("{file}: {e}"))?;
    let mut out = Vec::new();
    for item in &ast.items {
        let syn::Item::Fn(function) = item else {
            continue;
        };
        let steps: Vec<(&Attribute, (&'static str, String, bool))> = function
            .attrs
            .iter()
            .filter_map(|a| step_attribute(a).map(|s| (a, s)))
            .collect();
        let Some((first, _)) = steps.first() else {
            continue;
        };
        let first_line = u32::try_from(first.pound_token.span.start().line).unwrap_or(0);
        let fn_line = u32::try_from(function.sig.fn_token.span.start().line).unwrap_or(0);
        let doc = split_doc(&doc_lines(&function.attrs));
        for (_, (keyword, pattern, is_regex)) in steps {
            out.push(StepEntry {
                keyword,
                pattern,
                is_regex,
                description: doc.description.clone(),
                examples: doc.examples.clone(),
                file,
                function: function.sig.ident.to_string(),
                needs: doc.needs.clone(),
                scope: doc.scope.clone(),
                lines: (first_line, fn_line),
                sends: false,
                replaces_last: false,
                waits: false,
            });
        }
    }
    Ok(out)
}

/// The parameter types: `#[param(name = ..., regex = ...)]` on a type, with its doc.
///
/// # Errors
/// When the file is not valid Rust.
pub fn parse_params(text: &str) -> Result<Vec<ParamEntry>, String> {
    let ast = syn::parse_file(text).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for item in &ast.items {
        let (attrs, syn::Item::Struct(_) | syn::Item::Enum(_)) = (item_attrs(item), item) else {
            continue;
        };
        for attr in attrs.iter().filter(|a| a.path().is_ident("param")) {
            let (mut name, mut regex) = (None, None);
            let _ = attr.parse_nested_meta(|meta| {
                let value: LitStr = meta.value()?.parse()?;
                if meta.path.is_ident("name") {
                    name = Some(value.value());
                } else if meta.path.is_ident("regex") {
                    regex = Some(value.value());
                }
                Ok(())
            });
            if let (Some(name), Some(regex)) = (name, regex) {
                out.push(ParamEntry {
                    name,
                    regex,
                    description: doc_lines(attrs).join(" "),
                });
            }
        }
    }
    Ok(out)
}

fn item_attrs(item: &syn::Item) -> &[Attribute] {
    match item {
        syn::Item::Struct(s) => &s.attrs,
        syn::Item::Enum(e) => &e.attrs,
        syn::Item::Fn(f) => &f.attrs,
        _ => &[],
    }
}

/// What one function does, as far as requests go.
#[derive(Debug, Default)]
struct Body {
    /// Functions and methods it calls, by name.
    calls: BTreeSet<String>,
    /// It assigns the World's `last` answer itself.
    sets_last: bool,
}

/// A free function's key in the call graph.
fn free(name: &str) -> String {
    format!("fn {name}")
}

/// A method's key (`x.name()`, `Self::name`, `Type::name`).
fn method(name: &str) -> String {
    format!("method {name}")
}

impl<'ast> Visit<'ast> for Body {
    fn visit_expr_method_call(&mut self, call: &'ast syn::ExprMethodCall) {
        self.calls.insert(method(&call.method.to_string()));
        visit::visit_expr_method_call(self, call);
    }
    fn visit_expr_call(&mut self, call: &'ast syn::ExprCall) {
        if let Expr::Path(path) = &*call.func
            && let Some(last) = path.path.segments.last()
        {
            // `Type::f(..)` and `Self::f(..)` call a method; `f(..)` and `module::f(..)` a
            // free function.
            let segments = &path.path.segments;
            let owner_is_type = segments.len() >= 2
                && segments[segments.len() - 2]
                    .ident
                    .to_string()
                    .starts_with(|c: char| c.is_ascii_uppercase());
            let name = last.ident.to_string();
            self.calls.insert(if owner_is_type {
                method(&name)
            } else {
                free(&name)
            });
        }
        visit::visit_expr_call(self, call);
    }
    fn visit_expr_assign(&mut self, assign: &'ast syn::ExprAssign) {
        if let Expr::Field(field) = &*assign.left
            && let syn::Member::Named(name) = &field.member
            && name == "last"
        {
            self.sets_last = true;
        }
        visit::visit_expr_assign(self, assign);
    }
}

/// Functions that put a request on the wire: the World's one door to edge, and the raw
/// HTTP client a step uses when it must control the connection itself.
const SENDERS: [&str; 2] = ["method send_raw", "fn http"];

/// Who calls whom across `sources` (free functions and methods by name, several of one name
/// merged), and from that, which function sends a request and which replaces the last answer.
pub struct CallGraph {
    bodies: BTreeMap<String, Body>,
}

impl CallGraph {
    /// Reads every function and method of `sources`.
    ///
    /// # Errors
    /// When a source is not valid Rust.
    pub fn of(sources: &[(&str, &str)]) -> Result<Self, String> {
        let mut bodies: BTreeMap<String, Body> = BTreeMap::new();
        for (file, text) in sources {
            let ast = syn::parse_file(text).map_err(|e| format!("{file}: {e}"))?;
            let mut collect = Collect(&mut bodies);
            collect.visit_file(&ast);
        }
        Ok(Self { bodies })
    }

    /// Whether free function `function` (a step) or anything it calls sets the last answer.
    pub fn replaces_last(&self, function: &str) -> bool {
        self.reaches(&free(function), &|_, body| body.sets_last)
    }

    /// Whether free function `function` (a step) or anything it calls sends a request.
    pub fn sends(&self, function: &str) -> bool {
        self.reaches(&free(function), &|name, body| {
            SENDERS.contains(&name) || body.calls.iter().any(|c| SENDERS.contains(&c.as_str()))
        })
    }

    /// Whether free function `function` (a step) or anything it calls waits for something
    /// asynchronous with the driver's patience (`MinibankWorld::patience`).
    pub fn waits(&self, function: &str) -> bool {
        self.reaches(&free(function), &|_, body| {
            body.calls.contains(&method("patience"))
        })
    }

    fn reaches(&self, function: &str, seed: &dyn Fn(&str, &Body) -> bool) -> bool {
        let mut seen = BTreeSet::new();
        let mut todo = vec![function.to_owned()];
        while let Some(name) = todo.pop() {
            if !seen.insert(name.clone()) {
                continue;
            }
            let Some(body) = self.bodies.get(&name) else {
                continue;
            };
            if seed(&name, body) {
                return true;
            }
            todo.extend(body.calls.iter().cloned());
        }
        false
    }
}

struct Collect<'a>(&'a mut BTreeMap<String, Body>);

impl Collect<'_> {
    fn add(&mut self, name: String, block: &syn::Block) {
        let mut body = Body::default();
        body.visit_block(block);
        let merged = self.0.entry(name).or_default();
        merged.calls.extend(body.calls);
        merged.sets_last |= body.sets_last;
    }
}

impl<'ast> Visit<'ast> for Collect<'_> {
    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        self.add(free(&f.sig.ident.to_string()), &f.block);
    }
    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        self.add(method(&f.sig.ident.to_string()), &f.block);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r##"
/// Onboards a customer.
/// Example: Given Alice is a customer with 100.00 GBP
#[given(expr = "{actor} is a customer with {money}")]
async fn customer(w: &mut W) { w.onboard() }

/// Times out.
/// Needs: provider-stubs, faults
/// Scope: scenario
/// Example: Given the bank provider times out after processing the transfer
#[given(regex = r"^the bank provider times out (after|without) processing the transfer$")]
#[when(
    regex = r"^the bank provider times out (after|without) processing the transfer$"
)]
async fn times_out(w: &mut W) {}

/// Checks.
/// Example: Then Alice's balance is 1.00 GBP
#[then(expr = "{actor}'s balance is {money}")]
async fn balance(w: &mut W) { w.token() }

fn token() { W::call() }

impl W {
    fn onboard(&mut self) { self.call() }
    fn call(&mut self) { self.last = Some(self.send_raw()) }
    fn token(&self) { self.send_raw() }
    fn send_raw(&self) { client::http() }
}
"##;

    #[test]
    fn steps_are_read_with_their_doc_example_and_lines() {
        let steps = parse_steps("x.rs", SAMPLE).unwrap();
        assert_eq!(steps.len(), 4);
        assert_eq!(steps[0].pattern, "{actor} is a customer with {money}");
        assert_eq!(steps[0].description, "Onboards a customer.");
        assert_eq!(
            steps[0].examples,
            vec!["Given Alice is a customer with 100.00 GBP"]
        );
        assert!(steps[1].is_regex);
        assert_eq!(steps[2].keyword, "When");
        assert_eq!(steps[1].needs, vec!["needs-provider-stubs", "needs-faults"]);
        assert_eq!(steps[1].scope.as_deref(), Some("scenario"));
        assert_eq!(steps[0].lines, (4, 5));
        assert_eq!(
            steps[2].sentence(),
            "the bank provider times out after processing the transfer"
        );
    }

    #[test]
    fn a_step_that_reaches_the_last_answer_through_helpers_is_known_to_replace_it() {
        let graph = CallGraph::of(&[("x.rs", SAMPLE)]).unwrap();
        assert!(graph.replaces_last("customer"));
        assert!(graph.sends("customer"));
        assert!(!graph.replaces_last("times_out"));
        assert!(!graph.sends("times_out"));
        // `w.token()` is the method, not the free function of the same name.
        assert!(graph.sends("balance"));
        assert!(!graph.replaces_last("balance"));
    }

    #[test]
    fn a_step_that_uses_the_patience_through_helpers_waits() {
        let sample = "async fn ends_up(w: &mut W) { w.poll() }\n\
                      async fn now(w: &mut W) { w.read() }\n\
                      impl W { fn poll(&self) { until(self.patience()) } fn read(&self) {} }";
        let graph = CallGraph::of(&[("x.rs", sample)]).unwrap();
        assert!(graph.waits("ends_up"));
        assert!(!graph.waits("now"));
    }
}
