//! The type check cel-go runs when a policy is written: every name must be
//! declared, every function known, operators applied to types they accept.
//! Kubernetes declares `object`, `oldObject`, `params` and the rest as `dyn`
//! when it checks a stored expression, so most types here are only known
//! for literals and what is computed from them.

use std::collections::BTreeMap;

use super::parse::{BinaryOp, Expr, Issue, Macro, Node};
use super::{Value, UNSUPPORTED};

/// The names an expression may use besides its own comprehension variables.
#[derive(Clone, Debug, Default)]
pub struct Declarations {
    /// The policy has a `paramKind`, so `params` is declared.
    pub params: bool,
    /// The policy's `variables` (each may use only those before it).
    pub variables: Vec<String>,
    /// A CRD's validation rule: `self` and `oldSelf` are declared instead
    /// of an admission policy's names, typed from the schema.
    pub rule: Option<RuleScope>,
}

/// The types of a validation rule's `self`, from the schema node it sits
/// on (apiextensions-apiserver's `SchemaDeclType`): an object with
/// properties is [`Ty::Object`], whose fields are known, so a misspelled
/// field is refused when the CRD is written.
#[derive(Clone, Debug, Default)]
pub struct RuleScope {
    pub self_type: Ty,
    /// Each object type's fields (escaped names) and their types.
    pub objects: Vec<BTreeMap<String, Ty>>,
    /// The rule sets `optionalOldSelf: true`: `oldSelf` is an optional.
    pub optional_old_self: bool,
}

/// A statically known type; `Dyn` when only evaluation can tell.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Ty {
    #[default]
    Dyn,
    Null,
    Bool,
    Int,
    Uint,
    Double,
    String,
    Bytes,
    List,
    Map,
    Type,
    Quantity,
    Duration,
    Timestamp,
    /// `optional_type(dyn)`: what it holds is not tracked.
    Optional,
    /// Kubernetes' `net.IP` and `net.CIDR`.
    Ip,
    Cidr,
    /// Kubernetes' `kubernetes.URL`.
    Url,
    /// Kubernetes' `kubernetes.NamedFormat`.
    Format,
    /// An object of a CRD's schema: its fields in [`RuleScope::objects`].
    Object(usize),
}

impl Ty {
    pub(super) fn name(self) -> &'static str {
        match self {
            Ty::Dyn => "dyn",
            Ty::Null => "null_type",
            Ty::Bool => "bool",
            Ty::Int => "int",
            Ty::Uint => "uint",
            Ty::Double => "double",
            Ty::String => "string",
            Ty::Bytes => "bytes",
            Ty::List => "list(dyn)",
            Ty::Map => "map(dyn, dyn)",
            Ty::Type => "type",
            Ty::Quantity => "kubernetes.Quantity",
            Ty::Duration => "google.protobuf.Duration",
            Ty::Timestamp => "google.protobuf.Timestamp",
            Ty::Optional => "optional_type(dyn)",
            Ty::Ip => "net.IP",
            Ty::Cidr => "net.CIDR",
            Ty::Url => "kubernetes.URL",
            Ty::Format => "kubernetes.NamedFormat",
            Ty::Object(_) => "object",
        }
    }
    fn numeric(self) -> bool {
        matches!(self, Ty::Int | Ty::Uint | Ty::Double)
    }
}

/// Names of types, usable as values (`type(x) == string`).
pub const TYPE_NAMES: [&str; 10] = ["int", "uint", "double", "bool", "string", "bytes", "list", "map", "null_type", "type"];


fn issue(at: usize, message: String) -> Vec<Issue> {
    vec![Issue { at, message }]
}

fn no_overload(at: usize, function: &str, args: &[Ty]) -> Vec<Issue> {
    let names: Vec<&str> = args.iter().map(|t| t.name()).collect();
    issue(at, format!("found no matching overload for '{function}' applied to '({})'", names.join(", ")))
}

pub fn check(root: &Node, declared: &Declarations) -> Result<Ty, Vec<Issue>> {
    let mut scope = Vec::new();
    check_node(root, declared, &mut scope)
}

