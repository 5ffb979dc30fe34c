//! Evaluation, with cel-go's runtime semantics: `&&` and `||` commutative
//! over errors, overflow-checked integers, heterogeneous equality, and
//! Kubernetes' string, list and quantity libraries. Every step is charged
//! against a cost limit, as cel-go's per-call limit stops a runaway one.

use std::cell::{Cell, RefCell};
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::rc::Rc;

use super::named_format;
use super::net;
use super::url;
use super::parse::{BinaryOp, Expr, Macro, Node};
use super::time::{self, Timestamp};
use super::{check, Key, Program, Value};
use crate::engine::quantity::Quantity;

/// Kubernetes' `PerCallLimit`: one expression's evaluation may cost this much.
const PER_CALL_LIMIT: u64 = 1_000_000;
/// Kubernetes' `RuntimeCELCostBudget`, shared by one evaluation's expressions.
const RUNTIME_BUDGET: u64 = 10_000_000;
/// cel-go's error when one expression costs more than [`PER_CALL_LIMIT`].
pub const COST_LIMIT_EXCEEDED: &str = "operation cancelled: actual cost limit exceeded";
/// What Kubernetes answers once the whole budget is spent.
pub const OUT_OF_BUDGET: &str = "validation failed due to running out of cost budget, no further validation rules will be run";

/// A variable evaluated the first time it is used, then kept.
pub struct Lazy {
    pub name: String,
    pub program: Program,
    value: RefCell<Option<Result<Value, String>>>,
}

impl Lazy {
    pub fn new(name: String, program: Program) -> Lazy {
        Lazy { name, program, value: RefCell::new(None) }
    }
}

/// The inputs of one evaluation: `object`, `oldObject`, `params`,
/// `request`, `namespaceObject` and the policy's `variables`.
pub struct Activation {
    pub object: Value,
    pub old_object: Value,
    pub params: Value,
    pub request: Value,
    pub namespace_object: Value,
    pub variables: Vec<Lazy>,
    /// A CRD validation rule's `self`, and `oldSelf` on an update that
    /// has an old value here.
    pub rule_self: Value,
    pub old_self: Option<Value>,
    /// What the current expression has cost so far.
    call_cost: Cell<u64>,
    /// What every expression of this activation has cost.
    total_cost: Cell<u64>,
    /// How deep variables are being evaluated inside one another.
    variable_depth: Cell<usize>,
}

type Locals = Vec<(String, Value)>;

fn no_overload() -> String {
    "no such overload".to_string()
}

impl Activation {
    pub fn new(object: Value, old_object: Value, params: Value, request: Value, namespace_object: Value, variables: Vec<Lazy>) -> Activation {
        Activation {
            object,
            old_object,
            params,
            request,
            namespace_object,
            variables,
            rule_self: Value::Null,
            old_self: None,
            call_cost: Cell::new(0),
            total_cost: Cell::new(0),
            variable_depth: Cell::new(0),
        }
    }

    /// The activation of a CRD's validation rules at one schema node.
    pub fn for_rule(rule_self: Value, old_self: Option<Value>) -> Activation {
        Activation { rule_self, old_self, ..Activation::new(Value::Null, Value::Null, Value::Null, Value::Null, Value::Null, Vec::new()) }
    }

    /// Whether the budget all expressions share is spent.
    pub fn out_of_budget(&self) -> bool {
        self.total_cost.get() > RUNTIME_BUDGET
    }

    pub(super) fn eval_program(&self, root: &Node) -> Result<Value, String> {
        // A variable evaluated inside this expression is charged to it.
        let outer = self.call_cost.replace(0);
        let result = self.eval(root, &mut Vec::new());
        let spent = self.call_cost.get();
        self.call_cost.set(outer + spent);
        self.total_cost.set(self.total_cost.get().saturating_add(spent));
        if spent > PER_CALL_LIMIT {
            return Err(COST_LIMIT_EXCEEDED.to_string());
        }
        result
    }

    fn charge(&self, units: usize) -> Result<(), String> {
        let cost = self.call_cost.get().saturating_add(units as u64 + 1);
        self.call_cost.set(cost);
        if cost > PER_CALL_LIMIT {
            return Err(COST_LIMIT_EXCEEDED.to_string());
        }
        Ok(())
    }

    fn variable(&self, name: &str) -> Result<Value, String> {
        let Some(lazy) = self.variables.iter().find(|v| v.name == name) else {
            return Err(format!("no such key: {name}"));
        };
        if let Some(known) = lazy.value.borrow().as_ref() {
            return known.clone();
        }
        // Variables use only those before them, so this nests at most as
        // deep as the list is long; bounded all the same.
        if self.variable_depth.get() > 16 {
            return Err("variables nest too deeply".to_string());
        }
        self.variable_depth.set(self.variable_depth.get() + 1);
        let result = self.eval(&lazy.program.root, &mut Vec::new());
        self.variable_depth.set(self.variable_depth.get() - 1);
        *lazy.value.borrow_mut() = Some(result.clone());
        result
    }

