//! The glossary of the catalogue: what an analyst must know besides the sentences, generated
//! from the API contract and the code, never written by hand.
//!
//! - Operations, their statuses and error codes with their meaning: `services/openapi.json`.
//!   Each error status lists its codes as `examples` entries of its `application/json` media
//!   type (`{"insufficient_funds": {"summary": ..., "value": {"code": ...}}}`); a status that
//!   has none yet is read from the codes its description names in backticks.
//! - Payment statuses, currencies, webhook event types and delivery states: the same document.
//! - What each payment status and failure reason means: the doc comments of the payments
//!   saga's enums in `services/src` (read with `syn`), matched to the public values by the
//!   functions that map one to the other.
//! - What each webhook delivery state and event type means: the doc comments of webhooks'
//!   `DeliveryState` and `EventType`, matched to the contract's values by their `as_str`.
//! - The scopes of each role: auth's `scopes_for`, one `Role::X => &[...]` arm per role.
//! - Which error codes name a field: the services' `ErrorAnswer` impls, read with `syn`: the
//!   variants whose `field()` is not `None` and the codes their `answer()` gives (a variant
//!   answering with a wrapped value's `.code()` gives every code of that value's type).
//! - Retry counts and timings: what each driver configures ([`drivers::timings`]).

use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
    sync::LazyLock,
};

use serde_json::Value;
use syn::visit::{self, Visit};

use super::read::doc_lines;

/// The public API contract, as served by edge at `/openapi.json`.
const OPENAPI: &str = include_str!("../../../services/openapi.json");

/// The services' sources, for the meaning of statuses and failure reasons.
const SERVICES_SRC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../services/src");

/// Everything the glossary says.
#[derive(Debug, Clone, Default)]
pub struct Glossary {
    /// Every public operation, in the document's order.
    pub operations: Vec<Operation>,
    /// `pending`, `processing`, ... with what each means.
    pub payment_statuses: Vec<Term>,
    /// `provider_rejected`, ... with what each means.
    pub failure_reasons: Vec<Term>,
    /// Currency codes with their number of decimals.
    pub currencies: Vec<Term>,
    /// Webhook event types a merchant can listen for.
    pub event_types: Vec<Term>,
    /// States of a webhook delivery, with what each means.
    pub delivery_states: Vec<Term>,
    /// Each role (`customer`, `merchant`, `operator`) with the scopes its tokens carry.
    pub roles: Vec<Role>,
    /// Error codes whose body names the request field at fault (`field`), each with that
    /// field when it is always the same one.
    pub field_codes: Vec<Term>,
    /// Retries and timeouts, per driver.
    pub timings: Vec<drivers::timings::DriverTimings>,
}

/// A value and what it means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term {
    /// The value as written in a feature or an answer.
    pub name: String,
    /// What it means (empty when the source says nothing).
    pub meaning: String,
}

/// A role tokens are issued for, as auth grants it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    /// `customer`, `merchant` or `operator`.
    pub name: String,
    /// The scopes every token of the role carries.
    pub scopes: Vec<String>,
}

impl Role {
    /// Whether a token of this role may call `operation` (it holds every scope it needs).
    pub fn may_call(&self, operation: &Operation) -> bool {
        operation.scopes.iter().all(|s| self.scopes.contains(s))
    }
}

/// One public operation.
#[derive(Debug, Clone)]
pub struct Operation {
    /// `GET`, `POST`, ...
    pub method: String,
    /// `/v1/payments/{payment_id}`.
    pub path: String,
    /// What it does.
    pub summary: String,
    /// The scope its token needs, if any.
    pub scopes: Vec<String>,
    /// The fields of its JSON request body, if it takes one.
    pub body: Vec<BodyField>,
    /// Every status it can answer.
    pub statuses: Vec<Status>,
}

/// One field of a request body, as the API document states it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyField {
    /// Its name in the JSON object.
    pub name: String,
    /// Whether a body without it is refused (422 `missing_field`).
    pub required: bool,
    /// What it accepts (the document's description, or its type).
    pub accepts: String,
}