fn check_node(node: &Node, declared: &Declarations, scope: &mut Vec<String>) -> Result<Ty, Vec<Issue>> {
    let at = node.at;
    Ok(match &node.expr {
        Expr::Literal(v) => match v {
            Value::Null => Ty::Null,
            Value::Bool(_) => Ty::Bool,
            Value::Int(_) => Ty::Int,
            Value::Uint(_) => Ty::Uint,
            Value::Double(_) => Ty::Double,
            Value::Str(_) => Ty::String,
            Value::Bytes(_) => Ty::Bytes,
            _ => Ty::Dyn,
        },
        Expr::Ident(name) => {
            if scope.iter().any(|v| v == name) {
                return Ok(Ty::Dyn);
            }
            if let Some(rule) = &declared.rule {
                return match name.as_str() {
                    "oldSelf" if rule.optional_old_self => Ok(Ty::Optional),
                    "self" | "oldSelf" => Ok(rule.self_type),
                    _ if TYPE_NAMES.contains(&name.as_str()) => Ok(Ty::Type),
                    _ => Err(issue(at, format!("undeclared reference to '{name}' (in container '')"))),
                };
            }
            match name.as_str() {
                "object" | "oldObject" | "request" | "namespaceObject" | "variables" => Ty::Dyn,
                "params" if declared.params => Ty::Dyn,
                "authorizer" => return Err(issue(at, format!("the authorizer variable {UNSUPPORTED}"))),
                _ if TYPE_NAMES.contains(&name.as_str()) => Ty::Type,
                _ => return Err(issue(at, format!("undeclared reference to '{name}' (in container '')"))),
            }
        }
        Expr::Select(operand, field) => {
            let policy = declared.rule.is_none();
            if policy && matches!(&operand.expr, Expr::Ident(v) if v == "variables" && !scope.iter().any(|s| s == "variables")) {
                if !declared.variables.iter().any(|v| v == field) {
                    return Err(issue(at, format!("undefined field '{field}'")));
                }
                return Ok(Ty::Dyn);
            }
            let ty = check_node(operand, declared, scope)?;
            match ty {
                Ty::Dyn | Ty::Map => Ty::Dyn,
                // Selecting on an optional keeps it optional (`a.?b.c`).
                Ty::Optional => Ty::Optional,
                Ty::Object(_) => object_field(at, declared, ty, field)?,
                other => return Err(issue(at, format!("type '{}' does not support field selection", other.name()))),
            }
        }
        Expr::OptSelect(operand, field) => {
            let ty = check_node(operand, declared, scope)?;
            match ty {
                Ty::Dyn | Ty::Map | Ty::Optional => {}
                Ty::Object(_) => {
                    object_field(at, declared, ty, field)?;
                }
                other => return Err(no_overload(at, "_?._", &[other, Ty::String])),
            }
            Ty::Optional
        }
        Expr::OptIndex(operand, index) => {
            let ty = check_node(operand, declared, scope)?;
            let index_ty = check_node(index, declared, scope)?;
            match ty {
                Ty::Dyn | Ty::Map | Ty::Object(_) | Ty::Optional => {}
                Ty::List if matches!(index_ty, Ty::Int | Ty::Dyn) => {}
                _ => return Err(no_overload(at, "_[?_]", &[ty, index_ty])),
            }
            Ty::Optional
        }
        Expr::Has(operand, field) => {
            let ty = check_node(operand, declared, scope)?;
            if let Ty::Object(_) = ty {
                object_field(at, declared, ty, field)?;
            } else if !matches!(ty, Ty::Dyn | Ty::Map) {
                return Err(issue(at, format!("type '{}' does not support field selection", ty.name())));
            }
            Ty::Bool
        }
        Expr::Index(operand, index) => {
            let ty = check_node(operand, declared, scope)?;
            let index_ty = check_node(index, declared, scope)?;
            match ty {
                Ty::Dyn | Ty::Map | Ty::Object(_) => Ty::Dyn,
                Ty::Optional => Ty::Optional,
                Ty::List if matches!(index_ty, Ty::Int | Ty::Uint | Ty::Double | Ty::Dyn) => Ty::Dyn,
                _ => return Err(no_overload(at, "_[_]", &[ty, index_ty])),
            }
        }
        Expr::List(items, optional) => {
            for (i, item) in items.iter().enumerate() {
                let ty = check_node(item, declared, scope)?;
                if optional.contains(&i) {
                    optional_entry(item, ty)?;
                }
            }
            Ty::List
        }
        Expr::Map(entries) => {
            for (k, v, optional) in entries {
                let key = check_node(k, declared, scope)?;
                if !matches!(key, Ty::Dyn | Ty::Bool | Ty::Int | Ty::Uint | Ty::String) {
                    return Err(issue(k.at, format!("unsupported map key type: {}", key.name())));
                }
                let ty = check_node(v, declared, scope)?;
                if *optional {
                    optional_entry(v, ty)?;
                }
            }
            Ty::Map
        }
        Expr::Not(operand) => {
            let ty = check_node(operand, declared, scope)?;
            if !matches!(ty, Ty::Bool | Ty::Dyn) {
                return Err(no_overload(at, "!_", &[ty]));
            }
            Ty::Bool
        }
        Expr::Negate(operand) => {
            let ty = check_node(operand, declared, scope)?;
            match ty {
                // cel-go declares `-_` for int and double only; a duration
                // negates only when it arrives as `dyn`.
                Ty::Int | Ty::Double | Ty::Dyn => ty,
                _ => return Err(no_overload(at, "-_", &[ty])),
            }
        }
        Expr::And(a, b) | Expr::Or(a, b) => {
            let (ta, tb) = (check_node(a, declared, scope)?, check_node(b, declared, scope)?);
            if !matches!(ta, Ty::Bool | Ty::Dyn) || !matches!(tb, Ty::Bool | Ty::Dyn) {
                let function = if matches!(node.expr, Expr::And(..)) { "_&&_" } else { "_||_" };
                return Err(no_overload(at, function, &[ta, tb]));
            }
            Ty::Bool
        }
        Expr::Conditional(c, a, b) => {
            let tc = check_node(c, declared, scope)?;
            if !matches!(tc, Ty::Bool | Ty::Dyn) {
                return Err(no_overload(at, "_?_:_", &[tc]));
            }
            let (ta, tb) = (check_node(a, declared, scope)?, check_node(b, declared, scope)?);
            if ta == tb {
                ta
            } else {
                Ty::Dyn
            }
        }
        Expr::Binary(op, a, b) => {
            let (ta, tb) = (check_node(a, declared, scope)?, check_node(b, declared, scope)?);
            binary(*op, ta, tb).ok_or_else(|| no_overload(at, op.function(), &[ta, tb]))?
        }
        Expr::Comprehension { kind: kind @ (Macro::OptMap | Macro::OptFlatMap), range, var, body, .. } => {
            // cel-go expands them to `x.hasValue() ? ... : optional.none()`.
            let tr = check_node(range, declared, scope)?;
            if !matches!(tr, Ty::Optional | Ty::Dyn) {
                return Err(no_overload(at, "hasValue", &[tr]));
            }
            scope.push(var.clone());
            let tb = check_node(body, declared, scope);
            scope.pop();
            let tb = tb?;
            if *kind == Macro::OptFlatMap && !matches!(tb, Ty::Optional | Ty::Dyn) {
                return Err(no_overload(at, "_?_:_", &[Ty::Bool, tb, Ty::Optional]));
            }
            Ty::Optional
        }
        Expr::Comprehension { kind, range, var, var2, filter, body } => {
            let tr = check_node(range, declared, scope)?;
            if !matches!(tr, Ty::Dyn | Ty::List | Ty::Map) {
                return Err(issue(range.at, format!("expression of type '{}' cannot be range of a comprehension (must be list, map, or dynamic)", tr.name())));
            }
            let bound = 1 + usize::from(var2.is_some());
            scope.push(var.clone());
            scope.extend(var2.iter().cloned());
            let checked = (|| {
                if let Some(filter) = filter {
                    let tf = check_node(filter, declared, scope)?;
                    if !matches!(tf, Ty::Bool | Ty::Dyn) {
                        return Err(issue(filter.at, format!("expected type 'bool' but found '{}'", tf.name())));
                    }
                }
                let tb = check_node(body, declared, scope)?;
                match kind {
                    Macro::Map | Macro::TransformList | Macro::TransformMap | Macro::OptMap | Macro::OptFlatMap => {}
                    // The step is `cel.@mapInsert(accumulator, entry)`.
                    Macro::TransformMapEntry if matches!(tb, Ty::Map | Ty::Dyn) => {}
                    Macro::TransformMapEntry => return Err(no_overload(body.at, "cel.@mapInsert", &[Ty::Map, tb])),
                    _ if matches!(tb, Ty::Bool | Ty::Dyn) => {}
                    _ => return Err(issue(body.at, format!("expected type 'bool' but found '{}'", tb.name()))),
                }
                Ok(())
            })();
            scope.truncate(scope.len().saturating_sub(bound));
            checked?;
            match kind {
                Macro::All | Macro::Exists | Macro::ExistsOne => Ty::Bool,
                Macro::Map | Macro::Filter | Macro::TransformList => Ty::List,
                Macro::TransformMap | Macro::TransformMapEntry => Ty::Map,
                Macro::OptMap | Macro::OptFlatMap => Ty::Optional,
            }
        }
        Expr::Call(Some(target), function, args) if matches!(&target.expr, Expr::Ident(n) if n == "optional" && !scope.iter().any(|s| s == n)) => {
            let mut arg_types = Vec::with_capacity(args.len());
            for a in args {
                arg_types.push(check_node(a, declared, scope)?);
            }
            match (function.as_str(), arg_types.len()) {
                ("of" | "ofNonZeroValue", 1) | ("none", 0) => Ty::Optional,
                ("unwrap", 1) if matches!(arg_types.first(), Some(Ty::List | Ty::Dyn)) => Ty::List,
                ("of" | "ofNonZeroValue" | "none" | "unwrap", _) => return Err(no_overload(at, &format!("optional.{function}"), &arg_types)),
                _ => return Err(issue(at, format!("the CEL function 'optional.{function}' {UNSUPPORTED}"))),
            }
        }
        // The ip library's one namespaced function (library/ip.go).
        Expr::Call(Some(target), function, args) if matches!(&target.expr, Expr::Ident(n) if n == "ip" && !scope.iter().any(|s| s == n)) => {
            let mut arg_types = Vec::with_capacity(args.len());
            for a in args {
                arg_types.push(check_node(a, declared, scope)?);
            }
            match (function.as_str(), arg_types.as_slice()) {
                ("isCanonical", [Ty::String | Ty::Dyn]) => Ty::Bool,
                ("isCanonical", _) => return Err(no_overload(at, "ip.isCanonical", &arg_types)),
                // `ip` names only a function: as a receiver it is undeclared.
                _ => return Err(issue(target.at, "undeclared reference to 'ip' (in container '')".to_string())),
            }
        }
        // cel-go's sets extension (ext/sets.go): two lists in, a bool out.
        Expr::Call(Some(target), function, args) if matches!(&target.expr, Expr::Ident(n) if n == "sets" && !scope.iter().any(|s| s == n)) => {
            let mut arg_types = Vec::with_capacity(args.len());
            for a in args {
                arg_types.push(check_node(a, declared, scope)?);
            }
            let name = format!("sets.{function}");
            match (function.as_str(), arg_types.as_slice()) {
                ("contains" | "equivalent" | "intersects", [a, b]) if matches!(a, Ty::List | Ty::Dyn) && matches!(b, Ty::List | Ty::Dyn) => Ty::Bool,
                ("contains" | "equivalent" | "intersects", _) => return Err(no_overload(at, &name, &arg_types)),
                // No such function: cel-go then checks `sets` as a name, which is undeclared.
                _ => return Err(issue(target.at, "undeclared reference to 'sets' (in container '')".to_string())),
            }
        }
        // Kubernetes' format library (library/format.go): `format.named(name)`
        // and a function for each named format (`format.dns1123Label()`).
        Expr::Call(Some(target), function, args) if matches!(&target.expr, Expr::Ident(n) if n == "format" && !scope.iter().any(|s| s == n)) => {
            let mut arg_types = Vec::with_capacity(args.len());
            for a in args {
                arg_types.push(check_node(a, declared, scope)?);
            }
            let known = function == "named" || super::named_format::lookup(function).is_some();
            match (function.as_str(), arg_types.as_slice()) {
                ("named", [Ty::String | Ty::Dyn]) => Ty::Optional,
                (_, []) if function != "named" && known => Ty::Format,
                _ if known => return Err(no_overload(at, &format!("format.{function}"), &arg_types)),
                // No such function: cel-go then checks `format` as a name, which is undeclared.
                _ => return Err(issue(target.at, "undeclared reference to 'format' (in container '')".to_string())),
            }
        }
        // The strings extension's namespaced `strings.quote` (version 1).
        // Other namespaces (`base64.`, `math.`, `lists.`) are not in 1.33's
        // environment: their target is an undeclared reference, as in cel-go.
        Expr::Call(Some(target), function, args) if matches!(&target.expr, Expr::Ident(n) if n == "strings" && !scope.iter().any(|s| s == n)) => {
            let mut arg_types = Vec::with_capacity(args.len());
            for a in args {
                arg_types.push(check_node(a, declared, scope)?);
            }
            match (function.as_str(), arg_types.as_slice()) {
                ("quote", [Ty::String | Ty::Dyn]) => Ty::String,
                ("quote", _) => return Err(no_overload(at, "strings.quote", &arg_types)),
                _ => return Err(issue(target.at, "undeclared reference to 'strings' (in container '')".to_string())),
            }
        }
        Expr::Call(target, function, args) => {
            let receiver = match target {
                Some(t) => Some(check_node(t, declared, scope)?),
                None => None,
            };
            let mut arg_types = Vec::with_capacity(args.len());
            let mut arg_error = None;
            for a in args {
                match check_node(a, declared, scope) {
                    Ok(ty) => arg_types.push(ty),
                    Err(e) => {
                        arg_error.get_or_insert(e);
                        arg_types.push(Ty::Dyn);
                    }
                }
            }
            if let Some(e) = arg_error {
                // An undeclared function sits at its parenthesis, before its
                // arguments, so cel-go lists it first.
                return Err(match call(at, receiver, function, &arg_types) {
                    Err(undeclared) if undeclared.first().is_some_and(|i| i.message.starts_with("undeclared reference")) => undeclared,
                    _ => e,
                });
            }
            let result = call(at, receiver, function, &arg_types)?;
            validate_literals(receiver.is_some(), function, args)?;
            validate_format(at, target.as_deref(), function, args, declared, scope)?;
            result
        }
    })
}