    fn eval(&self, node: &Node, locals: &mut Locals) -> Result<Value, String> {
        self.charge(0)?;
        match &node.expr {
            Expr::Literal(v) => Ok(v.clone()),
            Expr::Ident(name) => {
                if let Some((_, v)) = locals.iter().rev().find(|(n, _)| n == name) {
                    return Ok(v.clone());
                }
                match name.as_str() {
                    "object" => Ok(self.object.clone()),
                    "oldObject" => Ok(self.old_object.clone()),
                    "params" => Ok(self.params.clone()),
                    "request" => Ok(self.request.clone()),
                    "namespaceObject" => Ok(self.namespace_object.clone()),
                    // Declared only for a CRD's rules (the checker refuses them elsewhere).
                    "self" => Ok(self.rule_self.clone()),
                    "oldSelf" => self.old_self.clone().ok_or_else(|| "no such attribute: oldSelf".to_string()),
                    "variables" => {
                        let mut all = BTreeMap::new();
                        for lazy in &self.variables {
                            all.insert(Key::Str(Rc::from(lazy.name.as_str())), self.variable(&lazy.name)?);
                        }
                        Ok(Value::Map(Rc::new(all)))
                    }
                    other => match check::TYPE_NAMES.iter().find(|t| **t == other) {
                        Some(t) => Ok(Value::Type(t)),
                        None => Err(format!("no such attribute: {other}")),
                    },
                }
            }
            Expr::Select(operand, field) => {
                if matches!(&operand.expr, Expr::Ident(v) if v == "variables") && !locals.iter().any(|(n, _)| n == "variables") {
                    return self.variable(field);
                }
                match self.eval(operand, locals)? {
                    Value::Map(map) => map.get(&Key::Str(Rc::from(field.as_str()))).cloned().ok_or_else(|| format!("no such key: {field}")),
                    // After an optional, the rest of the path is optional too (cel-go's `applyQualifiers`).
                    Value::Optional(None) => Ok(Value::Optional(None)),
                    Value::Optional(Some(inner)) => optional_select(&inner, field),
                    _ => Err(no_overload()),
                }
            }
            Expr::OptSelect(operand, field) => match self.eval(operand, locals)? {
                Value::Optional(None) => Ok(Value::Optional(None)),
                Value::Optional(Some(inner)) => optional_select(&inner, field),
                other => optional_select(&other, field),
            },
            Expr::OptIndex(operand, index) => {
                let container = self.eval(operand, locals)?;
                let index = self.eval(index, locals)?;
                match container {
                    Value::Optional(None) => Ok(Value::Optional(None)),
                    Value::Optional(Some(inner)) => optional_index(&inner, &index),
                    other => optional_index(&other, &index),
                }
            }
            Expr::Has(operand, field) => match self.eval(operand, locals)? {
                Value::Map(map) => Ok(Value::Bool(map.contains_key(&Key::Str(Rc::from(field.as_str()))))),
                _ => Err(no_overload()),
            },
            Expr::Index(operand, index) => {
                let container = self.eval(operand, locals)?;
                let index = self.eval(index, locals)?;
                match container {
                    Value::List(items) => {
                        let i = list_index(&index)?;
                        usize::try_from(i)
                            .ok()
                            .and_then(|i| items.get(i))
                            .cloned()
                            .ok_or_else(|| format!("index '{i}' out of range in list size '{}'", items.len()))
                    }
                    Value::Map(map) => lookup(&map, &index)?.ok_or_else(|| format!("no such key: {}", display_key(&index))),
                    Value::Optional(None) => Ok(Value::Optional(None)),
                    Value::Optional(Some(inner)) => optional_index(&inner, &index),
                    _ => Err(no_overload()),
                }
            }
            Expr::List(items, optional) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    let value = self.eval(item, locals)?;
                    if !optional.contains(&i) {
                        out.push(value);
                        continue;
                    }
                    match value {
                        Value::Optional(Some(present)) => out.push(present.as_ref().clone()),
                        Value::Optional(None) => {}
                        other => return Err(format!("cannot initialize optional list element from non-optional value {}", format_value(&other))),
                    }
                }
                Ok(Value::List(Rc::new(out)))
            }
            Expr::Map(entries) => {
                let mut out = BTreeMap::new();
                for (k, v, optional) in entries {
                    let key = to_key(&self.eval(k, locals)?)?;
                    let mut value = self.eval(v, locals)?;
                    if *optional {
                        value = match value {
                            Value::Optional(Some(present)) => present.as_ref().clone(),
                            // An absent value leaves the key out (cel-go deletes it).
                            Value::Optional(None) => {
                                out.remove(&key);
                                continue;
                            }
                            other => {
                                return Err(format!("cannot initialize optional entry '{}' from non-optional value {}", display_key(&key_value(&key)), format_value(&other)));
                            }
                        };
                    }
                    if out.insert(key.clone(), value).is_some() {
                        return Err(format!("Failed with repeated key: {}", display_key(&key_value(&key))));
                    }
                }
                Ok(Value::Map(Rc::new(out)))
            }
            Expr::Not(operand) => match self.eval(operand, locals)? {
                Value::Bool(b) => Ok(Value::Bool(!b)),
                _ => Err(no_overload()),
            },
            Expr::Negate(operand) => match self.eval(operand, locals)? {
                Value::Int(i) => i.checked_neg().map(Value::Int).ok_or_else(|| "integer overflow".to_string()),
                Value::Double(d) => Ok(Value::Double(-d)),
                Value::Duration(d) => d.checked_neg().map(Value::Duration).ok_or_else(|| "integer overflow".to_string()),
                _ => Err(no_overload()),
            },
            Expr::And(a, b) | Expr::Or(a, b) => {
                let is_and = matches!(node.expr, Expr::And(..));
                // The side that decides (false for &&, true for ||) wins over an error on the other.
                let decisive = !is_and;
                let left = self.eval(a, locals).and_then(as_bool);
                if left == Ok(decisive) {
                    return Ok(Value::Bool(decisive));
                }
                let right = self.eval(b, locals).and_then(as_bool);
                match (left, right) {
                    (_, Ok(r)) if r == decisive => Ok(Value::Bool(decisive)),
                    (Err(e), _) | (_, Err(e)) => {
                        // A spent cost limit is not an ordinary error: it stops everything.
                        Err(e)
                    }
                    (Ok(_), Ok(_)) => Ok(Value::Bool(!decisive)),
                }
            }
            Expr::Conditional(c, a, b) => match self.eval(c, locals)? {
                Value::Bool(true) => self.eval(a, locals),
                Value::Bool(false) => self.eval(b, locals),
                _ => Err(no_overload()),
            },
            Expr::Binary(op, a, b) => {
                let left = self.eval(a, locals)?;
                let right = self.eval(b, locals)?;
                let result = binary(*op, &left, &right, &self.call_cost)?;
                self.charge(0)?;
                if let Value::Str(s) = &result {
                    self.charge(s.len())?;
                }
                if let Value::List(l) = &result {
                    self.charge(l.len())?;
                }
                Ok(result)
            }
            Expr::Comprehension { kind: kind @ (Macro::OptMap | Macro::OptFlatMap), range, var, body, .. } => match self.eval(range, locals)? {
                Value::Optional(None) => Ok(Value::Optional(None)),
                Value::Optional(Some(inner)) => {
                    locals.push((var.clone(), inner.as_ref().clone()));
                    let result = self.eval(body, locals);
                    locals.pop();
                    let result = result?;
                    match (kind, result) {
                        (Macro::OptMap, v) => Ok(Value::Optional(Some(Rc::new(v)))),
                        (_, v @ Value::Optional(_)) => Ok(v),
                        _ => Err(no_overload()),
                    }
                }
                _ => Err(no_overload()),
            },
            Expr::Comprehension { kind, range, var, var2, filter, body } => self.comprehension(*kind, range, (var, var2.as_deref()), filter.as_deref(), body, locals),
            Expr::Call(Some(target), function, args) if matches!(&target.expr, Expr::Ident(n) if n == "optional") && !locals.iter().any(|(n, _)| n == "optional") => {
                let mut values = Vec::with_capacity(args.len());
                for a in args {
                    values.push(self.eval(a, locals)?);
                }
                match (function.as_str(), values.as_slice()) {
                    ("none", []) => Ok(Value::Optional(None)),
                    ("of", [v]) => Ok(Value::Optional(Some(Rc::new(v.clone())))),
                    ("ofNonZeroValue", [v]) => Ok(Value::Optional((!is_zero_value(v)).then(|| Rc::new(v.clone())))),
                    ("unwrap", [Value::List(items)]) => unwrap_optionals(items),
                    _ => Err(no_overload()),
                }
            }
            Expr::Call(Some(target), function, args) if matches!(&target.expr, Expr::Ident(n) if n == "ip") && !locals.iter().any(|(n, _)| n == "ip") => {
                let [arg] = args.as_slice() else { return Err(no_overload()) };
                let value = self.eval(arg, locals)?;
                match (function.as_str(), &value) {
                    ("isCanonical", Value::Str(s)) => Ok(Value::Bool(net::is_canonical(s)?)),
                    _ => Err(no_overload()),
                }
            }
            Expr::Call(Some(target), function, args) if matches!(&target.expr, Expr::Ident(n) if n == "format") && !locals.iter().any(|(n, _)| n == "format") => {
                let mut values = Vec::with_capacity(args.len());
                for a in args {
                    values.push(self.eval(a, locals)?);
                }
                match (function.as_str(), values.as_slice()) {
                    ("named", [Value::Str(name)]) => Ok(Value::Optional(named_format::lookup(name).map(|f| Rc::new(Value::Format(f))))),
                    (name, []) => named_format::lookup(name).map(Value::Format).ok_or_else(no_overload),
                    _ => Err(no_overload()),
                }
            }
            Expr::Call(Some(target), function, args) if matches!(&target.expr, Expr::Ident(n) if n == "strings") && !locals.iter().any(|(n, _)| n == "strings") => {
                let [arg] = args.as_slice() else { return Err(no_overload()) };
                match (function.as_str(), self.eval(arg, locals)?) {
                    ("quote", Value::Str(s)) => Ok(Value::string(quote(&s))),
                    _ => Err(no_overload()),
                }
            }
            Expr::Call(Some(target), function, args) if matches!(&target.expr, Expr::Ident(n) if n == "sets") && !locals.iter().any(|(n, _)| n == "sets") => {
                let mut values = Vec::with_capacity(args.len());
                for a in args {
                    values.push(self.eval(a, locals)?);
                }
                let [Value::List(a), Value::List(b)] = values.as_slice() else { return Err(no_overload()) };
                // Every pair may be compared: charged up front.
                self.charge(a.len().saturating_mul(b.len()))?;
                let steps = &self.call_cost;
                let contains = |x: &[Value], y: &[Value]| y.iter().all(|v| x.iter().any(|w| equals(w, v, steps)));
                Ok(Value::Bool(match function.as_str() {
                    "contains" => contains(a, b),
                    "equivalent" => contains(a, b) && contains(b, a),
                    "intersects" => a.iter().any(|v| b.iter().any(|w| equals(v, w, steps))),
                    _ => return Err(no_overload()),
                }))
            }
            Expr::Call(Some(target), function, args) if matches!(function.as_str(), "or" | "orValue") && args.len() == 1 => {
                // Both stop at a present receiver without evaluating the alternative.
                let receiver = self.eval(target, locals)?;
                match (&receiver, function.as_str()) {
                    (Value::Optional(Some(_)), "or") => Ok(receiver),
                    (Value::Optional(Some(v)), _) => Ok(v.as_ref().clone()),
                    (Value::Optional(None), _) => {
                        let alternative = match args.first() {
                            Some(a) => self.eval(a, locals)?,
                            None => return Err(no_overload()),
                        };
                        if function == "or" && !matches!(alternative, Value::Optional(_)) {
                            return Err(no_overload());
                        }
                        Ok(alternative)
                    }
                    _ => Err(no_overload()),
                }
            }
            Expr::Call(target, function, args) => {
                let receiver = match target {
                    Some(t) => Some(self.eval(t, locals)?),
                    None => None,
                };
                let mut values = Vec::with_capacity(args.len());
                for a in args {
                    values.push(self.eval(a, locals)?);
                }
                let result = call(receiver, function, &values, &self.call_cost)?;
                self.charge(0)?;
                match &result {
                    Value::Str(s) => self.charge(s.len())?,
                    Value::List(l) => self.charge(l.len())?,
                    _ => {}
                }
                Ok(result)
            }
        }
    }

    /// A macro over a list or a map. With one variable it binds a list's
    /// items or a map's keys; with two, an index or key and its value.
    fn comprehension(&self, kind: Macro, range: &Node, vars: (&str, Option<&str>), filter: Option<&Node>, body: &Node, locals: &mut Locals) -> Result<Value, String> {
        let (var, var2) = vars;
        let two = var2.is_some();
        let items: Vec<(Value, Value)> = match self.eval(range, locals)? {
            Value::List(items) => items.iter().enumerate().map(|(i, v)| if two { (Value::Int(i as i64), v.clone()) } else { (v.clone(), Value::Null) }).collect(),
            Value::Map(map) => map.iter().map(|(k, v)| (key_value(k), if two { v.clone() } else { Value::Null })).collect(),
            _ => return Err(no_overload()),
        };
        let mut found_false = false;
        let mut found_true = false;
        let mut count = 0usize;
        let mut first_error = None;
        let mut out = Vec::new();
        let mut out_map: BTreeMap<Key, Value> = BTreeMap::new();
        for (item, value) in items {
            self.charge(0)?;
            locals.push((var.to_string(), item.clone()));
            if let Some(var2) = var2 {
                locals.push((var2.to_string(), value));
            }
            let step = (|| -> Result<(), String> {
                let kept = |locals: &mut Locals| match filter {
                    Some(f) => self.eval(f, locals).and_then(as_bool),
                    None => Ok(true),
                };
                match kind {
                    Macro::All | Macro::Exists => match self.eval(body, locals).and_then(as_bool) {
                        Ok(b) => {
                            found_false |= !b;
                            found_true |= b;
                        }
                        Err(e) if e == COST_LIMIT_EXCEEDED => return Err(e),
                        Err(e) => {
                            first_error.get_or_insert(e);
                        }
                    },
                    Macro::ExistsOne => count += usize::from(self.eval(body, locals).and_then(as_bool)?),
                    Macro::Filter => {
                        if self.eval(body, locals).and_then(as_bool)? {
                            out.push(item.clone());
                        }
                    }
                    Macro::Map | Macro::TransformList => {
                        if kept(locals)? {
                            out.push(self.eval(body, locals)?);
                        }
                    }
                    Macro::TransformMap => {
                        if kept(locals)? {
                            let entry = self.eval(body, locals)?;
                            out_map.insert(to_key(&item)?, entry);
                        }
                    }
                    // `cel.@mapInsert`: each entry of the body's map, never one already there.
                    Macro::TransformMapEntry => {
                        if kept(locals)? {
                            let Value::Map(entries) = self.eval(body, locals)? else { return Err(no_overload()) };
                            for (k, v) in entries.iter() {
                                if lookup(&out_map, &key_value(k))?.is_some() {
                                    return Err(format!("insert failed: key {} already exists", display_key(&key_value(k))));
                                }
                                out_map.insert(k.clone(), v.clone());
                            }
                        }
                    }
                    // Evaluated without iterating (see `eval`).
                    Macro::OptMap | Macro::OptFlatMap => return Err(no_overload()),
                }
                Ok(())
            })();
            locals.pop();
            if two {
                locals.pop();
            }
            step?;
            // `all` stops at the first false, `exists` at the first true.
            if (kind == Macro::All && found_false) || (kind == Macro::Exists && found_true) {
                break;
            }
        }
        match kind {
            Macro::All if found_false => Ok(Value::Bool(false)),
            Macro::Exists if found_true => Ok(Value::Bool(true)),
            Macro::All | Macro::Exists => match first_error {
                Some(e) => Err(e),
                None => Ok(Value::Bool(kind == Macro::All)),
            },
            Macro::ExistsOne => Ok(Value::Bool(count == 1)),
            Macro::Map | Macro::Filter | Macro::TransformList => Ok(Value::List(Rc::new(out))),
            Macro::TransformMap | Macro::TransformMapEntry => Ok(Value::Map(Rc::new(out_map))),
            Macro::OptMap | Macro::OptFlatMap => Err(no_overload()),
        }
    }
}