/// One status an operation can answer.
#[derive(Debug, Clone)]
pub struct Status {
    /// `201`, `422`, ...
    pub code: String,
    /// The document's description of it.
    pub description: String,
    /// The machine codes of an error status, with their meaning.
    pub errors: Vec<Term>,
    /// The fields of its JSON body (a list's items' fields as `list[].field`).
    pub fields: Vec<String>,
}

static GLOSSARY: LazyLock<Glossary> = LazyLock::new(|| {
    let api: Value = serde_json::from_str(OPENAPI).unwrap_or(Value::Null);
    let code = CodeFacts::read(Path::new(SERVICES_SRC));
    let enum_of = |schema: &str, pointer: &str| -> Vec<String> {
        api.pointer(&format!("/components/schemas/{schema}{pointer}"))
            .and_then(Value::as_array)
            .map(|values| {
                values
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let statuses = enum_of("Payment", "/properties/status/enum");
    Glossary {
        operations: operations(&api),
        payment_statuses: code.meanings_of(&statuses),
        failure_reasons: code.terms_of_enum("FailureReason"),
        currencies: enum_of("Currency", "/enum")
            .into_iter()
            .map(|c| Term {
                meaning: match crate::params::exponent(&c) {
                    0 => "no decimals: `1000 JPY`".to_owned(),
                    n => format!("{n} decimals: `12.50 {c}`"),
                },
                name: c,
            })
            .collect(),
        // The meanings are the docs of webhooks' `EventType`; the names, the contract's.
        event_types: with_meanings(
            enum_of("WebhookEndpointRequest", "/properties/events/items/enum"),
            code.terms_of_enum("EventType"),
        ),
        // The meanings are the docs of webhooks' `DeliveryState`; the names, the contract's.
        delivery_states: with_meanings(
            enum_of(
                "Deliveries",
                "/properties/deliveries/items/properties/status/enum",
            ),
            code.terms_of_enum("DeliveryState"),
        ),
        roles: code.roles(),
        field_codes: code.field_codes(),
        timings: drivers::timings::configured(),
    }
});

/// The glossary (read once).
pub fn glossary() -> &'static Glossary {
    &GLOSSARY
}

/// `names` (the contract's values), each with its meaning from `known` where the code has one.
fn with_meanings(names: Vec<String>, known: Vec<Term>) -> Vec<Term> {
    names
        .into_iter()
        .map(|name| Term {
            meaning: known
                .iter()
                .find(|term| term.name == name)
                .map(|term| term.meaning.clone())
                .unwrap_or_default(),
            name,
        })
        .collect()
}

fn terms(names: Vec<String>) -> Vec<Term> {
    names
        .into_iter()
        .map(|name| Term {
            name,
            meaning: String::new(),
        })
        .collect()
}

fn operations(api: &Value) -> Vec<Operation> {
    let mut out = Vec::new();
    let Some(paths) = api.get("paths").and_then(Value::as_object) else {
        return out;
    };
    for (path, item) in paths {
        let Some(item) = item.as_object() else {
            continue;
        };
        for (method, op) in item {
            let Some(responses) = op.get("responses").and_then(Value::as_object) else {
                continue;
            };
            let scopes = op
                .get("security")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_object)
                .flat_map(|s| s.values())
                .filter_map(Value::as_array)
                .flatten()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect();
            let mut statuses: Vec<Status> = responses
                .iter()
                .map(|(code, response)| {
                    let mut status = status(code, response);
                    status.fields = fields(api, response);
                    status
                })
                .collect();
            statuses.sort_by(|a, b| a.code.cmp(&b.code));
            out.push(Operation {
                method: method.to_uppercase(),
                path: path.clone(),
                summary: op
                    .get("summary")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                scopes,
                body: body_fields(api, op),
                statuses,
            });
        }
    }
    out
}

fn status(code: &str, response: &Value) -> Status {
    let description = response
        .get("description")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let examples = response
        .pointer("/content/application~1json/examples")
        .and_then(Value::as_object);
    let is_error = code.starts_with('4') || code.starts_with('5');
    let errors = match examples {
        Some(examples) if is_error => examples
            .iter()
            .map(|(key, example)| Term {
                name: example
                    .pointer("/value/code")
                    .and_then(Value::as_str)
                    .unwrap_or(key)
                    .to_owned(),
                meaning: example
                    .get("summary")
                    .or_else(|| example.get("description"))
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
            })
            .collect(),
        // Not listed one by one yet: the codes the description names, meaning the description.
        _ if is_error => backticked(&description)
            .into_iter()
            .map(|name| Term {
                name,
                meaning: description.clone(),
            })
            .collect(),
        _ => Vec::new(),
    };
    Status {
        code: code.to_owned(),
        description,
        errors,
        fields: Vec::new(),
    }
}

/// The fields of a response's JSON body, from its schema (through `$ref`s); error bodies
/// are always `code` and `message`, so only other bodies are listed.
fn fields(api: &Value, response: &Value) -> Vec<String> {
    let Some(schema) = response.pointer("/content/application~1json/schema") else {
        return Vec::new();
    };
    let schema = resolve(api, schema);
    if schema.pointer("/properties/code").is_some()
        && schema.pointer("/properties/message").is_some()
    {
        return Vec::new();
    }
    let mut out = Vec::new();
    if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
        for (name, property) in properties {
            let property = resolve(api, property);
            out.push(name.clone());
            if let Some(items) = property.get("items").map(|i| resolve(api, i))
                && let Some(inner) = items.get("properties").and_then(Value::as_object)
            {
                out.extend(inner.keys().map(|k| format!("{name}[].{k}")));
            }
        }
    }
    out
}

