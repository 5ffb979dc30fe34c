//! A compact Common Expression Language: the subset that admission
//! policies use (kubernetes.io's examples and the common policies), parsed,
//! checked and evaluated as cel-go with Kubernetes' libraries does.
//!
//! Anything outside the subset is refused when the expression is compiled,
//! naming what is not supported, so that a policy is never accepted and then
//! silently does nothing. Evaluation is bounded: a cost counter stops a
//! runaway comprehension or a string grown without end, and the tree's
//! height is bounded when it is parsed, so no input can hang or overflow the
//! stack.

mod check;
mod eval;
mod format;
mod named_format;
pub(crate) mod net;
mod parse;
mod time;
mod url;

use std::collections::BTreeMap;
use std::rc::Rc;

pub use check::{Declarations, RuleScope, Ty};
pub use eval::{Activation, Lazy, COST_LIMIT_EXCEEDED, OUT_OF_BUDGET};

use crate::engine::quantity::Quantity;

/// A CEL value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Uint(u64),
    Double(f64),
    Str(Rc<str>),
    Bytes(Rc<[u8]>),
    List(Rc<Vec<Value>>),
    Map(Rc<BTreeMap<Key, Value>>),
    /// A type value, as `type(x)` and the names `int`, `string`… give.
    Type(&'static str),
    /// Kubernetes' quantity library (`quantity("1Gi")`).
    Quantity(Quantity),
    /// `google.protobuf.Duration`: nanoseconds, as Go's `time.Duration`.
    Duration(i64),
    /// `google.protobuf.Timestamp`.
    Timestamp(time::Timestamp),
    /// An optional (`optional.of(x)`, `optional.none()`, `a.?b`).
    Optional(Option<Rc<Value>>),
    /// Kubernetes' ip library (`ip('10.0.0.1')`).
    Ip(net::Addr),
    /// Kubernetes' cidr library (`cidr('10.0.0.0/8')`).
    Cidr(net::Prefix),
    /// Kubernetes' url library (`url('https://example.com/')`).
    Url(Rc<url::Url>),
    /// Kubernetes' format library (`format.dns1123Label()`): the format's name.
    Format(&'static str),
}

/// A map key: CEL allows bool, int, uint and string keys.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Key {
    Bool(bool),
    Int(i64),
    Uint(u64),
    Str(Rc<str>),
}

impl Value {
    pub fn string(s: String) -> Value {
        Value::Str(Rc::from(s))
    }

    /// A JSON document (an object as the API serves it) as CEL sees it:
    /// integers are `int`, other numbers `double`.
    pub fn from_json(json: &serde_json::Value) -> Value {
        match json {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => match (n.as_i64(), n.as_u64()) {
                (Some(i), _) => Value::Int(i),
                (None, Some(u)) => Value::Uint(u),
                _ => Value::Double(n.as_f64().unwrap_or(0.0)),
            },
            serde_json::Value::String(s) => Value::Str(Rc::from(s.as_str())),
            serde_json::Value::Array(items) => Value::List(Rc::new(items.iter().map(Value::from_json).collect())),
            serde_json::Value::Object(fields) => {
                Value::Map(Rc::new(fields.iter().map(|(k, v)| (Key::Str(Rc::from(k.as_str())), Value::from_json(v))).collect()))
            }
        }
    }

    /// The CEL type's name, as `type()` and error messages give it.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null_type",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Uint(_) => "uint",
            Value::Double(_) => "double",
            Value::Str(_) => "string",
            Value::Bytes(_) => "bytes",
            Value::List(_) => "list",
            Value::Map(_) => "map",
            Value::Type(_) => "type",
            Value::Quantity(_) => "kubernetes.Quantity",
            Value::Duration(_) => "google.protobuf.Duration",
            Value::Timestamp(_) => "google.protobuf.Timestamp",
            Value::Optional(_) => "optional_type",
            Value::Ip(_) => "net.IP",
            Value::Cidr(_) => "net.CIDR",
            Value::Url(_) => "kubernetes.URL",
            Value::Format(_) => "kubernetes.NamedFormat",
        }
    }
}

/// What an expression must evaluate to (the Kubernetes field's return type).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Returns {
    Bool,
    String,
    /// `auditAnnotations[].valueExpression`: a string or null.
    StringOrNull,
    Any,
}

/// Why an expression does not compile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CompileError {
    /// cel-go's issues, worded as its `Issues.String()` words them
    /// (`ERROR: <input>:1:5: ...` and the source line with a caret).
    Cel(String),
    /// The expression compiles, but to the wrong type (`must evaluate to bool`).
    Returns(String),
    /// Outside the subset this simulation evaluates.
    Unsupported(String),
}