/// `x.?field` on a value: present or not, never an error for a map.
fn optional_select(container: &Value, field: &str) -> Result<Value, String> {
    match container {
        Value::Map(map) => Ok(Value::Optional(map.get(&Key::Str(Rc::from(field))).cloned().map(Rc::new))),
        _ => Err(no_overload()),
    }
}

/// `x[?index]`: a list index out of range or a missing key is `optional.none()`.
fn optional_index(container: &Value, index: &Value) -> Result<Value, String> {
    match container {
        Value::List(items) => {
            let i = list_index(index)?;
            Ok(Value::Optional(usize::try_from(i).ok().and_then(|i| items.get(i)).cloned().map(Rc::new)))
        }
        Value::Map(map) => Ok(Value::Optional(lookup(map, index)?.map(Rc::new))),
        _ => Err(no_overload()),
    }
}

/// cel-go's `IsZeroValue`, which `optional.ofNonZeroValue` tests.
fn is_zero_value(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Int(i) => *i == 0,
        Value::Uint(u) => *u == 0,
        Value::Double(d) => *d == 0.0,
        Value::Str(s) => s.is_empty(),
        Value::Bytes(b) => b.is_empty(),
        Value::List(l) => l.is_empty(),
        Value::Map(m) => m.is_empty(),
        Value::Duration(d) => *d == 0,
        Value::Optional(o) => o.is_none(),
        Value::Type(_) | Value::Quantity(_) | Value::Timestamp(_) | Value::Ip(_) | Value::Cidr(_) | Value::Url(_) | Value::Format(_) => false,
    }
}