/// The fields of an operation's JSON request body, in the document's order.
fn body_fields(api: &Value, op: &Value) -> Vec<BodyField> {
    let Some(schema) = op.pointer("/requestBody/content/application~1json/schema") else {
        return Vec::new();
    };
    let schema = resolve(api, schema);
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
        return Vec::new();
    };
    properties
        .iter()
        .map(|(name, property)| {
            let described = |v: &Value| {
                v.get("description")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            };
            let resolved = resolve(api, property);
            let accepts = described(property)
                .or_else(|| described(resolved))
                .or_else(|| {
                    resolved
                        .get("type")
                        .map(|t| t.to_string().trim_matches('"').to_owned())
                })
                .unwrap_or_default();
            BodyField {
                name: name.clone(),
                required: required.contains(&name.as_str()),
                accepts,
            }
        })
        .collect()
}

/// Follows a `$ref` to its schema.
fn resolve<'a>(api: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(reference) => api
            .pointer(reference.trim_start_matches('#'))
            .unwrap_or(schema),
        None => schema,
    }
}

/// The `snake_case` words of a text written in backticks.
fn backticked(text: &str) -> Vec<String> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .filter(|w| {
            !w.is_empty()
                && w.chars()
                    .all(|c| c.is_ascii_lowercase() || c == '_' || c.is_ascii_digit())
        })
        .map(str::to_owned)
        .collect()
}

/// What the services' code says about its enums: each variant's doc, and the functions
/// that map variants to the strings the API shows.
#[derive(Debug, Default)]
struct CodeFacts {
    /// Enum name -> its variants and their docs, in order.
    enums: BTreeMap<String, Vec<(String, String)>>,
    /// Enum name -> every variant -> string mapping found in a `match` of its methods.
    mappings: BTreeMap<String, Vec<BTreeMap<String, String>>>,
    /// `Enum::Variant` -> the types of its fields (last path segment).
    variant_types: BTreeMap<String, Vec<String>>,
    /// Type name -> the string literals of its associated consts (`const ANSWER: Answer = …`).
    const_literals: BTreeMap<String, Vec<String>>,
    /// Role variant -> the scopes `scopes_for` grants it, in order.
    role_scopes: Vec<(String, Vec<String>)>,
    /// What the `ErrorAnswer` impls say about answers that name a field.
    field_answers: Vec<FieldAnswer>,
}