/// Kubernetes (1.29 on) runs cel-go's `ValidateDurationLiterals` and
/// `ValidateTimestampLiterals`: a literal argument that would fail at
/// evaluation fails the check (`invalid duration argument`). A literal
/// time zone this simulation cannot resolve is refused by name.
fn validate_literals(method: bool, function: &str, args: &[Node]) -> Result<(), Vec<Issue>> {
    let Some(Node { expr: Expr::Literal(Value::Str(text)), at, .. }) = args.first() else { return Ok(()) };
    let valid = match (method, function) {
        (false, "duration") => super::time::parse_duration(text).is_some(),
        (false, "timestamp") => super::time::parse_timestamp(text).is_ok(),
        (true, name) if super::time::TIMESTAMP_ACCESSORS.contains(&name) => {
            if !text.contains(':') && !matches!(&**text, "" | "UTC") {
                return Err(issue(*at, super::time::unsupported_zone(text)));
            }
            true
        }
        _ => true,
    };
    if valid {
        Ok(())
    } else {
        Err(issue(*at, format!("invalid {function} argument")))
    }
}

/// cel-go's `stringFormatValidator` (ext/formatting.go): a literal
/// template formatting a literal list is checked as it would run.
fn validate_format(at: usize, target: Option<&Node>, function: &str, args: &[Node], declared: &Declarations, scope: &mut Vec<String>) -> Result<(), Vec<Issue>> {
    let (Some(Node { expr: Expr::Literal(Value::Str(template)), .. }), "format", [Node { expr: Expr::List(items, optional), .. }]) = (target, function, args) else { return Ok(()) };
    if !optional.is_empty() {
        return Ok(());
    }
    let mut types = Vec::with_capacity(items.len());
    for item in items {
        types.push(check_node(item, declared, scope)?);
    }
    super::format::check(template, &types).map_err(|e| issue(e.argument.and_then(|i| items.get(i)).map_or(at, |item| item.at), e.message))
}