fn as_bool(v: Value) -> Result<bool, String> {
    match v {
        Value::Bool(b) => Ok(b),
        _ => Err(no_overload()),
    }
}

fn list_index(index: &Value) -> Result<i64, String> {
    match index {
        Value::Int(i) => Ok(*i),
        Value::Uint(u) => i64::try_from(*u).map_err(|_| "integer overflow".to_string()),
        Value::Double(d) if d.fract() == 0.0 && d.abs() < 9.2e18 => Ok(*d as i64),
        _ => Err(format!("unsupported index type '{}' in list", index.type_name())),
    }
}

fn to_key(v: &Value) -> Result<Key, String> {
    match v {
        Value::Bool(b) => Ok(Key::Bool(*b)),
        Value::Int(i) => Ok(Key::Int(*i)),
        Value::Uint(u) => Ok(Key::Uint(*u)),
        Value::Str(s) => Ok(Key::Str(s.clone())),
        other => Err(format!("unsupported key type: {}", other.type_name())),
    }
}

fn key_value(k: &Key) -> Value {
    match k {
        Key::Bool(b) => Value::Bool(*b),
        Key::Int(i) => Value::Int(*i),
        Key::Uint(u) => Value::Uint(*u),
        Key::Str(s) => Value::Str(s.clone()),
    }
}

fn display_key(v: &Value) -> String {
    match v {
        Value::Str(s) => s.to_string(),
        other => format_value(other),
    }
}

/// A map lookup; numeric keys match across int, uint and whole doubles.
fn lookup(map: &BTreeMap<Key, Value>, key: &Value) -> Result<Option<Value>, String> {
    let candidates: Vec<Key> = match key {
        Value::Int(i) => vec![Key::Int(*i)].into_iter().chain(u64::try_from(*i).ok().map(Key::Uint)).collect(),
        Value::Uint(u) => vec![Key::Uint(*u)].into_iter().chain(i64::try_from(*u).ok().map(Key::Int)).collect(),
        Value::Double(d) if d.fract() == 0.0 && d.abs() < 9.2e18 => vec![Key::Int(*d as i64)],
        Value::Double(_) => vec![],
        other => vec![to_key(other)?],
    };
    Ok(candidates.iter().find_map(|k| map.get(k)).cloned())
}

/// Numbers compared across int, uint and double, as Kubernetes' CEL
/// (cross-type numeric comparisons) compares them.
fn numeric_cmp(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => Some(x.cmp(y)),
        (Value::Uint(x), Value::Uint(y)) => Some(x.cmp(y)),
        (Value::Int(x), Value::Uint(y)) => Some(i128::from(*x).cmp(&i128::from(*y))),
        (Value::Uint(x), Value::Int(y)) => Some(i128::from(*x).cmp(&i128::from(*y))),
        (Value::Double(x), Value::Double(y)) => x.partial_cmp(y),
        (Value::Double(x), Value::Int(y)) => x.partial_cmp(&(*y as f64)),
        (Value::Int(x), Value::Double(y)) => (*x as f64).partial_cmp(y),
        (Value::Double(x), Value::Uint(y)) => x.partial_cmp(&(*y as f64)),
        (Value::Uint(x), Value::Double(y)) => (*x as f64).partial_cmp(y),
        _ => None,
    }
}

/// Heterogeneous equality: values of different types are unequal, numbers
/// compare by value.
/// Each pair compared is a step counted in `steps`; past the per-call
/// limit the comparison stops (the caller's next charge fails it).
pub fn equals(a: &Value, b: &Value, steps: &Cell<u64>) -> bool {
    steps.set(steps.get().saturating_add(1));
    if steps.get() > PER_CALL_LIMIT {
        return false;
    }
    match (a, b) {
        (Value::List(x), Value::List(y)) => x.len() == y.len() && x.iter().zip(y.iter()).all(|(p, q)| equals(p, q, steps)),
        (Value::Map(x), Value::Map(y)) => x.len() == y.len() && x.iter().all(|(k, v)| lookup(y, &key_value(k)).ok().flatten().is_some_and(|w| equals(v, &w, steps))),
        (Value::Quantity(x), Value::Quantity(y)) => x.nanos() == y.nanos(),
        // library/urls.go's `URL.Equal` compares `String()`.
        (Value::Url(x), Value::Url(y)) => x.to_text() == y.to_text(),
        (Value::Timestamp(x), Value::Timestamp(y)) => x.same_instant(y),
        (Value::Optional(x), Value::Optional(y)) => match (x, y) {
            (Some(x), Some(y)) => equals(x, y, steps),
            (x, y) => x.is_none() && y.is_none(),
        },
        _ => match numeric_cmp(a, b) {
            Some(o) => o == Ordering::Equal,
            None => a == b,
        },
    }
}