/// Answers of one error type (or one variant of it) whose body names a field.
#[derive(Debug, Default)]
struct FieldAnswer {
    /// The type.
    ty: String,
    /// Codes written as literals.
    codes: Vec<String>,
    /// `Enum::Variant`s answering with a wrapped value's `.code()`: every code of the
    /// wrapped value's type.
    code_of: Vec<String>,
    /// The field when it is always the same (`Some("url")`).
    field: Option<String>,
}

impl CodeFacts {
    fn read(dir: &Path) -> Self {
        let mut facts = CodeFacts::default();
        for file in rust_files(dir) {
            let Ok(text) = std::fs::read_to_string(&file) else {
                continue;
            };
            let Ok(ast) = syn::parse_file(&text) else {
                continue;
            };
            facts.visit_file(&ast);
        }
        facts
    }

    /// Variants of enum `name` with the string each maps to, when one mapping names
    /// every variant with a string of its own.
    fn terms_of_enum(&self, name: &str) -> Vec<Term> {
        let (Some(variants), Some(mappings)) = (self.enums.get(name), self.mappings.get(name))
        else {
            return Vec::new();
        };
        let distinct = |m: &BTreeMap<String, String>| {
            m.len() == variants.len() && m.values().collect::<BTreeSet<_>>().len() == variants.len()
        };
        let Some(mapping) = mappings.iter().find(|m| distinct(m)) else {
            return Vec::new();
        };
        variants
            .iter()
            .filter_map(|(variant, doc)| {
                mapping.get(variant).map(|value| Term {
                    name: value.clone(),
                    meaning: doc.clone(),
                })
            })
            .collect()
    }

    /// Each role with its scopes, named as the API names it (`Role::as_str`).
    fn roles(&self) -> Vec<Role> {
        let names = self.terms_of_enum("Role");
        self.role_scopes
            .iter()
            .map(|(variant, scopes)| Role {
                name: self
                    .enums
                    .get("Role")
                    .and_then(|vs| vs.iter().position(|(v, _)| v == variant))
                    .and_then(|i| names.get(i))
                    .map_or_else(|| variant.to_lowercase(), |t| t.name.clone()),
                scopes: scopes.clone(),
            })
            .collect()
    }

    /// Every error code whose body names a field, with the field when it is always the same.
    fn field_codes(&self) -> Vec<Term> {
        let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for answer in &self.field_answers {
            let mut codes = answer.codes.clone();
            if codes.is_empty() && answer.code_of.is_empty() {
                codes = self
                    .const_literals
                    .get(&answer.ty)
                    .cloned()
                    .unwrap_or_default();
            }
            for wrapped in answer
                .code_of
                .iter()
                .flat_map(|v| self.variant_types.get(v).into_iter().flatten())
            {
                for mapping in self.mappings.get(wrapped).into_iter().flatten() {
                    codes.extend(mapping.values().cloned());
                }
            }
            for code in codes {
                out.entry(code)
                    .or_default()
                    .insert(answer.field.clone().unwrap_or_default());
            }
        }
        out.into_iter()
            .map(|(code, fields)| {
                let fixed: Vec<&String> = fields.iter().filter(|f| !f.is_empty()).collect();
                Term {
                    name: code,
                    meaning: if fields.contains("") || fixed.is_empty() {
                        "the field at fault, as sent (a dotted path for nested fields)".to_owned()
                    } else {
                        fixed
                            .iter()
                            .map(|f| format!("`{f}`"))
                            .collect::<Vec<_>>()
                            .join(" or ")
                    },
                }
            })
            .collect()
    }

    /// The meaning of each public value: the docs of the variants of the enum whose mapping
    /// yields exactly these values, joined.
    fn meanings_of(&self, values: &[String]) -> Vec<Term> {
        let wanted: BTreeSet<&String> = values.iter().collect();
        for (name, mappings) in &self.mappings {
            for mapping in mappings {
                if mapping.values().collect::<BTreeSet<_>>() != wanted {
                    continue;
                }
                let docs = self.enums.get(name).cloned().unwrap_or_default();
                return values
                    .iter()
                    .map(|value| Term {
                        name: value.clone(),
                        meaning: docs
                            .iter()
                            .filter(|(variant, _)| mapping.get(variant) == Some(value))
                            .map(|(_, doc)| doc.as_str())
                            .collect::<Vec<_>>()
                            .join(" Or: "),
                    })
                    .collect();
            }
        }
        terms(values.to_vec())
    }
}