/// An optional list element or map value (`[?x]`, `{?k: x}`) must be an
/// optional, or `dyn` (cel-go's checkCreateList and checkCreateMap).
fn optional_entry(node: &Node, ty: Ty) -> Result<(), Vec<Issue>> {
    if matches!(ty, Ty::Optional | Ty::Dyn) {
        return Ok(());
    }
    Err(issue(node.at, format!("expected type 'optional_type({0})' but found '{0}'", ty.name())))
}

/// A field of a schema object: declared, or cel-go's `undefined field`.
fn object_field(at: usize, declared: &Declarations, object: Ty, field: &str) -> Result<Ty, Vec<Issue>> {
    let Ty::Object(i) = object else { return Ok(Ty::Dyn) };
    let fields = declared.rule.as_ref().and_then(|r| r.objects.get(i));
    fields.and_then(|f| f.get(field)).copied().ok_or_else(|| issue(at, format!("undefined field '{field}'")))
}

fn binary(op: BinaryOp, a: Ty, b: Ty) -> Option<Ty> {
    use BinaryOp::*;
    // A `dyn` operand takes the other's type: the arithmetic overloads all
    // take two operands of one type, so that is the one that can apply.
    let time = |t: Ty| matches!(t, Ty::Duration | Ty::Timestamp);
    match (op, a, b) {
        (Add, Ty::Duration, Ty::Duration) | (Sub, Ty::Duration, Ty::Duration) | (Sub, Ty::Timestamp, Ty::Timestamp) => return Some(Ty::Duration),
        (Add, Ty::Timestamp, Ty::Duration) | (Add, Ty::Duration, Ty::Timestamp) | (Sub, Ty::Timestamp, Ty::Duration) => return Some(Ty::Timestamp),
        // `t - x` is a duration or a timestamp as x turns out to be.
        (Add | Sub, Ty::Dyn, t) | (Add | Sub, t, Ty::Dyn) if time(t) => return Some(Ty::Dyn),
        _ => {}
    }
    let (a, b) = match (a, b) {
        (Ty::Dyn, Ty::Dyn) => return Some(if matches!(op, Add | Sub | Mul | Div | Rem) { Ty::Dyn } else { Ty::Bool }),
        (Ty::Dyn, known) if !matches!(op, In) => (known, known),
        (known, Ty::Dyn) if !matches!(op, In) => (known, known),
        pair => pair,
    };
    match op {
        Add => matches!(a, Ty::Int | Ty::Uint | Ty::Double | Ty::String | Ty::Bytes | Ty::List).then_some(a).filter(|_| a == b),
        Sub | Mul | Div => (a == b && a.numeric()).then_some(a),
        Rem => (a == b && matches!(a, Ty::Int | Ty::Uint)).then_some(a),
        Eq | Ne => (a == b).then_some(Ty::Bool),
        Lt | Le | Gt | Ge => {
            let ordered = (a.numeric() && b.numeric()) || (a == b && matches!(a, Ty::String | Ty::Bytes | Ty::Bool | Ty::Duration | Ty::Timestamp));
            ordered.then_some(Ty::Bool)
        }
        In => matches!(b, Ty::List | Ty::Map | Ty::Dyn).then_some(Ty::Bool),
    }
}