/// A checked expression, ready to evaluate.
#[derive(Clone, Debug, PartialEq)]
pub struct Program {
    root: parse::Node,
}

const UNSUPPORTED: &str = "is not supported by this simulation";

/// Parses and checks `src` against the names `declared`.
pub fn compile(src: &str, declared: &Declarations, returns: Returns) -> Result<Program, CompileError> {
    let root = parse::parse(src).map_err(|issue| classify(src, vec![issue]))?;
    let result = check::check(&root, declared).map_err(|issues| classify(src, issues))?;
    let fits = match returns {
        Returns::Any => true,
        Returns::Bool => matches!(result, check::Ty::Bool | check::Ty::Dyn),
        Returns::String => matches!(result, check::Ty::String | check::Ty::Dyn),
        Returns::StringOrNull => matches!(result, check::Ty::String | check::Ty::Null | check::Ty::Dyn),
    };
    if !fits {
        return Err(CompileError::Returns(match returns {
            Returns::Bool => "must evaluate to bool".to_string(),
            Returns::String => "must evaluate to string".to_string(),
            _ => "must evaluate to one of [string null_type]".to_string(),
        }));
    }
    Ok(Program { root })
}

/// An unsupported feature's issue becomes [`CompileError::Unsupported`];
/// the rest are CEL's own errors.
fn classify(src: &str, issues: Vec<parse::Issue>) -> CompileError {
    if let Some(issue) = issues.iter().find(|i| i.message.contains(UNSUPPORTED)) {
        return CompileError::Unsupported(issue.message.clone());
    }
    CompileError::Cel(display_issues(src, issues))
}

/// cel-go's `Issues.String()`: each error with its 1-based line and column,
/// then the line and a caret under the column (`.` for each rune before it).
fn display_issues(src: &str, mut issues: Vec<parse::Issue>) -> String {
    issues.sort_by_key(|i| i.at);
    issues
        .iter()
        .map(|issue| {
            let at = issue.at.min(src.len());
            let before = src.get(..at).unwrap_or("");
            let line_start = before.rfind('\n').map_or(0, |i| i + 1);
            let line = before.matches('\n').count() + 1;
            let column = src.get(line_start..at).map_or(0, |s| s.chars().count());
            let snippet = src.get(line_start..).unwrap_or("").split('\n').next().unwrap_or("").replace('\t', " ");
            let dots: String = snippet.chars().take(column).map(|c| if c.len_utf8() > 1 { '\u{ff0e}' } else { '.' }).collect();
            let caret = if snippet.chars().nth(column).is_some_and(|c| c.len_utf8() > 1) { "\u{ff3e}" } else { "^" };
            format!("ERROR: <input>:{line}:{}: {}\n | {snippet}\n | {dots}{caret}", column + 1, issue.message)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

impl Program {
    /// Whether the expression names `name` (a rule naming `oldSelf` is a
    /// transition rule), outside a comprehension that binds it.
    pub fn uses(&self, name: &str) -> bool {
        fn walk(node: &parse::Node, name: &str) -> bool {
            use parse::Expr;
            match &node.expr {
                Expr::Literal(_) => false,
                Expr::Ident(n) => n == name,
                Expr::Select(a, _) | Expr::OptSelect(a, _) | Expr::Has(a, _) | Expr::Not(a) | Expr::Negate(a) => walk(a, name),
                Expr::Index(a, b) | Expr::OptIndex(a, b) | Expr::Binary(_, a, b) | Expr::And(a, b) | Expr::Or(a, b) => walk(a, name) || walk(b, name),
                Expr::Conditional(a, b, c) => walk(a, name) || walk(b, name) || walk(c, name),
                Expr::Call(target, _, args) => target.as_deref().is_some_and(|t| walk(t, name)) || args.iter().any(|a| walk(a, name)),
                Expr::List(items, _) => items.iter().any(|i| walk(i, name)),
                Expr::Map(entries) => entries.iter().any(|(k, v, _)| walk(k, name) || walk(v, name)),
                Expr::Comprehension { range, var, var2, filter, body, .. } => {
                    let bound = var == name || var2.as_deref() == Some(name);
                    walk(range, name) || (!bound && (filter.as_deref().is_some_and(|f| walk(f, name)) || walk(body, name)))
                }
            }
        }
        walk(&self.root, name)
    }

    /// Evaluates the expression; an error is worded as cel-go words it
    /// (`no such key: replicas`).
    pub fn eval(&self, activation: &Activation) -> Result<Value, String> {
        activation.eval_program(&self.root)
    }
}

#[cfg(test)]
mod tests;