impl<'ast> Visit<'ast> for CodeFacts {
    fn visit_item_enum(&mut self, e: &'ast syn::ItemEnum) {
        let variants = e
            .variants
            .iter()
            .map(|v| {
                let doc = doc_lines(&v.attrs).join(" ");
                (
                    v.ident.to_string(),
                    doc.split_whitespace().collect::<Vec<_>>().join(" "),
                )
            })
            .collect();
        self.enums.insert(e.ident.to_string(), variants);
        for v in &e.variants {
            let types = v
                .fields
                .iter()
                .filter_map(|f| match &f.ty {
                    syn::Type::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
                    _ => None,
                })
                .collect();
            self.variant_types
                .insert(format!("{}::{}", e.ident, v.ident), types);
        }
        visit::visit_item_enum(self, e);
    }

    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        if f.sig.ident == "scopes_for"
            && let Some(m) = first_match(&f.block)
        {
            for arm in &m.arms {
                for role in variants_of(&arm.pat, "Role") {
                    self.role_scopes.push((role, literals(&arm.body)));
                }
            }
        }
        visit::visit_item_fn(self, f);
    }

    fn visit_item_impl(&mut self, item: &'ast syn::ItemImpl) {
        let syn::Type::Path(ty) = &*item.self_ty else {
            return;
        };
        let Some(name) = ty.path.segments.last().map(|s| s.ident.to_string()) else {
            return;
        };
        self.read_field_answers(&name, item);
        for impl_item in &item.items {
            if let syn::ImplItem::Const(c) = impl_item {
                self.const_literals
                    .entry(name.clone())
                    .or_default()
                    .extend(literals(&c.expr));
            }
            if let syn::ImplItem::Fn(f) = impl_item {
                let mut matches = Matches {
                    ty: &name,
                    found: Vec::new(),
                };
                matches.visit_block(&f.block);
                self.mappings
                    .entry(name.clone())
                    .or_default()
                    .extend(matches.found.into_iter().filter(|m| !m.is_empty()));
            }
        }
    }
}

impl CodeFacts {
    /// An `ErrorAnswer` impl of `ty` (one with `answer` and `field`): which of its answers
    /// name a field. `field()` either matches on variants (those not answering `None` name
    /// one), returns one literal field, delegates (`self.0.field()`: the wrapped type's own
    /// impl says) or returns a field of its own for every answer.
    fn read_field_answers(&mut self, ty: &str, item: &syn::ItemImpl) {
        let method = |name: &str| {
            item.items.iter().find_map(|i| match i {
                syn::ImplItem::Fn(f) if f.sig.ident == name => Some(f),
                _ => None,
            })
        };
        let (Some(answer), Some(field)) = (method("answer"), method("field")) else {
            return;
        };
        let answers = method("answers");
        let whole_type = |field: Option<String>| {
            let mut codes = block_literals(&answer.block);
            codes.extend(
                answers
                    .map(|a| block_literals(&a.block))
                    .unwrap_or_default(),
            );
            FieldAnswer {
                ty: ty.to_owned(),
                codes,
                code_of: Vec::new(),
                field,
            }
        };
        match first_match(&field.block) {
            Some(m) => {
                let named: BTreeSet<String> = m
                    .arms
                    .iter()
                    .filter(|arm| !is_none(&arm.body))
                    .flat_map(|arm| variants_of(&arm.pat, ty))
                    .collect();
                let Some(answered) = first_match(&answer.block) else {
                    return;
                };
                for arm in &answered.arms {
                    let variants: Vec<String> = variants_of(&arm.pat, ty)
                        .into_iter()
                        .filter(|v| named.contains(v))
                        .collect();
                    if variants.is_empty() {
                        continue;
                    }
                    let code_of = if calls_method(&arm.body, "code") {
                        variants.iter().map(|v| format!("{ty}::{v}")).collect()
                    } else {
                        Vec::new()
                    };
                    self.field_answers.push(FieldAnswer {
                        ty: ty.to_owned(),
                        codes: literals(&arm.body),
                        code_of,
                        field: None,
                    });
                }
            }
            None if calls_method_in(&field.block, "field") => {}
            None => {
                let fixed = block_literals(&field.block).into_iter().next();
                self.field_answers.push(whole_type(fixed));
            }
        }
    }
}