/// A function's result type, or why the call does not check.
fn call(at: usize, receiver: Option<Ty>, function: &str, args: &[Ty]) -> Result<Ty, Vec<Issue>> {
    let n = args.len();
    let result = match (receiver.is_some(), function, n) {
        (false, "size", 1) | (true, "size", 0) => Ty::Int,
        (false, "int", 1) => Ty::Int,
        (false, "uint", 1) => Ty::Uint,
        (false, "double", 1) => Ty::Double,
        (false, "string", 1) => Ty::String,
        (false, "bool", 1) => Ty::Bool,
        (false, "type", 1) => Ty::Type,
        (false, "dyn", 1) => Ty::Dyn,
        (false, "bytes", 1) if matches!(args.first(), Some(Ty::String | Ty::Bytes | Ty::Dyn)) => Ty::Bytes,
        (false, "matches", 2) | (true, "matches", 1) => Ty::Bool,
        (false, "quantity", 1) => Ty::Quantity,
        (false, "isQuantity", 1) => Ty::Bool,
        (false, "duration", 1) if matches!(args.first(), Some(Ty::String | Ty::Duration | Ty::Dyn)) => Ty::Duration,
        (false, "timestamp", 1) if matches!(args.first(), Some(Ty::String | Ty::Int | Ty::Timestamp | Ty::Dyn)) => Ty::Timestamp,
        (true, "getHours" | "getMinutes" | "getSeconds" | "getMilliseconds", 0) if matches!(receiver, Some(Ty::Duration | Ty::Timestamp | Ty::Dyn)) => Ty::Int,
        (true, name, 0 | 1) if super::time::TIMESTAMP_ACCESSORS.contains(&name) && matches!(receiver, Some(Ty::Timestamp | Ty::Dyn)) && matches!(args.first(), None | Some(Ty::String | Ty::Dyn)) => Ty::Int,
        (true, "startsWith" | "endsWith" | "contains", 1) => Ty::Bool,
        (true, "lowerAscii" | "upperAscii" | "trim", 0) => Ty::String,
        (true, "split", 1 | 2) => Ty::List,
        (true, "join", 0 | 1) => Ty::String,
        (true, "replace", 2 | 3) => Ty::String,
        (true, "indexOf" | "lastIndexOf", 1 | 2) => Ty::Int,
        (true, "substring", 1 | 2) => Ty::String,
        (true, "charAt", 1) => Ty::String,
        (true, "isSorted", 0) => Ty::Bool,
        (true, "sum" | "min" | "max", 0) => Ty::Dyn,
        (true, "isLessThan" | "isGreaterThan", 1) => Ty::Bool,
        (true, "compareTo", 1) => Ty::Int,
        (true, "add" | "sub", 1) => Ty::Quantity,
        (true, "asInteger" | "sign", 0) => Ty::Int,
        (true, "asApproximateFloat", 0) => Ty::Double,
        (true, "isInteger", 0) => Ty::Bool,
        (true, "find", 1) if matches!(receiver, Some(Ty::String | Ty::Dyn)) => Ty::String,
        (true, "findAll", 1 | 2) if matches!(receiver, Some(Ty::String | Ty::Dyn)) => Ty::List,
        // Kubernetes' ip and cidr libraries (library/ip.go, library/cidr.go).
        (false, "ip", 1) if matches!(args.first(), Some(Ty::String | Ty::Dyn)) => Ty::Ip,
        (false, "cidr", 1) if matches!(args.first(), Some(Ty::String | Ty::Dyn)) => Ty::Cidr,
        (false, "isIP" | "isCIDR", 1) if matches!(args.first(), Some(Ty::String | Ty::Dyn)) => Ty::Bool,
        (true, "family", 0) if matches!(receiver, Some(Ty::Ip | Ty::Dyn)) => Ty::Int,
        (true, "isUnspecified" | "isLoopback" | "isLinkLocalMulticast" | "isLinkLocalUnicast" | "isGlobalUnicast", 0) if matches!(receiver, Some(Ty::Ip | Ty::Dyn)) => Ty::Bool,
        (true, "containsIP", 1) if matches!(receiver, Some(Ty::Cidr | Ty::Dyn)) && matches!(args.first(), Some(Ty::String | Ty::Ip | Ty::Dyn)) => Ty::Bool,
        (true, "containsCIDR", 1) if matches!(receiver, Some(Ty::Cidr | Ty::Dyn)) && matches!(args.first(), Some(Ty::String | Ty::Cidr | Ty::Dyn)) => Ty::Bool,
        (true, "ip", 0) if matches!(receiver, Some(Ty::Cidr | Ty::Dyn)) => Ty::Ip,
        (true, "prefixLength", 0) if matches!(receiver, Some(Ty::Cidr | Ty::Dyn)) => Ty::Int,
        (true, "masked", 0) if matches!(receiver, Some(Ty::Cidr | Ty::Dyn)) => Ty::Cidr,
        // Kubernetes' url library (library/urls.go).
        (false, "url", 1) if matches!(args.first(), Some(Ty::String | Ty::Dyn)) => Ty::Url,
        (false, "isURL", 1) if matches!(args.first(), Some(Ty::String | Ty::Dyn)) => Ty::Bool,
        (true, "getScheme" | "getHost" | "getHostname" | "getPort" | "getEscapedPath", 0) if matches!(receiver, Some(Ty::Url | Ty::Dyn)) => Ty::String,
        (true, "getQuery", 0) if matches!(receiver, Some(Ty::Url | Ty::Dyn)) => Ty::Map,
        (true, "validate", 1) if matches!(receiver, Some(Ty::Format | Ty::Dyn)) && matches!(args.first(), Some(Ty::String | Ty::Dyn)) => Ty::Optional,
        (true, "hasValue", 0) if matches!(receiver, Some(Ty::Optional | Ty::Dyn)) => Ty::Bool,
        (true, "value", 0) if matches!(receiver, Some(Ty::Optional | Ty::Dyn)) => Ty::Dyn,
        (true, "orValue", 1) if matches!(receiver, Some(Ty::Optional | Ty::Dyn)) => Ty::Dyn,
        (true, "or", 1) if matches!(receiver, Some(Ty::Optional | Ty::Dyn)) && matches!(args.first(), Some(Ty::Optional | Ty::Dyn)) => Ty::Optional,
        // The optional library's version 2 (cel-go cel/library.go): 1.33 enables its latest.
        // The strings extension's `format` (version 1; 1.33 enables version 2).
        (true, "format", 1) if matches!(receiver, Some(Ty::String | Ty::Dyn)) && matches!(args.first(), Some(Ty::List | Ty::Dyn)) => Ty::String,
        (true, "first" | "last", 0) if matches!(receiver, Some(Ty::List | Ty::Dyn)) => Ty::Optional,
        (true, "unwrapOpt", 0) if matches!(receiver, Some(Ty::List | Ty::Dyn)) => Ty::List,
        (_, "size" | "int" | "uint" | "double" | "string" | "bytes" | "bool" | "type" | "dyn" | "matches" | "quantity" | "isQuantity" | "duration" | "timestamp", _)
        | (true, "hasValue" | "value" | "orValue" | "or" | "find" | "findAll" | "first" | "last" | "unwrapOpt" | "format", _)
        | (false, "ip" | "cidr" | "isIP" | "isCIDR" | "url" | "isURL", _)
        | (true, "getScheme" | "getHost" | "getHostname" | "getPort" | "getEscapedPath" | "getQuery" | "validate", _)
        | (true, "ip" | "family" | "isUnspecified" | "isLoopback" | "isLinkLocalMulticast" | "isLinkLocalUnicast" | "isGlobalUnicast" | "containsIP" | "containsCIDR" | "prefixLength" | "masked", _)
        | (true, "getFullYear" | "getMonth" | "getDate" | "getDayOfMonth" | "getDayOfYear" | "getDayOfWeek" | "getHours" | "getMinutes" | "getSeconds" | "getMilliseconds", _)
        | (true, "startsWith" | "endsWith" | "contains" | "lowerAscii" | "upperAscii" | "trim" | "split" | "join" | "replace" | "indexOf" | "lastIndexOf" | "substring" | "charAt" | "isSorted" | "sum" | "min" | "max" | "isLessThan" | "isGreaterThan" | "compareTo" | "add" | "sub" | "asInteger" | "sign" | "asApproximateFloat" | "isInteger", _) => {
            let mut shown: Vec<Ty> = receiver.into_iter().collect();
            shown.extend_from_slice(args);
            return Err(no_overload(at, function, &shown));
        }
        // What 1.33 does not offer is undeclared, as there: cel-go's lists,
        // math and encoders extensions, the strings extension's `reverse`
        // (its version 3: base.go enables version 2), and Kubernetes' semver
        // library, which base.go introduces at 1.33 but a 1.33 server checks
        // a new expression at its minimum compatibility version, 1.32
        // (component-base's `NewEffectiveVersion`: the binary's minor less
        // one); only an expression already stored could use it.
        _ => return Err(issue(at, format!("undeclared reference to '{function}' (in container '')"))),
    };
    // A method on a receiver whose type is known and has no such method.
    if let Some(receiver) = receiver {
        let string_method = matches!(function, "startsWith" | "endsWith" | "contains" | "lowerAscii" | "upperAscii" | "trim" | "split" | "replace" | "substring" | "charAt" | "matches");
        if string_method && !matches!(receiver, Ty::String | Ty::Dyn) {
            let mut shown = vec![receiver];
            shown.extend_from_slice(args);
            return Err(no_overload(at, function, &shown));
        }
    }
    Ok(result)
}