fn binary(op: BinaryOp, a: &Value, b: &Value, steps: &Cell<u64>) -> Result<Value, String> {
    use BinaryOp::*;
    let overflow = || "integer overflow".to_string();
    let uoverflow = || "unsigned integer overflow".to_string();
    Ok(match op {
        Eq => Value::Bool(equals(a, b, steps)),
        Ne => Value::Bool(!equals(a, b, steps)),
        Lt | Le | Gt | Ge => {
            let ordering = match (a, b) {
                (Value::Str(x), Value::Str(y)) => Some(x.cmp(y)),
                (Value::Bytes(x), Value::Bytes(y)) => Some(x.cmp(y)),
                (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
                (Value::Duration(x), Value::Duration(y)) => Some(x.cmp(y)),
                (Value::Timestamp(x), Value::Timestamp(y)) => Some(x.cmp_instant(y)),
                _ if numeric_cmp(a, b).is_some() || matches!((a, b), (Value::Double(_), _) | (_, Value::Double(_))) => numeric_cmp(a, b),
                _ => return Err(no_overload()),
            };
            Value::Bool(match ordering {
                None => false,
                Some(o) => match op {
                    Lt => o == Ordering::Less,
                    Le => o != Ordering::Greater,
                    Gt => o == Ordering::Greater,
                    _ => o != Ordering::Less,
                },
            })
        }
        In => match b {
            Value::List(items) => Value::Bool(items.iter().any(|i| equals(a, i, steps))),
            Value::Map(map) => Value::Bool(lookup(map, a)?.is_some()),
            _ => return Err(no_overload()),
        },
        Add => match (a, b) {
            (Value::Int(x), Value::Int(y)) => Value::Int(x.checked_add(*y).ok_or_else(overflow)?),
            (Value::Uint(x), Value::Uint(y)) => Value::Uint(x.checked_add(*y).ok_or_else(uoverflow)?),
            (Value::Double(x), Value::Double(y)) => Value::Double(x + y),
            (Value::Str(x), Value::Str(y)) => Value::string([&**x, &**y].concat()),
            (Value::Bytes(x), Value::Bytes(y)) => Value::Bytes(Rc::from([&**x, &**y].concat())),
            (Value::List(x), Value::List(y)) => Value::List(Rc::new(x.iter().chain(y.iter()).cloned().collect())),
            (Value::Duration(x), Value::Duration(y)) => Value::Duration(x.checked_add(*y).ok_or_else(overflow)?),
            (Value::Timestamp(t), Value::Duration(d)) | (Value::Duration(d), Value::Timestamp(t)) => Value::Timestamp(t.add(*d)?),
            _ => return Err(no_overload()),
        },
        Sub => match (a, b) {
            (Value::Int(x), Value::Int(y)) => Value::Int(x.checked_sub(*y).ok_or_else(overflow)?),
            (Value::Uint(x), Value::Uint(y)) => Value::Uint(x.checked_sub(*y).ok_or_else(uoverflow)?),
            (Value::Double(x), Value::Double(y)) => Value::Double(x - y),
            (Value::Duration(x), Value::Duration(y)) => Value::Duration(x.checked_sub(*y).ok_or_else(overflow)?),
            (Value::Timestamp(t), Value::Duration(d)) => Value::Timestamp(t.add(d.checked_neg().ok_or_else(overflow)?)?),
            (Value::Timestamp(x), Value::Timestamp(y)) => Value::Duration(x.since(y)?),
            _ => return Err(no_overload()),
        },
        Mul => match (a, b) {
            (Value::Int(x), Value::Int(y)) => Value::Int(x.checked_mul(*y).ok_or_else(overflow)?),
            (Value::Uint(x), Value::Uint(y)) => Value::Uint(x.checked_mul(*y).ok_or_else(uoverflow)?),
            (Value::Double(x), Value::Double(y)) => Value::Double(x * y),
            _ => return Err(no_overload()),
        },
        Div => match (a, b) {
            (Value::Int(_) | Value::Uint(_), Value::Int(0) | Value::Uint(0)) => return Err("division by zero".to_string()),
            (Value::Int(x), Value::Int(y)) => Value::Int(x.checked_div(*y).ok_or_else(overflow)?),
            (Value::Uint(x), Value::Uint(y)) => Value::Uint(x / y),
            (Value::Double(x), Value::Double(y)) => Value::Double(x / y),
            _ => return Err(no_overload()),
        },
        Rem => match (a, b) {
            (Value::Int(_) | Value::Uint(_), Value::Int(0) | Value::Uint(0)) => return Err("modulus by zero".to_string()),
            (Value::Int(x), Value::Int(y)) => Value::Int(x.checked_rem(*y).ok_or_else(overflow)?),
            (Value::Uint(x), Value::Uint(y)) => Value::Uint(x % y),
            _ => return Err(no_overload()),
        },
    })
}

/// A value as `string()` writes it.
pub(super) fn format_value(v: &Value) -> String {
    match v {
        Value::Null => "null".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Uint(u) => u.to_string(),
        Value::Double(d) => format_double(*d),
        Value::Str(s) => s.to_string(),
        Value::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
        Value::Type(t) => t.to_string(),
        Value::Quantity(q) => q.canonical(),
        Value::Duration(d) => time::format_duration(*d),
        Value::Timestamp(t) => t.rfc3339_nano(),
        Value::Optional(None) => "optional.none()".to_string(),
        Value::Optional(Some(v)) => format!("optional({})", format_value(v)),
        Value::Ip(a) => a.to_text(),
        Value::Cidr(c) => c.to_text(),
        Value::Url(u) => u.to_text(),
        Value::Format(name) => name.to_string(),
        Value::List(items) => format!("[{}]", items.iter().map(format_value).collect::<Vec<_>>().join(", ")),
        Value::Map(map) => format!("{{{}}}", map.iter().map(|(k, v)| format!("{}: {}", format_value(&key_value(k)), format_value(v))).collect::<Vec<_>>().join(", ")),
    }
}

/// Go's `strconv.FormatFloat(d, 'g', -1, 64)`, which cel-go's `string()` uses.
fn format_double(d: f64) -> String {
    if d.is_nan() {
        return "NaN".to_string();
    }
    if d.is_infinite() {
        return if d > 0.0 { "+Inf" } else { "-Inf" }.to_string();
    }
    let exp = if d == 0.0 { 0 } else { d.abs().log10().floor() as i32 };
    if (-4..21).contains(&exp) {
        return format!("{d}");
    }
    // Shortest digits in exponent form: `1e+21`, `1.5e-05`.
    let text = format!("{d:e}");
    let (mantissa, e) = text.split_once('e').unwrap_or((&text, "0"));
    let e: i32 = e.parse().unwrap_or(0);
    format!("{mantissa}e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs())
}

fn chars_index(s: &str, char_index: usize) -> Option<usize> {
    if char_index == s.chars().count() {
        return Some(s.len());
    }
    s.char_indices().nth(char_index).map(|(i, _)| i)
}

fn int_arg(v: &Value) -> Result<i64, String> {
    match v {
        Value::Int(i) => Ok(*i),
        _ => Err(no_overload()),
    }
}

fn str_arg(v: &Value) -> Result<&str, String> {
    match v {
        Value::Str(s) => Ok(s),
        _ => Err(no_overload()),
    }
}

fn compile_regex(pattern: &str) -> Result<regex_lite::Regex, String> {
    regex_lite::RegexBuilder::new(pattern).size_limit(1 << 16).nest_limit(64).build().map_err(|e| format!("error parsing regexp: {e}"))
}

/// Kubernetes' regex library wraps the compile error (library/regex.go).
fn illegal_regex(e: String) -> String {
    format!("Illegal regex: {e}")
}

fn regex_matches(text: &str, pattern: &str) -> Result<bool, String> {
    Ok(compile_regex(pattern)?.is_match(text))
}

fn quantity_arg(v: &Value) -> Result<Quantity, String> {
    match v {
        Value::Quantity(q) => Ok(*q),
        Value::Int(i) => Ok(Quantity::from_nanos(i128::from(*i) * 1_000_000_000, crate::engine::quantity::Format::DecimalSI)),
        _ => Err(no_overload()),
    }
}

/// What a value costs to scan: its bytes or items.
fn scan_cost(v: &Value) -> u64 {
    match v {
        Value::Str(s) => s.len() as u64,
        Value::Bytes(b) => b.len() as u64,
        Value::List(l) => l.len() as u64,
        Value::Map(m) => m.len() as u64,
        _ => 0,
    }
}

fn call(receiver: Option<Value>, function: &str, args: &[Value], steps: &Cell<u64>) -> Result<Value, String> {
    // A function reads its inputs once at least; a regular expression is
    // compiled on each call.
    let scanned: u64 = receiver.iter().chain(args).map(scan_cost).sum::<u64>() + if matches!(function, "matches" | "find" | "findAll") { 100 } else { 0 };
    steps.set(steps.get().saturating_add(scanned));
    // The global form of a function that is also a method (`size(x)`) is the method on its first argument.
    let (receiver, args) = match (receiver, function) {
        (Some(r), _) => (r, args),
        (None, "size" | "matches") => match args.split_first() {
            Some((first, rest)) => (first.clone(), rest),
            None => return Err(no_overload()),
        },
        (None, _) => return global(function, args),
    };
    Ok(match (function, &receiver, args) {
        ("size", Value::Str(s), []) => Value::Int(s.chars().count() as i64),
        ("size", Value::Bytes(b), []) => Value::Int(b.len() as i64),
        ("size", Value::List(l), []) => Value::Int(l.len() as i64),
        ("size", Value::Map(m), []) => Value::Int(m.len() as i64),
        ("startsWith", Value::Str(s), [p]) => Value::Bool(s.starts_with(str_arg(p)?)),
        ("endsWith", Value::Str(s), [p]) => Value::Bool(s.ends_with(str_arg(p)?)),
        ("contains", Value::Str(s), [p]) => Value::Bool(s.contains(str_arg(p)?)),
        ("matches", Value::Str(s), [p]) => Value::Bool(regex_matches(s, str_arg(p)?)?),
        ("lowerAscii", Value::Str(s), []) => Value::string(s.to_ascii_lowercase()),
        ("upperAscii", Value::Str(s), []) => Value::string(s.to_ascii_uppercase()),
        ("trim", Value::Str(s), []) => Value::string(s.trim().to_string()),
        ("split", Value::Str(s), [sep]) => Value::List(Rc::new(split(s, str_arg(sep)?, -1))),
        ("split", Value::Str(s), [sep, n]) => Value::List(Rc::new(split(s, str_arg(sep)?, int_arg(n)?))),
        ("join", Value::List(items), []) => join(items, "")?,
        ("join", Value::List(items), [sep]) => join(items, str_arg(sep)?)?,
        ("replace", Value::Str(s), [from, to]) => Value::string(s.replace(str_arg(from)?, str_arg(to)?)),
        ("replace", Value::Str(s), [from, to, n]) => {
            let n = int_arg(n)?;
            if n < 0 {
                Value::string(s.replace(str_arg(from)?, str_arg(to)?))
            } else {
                Value::string(s.replacen(str_arg(from)?, str_arg(to)?, n as usize))
            }
        }
        ("indexOf" | "lastIndexOf", Value::Str(s), [sub, rest @ ..]) => {
            let sub = str_arg(sub)?;
            let last = function == "lastIndexOf";
            let count = s.chars().count() as i64;
            let start = match rest {
                [] => if last { count } else { 0 },
                [i] => int_arg(i)?,
                _ => return Err(no_overload()),
            };
            if start < 0 || start > count {
                return Err(format!("index out of range: {start}"));
            }
            let at = chars_index(s, start as usize).unwrap_or(s.len());
            let found = if last {
                // A match may start at `at` at the latest: it ends by `at + sub.len()`.
                let mut end = (at + sub.len()).min(s.len());
                while !s.is_char_boundary(end) {
                    end -= 1;
                }
                s.get(..end).and_then(|head| head.rfind(sub))
            } else {
                s.get(at..).and_then(|tail| tail.find(sub)).map(|i| i + at)
            };
            Value::Int(found.map_or(-1, |byte| s[..byte].chars().count() as i64))
        }
        ("indexOf" | "lastIndexOf", Value::List(items), [x]) => {
            let mut positions = items.iter().enumerate().filter(|(_, v)| equals(v, x, steps)).map(|(i, _)| i as i64);
            Value::Int(if function == "indexOf" { positions.next() } else { positions.last() }.unwrap_or(-1))
        }
        ("substring", Value::Str(s), [start, rest @ ..]) => {
            let count = s.chars().count() as i64;
            let start = int_arg(start)?;
            let end = match rest {
                [] => count,
                [e] => int_arg(e)?,
                _ => return Err(no_overload()),
            };
            if start < 0 || start > count {
                return Err(format!("index out of range: {start}"));
            }
            if end < 0 || end > count {
                return Err(format!("index out of range: {end}"));
            }
            if start > end {
                return Err(format!("invalid substring range. start: {start}, end: {end}"));
            }
            Value::string(s.chars().skip(start as usize).take((end - start) as usize).collect())
        }
        ("charAt", Value::Str(s), [i]) => {
            let i = int_arg(i)?;
            let count = s.chars().count() as i64;
            if i < 0 || i > count {
                return Err(format!("index out of range: {i}"));
            }
            Value::string(s.chars().nth(i as usize).map(String::from).unwrap_or_default())
        }
        ("isSorted", Value::List(items), []) => {
            let mut sorted = true;
            for pair in items.windows(2) {
                if let Value::Bool(true) = binary(BinaryOp::Gt, &pair[0], &pair[1], steps)? {
                    sorted = false;
                }
            }
            Value::Bool(sorted)
        }
        ("sum", Value::List(items), []) => {
            let mut total = items.first().map_or(Value::Int(0), |v| match v {
                Value::Uint(_) => Value::Uint(0),
                Value::Double(_) => Value::Double(0.0),
                _ => Value::Int(0),
            });
            for item in items.iter() {
                total = binary(BinaryOp::Add, &total, item, steps)?;
            }
            total
        }
        ("min" | "max", Value::List(items), []) => {
            let mut best = items.first().cloned().ok_or_else(|| format!("{function}(list) argument must not be empty"))?;
            for item in items.iter().skip(1) {
                let op = if function == "min" { BinaryOp::Lt } else { BinaryOp::Gt };
                if binary(op, item, &best, steps)? == Value::Bool(true) {
                    best = item.clone();
                }
            }
            best
        }
        ("isLessThan" | "isGreaterThan" | "compareTo", Value::Quantity(q), [other]) => {
            let other = quantity_arg(other)?;
            let o = q.nanos().cmp(&other.nanos());
            match function {
                "isLessThan" => Value::Bool(o == Ordering::Less),
                "isGreaterThan" => Value::Bool(o == Ordering::Greater),
                _ => Value::Int(o as i64),
            }
        }
        ("add" | "sub", Value::Quantity(q), [other]) => {
            let other = quantity_arg(other)?;
            let nanos = if function == "add" { q.nanos().checked_add(other.nanos()) } else { q.nanos().checked_sub(other.nanos()) };
            Value::Quantity(Quantity::from_nanos(nanos.ok_or_else(|| "integer overflow".to_string())?, q.format))
        }
        ("asInteger", Value::Quantity(q), []) => {
            if !q.is_integer() || q.nanos().abs() / 1_000_000_000 > i128::from(i64::MAX) {
                return Err("cannot convert value to integer".to_string());
            }
            Value::Int(q.value())
        }
        ("asApproximateFloat", Value::Quantity(q), []) => Value::Double(q.nanos() as f64 / 1e9),
        ("isInteger", Value::Quantity(q), []) => Value::Bool(q.is_integer()),
        ("sign", Value::Quantity(q), []) => Value::Int(q.nanos().signum() as i64),
        ("find", Value::Str(s), [p]) => Value::string(compile_regex(str_arg(p)?).map_err(illegal_regex)?.find(s).map(|m| m.as_str().to_string()).unwrap_or_default()),
        ("findAll", Value::Str(s), [p, rest @ ..]) => {
            let limit = match rest {
                [] => -1,
                [n] => int_arg(n)?,
                _ => return Err(no_overload()),
            };
            let re = compile_regex(str_arg(p)?).map_err(illegal_regex)?;
            // Go's FindAllString: a negative limit is no limit.
            let found = re.find_iter(s).map(|m| Value::string(m.as_str().to_string()));
            Value::List(Rc::new(if limit < 0 { found.collect() } else { found.take(limit as usize).collect() }))
        }
        ("validate", Value::Format(name), [Value::Str(s)]) => {
            let errors = named_format::validate(name, s);
            let errors = (!errors.is_empty()).then(|| Rc::new(Value::List(Rc::new(errors.into_iter().map(Value::string).collect()))));
            Value::Optional(errors)
        }
        ("getScheme", Value::Url(u), []) => Value::string(u.scheme().to_string()),
        ("getHost", Value::Url(u), []) => Value::string(u.host().to_string()),
        ("getHostname", Value::Url(u), []) => Value::string(u.hostname().to_string()),
        ("getPort", Value::Url(u), []) => Value::string(u.port().to_string()),
        ("getEscapedPath", Value::Url(u), []) => Value::string(u.escaped_path()),
        ("getQuery", Value::Url(u), []) => {
            let query = u.query().into_iter().map(|(k, values)| (Key::Str(Rc::from(k)), Value::List(Rc::new(values.into_iter().map(Value::string).collect()))));
            Value::Map(Rc::new(query.collect()))
        }
        ("family", Value::Ip(a), []) => Value::Int(a.family()),
        ("isUnspecified", Value::Ip(a), []) => Value::Bool(a.is_unspecified()),
        ("isLoopback", Value::Ip(a), []) => Value::Bool(a.is_loopback()),
        ("isLinkLocalMulticast", Value::Ip(a), []) => Value::Bool(a.is_link_local_multicast()),
        ("isLinkLocalUnicast", Value::Ip(a), []) => Value::Bool(a.is_link_local_unicast()),
        ("isGlobalUnicast", Value::Ip(a), []) => Value::Bool(a.is_global_unicast()),
        ("containsIP", Value::Cidr(c), [Value::Ip(a)]) => Value::Bool(c.contains_ip(a)),
        ("containsIP", Value::Cidr(c), [Value::Str(s)]) => Value::Bool(c.contains_ip(&net::parse_ip(s)?)),
        ("containsCIDR", Value::Cidr(c), [Value::Cidr(other)]) => Value::Bool(c.contains_cidr(other)),
        ("containsCIDR", Value::Cidr(c), [Value::Str(s)]) => Value::Bool(c.contains_cidr(&string_to_cidr(s)?)),
        ("ip", Value::Cidr(c), []) => Value::Ip(c.addr()),
        ("prefixLength", Value::Cidr(c), []) => Value::Int(c.bits()),
        ("masked", Value::Cidr(c), []) => Value::Cidr(c.masked()),
        ("format", Value::Str(template), [Value::List(items)]) => Value::string(super::format::format(template, items)?),
        ("first", Value::List(items), []) => Value::Optional(items.first().cloned().map(Rc::new)),
        ("last", Value::List(items), []) => Value::Optional(items.last().cloned().map(Rc::new)),
        ("unwrapOpt", Value::List(items), []) => unwrap_optionals(items)?,
        ("hasValue", Value::Optional(o), []) => Value::Bool(o.is_some()),
        ("value", Value::Optional(o), []) => o.as_deref().cloned().ok_or_else(|| "optional.none() dereference".to_string())?,
        (_, Value::Duration(d), []) => Value::Int(time::duration_field(function, *d).ok_or_else(no_overload)?),
        (_, Value::Timestamp(t), []) => Value::Int(t.field(function, 0).ok_or_else(no_overload)?),
        (_, Value::Timestamp(t), [zone]) if time::TIMESTAMP_ACCESSORS.contains(&function) => {
            Value::Int(t.field(function, time::zone_offset(str_arg(zone)?)?).ok_or_else(no_overload)?)
        }
        _ => return Err(no_overload()),
    })
}

/// The strings extension's `strings.quote`: CEL's escapes, other
/// characters as they are.
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// cel-go's `optUnwrap`: the present values of a list of optionals.
fn unwrap_optionals(items: &[Value]) -> Result<Value, String> {
    let mut present = Vec::new();
    for item in items {
        match item {
            Value::Optional(Some(v)) => present.push(v.as_ref().clone()),
            Value::Optional(None) => {}
            other => return Err(format!("value {} is not optional", format_value(other))),
        }
    }
    Ok(Value::List(Rc::new(present)))
}

/// The cidr library's `stringToCIDR`, which wraps `parseCIDR`'s error in
/// the same words again.
fn string_to_cidr(s: &str) -> Result<net::Prefix, String> {
    net::parse_cidr(s).map_err(|e| format!("network address parse error during conversion from string: {e}"))
}

fn split(s: &str, sep: &str, n: i64) -> Vec<Value> {
    let parts: Vec<Value> = match n {
        0 => return Vec::new(),
        n if n < 0 => {
            if sep.is_empty() {
                s.chars().map(|c| Value::string(c.to_string())).collect()
            } else {
                s.split(sep).map(|p| Value::string(p.to_string())).collect()
            }
        }
        n => {
            if sep.is_empty() {
                let chars: Vec<char> = s.chars().collect();
                let n = (n as usize).min(chars.len().max(1));
                let mut out: Vec<Value> = chars.iter().take(n.saturating_sub(1)).map(|c| Value::string(c.to_string())).collect();
                out.push(Value::string(chars.iter().skip(n.saturating_sub(1)).collect()));
                out
            } else {
                s.splitn(n as usize, sep).map(|p| Value::string(p.to_string())).collect()
            }
        }
    };
    parts
}

fn join(items: &[Value], sep: &str) -> Result<Value, String> {
    let mut parts = Vec::with_capacity(items.len());
    for item in items {
        parts.push(str_arg(item)?.to_string());
    }
    Ok(Value::string(parts.join(sep)))
}

fn global(function: &str, args: &[Value]) -> Result<Value, String> {
    let [arg] = args else { return Err(no_overload()) };
    Ok(match (function, arg) {
        ("dyn", v) => v.clone(),
        ("type", v) => Value::Type(v.type_name()),
        ("int", Value::Int(i)) => Value::Int(*i),
        ("int", Value::Uint(u)) => Value::Int(i64::try_from(*u).map_err(|_| "integer overflow".to_string())?),
        ("int", Value::Double(d)) => {
            if !d.is_finite() || *d <= -9.223372036854776e18 || *d >= 9.223372036854776e18 {
                return Err("integer overflow".to_string());
            }
            Value::Int(*d as i64)
        }
        ("int", Value::Str(s)) => Value::Int(s.parse().map_err(|_| format!("strconv.ParseInt: parsing {s:?}: invalid syntax"))?),
        ("uint", Value::Uint(u)) => Value::Uint(*u),
        ("uint", Value::Int(i)) => Value::Uint(u64::try_from(*i).map_err(|_| "unsigned integer overflow".to_string())?),
        ("uint", Value::Double(d)) => {
            if !d.is_finite() || *d < 0.0 || *d >= 1.8446744073709552e19 {
                return Err("unsigned integer overflow".to_string());
            }
            Value::Uint(*d as u64)
        }
        ("uint", Value::Str(s)) => Value::Uint(s.parse().map_err(|_| format!("strconv.ParseUint: parsing {s:?}: invalid syntax"))?),
        ("double", Value::Double(d)) => Value::Double(*d),
        ("double", Value::Int(i)) => Value::Double(*i as f64),
        ("double", Value::Uint(u)) => Value::Double(*u as f64),
        ("double", Value::Str(s)) => Value::Double(s.parse().map_err(|_| format!("strconv.ParseFloat: parsing {s:?}: invalid syntax"))?),
        ("string", Value::Str(s)) => Value::Str(s.clone()),
        ("string", Value::Bytes(b)) => Value::string(String::from_utf8(b.to_vec()).map_err(|_| "invalid UTF-8 in bytes, cannot convert to string".to_string())?),
        ("bytes", Value::Bytes(b)) => Value::Bytes(b.clone()),
        ("bytes", Value::Str(s)) => Value::Bytes(Rc::from(s.as_bytes())),
        ("string", v @ (Value::Int(_) | Value::Uint(_) | Value::Double(_) | Value::Bool(_) | Value::Duration(_) | Value::Timestamp(_))) => Value::string(format_value(v)),
        ("int", Value::Duration(d)) => Value::Int(*d),
        ("int", Value::Timestamp(t)) => Value::Int(t.seconds),
        ("duration", Value::Duration(d)) => Value::Duration(*d),
        ("duration", Value::Str(s)) => Value::Duration(time::parse_duration(s).ok_or_else(|| "type conversion error from 'string' to 'google.protobuf.Duration'".to_string())?),
        ("timestamp", Value::Timestamp(t)) => Value::Timestamp(*t),
        ("timestamp", Value::Str(s)) => Value::Timestamp(time::parse_timestamp(s)?),
        ("timestamp", Value::Int(i)) => Value::Timestamp(Timestamp::from_unix(*i)?),
        ("bool", Value::Bool(b)) => Value::Bool(*b),
        ("bool", Value::Str(s)) => match &**s {
            "1" | "t" | "T" | "TRUE" | "true" | "True" => Value::Bool(true),
            "0" | "f" | "F" | "FALSE" | "false" | "False" => Value::Bool(false),
            _ => return Err(format!("strconv.ParseBool: parsing {s:?}: invalid syntax")),
        },
        ("quantity", Value::Str(s)) => Value::Quantity(Quantity::parse(s).map_err(|e| e.to_string())?),
        ("isQuantity", Value::Str(s)) => Value::Bool(Quantity::parse(s).is_ok()),
        ("ip", Value::Str(s)) => Value::Ip(net::parse_ip(s)?),
        ("isIP", Value::Str(s)) => Value::Bool(net::parse_ip(s).is_ok()),
        ("cidr", Value::Str(s)) => Value::Cidr(string_to_cidr(s)?),
        ("isCIDR", Value::Str(s)) => Value::Bool(net::parse_cidr(s).is_ok()),
        ("url", Value::Str(s)) => Value::Url(Rc::new(url::parse_url(s)?)),
        ("isURL", Value::Str(s)) => Value::Bool(url::parse_request_uri(s).is_ok()),
        ("string", Value::Ip(a)) => Value::string(a.to_text()),
        ("string", Value::Cidr(c)) => Value::string(c.to_text()),
        _ => return Err(no_overload()),
    })
}