/// The first `match` of a block (outside closures' own matches too: the first met).
fn first_match(block: &syn::Block) -> Option<&syn::ExprMatch> {
    struct First<'a>(Option<&'a syn::ExprMatch>);
    impl<'ast> Visit<'ast> for First<'ast> {
        fn visit_expr_match(&mut self, m: &'ast syn::ExprMatch) {
            if self.0.is_none() {
                self.0 = Some(m);
            }
        }
    }
    let mut first = First(None);
    first.visit_block(block);
    first.0
}

/// The string literals of an expression, in order.
fn literals(expr: &syn::Expr) -> Vec<String> {
    let mut found = Literals(Vec::new());
    found.visit_expr(expr);
    found.0
}

fn block_literals(block: &syn::Block) -> Vec<String> {
    let mut found = Literals(Vec::new());
    found.visit_block(block);
    found.0
}

struct Literals(Vec<String>);

impl<'ast> Visit<'ast> for Literals {
    fn visit_lit_str(&mut self, lit: &'ast syn::LitStr) {
        self.0.push(lit.value());
    }
}

/// `None`.
fn is_none(expr: &syn::Expr) -> bool {
    matches!(peel(expr), syn::Expr::Path(p) if p.path.is_ident("None"))
}

/// Whether an expression calls a method `name` (`error.code()`).
fn calls_method(expr: &syn::Expr, name: &str) -> bool {
    let mut found = MethodCalls(name, false);
    found.visit_expr(expr);
    found.1
}

fn calls_method_in(block: &syn::Block, name: &str) -> bool {
    let mut found = MethodCalls(name, false);
    found.visit_block(block);
    found.1
}

struct MethodCalls<'a>(&'a str, bool);

impl<'ast> Visit<'ast> for MethodCalls<'_> {
    fn visit_expr_method_call(&mut self, call: &'ast syn::ExprMethodCall) {
        self.1 |= call.method == self.0;
        visit::visit_expr_method_call(self, call);
    }
}

/// The `match` expressions of one method that map `Type::Variant` patterns to string literals.
struct Matches<'a> {
    ty: &'a str,
    found: Vec<BTreeMap<String, String>>,
}

impl<'ast> Visit<'ast> for Matches<'_> {
    fn visit_expr_match(&mut self, m: &'ast syn::ExprMatch) {
        let mut mapping = BTreeMap::new();
        for arm in &m.arms {
            let syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(value),
                ..
            }) = peel(&arm.body)
            else {
                continue;
            };
            for variant in variants_of(&arm.pat, self.ty) {
                mapping.insert(variant, value.value());
            }
        }
        self.found.push(mapping);
        visit::visit_expr_match(self, m);
    }
}

/// `{ "x" }` is `"x"`.
fn peel(expr: &syn::Expr) -> &syn::Expr {
    match expr {
        syn::Expr::Block(b) if b.block.stmts.len() == 1 => match &b.block.stmts[0] {
            syn::Stmt::Expr(inner, None) => peel(inner),
            _ => expr,
        },
        _ => expr,
    }
}

/// The variants of `ty` a pattern names (`Ty::A | Ty::B`, `Self::A`).
fn variants_of(pat: &syn::Pat, ty: &str) -> Vec<String> {
    match pat {
        syn::Pat::Or(or) => or.cases.iter().flat_map(|p| variants_of(p, ty)).collect(),
        syn::Pat::Path(p) => variant_of(&p.path, ty),
        syn::Pat::Struct(p) => variant_of(&p.path, ty),
        syn::Pat::TupleStruct(p) => variant_of(&p.path, ty),
        _ => Vec::new(),
    }
}

/// `Ty::Variant` or `Self::Variant` -> `Variant`.
fn variant_of(path: &syn::Path, ty: &str) -> Vec<String> {
    let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    match segments.as_slice() {
        [owner, variant] if owner == ty || owner == "Self" => vec![variant.clone()],
        _ => Vec::new(),
    }
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(dir) = todo.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                todo.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_come_from_examples_or_else_from_the_description() {
        let listed = serde_json::json!({
            "description": "Refused",
            "content": {"application/json": {"examples": {
                "insufficient_funds": {"summary": "The payer cannot afford it.",
                    "value": {"code": "insufficient_funds", "message": "..."}}
            }}}
        });
        let s = status("422", &listed);
        assert_eq!(
            s.errors,
            vec![Term {
                name: "insufficient_funds".into(),
                meaning: "The payer cannot afford it.".into()
            }]
        );
        let described =
            serde_json::json!({"description": "`missing_idempotency_key`, `invalid_request`."});
        let names: Vec<String> = status("400", &described)
            .errors
            .into_iter()
            .map(|t| t.name)
            .collect();
        assert_eq!(names, ["missing_idempotency_key", "invalid_request"]);
        assert!(status("200", &described).errors.is_empty());
    }

    #[test]
    fn the_glossary_covers_payments_and_operations() {
        let g = glossary();
        assert!(
            g.operations
                .iter()
                .any(|o| o.path == "/v1/payments" && o.method == "POST")
        );
        let names: Vec<&str> = g.payment_statuses.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["pending", "processing", "settled", "failed"]);
        assert!(
            g.payment_statuses.iter().all(|t| !t.meaning.is_empty()),
            "{:?}",
            g.payment_statuses
        );
        assert!(
            g.failure_reasons
                .iter()
                .any(|t| t.name == "provider_rejected" && !t.meaning.is_empty())
        );
        assert!(g.currencies.iter().any(|t| t.name == "JPY"));
        assert!(g.event_types.iter().any(|t| t.name == "payment.settled"));
        let states: Vec<&str> = g.delivery_states.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(states, ["pending", "delivered", "dead_lettered"]);
        assert!(
            g.delivery_states.iter().all(|t| !t.meaning.is_empty()),
            "{:?}",
            g.delivery_states
        );
    }

    #[test]
    fn each_role_has_the_scopes_auth_grants_it() {
        let g = glossary();
        let names: Vec<&str> = g.roles.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["customer", "merchant", "operator"]);
        let may = |role: &str, method: &str, path: &str| {
            let role = g.roles.iter().find(|r| r.name == role).expect("role");
            let op = g
                .operations
                .iter()
                .find(|o| o.method == method && o.path == path)
                .expect("operation");
            role.may_call(op)
        };
        assert!(may("customer", "POST", "/v1/payments"));
        assert!(!may("merchant", "POST", "/v1/payments"));
        assert!(may("merchant", "POST", "/v1/webhook-endpoints"));
        assert!(!may("customer", "GET", "/v1/ledger/audit"));
        assert!(may("operator", "POST", "/v1/customers"));
    }

    #[test]
    fn the_codes_that_name_a_field_are_read_from_the_error_types() {
        let g = glossary();
        let field_of = |code: &str| {
            g.field_codes
                .iter()
                .find(|t| t.name == code)
                .map(|t| t.meaning.as_str())
        };
        for code in [
            "missing_field",
            "unknown_field",
            "wrong_type",
            "out_of_range",
        ] {
            assert!(
                field_of(code).is_some_and(|f| f.contains("at fault")),
                "{code}: {:?}",
                g.field_codes
            );
        }
        // A refused value of a field (`InvalidRequest::InvalidValue`): the domain's codes.
        assert!(field_of("invalid_amount").is_some(), "{:?}", g.field_codes);
        assert_eq!(field_of("invalid_events"), Some("`events`"));
        assert_eq!(field_of("invalid_name"), Some("`name`"));
        for code in [
            "malformed_json",
            "not_an_object",
            "payload_too_large",
            "insufficient_funds",
        ] {
            assert_eq!(field_of(code), None, "{code}");
        }
    }
}
