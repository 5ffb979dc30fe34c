//! jq's evaluation: each filter hands its outputs one at a time to the
//! caller (so a stream prints up to its first error, as jq's does), paths
//! for the assignments and `del`, and the builtins of jq 1.6 this subset
//! has (see [`BUILTINS`]; anything else is refused when compiled).

use indexmap::IndexMap;
use std::cell::RefCell;
use std::cmp::Ordering;
use std::collections::VecDeque;
use std::rc::Rc;

use super::parse::{Ast, Op, Part, Update};
use super::value::{brief, compact, parse_one, sorted_keys, Json};

/// Why a stream stopped early.
#[derive(Debug, PartialEq)]
pub enum Stop {
    /// A runtime error, with its message value.
    Error(Json),
    /// `limit`/`first` have what they want (the id of the one that stopped).
    Enough(usize),
}

pub type Flow = Result<(), Stop>;

/// How deep `recurse(f)` and `repeat` go: each level is a few native
/// frames, and the page's stack is small.
const MAX_DEPTH: usize = 1_000;
type Out<'o> = &'o mut dyn FnMut(Json) -> Flow;
type PathOut<'o> = &'o mut dyn FnMut(Vec<Json>, Json) -> Flow;

fn fail<T>(message: String) -> Result<T, Stop> {
    Err(Stop::Error(Json::String(message)))
}

/// A value a loop or a constructor made, refused past the nesting the
/// reader allows: printing, comparing and dropping it recurse once a level,
/// and the page's stack holds a few thousand levels at most.
fn shallow(value: Json) -> Result<Json, Stop> {
    fn deeper(value: &Json, levels: usize) -> bool {
        match value {
            _ if levels == 0 => matches!(value, Json::Array(_) | Json::Object(_)),
            Json::Array(items) => items.iter().any(|v| deeper(v, levels - 1)),
            Json::Object(map) => map.values().any(|v| deeper(v, levels - 1)),
            _ => false,
        }
    }
    if deeper(&value, super::value::MAX_NESTING) {
        return fail(format!("Values nested deeper than {} levels are not simulated here", super::value::MAX_NESTING));
    }
    Ok(value)
}

/// Variables in scope, innermost first.
#[derive(Clone, Default)]
pub struct Env(Option<Rc<(String, Json, Env)>>);

impl Env {
    pub fn bind(&self, name: &str, value: Json) -> Env {
        Env(Some(Rc::new((name.to_string(), value, self.clone()))))
    }
    fn get(&self, name: &str) -> Option<&Json> {
        let mut at = self;
        while let Some(node) = &at.0 {
            if node.0 == name {
                return Some(&node.1);
            }
            at = &node.2;
        }
        None
    }
}

/// The builtins this subset has, with their arities.
pub const BUILTINS: &[(&str, usize)] = &[
    ("empty", 0), ("not", 0), ("length", 0), ("utf8bytelength", 0), ("keys", 0), ("keys_unsorted", 0), ("values", 0), ("has", 1), ("in", 1),
    ("contains", 1), ("inside", 1), ("select", 1), ("map", 1), ("map_values", 1), ("to_entries", 0), ("from_entries", 0), ("with_entries", 1),
    ("add", 0), ("any", 0), ("any", 1), ("any", 2), ("all", 0), ("all", 1), ("all", 2), ("range", 1), ("range", 2), ("range", 3), ("first", 0),
    ("first", 1), ("last", 0), ("last", 1), ("nth", 1), ("nth", 2), ("limit", 2), ("sort", 0), ("sort_by", 1), ("group_by", 1), ("unique", 0),
    ("unique_by", 1), ("min", 0), ("max", 0), ("min_by", 1), ("max_by", 1), ("reverse", 0), ("startswith", 1), ("endswith", 1), ("ltrimstr", 1),
    ("rtrimstr", 1), ("test", 1), ("test", 2), ("split", 1), ("join", 1), ("ascii_downcase", 0), ("ascii_upcase", 0), ("tostring", 0),
    ("tonumber", 0), ("type", 0), ("error", 0), ("error", 1), ("del", 1), ("paths", 0), ("paths", 1), ("leaf_paths", 0), ("path", 1),
    ("getpath", 1), ("setpath", 2), ("delpaths", 1), ("to_entries", 0), ("tojson", 0), ("fromjson", 0), ("recurse", 0), ("recurse", 1),
    ("env", 0), ("input", 0), ("inputs", 0), ("floor", 0), ("ceil", 0), ("round", 0), ("fabs", 0), ("sqrt", 0), ("flatten", 0), ("flatten", 1),
    ("explode", 0), ("implode", 0), ("indices", 1), ("index", 1), ("rindex", 1), ("arrays", 0), ("objects", 0), ("iterables", 0), ("booleans", 0),
    ("numbers", 0), ("strings", 0), ("nulls", 0), ("scalars", 0), ("isempty", 1), ("walk", 1), ("infinite", 0), ("nan", 0), ("isnan", 0),
    ("isinfinite", 0), ("while", 2), ("until", 2), ("capture", 1), ("capture", 2), ("split", 2), ("splits", 1), ("splits", 2), ("sub", 2),
    ("sub", 3), ("gsub", 2), ("gsub", 3), ("IN", 1), ("IN", 2), ("INDEX", 1), ("INDEX", 2), ("repeat", 1),
];

/// Builtins jq 1.6 has that this subset names but does not run, refused
/// with their own message rather than "not defined".
pub const UNSIMULATED: &[&str] = &[
    "match", "scan", "tostream", "fromstream", "truncate_stream", "todate", "fromdate", "now", "strftime",
    "strptime", "mktime", "gmtime", "localtime", "date", "dateadd", "datesub", "input_filename", "input_line_number", "combinations",
    "halt", "halt_error", "debug", "stderr", "builtins", "transpose", "getpath_stream", "significand", "gamma", "frexp", "ldexp", "logb", "pow",
    "log", "exp", "log10", "log2", "exp10", "exp2", "todateiso8601", "fromdateiso8601", "dateiso8601",
];

pub struct Machine {
    /// The inputs not yet read, each with where it came from (`<stdin>:N`).
    pub inputs: RefCell<VecDeque<(Json, String)>>,
    pub environment: Json,
    stops: std::cell::Cell<usize>,
    /// Where the last input `input`/`inputs` read came from, once they ran.
    pub read_at: RefCell<Option<String>>,
}

impl Machine {
    pub fn new(inputs: VecDeque<(Json, String)>, environment: Json) -> Self {
        Machine { inputs: RefCell::new(inputs), environment, stops: std::cell::Cell::new(0), read_at: RefCell::new(None) }
    }

    fn fresh_stop(&self) -> usize {
        let id = self.stops.get() + 1;
        self.stops.set(id);
        id
    }

    /// All outputs of `ast`, or its first error.
    pub fn collect(&self, ast: &Ast, input: Json, env: &Env) -> Result<Vec<Json>, Stop> {
        let mut all = Vec::new();
        self.eval(ast, input, env, &mut |v| {
            all.push(v);
            Ok(())
        })?;
        Ok(all)
    }

    pub fn eval(&self, ast: &Ast, input: Json, env: &Env, out: Out) -> Flow {
        match ast {
            Ast::Identity => out(input),
            Ast::RecurseAll => recurse_values(input, out),
            Ast::Literal(v) => out(v.clone()),
            Ast::Var(name) => match name.as_str() {
                "ENV" => out(self.environment.clone()),
                "__loc__" => out(Json::Object(IndexMap::from([("file".into(), Json::String("<top-level>".into())), ("line".into(), Json::Number(1.0))]))),
                _ => out(env.get(name).cloned().unwrap_or(Json::Null)),
            },
            Ast::Index(target, key) => self.eval(target, input.clone(), env, &mut |t| {
                self.eval(key, input.clone(), env, &mut |k| out(index(&t, &k)?))
            }),
            Ast::Slice(target, from, to) => self.eval(target, input.clone(), env, &mut |t| {
                self.optional(from.as_deref(), input.clone(), env, &mut |f| {
                    self.optional(to.as_deref(), input.clone(), env, &mut |u| out(slice(&t, &f, &u)?))
                })
            }),
            Ast::Iterate(target) => self.eval(target, input, env, &mut |t| {
                for v in iterate(&t)? {
                    out(v)?;
                }
                Ok(())
            }),
            Ast::Try(body, handler) => {
                // Errors of the body are caught; errors of what follows are not.
                let mut downstream: Option<Stop> = None;
                let result = self.eval(body, input, env, &mut |v| {
                    out(v).map_err(|e| {
                        downstream = Some(e);
                        Stop::Enough(0)
                    })
                });
                if let Some(e) = downstream {
                    return Err(e);
                }
                match result {
                    Err(Stop::Error(message)) => match handler {
                        Some(h) => self.eval(h, message, env, out),
                        None => Ok(()),
                    },
                    other => other,
                }
            }
            Ast::Interpolated(parts, format) => self.interpolate(parts, 0, String::new(), format.as_deref(), &input, env, out),
            Ast::Format(name) => out(Json::String(format(name, &input)?)),
            Ast::Array(None) => out(Json::Array(Vec::new())),
            Ast::Array(Some(inner)) => out(shallow(Json::Array(self.collect(inner, input, env)?))?),
            Ast::Object(entries) => self.object(entries, 0, IndexMap::new(), &input, env, out),
            Ast::Neg(inner) => self.eval(inner, input, env, &mut |v| match v {
                Json::Number(n) => out(Json::Number(-n)),
                other => fail(format!("{} ({}) cannot be negated", other.kind(), brief(&other))),
            }),
            Ast::Pipe(lhs, rhs) => self.eval(lhs, input, env, &mut |v| self.eval(rhs, v, env, out)),
            Ast::Comma(lhs, rhs) => {
                self.eval(lhs, input.clone(), env, out)?;
                self.eval(rhs, input, env, out)
            }
            // jq evaluates the right operand first, then the left for each.
            Ast::Binary(op, lhs, rhs) => self.eval(rhs, input.clone(), env, &mut |r| {
                self.eval(lhs, input.clone(), env, &mut |l| out(binary(*op, l, r.clone())?))
            }),
            Ast::And(lhs, rhs) => self.eval(lhs, input.clone(), env, &mut |l| {
                if !l.truthy() {
                    return out(Json::Bool(false));
                }
                self.eval(rhs, input.clone(), env, &mut |r| out(Json::Bool(r.truthy())))
            }),
            Ast::Or(lhs, rhs) => self.eval(lhs, input.clone(), env, &mut |l| {
                if l.truthy() {
                    return out(Json::Bool(true));
                }
                self.eval(rhs, input.clone(), env, &mut |r| out(Json::Bool(r.truthy())))
            }),
            Ast::Alternative(lhs, rhs) => {
                let mut any = false;
                let mut truthy = Vec::new();
                let result = self.eval(lhs, input.clone(), env, &mut |v| {
                    if v.truthy() {
                        any = true;
                        truthy.push(v);
                    }
                    Ok(())
                });
                if let Err(Stop::Enough(id)) = result {
                    return Err(Stop::Enough(id));
                }
                if any {
                    for v in truthy {
                        out(v)?;
                    }
                    return Ok(());
                }
                self.eval(rhs, input, env, out)
            }
            Ast::If(branches, otherwise) => self.branch(branches, otherwise.as_deref(), input, env, out),
            Ast::As(source, name, body) => self.eval(source, input.clone(), env, &mut |v| self.eval(body, input.clone(), &env.bind(name, v), out)),
            Ast::Reduce(source, name, init, update) => self.eval(init, input.clone(), env, &mut |start| {
                let mut acc = Some(start);
                self.eval(source, input.clone(), env, &mut |item| {
                    let bound = env.bind(name, item);
                    let current = acc.take().unwrap_or(Json::Null);
                    let mut last = None;
                    self.eval(update, current, &bound, &mut |v| {
                        last = Some(shallow(v)?);
                        Ok(())
                    })?;
                    acc = last;
                    Ok(())
                })?;
                match acc {
                    Some(v) => out(v),
                    None => Ok(()),
                }
            }),
            Ast::Foreach(source, name, init, update, extract) => self.eval(init, input.clone(), env, &mut |start| {
                let mut acc = start;
                self.eval(source, input.clone(), env, &mut |item| {
                    let bound = env.bind(name, item);
                    let mut states = Vec::new();
                    self.eval(update, acc.clone(), &bound, &mut |v| {
                        states.push(shallow(v)?);
                        Ok(())
                    })?;
                    for state in states {
                        acc = state.clone();
                        match extract {
                            Some(e) => self.eval(e, state, &bound, out)?,
                            None => out(state)?,
                        }
                    }
                    Ok(())
                })
            }),
            Ast::Call(name, args, _) => self.call(name, args, input, env, out),
            Ast::Update(kind, lhs, rhs) => self.update(*kind, lhs, rhs, input, env, out),
        }
    }

    fn optional(&self, ast: Option<&Ast>, input: Json, env: &Env, out: Out) -> Flow {
        match ast {
            Some(a) => self.eval(a, input, env, out),
            None => out(Json::Null),
        }
    }

    fn branch(&self, branches: &[(Ast, Ast)], otherwise: Option<&Ast>, input: Json, env: &Env, out: Out) -> Flow {
        let Some(((cond, then), rest)) = branches.split_first() else {
            return match otherwise {
                Some(e) => self.eval(e, input, env, out),
                None => out(input),
            };
        };
        self.eval(cond, input.clone(), env, &mut |c| {
            if c.truthy() {
                self.eval(then, input.clone(), env, out)
            } else {
                self.branch(rest, otherwise, input.clone(), env, out)
            }
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn interpolate(&self, parts: &[Part], at: usize, text: String, format_name: Option<&str>, input: &Json, env: &Env, out: Out) -> Flow {
        let Some(part) = parts.get(at) else { return out(Json::String(text)) };
        match part {
            Part::Text(t) => self.interpolate(parts, at + 1, text + t, format_name, input, env, out),
            Part::Expr(e) => self.eval(e, input.clone(), env, &mut |v| {
                let piece = match format_name {
                    Some(name) => format(name, &v)?,
                    None => match v {
                        Json::String(s) => s,
                        other => compact(&other),
                    },
                };
                self.interpolate(parts, at + 1, text.clone() + &piece, format_name, input, env, out)
            }),
        }
    }

    fn object(&self, entries: &[(Ast, Option<Ast>)], at: usize, built: IndexMap<String, Json>, input: &Json, env: &Env, out: Out) -> Flow {
        let Some((key, value)) = entries.get(at) else { return out(shallow(Json::Object(built))?) };
        self.eval(key, input.clone(), env, &mut |k| {
            let Json::String(name) = k else {
                return fail(format!("Cannot use {} as object key", describe(&k)));
            };
            let value_ast = match value {
                Some(v) => v.clone(),
                None => Ast::Index(Box::new(Ast::Identity), Box::new(Ast::Literal(Json::String(name.clone())))),
            };
            self.eval(&value_ast, input.clone(), env, &mut |v| {
                let mut next = built.clone();
                next.insert(name.clone(), v);
                self.object(entries, at + 1, next, input, env, out)
            })
        })
    }

    fn update(&self, kind: Update, lhs: &Ast, rhs: &Ast, input: Json, env: &Env, out: Out) -> Flow {
        let paths = self.all_paths(lhs, &input, env)?;
        if kind == Update::Modify {
            let mut result = input;
            for path in paths {
                let old = getpath(&result, &path)?;
                let mut last = None;
                self.eval(rhs, old, env, &mut |v| {
                    last = Some(v);
                    Ok(())
                })?;
                result = match last {
                    Some(v) => setpath(result, &path, v)?,
                    None => delpaths(result, vec![Json::Array(path)])?,
                };
            }
            return out(result);
        }
        self.eval(rhs, input.clone(), env, &mut |v| {
            let mut result = input.clone();
            for path in &paths {
                let new = match kind {
                    Update::Set => v.clone(),
                    Update::Arith(op) => binary(op, getpath(&result, path)?, v.clone())?,
                    Update::Alternative => {
                        let old = getpath(&result, path)?;
                        if old.truthy() { old } else { v.clone() }
                    }
                    Update::Modify => v.clone(),
                };
                result = setpath(result, path, new)?;
            }
            out(result)
        })
    }

    fn all_paths(&self, ast: &Ast, input: &Json, env: &Env) -> Result<Vec<Vec<Json>>, Stop> {
        let mut found = Vec::new();
        self.paths(ast, Vec::new(), input.clone(), env, &mut |p, _| {
            found.push(p);
            Ok(())
        })?;
        Ok(found)
    }

    /// The paths `ast` names in `current` (reached at `path`), with their values.
    fn paths(&self, ast: &Ast, path: Vec<Json>, current: Json, env: &Env, out: PathOut) -> Flow {
        match ast {
            Ast::Identity => out(path, current),
            Ast::RecurseAll => recurse_paths(path, current, out),
            Ast::Index(target, key) => self.paths(target, path, current.clone(), env, &mut |p, v| {
                self.eval(key, current.clone(), env, &mut |k| {
                    let found = index(&v, &k)?;
                    let mut next = p.clone();
                    next.push(k);
                    out(next, found)
                })
            }),
            Ast::Slice(target, from, to) => self.paths(target, path, current.clone(), env, &mut |p, v| {
                self.optional(from.as_deref(), current.clone(), env, &mut |f| {
                    self.optional(to.as_deref(), current.clone(), env, &mut |u| {
                        let found = slice(&v, &f, &u)?;
                        let mut next = p.clone();
                        next.push(Json::Object(IndexMap::from([("start".to_string(), f.clone()), ("end".to_string(), u)])));
                        out(next, found)
                    })
                })
            }),
            Ast::Iterate(target) => self.paths(target, path, current, env, &mut |p, v| {
                match &v {
                    Json::Array(items) => {
                        for (i, item) in items.iter().enumerate() {
                            let mut next = p.clone();
                            next.push(Json::Number(i as f64));
                            out(next, item.clone())?;
                        }
                    }
                    Json::Object(map) => {
                        for (k, item) in map {
                            let mut next = p.clone();
                            next.push(Json::String(k.clone()));
                            out(next, item.clone())?;
                        }
                    }
                    other => return fail(format!("Cannot iterate over {}", describe(other))),
                }
                Ok(())
            }),
            Ast::Try(body, None) => {
                let mut downstream: Option<Stop> = None;
                let result = self.paths(body, path, current, env, &mut |p, v| {
                    out(p, v).map_err(|e| {
                        downstream = Some(e);
                        Stop::Enough(0)
                    })
                });
                if let Some(e) = downstream {
                    return Err(e);
                }
                match result {
                    Err(Stop::Error(_)) => Ok(()),
                    other => other,
                }
            }
            Ast::Pipe(lhs, rhs) => self.paths(lhs, path, current, env, &mut |p, v| self.paths(rhs, p, v, env, out)),
            Ast::Comma(lhs, rhs) => {
                self.paths(lhs, path.clone(), current.clone(), env, out)?;
                self.paths(rhs, path, current, env, out)
            }
            Ast::If(branches, otherwise) => {
                for (cond, then) in branches {
                    let c = self.collect(cond, current.clone(), env)?;
                    if c.first().is_some_and(|c| c.truthy()) {
                        return self.paths(then, path, current, env, out);
                    }
                }
                match otherwise {
                    Some(e) => self.paths(e, path, current, env, out),
                    None => out(path, current),
                }
            }
            Ast::Alternative(lhs, rhs) => {
                let mut good = Vec::new();
                let _ = self.paths(lhs, path.clone(), current.clone(), env, &mut |p, v| {
                    if v.truthy() {
                        good.push((p, v));
                    }
                    Ok(())
                });
                if good.is_empty() {
                    return self.paths(rhs, path, current, env, out);
                }
                for (p, v) in good {
                    out(p, v)?;
                }
                Ok(())
            }
            Ast::As(source, name, body) => self.eval(source, current.clone(), env, &mut |v| self.paths(body, path.clone(), current.clone(), &env.bind(name, v), out)),
            Ast::Call(name, args, _) => match (name.as_str(), args.as_slice()) {
                ("empty", []) => Ok(()),
                ("error", _) => self.call(name, args, current, env, &mut |_| Ok(())),
                ("select", [f]) => self.eval(f, current.clone(), env, &mut |c| if c.truthy() { out(path.clone(), current.clone()) } else { Ok(()) }),
                ("recurse", []) => recurse_paths(path, current, out),
                ("first", [f]) => {
                    let id = self.fresh_stop();
                    match self.paths(f, path, current, env, &mut |p, v| {
                        out(p, v)?;
                        Err(Stop::Enough(id))
                    }) {
                        Err(Stop::Enough(found)) if found == id => Ok(()),
                        other => other,
                    }
                }
                ("getpath", [p]) => self.eval(p, current.clone(), env, &mut |steps| {
                    let Json::Array(steps) = steps else { return fail("Path must be specified as an array".into()) };
                    let found = getpath(&current, &steps).unwrap_or(Json::Null);
                    let mut next = path.clone();
                    next.extend(steps);
                    out(next, found)
                }),
                ("paths", []) | ("leaf_paths", []) | ("to_entries", []) => self.not_a_path(ast, current, env),
                ("map", [f]) => self.paths(&Ast::Pipe(Box::new(Ast::Iterate(Box::new(Ast::Identity))), Box::new(f.clone())), path, current, env, out),
                _ => self.not_a_path(ast, current, env),
            },
            _ => self.not_a_path(ast, current, env),
        }
    }

    fn not_a_path(&self, ast: &Ast, current: Json, env: &Env) -> Flow {
        let first = self.collect(ast, current, env)?.into_iter().next();
        match first {
            Some(v) => fail(format!("Invalid path expression with result {}", brief(&v))),
            None => Ok(()),
        }
    }

    fn call(&self, name: &str, args: &[Ast], input: Json, env: &Env, out: Out) -> Flow {
        let arg = |i: usize| args.get(i).unwrap_or(&Ast::Identity);
        match (name, args.len()) {
            ("empty", 0) => Ok(()),
            ("not", 0) => out(Json::Bool(!input.truthy())),
            ("length", 0) => out(Json::Number(match &input {
                Json::Null => 0.0,
                Json::Bool(_) => return fail(format!("boolean ({}) has no length", compact(&input))),
                Json::Number(n) => n.abs(),
                Json::String(s) => s.chars().count() as f64,
                Json::Array(a) => a.len() as f64,
                Json::Object(o) => o.len() as f64,
            })),
            ("utf8bytelength", 0) => match &input {
                Json::String(s) => out(Json::Number(s.len() as f64)),
                other => fail(format!("{} ({}) only strings have UTF-8 byte length", other.kind(), brief(other))),
            },
            ("keys", 0) | ("keys_unsorted", 0) => match &input {
                Json::Object(map) => {
                    let keys: Vec<&str> = if name == "keys" { sorted_keys(map) } else { map.keys().map(|k| k.as_str()).collect() };
                    out(Json::Array(keys.into_iter().map(|k| Json::String(k.to_string())).collect()))
                }
                Json::Array(a) => out(Json::Array((0..a.len()).map(|i| Json::Number(i as f64)).collect())),
                other => fail(format!("{} ({}) has no keys", other.kind(), brief(other))),
            },
            ("values", 0) => if input == Json::Null { Ok(()) } else { out(input) },
            ("has", 1) => self.eval(arg(0), input.clone(), env, &mut |k| out(Json::Bool(has(&input, &k)?))),
            ("in", 1) => self.eval(arg(0), input.clone(), env, &mut |o| out(Json::Bool(has(&o, &input)?))),
            ("contains", 1) => self.eval(arg(0), input.clone(), env, &mut |b| out(Json::Bool(contains(&input, &b)?))),
            ("inside", 1) => self.eval(arg(0), input.clone(), env, &mut |a| out(Json::Bool(contains(&a, &input)?))),
            ("select", 1) => self.eval(arg(0), input.clone(), env, &mut |c| if c.truthy() { out(input.clone()) } else { Ok(()) }),
            ("map", 1) => {
                let mut all = Vec::new();
                for item in iterate(&input)? {
                    self.eval(arg(0), item, env, &mut |v| {
                        all.push(v);
                        Ok(())
                    })?;
                }
                out(Json::Array(all))
            }
            ("map_values", 1) => self.update(Update::Modify, &Ast::Iterate(Box::new(Ast::Identity)), arg(0), input, env, out),
            ("to_entries", 0) => out(to_entries(&input)?),
            ("from_entries", 0) => out(from_entries(&input)?),
            ("with_entries", 1) => {
                let Json::Array(entries) = to_entries(&input)? else { return Ok(()) };
                let mut mapped = Vec::new();
                for e in entries {
                    self.eval(arg(0), e, env, &mut |v| {
                        mapped.push(v);
                        Ok(())
                    })?;
                }
                out(from_entries(&Json::Array(mapped))?)
            }
            ("add", 0) => {
                let mut acc = Json::Null;
                for v in iterate(&input)? {
                    acc = binary(Op::Add, acc, v)?;
                }
                out(acc)
            }
            ("any", 0) | ("all", 0) => {
                let all = name == "all";
                let found = iterate(&input)?.iter().any(|v| v.truthy() != all);
                out(Json::Bool(found != all))
            }
            ("any", 1) | ("all", 1) => {
                let all = name == "all";
                let mut found = false;
                for item in iterate(&input)? {
                    self.eval(arg(0), item, env, &mut |v| {
                        found |= v.truthy() != all;
                        Ok(())
                    })?;
                }
                out(Json::Bool(found != all))
            }
            ("any", 2) | ("all", 2) => {
                let all = name == "all";
                let id = self.fresh_stop();
                let mut found = false;
                let result = self.eval(arg(0), input.clone(), env, &mut |item| {
                    self.eval(arg(1), item, env, &mut |v| {
                        if v.truthy() != all {
                            found = true;
                            return Err(Stop::Enough(id));
                        }
                        Ok(())
                    })
                });
                match result {
                    Err(Stop::Enough(stopped)) if stopped == id => {}
                    other => other?,
                }
                out(Json::Bool(found != all))
            }
            ("range", 1) => self.eval(arg(0), input.clone(), env, &mut |upto| range(0.0, number(&upto, "Range bounds must be numeric")?, 1.0, out)),
            ("range", 2) => self.eval(arg(0), input.clone(), env, &mut |from| {
                self.eval(arg(1), input.clone(), env, &mut |upto| {
                    range(number(&from, "Range bounds must be numeric")?, number(&upto, "Range bounds must be numeric")?, 1.0, out)
                })
            }),
            ("range", 3) => self.eval(arg(0), input.clone(), env, &mut |from| {
                self.eval(arg(1), input.clone(), env, &mut |upto| {
                    self.eval(arg(2), input.clone(), env, &mut |by| {
                        range(number(&from, "Range bounds must be numeric")?, number(&upto, "Range bounds must be numeric")?, number(&by, "Range bounds must be numeric")?, out)
                    })
                })
            }),
            ("first", 0) => out(index(&input, &Json::Number(0.0))?),
            ("last", 0) => out(index(&input, &Json::Number(-1.0))?),
            ("nth", 1) => self.eval(arg(0), input.clone(), env, &mut |n| out(index(&input, &n)?)),
            ("first", 1) => self.limited(1, arg(0), input, env, out),
            ("limit", 2) => self.eval(arg(0), input.clone(), env, &mut |n| {
                let n = number(&n, "Invalid limit")?;
                // jq 1.6's `limit`: a count below one still lets the first
                // output through (0) or all of them (negative).
                if n < 0.0 {
                    return self.eval(arg(1), input.clone(), env, out);
                }
                self.limited((n as usize).max(1), arg(1), input.clone(), env, out)
            }),
            ("last", 1) => {
                let mut last = None;
                self.eval(arg(0), input, env, &mut |v| {
                    last = Some(v);
                    Ok(())
                })?;
                match last {
                    Some(v) => out(v),
                    None => Ok(()),
                }
            }
            ("nth", 2) => self.eval(arg(0), input.clone(), env, &mut |n| {
                let n = number(&n, "Out of bounds negative array index")?;
                if n < 0.0 {
                    return fail("Out of bounds negative array index".into());
                }
                let mut seen = 0usize;
                let id = self.fresh_stop();
                let result = self.eval(arg(1), input.clone(), env, &mut |v| {
                    if seen == n as usize {
                        out(v)?;
                        return Err(Stop::Enough(id));
                    }
                    seen += 1;
                    Ok(())
                });
                match result {
                    Err(Stop::Enough(stopped)) if stopped == id => Ok(()),
                    other => other,
                }
            }),
            ("sort", 0) => {
                let mut items = sortable(&input, "sorted")?;
                items.sort_by(|a, b| a.compare(b));
                out(Json::Array(items))
            }
            ("sort_by", 1) | ("group_by", 1) | ("unique_by", 1) | ("min_by", 1) | ("max_by", 1) => {
                let what = if name == "sort_by" { "sorted" } else if name == "group_by" { "grouped" } else { "sorted" };
                let items = sortable(&input, what)?;
                let mut keyed = Vec::new();
                for item in items {
                    let key = Json::Array(self.collect(arg(0), item.clone(), env)?);
                    keyed.push((key, item));
                }
                out(by_key(name, keyed))
            }
            ("unique", 0) => {
                let mut items = sortable(&input, "sorted")?;
                items.sort_by(|a, b| a.compare(b));
                items.dedup_by(|a, b| a.equals(b));
                out(Json::Array(items))
            }
            ("min", 0) | ("max", 0) => {
                let items = sortable(&input, "sorted")?;
                let keyed = items.into_iter().map(|v| (v.clone(), v)).collect();
                out(by_key(if name == "min" { "min_by" } else { "max_by" }, keyed))
            }
            ("reverse", 0) => match input {
                Json::Array(mut a) => {
                    a.reverse();
                    out(Json::Array(a))
                }
                Json::Null => out(Json::Array(Vec::new())),
                Json::String(s) if s.is_empty() => out(Json::Array(Vec::new())),
                other => fail(format!("Cannot index {} with number", other.kind())),
            },
            ("startswith", 1) | ("endswith", 1) => self.eval(arg(0), input.clone(), env, &mut |b| match (&input, &b) {
                (Json::String(a), Json::String(b)) => out(Json::Bool(if name == "startswith" { a.starts_with(b.as_str()) } else { a.ends_with(b.as_str()) })),
                _ => fail(format!("{name}() requires string inputs")),
            }),
            ("ltrimstr", 1) | ("rtrimstr", 1) => self.eval(arg(0), input.clone(), env, &mut |b| match (&input, &b) {
                (Json::String(a), Json::String(b)) => {
                    let trimmed = if name == "ltrimstr" { a.strip_prefix(b.as_str()) } else { a.strip_suffix(b.as_str()) };
                    out(Json::String(trimmed.unwrap_or(a).to_string()))
                }
                _ => out(input.clone()),
            }),
            ("test", 1) | ("test", 2) | ("capture", 1) | ("capture", 2) | ("split", 2) | ("splits", 1) | ("splits", 2) => self.eval(arg(0), input.clone(), env, &mut |re| {
                let flags = if args.len() == 2 { self.collect(arg(1), input.clone(), env)?.into_iter().next().unwrap_or(Json::Null) } else { Json::Null };
                let (text, re, global) = regex(&input, &re, &flags)?;
                match name {
                    "test" => out(Json::Bool(re.is_match(&text))),
                    "capture" => {
                        for caps in re.captures_iter(&text) {
                            out(captures_object(&re, &caps))?;
                            if !global {
                                break;
                            }
                        }
                        Ok(())
                    }
                    _ => {
                        let pieces: Vec<Json> = re.split(&text).map(|p| Json::String(p.to_string())).collect();
                        if name == "split" {
                            return out(Json::Array(pieces));
                        }
                        pieces.into_iter().try_for_each(|p| out(p))
                    }
                }
            }),
            ("sub", 2) | ("sub", 3) | ("gsub", 2) | ("gsub", 3) => self.eval(arg(0), input.clone(), env, &mut |re| {
                let flags = if args.len() == 3 { self.collect(arg(2), input.clone(), env)?.into_iter().next().unwrap_or(Json::Null) } else { Json::Null };
                let (text, re, global) = regex(&input, &re, &flags)?;
                let global = global || name == "gsub";
                let mut result = String::new();
                let mut last = 0;
                for caps in re.captures_iter(&text) {
                    let Some(whole) = caps.get(0) else { continue };
                    result.push_str(text.get(last..whole.start()).unwrap_or(""));
                    let replacement = self.collect(arg(1), captures_object(&re, &caps), env)?.into_iter().next().unwrap_or(Json::Null);
                    match replacement {
                        Json::String(r) => result.push_str(&r),
                        other => return fail(format!("{} and {} cannot be added", describe(&Json::String(result)), describe(&other))),
                    }
                    last = whole.end();
                    if !global {
                        break;
                    }
                }
                result.push_str(text.get(last..).unwrap_or(""));
                out(Json::String(result))
            }),
            ("split", 1) => self.eval(arg(0), input.clone(), env, &mut |sep| match (&input, &sep) {
                (Json::String(s), Json::String(sep)) => out(split(s, sep)),
                _ => fail("split input and separator must be strings".into()),
            }),
            ("join", 1) => self.eval(arg(0), input.clone(), env, &mut |sep| {
                let mut acc: Option<Json> = None;
                for item in iterate(&input)? {
                    let so_far = match acc.take() {
                        None => Json::String(String::new()),
                        Some(a) => binary(Op::Add, a, sep.clone())?,
                    };
                    let piece = match item {
                        Json::Null => Json::String(String::new()),
                        Json::String(s) => Json::String(s),
                        Json::Number(_) | Json::Bool(_) => Json::String(compact(&item)),
                        other => other,
                    };
                    acc = Some(binary(Op::Add, so_far, piece)?);
                }
                out(match acc {
                    Some(Json::Null) | None => Json::String(String::new()),
                    Some(v) => v,
                })
            }),
            ("ascii_downcase", 0) | ("ascii_upcase", 0) => match input {
                Json::String(s) => out(Json::String(if name == "ascii_downcase" { s.to_ascii_lowercase() } else { s.to_ascii_uppercase() })),
                _ => fail(format!("{name} input must be a string")),
            },
            ("tostring", 0) => match input {
                Json::String(_) => out(input),
                other => out(Json::String(compact(&other))),
            },
            ("tonumber", 0) => match &input {
                Json::Number(_) => out(input),
                Json::String(s) => match super::value::parse_one(s) {
                    Ok(Json::Number(n)) => out(Json::Number(n)),
                    Ok(_) => fail(format!("Cannot parse '{s}' as JSON")),
                    Err(e) => fail(format!("{} (while parsing '{s}')", e.0)),
                },
                other => fail(format!("{} ({}) cannot be parsed as a number", other.kind(), brief(other))),
            },
            ("type", 0) => out(Json::String(input.kind().to_string())),
            ("error", 0) => Err(Stop::Error(input)),
            ("error", 1) => self.eval(arg(0), input, env, &mut |m| Err(Stop::Error(m))),
            ("del", 1) => {
                let paths = self.all_paths(arg(0), &input, env)?;
                out(delpaths(input, paths.into_iter().map(Json::Array).collect())?)
            }
            ("paths", 0) | ("paths", 1) | ("leaf_paths", 0) => {
                let mut found = Vec::new();
                recurse_paths(Vec::new(), input.clone(), &mut |p, v| {
                    if !p.is_empty() {
                        found.push((p, v));
                    }
                    Ok(())
                })?;
                for (p, v) in found {
                    let keep = match (name, args.first()) {
                        ("leaf_paths", _) => !matches!(v, Json::Array(_) | Json::Object(_)),
                        (_, Some(f)) => self.collect(f, v, env)?.iter().any(|c| c.truthy()),
                        _ => true,
                    };
                    if keep {
                        out(Json::Array(p))?;
                    }
                }
                Ok(())
            }
            ("path", 1) => self.paths(arg(0), Vec::new(), input, env, &mut |p, _| out(Json::Array(p))),
            ("getpath", 1) => self.eval(arg(0), input.clone(), env, &mut |p| match p {
                Json::Array(steps) => out(getpath(&input, &steps)?),
                _ => fail("Path must be specified as an array".into()),
            }),
            ("setpath", 2) => self.eval(arg(1), input.clone(), env, &mut |v| {
                self.eval(arg(0), input.clone(), env, &mut |p| match p {
                    Json::Array(steps) => out(setpath(input.clone(), &steps, v.clone())?),
                    _ => fail("Path must be specified as an array".into()),
                })
            }),
            ("delpaths", 1) => self.eval(arg(0), input.clone(), env, &mut |ps| match ps {
                Json::Array(paths) => out(delpaths(input.clone(), paths)?),
                _ => fail("Paths must be specified as an array".into()),
            }),
            ("tojson", 0) => out(Json::String(compact(&input))),
            ("fromjson", 0) => match &input {
                Json::String(s) => match parse_one(s) {
                    Ok(v) => out(v),
                    Err(e) => fail(format!("{} (while parsing '{s}')", e.0)),
                },
                other => fail(format!("{} ({}) cannot be parsed as JSON", other.kind(), brief(other))),
            },
            ("recurse", 0) => recurse_values(input, out),
            ("recurse", 1) => self.recurse_with(arg(0), input, env, out),
            ("env", 0) => out(self.environment.clone()),
            ("input", 0) => {
                let next = self.inputs.borrow_mut().pop_front();
                let at = next.as_ref().map_or_else(|| self.read_at.borrow().clone().unwrap_or_else(|| "<stdin>:0".into()), |(_, at)| at.clone());
                *self.read_at.borrow_mut() = Some(at);
                match next {
                    Some((v, _)) => out(v),
                    // jq 1.6's words when the inputs are used up.
                    None => fail("break".into()),
                }
            }
            ("inputs", 0) => loop {
                let next = self.inputs.borrow_mut().pop_front();
                match next {
                    Some((v, at)) => {
                        *self.read_at.borrow_mut() = Some(at);
                        out(v)?
                    }
                    None => return Ok(()),
                }
            },
            ("floor", 0) | ("ceil", 0) | ("round", 0) | ("fabs", 0) | ("sqrt", 0) => match input {
                Json::Number(n) => out(Json::Number(match name {
                    "floor" => n.floor(),
                    "ceil" => n.ceil(),
                    "round" => n.round(),
                    "fabs" => n.abs(),
                    _ => n.sqrt(),
                })),
                other => fail(format!("{} ({}) number required", other.kind(), brief(&other))),
            },
            ("flatten", 0) => out(flatten(&input, 1e9)?),
            ("flatten", 1) => self.eval(arg(0), input.clone(), env, &mut |d| {
                let depth = number(&d, "flatten depth must not be negative")?;
                if depth < 0.0 {
                    return fail("flatten depth must not be negative".into());
                }
                out(flatten(&input, depth)?)
            }),
            ("explode", 0) => match &input {
                Json::String(s) => out(Json::Array(s.chars().map(|c| Json::Number(c as u32 as f64)).collect())),
                other => fail(format!("{} ({}) cannot be exploded", other.kind(), brief(other))),
            },
            ("implode", 0) => match &input {
                Json::Array(codes) => {
                    let mut s = String::new();
                    for c in codes {
                        let Json::Number(n) = c else { return fail("Implode input must be an array of codepoints".into()) };
                        s.push(char::from_u32(*n as u32).unwrap_or('\u{fffd}'));
                    }
                    out(Json::String(s))
                }
                _ => fail("Implode input must be an array".into()),
            },
            ("indices", 1) | ("index", 1) | ("rindex", 1) => self.eval(arg(0), input.clone(), env, &mut |i| {
                let found = indices(&input, &i)?;
                out(match (name, found) {
                    ("indices", f) => f,
                    (_, Json::Array(all)) => {
                        let pick = if name == "index" { all.first() } else { all.last() };
                        pick.cloned().unwrap_or(Json::Null)
                    }
                    (_, other) => other,
                })
            }),
            ("arrays", 0) | ("objects", 0) | ("iterables", 0) | ("booleans", 0) | ("numbers", 0) | ("strings", 0) | ("nulls", 0) | ("scalars", 0) => {
                let keep = match name {
                    "arrays" => matches!(input, Json::Array(_)),
                    "objects" => matches!(input, Json::Object(_)),
                    "iterables" => matches!(input, Json::Array(_) | Json::Object(_)),
                    "booleans" => matches!(input, Json::Bool(_)),
                    "numbers" => matches!(input, Json::Number(_)),
                    "strings" => matches!(input, Json::String(_)),
                    "nulls" => input == Json::Null,
                    _ => !matches!(input, Json::Array(_) | Json::Object(_)),
                };
                if keep { out(input) } else { Ok(()) }
            }
            ("isempty", 1) => {
                let id = self.fresh_stop();
                let mut empty = true;
                match self.eval(arg(0), input, env, &mut |_| {
                    empty = false;
                    Err(Stop::Enough(id))
                }) {
                    Err(Stop::Enough(stopped)) if stopped == id => {}
                    other => other?,
                }
                out(Json::Bool(empty))
            }
            ("walk", 1) => {
                let walked = self.walk(arg(0), input, env)?;
                for v in walked {
                    out(v)?;
                }
                Ok(())
            }
            ("infinite", 0) => out(Json::Number(f64::INFINITY)),
            ("nan", 0) => out(Json::Number(f64::NAN)),
            ("isnan", 0) | ("isinfinite", 0) => match input {
                Json::Number(n) => out(Json::Bool(if name == "isnan" { n.is_nan() } else { n.is_infinite() })),
                _ => fail("number required".into()),
            },
            ("while", 2) | ("until", 2) => {
                let mut current = input;
                for _ in 0..100_000 {
                    let go = self.collect(arg(0), current.clone(), env)?.first().is_some_and(|c| c.truthy());
                    if name == "while" {
                        if !go {
                            return Ok(());
                        }
                        out(current.clone())?;
                    } else if go {
                        return out(current);
                    }
                    match self.collect(arg(1), current, env)?.into_iter().last() {
                        Some(next) => current = shallow(next)?,
                        None => return Ok(()),
                    }
                }
                fail(format!("{name}: more than 100000 steps in this simulation"))
            }
            // `def IN(s): any(s == .; .);` and `def IN(src; s): any(src | IN(s); .);`
            ("IN", 1) | ("IN", 2) => {
                let (source, set) = if args.len() == 2 { (self.collect(arg(0), input.clone(), env)?, arg(1)) } else { (vec![input.clone()], arg(0)) };
                for item in source {
                    let id = self.fresh_stop();
                    let mut found = false;
                    match self.eval(set, item.clone(), env, &mut |v| {
                        if v.equals(&item) {
                            found = true;
                            return Err(Stop::Enough(id));
                        }
                        Ok(())
                    }) {
                        Err(Stop::Enough(stopped)) if stopped == id => {}
                        other => other?,
                    }
                    if found {
                        return out(Json::Bool(true));
                    }
                }
                out(Json::Bool(false))
            }
            // `def INDEX(stream; idx_expr): reduce stream as $row ({}; .[$row|idx_expr|tostring] |= $row);`
            ("INDEX", 1) | ("INDEX", 2) => {
                let (rows, key) = if args.len() == 2 { (self.collect(arg(0), input.clone(), env)?, arg(1)) } else { (iterate(&input)?, arg(0)) };
                let mut map = IndexMap::new();
                for row in rows {
                    for k in self.collect(key, row.clone(), env)? {
                        let k = match k {
                            Json::String(s) => s,
                            other => compact(&other),
                        };
                        map.insert(k, row.clone());
                    }
                }
                out(Json::Object(map))
            }
            // `def repeat(f): def _repeat: f | (., _repeat); _repeat;`
            ("repeat", 1) => self.repeat(arg(0), input, env, out),
            _ => fail(format!("{name}/{} is not simulated here", args.len())),
        }
    }

    /// Up to `n` outputs of `f`.
    fn limited(&self, n: usize, f: &Ast, input: Json, env: &Env, out: Out) -> Flow {
        let id = self.fresh_stop();
        let mut count = 0;
        match self.eval(f, input, env, &mut |v| {
            count += 1;
            out(v)?;
            if count >= n {
                return Err(Stop::Enough(id));
            }
            Ok(())
        }) {
            Err(Stop::Enough(stopped)) if stopped == id => Ok(()),
            other => other,
        }
    }

    /// `repeat(f)` as jq 1.6 runs it: the outputs of `f` on the same
    /// input, again and again (`1 | repeat(.*2)` gives 2, 2, 2, ...), for
    /// at most as many rounds as `while` takes steps.
    fn repeat(&self, f: &Ast, input: Json, env: &Env, out: Out) -> Flow {
        for _ in 0..100_000 {
            for value in self.collect(f, input.clone(), env)? {
                out(shallow(value)?)?;
            }
        }
        fail("repeat: more than 100000 steps in this simulation".into())
    }

    /// `recurse(f)`: the input, then `recurse(f)` of each output of `f`.
    fn recurse_with(&self, f: &Ast, input: Json, env: &Env, out: Out) -> Flow {
        self.depth_first("recurse", f, vec![input], env, out)
    }

    /// Gives each of `first`, each followed by what `f` makes of it, depth
    /// first, down to [`MAX_DEPTH`] levels.
    fn depth_first(&self, name: &str, f: &Ast, first: Vec<Json>, env: &Env, out: Out) -> Flow {
        let mut levels = vec![first.into_iter()];
        while let Some(level) = levels.last_mut() {
            let Some(value) = level.next() else {
                levels.pop();
                continue;
            };
            let value = shallow(value)?;
            out(value.clone())?;
            if levels.len() > MAX_DEPTH {
                return fail(format!("{name}: more than {MAX_DEPTH} levels in this simulation"));
            }
            levels.push(self.collect(f, value, env)?.into_iter());
        }
        Ok(())
    }

    fn walk(&self, f: &Ast, input: Json, env: &Env) -> Result<Vec<Json>, Stop> {
        let inner = match input {
            Json::Object(map) => {
                let mut walked = IndexMap::new();
                for (k, v) in map {
                    if let Some(last) = self.walk(f, v, env)?.into_iter().last() {
                        walked.insert(k, last);
                    }
                }
                Json::Object(walked)
            }
            Json::Array(items) => {
                let mut walked = Vec::new();
                for v in items {
                    walked.extend(self.walk(f, v, env)?);
                }
                Json::Array(walked)
            }
            other => other,
        };
        self.collect(f, inner, env)
    }
}

fn describe(v: &Json) -> String {
    format!("{} ({})", v.kind(), brief(v))
}

fn number(v: &Json, message: &str) -> Result<f64, Stop> {
    match v {
        Json::Number(n) => Ok(*n),
        _ => fail(message.to_string()),
    }
}

fn range(from: f64, upto: f64, by: f64, out: Out) -> Flow {
    let mut at = from;
    let mut count = 0u32;
    while (by > 0.0 && at < upto) || (by < 0.0 && at > upto) {
        out(Json::Number(at))?;
        at += by;
        count += 1;
        if count > 1_000_000 {
            return fail("range: more than 1000000 values in this simulation".into());
        }
    }
    Ok(())
}

fn recurse_values(input: Json, out: Out) -> Flow {
    out(input.clone())?;
    match input {
        Json::Array(items) => items.into_iter().try_for_each(|v| recurse_values(v, out)),
        Json::Object(map) => map.into_iter().try_for_each(|(_, v)| recurse_values(v, out)),
        _ => Ok(()),
    }
}

fn recurse_paths(path: Vec<Json>, input: Json, out: PathOut) -> Flow {
    out(path.clone(), input.clone())?;
    match input {
        Json::Array(items) => {
            for (i, v) in items.into_iter().enumerate() {
                let mut next = path.clone();
                next.push(Json::Number(i as f64));
                recurse_paths(next, v, out)?;
            }
            Ok(())
        }
        Json::Object(map) => {
            for (k, v) in map {
                let mut next = path.clone();
                next.push(Json::String(k));
                recurse_paths(next, v, out)?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

pub fn iterate(v: &Json) -> Result<Vec<Json>, Stop> {
    match v {
        Json::Array(items) => Ok(items.clone()),
        Json::Object(map) => Ok(map.values().cloned().collect()),
        other => fail(format!("Cannot iterate over {}", describe(other))),
    }
}

/// An array index as jq reads it: negative from the end, fractions down.
fn array_index(len: usize, n: f64) -> Option<usize> {
    let i = n.floor();
    let i = if i < 0.0 { i + len as f64 } else { i };
    if i < 0.0 || i >= len as f64 {
        None
    } else {
        Some(i as usize)
    }
}

pub fn index(target: &Json, key: &Json) -> Result<Json, Stop> {
    match (target, key) {
        (Json::Object(map), Json::String(k)) => Ok(map.get(k).cloned().unwrap_or(Json::Null)),
        // jq 1.6 reads a fractional index as no element.
        (Json::Array(_), Json::Number(n)) if n.fract() != 0.0 => Ok(Json::Null),
        (Json::Array(items), Json::Number(n)) => Ok(array_index(items.len(), *n).and_then(|i| items.get(i).cloned()).unwrap_or(Json::Null)),
        (Json::Null, Json::String(_) | Json::Number(_) | Json::Object(_)) => Ok(Json::Null),
        (Json::Array(_) | Json::String(_), Json::Object(range)) => slice(target, range.get("start").unwrap_or(&Json::Null), range.get("end").unwrap_or(&Json::Null)),
        (Json::Array(_), Json::Array(_)) => indices(target, key),
        (t, Json::String(k)) if k.len() < 30 => fail(format!("Cannot index {} with string \"{k}\"", t.kind())),
        (t, k) => fail(format!("Cannot index {} with {}", t.kind(), k.kind())),
    }
}

fn slice_bounds(len: usize, from: &Json, to: &Json) -> Result<(usize, usize), Stop> {
    let bound = |v: &Json, default: f64| -> Result<f64, Stop> {
        match v {
            Json::Null => Ok(default),
            Json::Number(n) => Ok(*n),
            _ => fail("Start and end indices of an array slice must be numbers".into()),
        }
    };
    let len_f = len as f64;
    let clamp = |n: f64| -> usize {
        let n = if n < 0.0 { n + len_f } else { n };
        n.max(0.0).min(len_f) as usize
    };
    let start = clamp(bound(from, 0.0)?.floor());
    let end = clamp(bound(to, len_f)?.ceil());
    Ok((start, end.max(start)))
}

fn slice(target: &Json, from: &Json, to: &Json) -> Result<Json, Stop> {
    match target {
        Json::Null => Ok(Json::Null),
        Json::Array(items) => {
            let (s, e) = slice_bounds(items.len(), from, to)?;
            Ok(Json::Array(items.get(s..e).unwrap_or(&[]).to_vec()))
        }
        Json::String(text) => {
            let chars: Vec<char> = text.chars().collect();
            let (s, e) = slice_bounds(chars.len(), from, to)?;
            Ok(Json::String(chars.get(s..e).unwrap_or(&[]).iter().collect()))
        }
        other => fail(format!("Cannot index {} with object", other.kind())),
    }
}

fn has(container: &Json, key: &Json) -> Result<bool, Stop> {
    match (container, key) {
        (Json::Object(map), Json::String(k)) => Ok(map.contains_key(k)),
        (Json::Array(items), Json::Number(n)) => Ok(*n >= 0.0 && (*n as usize) < items.len()),
        (c, k) => fail(format!("Cannot check whether {} has a {} key", c.kind(), k.kind())),
    }
}

fn contains(a: &Json, b: &Json) -> Result<bool, Stop> {
    match (a, b) {
        (Json::Object(x), Json::Object(y)) => {
            for (k, v) in y {
                match x.get(k) {
                    Some(w) if contains(w, v)? => {}
                    _ => return Ok(false),
                }
            }
            Ok(true)
        }
        (Json::Array(x), Json::Array(y)) => {
            for v in y {
                let mut found = false;
                for w in x {
                    if w.kind() == v.kind() && contains(w, v)? {
                        found = true;
                        break;
                    }
                }
                if !found {
                    return Ok(false);
                }
            }
            Ok(true)
        }
        (Json::String(x), Json::String(y)) => Ok(x.contains(y.as_str())),
        (x, y) if x.kind() == y.kind() => Ok(x.equals(y)),
        (x, y) => fail(format!("{} and {} cannot have their containment checked", describe(x), describe(y))),
    }
}

fn to_entries(input: &Json) -> Result<Json, Stop> {
    let entry = |k: Json, v: Json| Json::Object(IndexMap::from([("key".to_string(), k), ("value".to_string(), v)]));
    match input {
        Json::Object(map) => Ok(Json::Array(map.iter().map(|(k, v)| entry(Json::String(k.clone()), v.clone())).collect())),
        Json::Array(items) => Ok(Json::Array(items.iter().enumerate().map(|(i, v)| entry(Json::Number(i as f64), v.clone())).collect())),
        other => fail(format!("{} ({}) has no keys", other.kind(), brief(other))),
    }
}

/// jq 1.6's `from_entries`: the key from `key`, `k`, `name`, `Name`, `K`
/// or `Key` (the first that is neither null nor false; a string), the
/// value from `value` or `v`.
fn from_entries(input: &Json) -> Result<Json, Stop> {
    let mut map = IndexMap::new();
    for entry in iterate(input)? {
        let mut key = Json::Null;
        for name in ["key", "k", "name", "Name", "K", "Key"] {
            let found = index(&entry, &Json::String(name.into()))?;
            if found.truthy() {
                key = found;
                break;
            }
        }
        let Json::String(key) = key else { return fail(format!("Cannot use {} as object key", describe(&key))) };
        let value = match &entry {
            Json::Object(o) if o.contains_key("value") => o.get("value").cloned().unwrap_or(Json::Null),
            _ => index(&entry, &Json::String("v".into()))?,
        };
        map.insert(key, value);
    }
    Ok(Json::Object(map))
}

fn sortable(input: &Json, what: &str) -> Result<Vec<Json>, Stop> {
    match input {
        Json::Array(items) => Ok(items.clone()),
        other => fail(format!("{} ({}) cannot be {what}, as it is not an array", other.kind(), brief(other))),
    }
}

/// `sort_by`, `group_by`, `unique_by`, `min_by`, `max_by` over items and their keys.
fn by_key(name: &str, mut keyed: Vec<(Json, Json)>) -> Json {
    match name {
        "min_by" | "max_by" => {
            let mut best: Option<(Json, Json)> = None;
            for (k, v) in keyed {
                let better = match &best {
                    None => true,
                    Some((bk, _)) => {
                        let o = k.compare(bk);
                        if name == "min_by" { o == Ordering::Less } else { o != Ordering::Less }
                    }
                };
                if better {
                    best = Some((k, v));
                }
            }
            best.map(|(_, v)| v).unwrap_or(Json::Null)
        }
        _ => {
            keyed.sort_by(|a, b| a.0.compare(&b.0));
            if name == "sort_by" {
                return Json::Array(keyed.into_iter().map(|(_, v)| v).collect());
            }
            let mut groups: Vec<(Json, Vec<Json>)> = Vec::new();
            for (k, v) in keyed {
                match groups.last_mut() {
                    Some((gk, members)) if gk.equals(&k) => members.push(v),
                    _ => groups.push((k, vec![v])),
                }
            }
            if name == "unique_by" {
                Json::Array(groups.into_iter().filter_map(|(_, m)| m.into_iter().next()).collect())
            } else {
                Json::Array(groups.into_iter().map(|(_, m)| Json::Array(m)).collect())
            }
        }
    }
}

fn split(s: &str, sep: &str) -> Json {
    if s.is_empty() {
        return Json::Array(Vec::new());
    }
    if sep.is_empty() {
        return Json::Array(s.chars().map(|c| Json::String(c.to_string())).collect());
    }
    Json::Array(s.split(sep).map(|p| Json::String(p.to_string())).collect())
}

fn flatten(input: &Json, depth: f64) -> Result<Json, Stop> {
    let Json::Array(items) = input else { return fail(format!("Cannot iterate over {}", describe(input))) };
    let mut all = Vec::new();
    for item in items {
        match item {
            Json::Array(_) if depth > 0.0 => {
                if let Json::Array(inner) = flatten(item, depth - 1.0)? {
                    all.extend(inner);
                }
            }
            other => all.push(other.clone()),
        }
    }
    Ok(Json::Array(all))
}

fn indices(input: &Json, what: &Json) -> Result<Json, Stop> {
    match (input, what) {
        (Json::Null, _) | (_, Json::Null) => Ok(Json::Null),
        (Json::String(s), Json::String(w)) => {
            if w.is_empty() {
                return Ok(Json::Null);
            }
            // jq counts bytes here.
            let found = s.match_indices(w.as_str()).map(|(i, _)| Json::Number(i as f64)).collect();
            Ok(Json::Array(found))
        }
        (Json::Array(items), Json::Array(seq)) => {
            if seq.is_empty() {
                return Ok(Json::Null);
            }
            let mut found = Vec::new();
            for start in 0..items.len() {
                if items.get(start..start + seq.len()).is_some_and(|w| w.iter().zip(seq).all(|(a, b)| a.equals(b))) {
                    found.push(Json::Number(start as f64));
                }
            }
            Ok(Json::Array(found))
        }
        (Json::Array(items), one) => Ok(Json::Array(items.iter().enumerate().filter(|(_, v)| v.equals(one)).map(|(i, _)| Json::Number(i as f64)).collect())),
        (i, w) => fail(format!("Cannot index {} with {}", i.kind(), w.kind())),
    }
}

/// A jq regular expression: jq's are Oniguruma's; regex-lite reads the
/// common syntax alike (classes, groups, named groups, anchors, `\d`,
/// `\s`, `\w`). `g` (every match) is the caller's.
fn regex(input: &Json, re: &Json, flags: &Json) -> Result<(String, regex_lite::Regex, bool), Stop> {
    let Json::String(text) = input else { return fail(format!("{} cannot be matched, as it is not a string", describe(input))) };
    let Json::String(pattern) = re else { return fail(format!("{} cannot be matched, as it is not a string", describe(re))) };
    let flags = match flags {
        Json::Null => String::new(),
        Json::String(f) => f.clone(),
        other => return fail(format!("{} is not a string", describe(other))),
    };
    let mut prefix = String::new();
    let mut global = false;
    for f in flags.chars() {
        match f {
            'i' | 'x' | 's' => prefix.push(f),
            'g' => global = true,
            'n' | 'p' | 'l' => {}
            _ => return fail(format!("{flags} is not a valid modifier string")),
        }
    }
    let full = if prefix.is_empty() { pattern.clone() } else { format!("(?{prefix}){pattern}") };
    match regex_lite::Regex::new(&full) {
        Ok(r) => Ok((text.clone(), r, global)),
        Err(_) => fail(format!("Regex failure: {pattern} is not a regular expression this simulation reads (regex-lite's syntax, not Oniguruma's)")),
    }
}

/// A match's named groups, as `capture` and `sub`'s replacement see them.
fn captures_object(re: &regex_lite::Regex, caps: &regex_lite::Captures) -> Json {
    let mut map = IndexMap::new();
    for name in re.capture_names().flatten() {
        let value = caps.name(name).map_or(Json::Null, |m| Json::String(m.as_str().to_string()));
        map.insert(name.to_string(), value);
    }
    Json::Object(map)
}

pub fn binary(op: Op, l: Json, r: Json) -> Result<Json, Stop> {
    use Json::*;
    let cannot = |l: &Json, r: &Json, verb: &str| fail(format!("{} and {} cannot be {verb}", describe(l), describe(r)));
    match op {
        Op::Eq => Ok(Bool(l.equals(&r))),
        Op::Ne => Ok(Bool(!l.equals(&r))),
        Op::Lt => Ok(Bool(l.compare(&r) == Ordering::Less)),
        Op::Le => Ok(Bool(l.compare(&r) != Ordering::Greater)),
        Op::Gt => Ok(Bool(l.compare(&r) == Ordering::Greater)),
        Op::Ge => Ok(Bool(l.compare(&r) != Ordering::Less)),
        Op::Add => match (l, r) {
            (Null, x) | (x, Null) => Ok(x),
            (Number(a), Number(b)) => Ok(Number(a + b)),
            (String(a), String(b)) => Ok(String(a + &b)),
            (Array(mut a), Array(b)) => {
                a.extend(b);
                Ok(Array(a))
            }
            (Object(mut a), Object(b)) => {
                for (k, v) in b {
                    a.insert(k, v);
                }
                Ok(Object(a))
            }
            (l, r) => cannot(&l, &r, "added"),
        },
        Op::Sub => match (l, r) {
            (Number(a), Number(b)) => Ok(Number(a - b)),
            (Array(a), Array(b)) => Ok(Array(a.into_iter().filter(|x| !b.iter().any(|y| x.equals(y))).collect())),
            (l, r) => cannot(&l, &r, "subtracted"),
        },
        Op::Mul => match (l, r) {
            (Number(a), Number(b)) => Ok(Number(a * b)),
            (String(s), Number(n)) | (Number(n), String(s)) => {
                if n <= 0.0 {
                    Ok(Null)
                } else {
                    let times = if n < 1.0 { 1 } else { n as usize };
                    Ok(String(s.repeat(times.min(1 << 20))))
                }
            }
            (Object(a), Object(b)) => Ok(deep_merge(Object(a), Object(b))),
            (l, r) => cannot(&l, &r, "multiplied"),
        },
        Op::Div => match (l, r) {
            (Number(a), Number(b)) => {
                if b == 0.0 {
                    return cannot(&Number(a), &Number(b), "divided because the divisor is zero");
                }
                Ok(Number(a / b))
            }
            (String(a), String(b)) => Ok(split(&a, &b)),
            (l, r) => cannot(&l, &r, "divided"),
        },
        Op::Mod => match (l, r) {
            (Number(a), Number(b)) => {
                let (x, y) = (a as i64, b as i64);
                if y == 0 {
                    return cannot(&Number(a), &Number(b), "divided because the divisor is zero");
                }
                Ok(Number(x.wrapping_rem(y) as f64))
            }
            (l, r) => cannot(&l, &r, "divided"),
        },
    }
}

fn deep_merge(a: Json, b: Json) -> Json {
    match (a, b) {
        (Json::Object(mut x), Json::Object(y)) => {
            for (k, v) in y {
                let merged = match x.shift_remove_full(&k) {
                    Some((i, _, old @ Json::Object(_))) if matches!(v, Json::Object(_)) => {
                        let m = deep_merge(old, v);
                        x.shift_insert(i, k, m);
                        continue;
                    }
                    Some((i, _, _)) => {
                        x.shift_insert(i, k, v);
                        continue;
                    }
                    None => v,
                };
                x.insert(k, merged);
            }
            Json::Object(x)
        }
        (_, b) => b,
    }
}

pub fn getpath(root: &Json, path: &[Json]) -> Result<Json, Stop> {
    let mut at = root.clone();
    for step in path {
        if at == Json::Null {
            return Ok(Json::Null);
        }
        at = index(&at, step)?;
    }
    Ok(at)
}

pub fn setpath(root: Json, path: &[Json], value: Json) -> Result<Json, Stop> {
    // Each step is native stack.
    if path.len() > super::value::MAX_NESTING {
        return fail(format!("Paths longer than {} are not simulated here", super::value::MAX_NESTING));
    }
    let Some((step, rest)) = path.split_first() else { return Ok(value) };
    match (root, step) {
        (Json::Null, Json::String(k)) => {
            let inner = setpath(Json::Null, rest, value)?;
            Ok(Json::Object(IndexMap::from([(k.clone(), inner)])))
        }
        (Json::Object(mut map), Json::String(k)) => {
            let old = map.get(k).cloned().unwrap_or(Json::Null);
            let inner = setpath(old, rest, value)?;
            map.insert(k.clone(), inner);
            Ok(Json::Object(map))
        }
        (root @ (Json::Null | Json::Array(_)), Json::Number(n)) => {
            let mut items = match root {
                Json::Array(items) => items,
                _ => Vec::new(),
            };
            let mut i = n.floor();
            if i < 0.0 {
                i += items.len() as f64;
                if i < 0.0 {
                    return fail("Out of bounds negative array index".into());
                }
            }
            let i = i as usize;
            // jq grows the array to any index; the page's memory is smaller.
            if i > 100_000 {
                return fail("Array index too large for this simulation (at most 100000)".into());
            }
            if i >= items.len() {
                items.resize(i + 1, Json::Null);
            }
            let old = items.get(i).cloned().unwrap_or(Json::Null);
            let inner = setpath(old, rest, value)?;
            if let Some(slot) = items.get_mut(i) {
                *slot = inner;
            }
            Ok(Json::Array(items))
        }
        (root @ (Json::Null | Json::Array(_)), Json::Object(range)) => {
            let mut items = match root {
                Json::Array(items) => items,
                _ => Vec::new(),
            };
            let (s, e) = slice_bounds(items.len(), range.get("start").unwrap_or(&Json::Null), range.get("end").unwrap_or(&Json::Null))?;
            let old = Json::Array(items.get(s..e).unwrap_or(&[]).to_vec());
            match setpath(old, rest, value)? {
                Json::Array(new) => {
                    items.splice(s..e, new);
                    Ok(Json::Array(items))
                }
                _ => fail("A slice of an array can only be assigned another array".into()),
            }
        }
        (root, Json::String(k)) => fail(format!("Cannot index {} with \"{k}\"", root.kind())),
        (root, step) => fail(format!("Cannot update field at object index of {}", if matches!(root, Json::Array(_)) { step.kind() } else { root.kind() })),
    }
}

fn delpaths(root: Json, mut paths: Vec<Json>) -> Result<Json, Stop> {
    // The deepest and last first, so that earlier indices stay put.
    paths.sort_by(|a, b| b.compare(a));
    let mut root = root;
    for p in paths {
        let Json::Array(steps) = p else { return fail("Path must be specified as an array".into()) };
        root = delpath(root, &steps)?;
    }
    Ok(root)
}

fn delpath(root: Json, path: &[Json]) -> Result<Json, Stop> {
    if path.len() > super::value::MAX_NESTING {
        return fail(format!("Paths longer than {} are not simulated here", super::value::MAX_NESTING));
    }
    let Some((step, rest)) = path.split_first() else { return Ok(Json::Null) };
    match (root, step) {
        (Json::Null, _) => Ok(Json::Null),
        (Json::Object(mut map), Json::String(k)) => {
            if rest.is_empty() {
                map.shift_remove(k);
            } else if let Some(old) = map.get(k).cloned() {
                let inner = delpath(old, rest)?;
                map.insert(k.clone(), inner);
            }
            Ok(Json::Object(map))
        }
        (Json::Array(mut items), Json::Number(n)) => {
            let Some(i) = array_index(items.len(), *n) else {
                if *n < 0.0 && (-*n) as usize > items.len() {
                    return fail("Out of bounds negative array index".into());
                }
                return Ok(Json::Array(items));
            };
            if rest.is_empty() {
                items.remove(i);
            } else if let Some(old) = items.get(i).cloned() {
                let inner = delpath(old, rest)?;
                if let Some(slot) = items.get_mut(i) {
                    *slot = inner;
                }
            }
            Ok(Json::Array(items))
        }
        (Json::Array(mut items), Json::Object(range)) => {
            let (s, e) = slice_bounds(items.len(), range.get("start").unwrap_or(&Json::Null), range.get("end").unwrap_or(&Json::Null))?;
            if rest.is_empty() {
                items.drain(s..e);
                return Ok(Json::Array(items));
            }
            fail("Deleting inside a slice is not simulated here".into())
        }
        (root, Json::String(k)) => fail(format!("Cannot delete field at object index of {}", if k.is_empty() { root.kind() } else { root.kind() })),
        (root, step) => fail(format!("Cannot delete field at index of {}", if matches!(root, Json::Object(_)) { step.kind() } else { root.kind() })),
    }
}

/// `@text`, `@json`, `@csv`, `@tsv`, `@html`, `@uri`, `@sh`, `@base64`, `@base64d`.
pub fn format(name: &str, v: &Json) -> Result<String, Stop> {
    let text = |v: &Json| match v {
        Json::String(s) => s.clone(),
        other => compact(other),
    };
    match name {
        "text" => Ok(text(v)),
        "json" => Ok(compact(v)),
        "csv" | "tsv" => {
            let Json::Array(items) = v else { return fail(format!("{} cannot be {}-formatted, only array", describe(v), name)) };
            let mut cells = Vec::new();
            for item in items {
                cells.push(match item {
                    Json::Number(_) => compact(item),
                    Json::Bool(b) => b.to_string(),
                    Json::Null => String::new(),
                    Json::String(s) if name == "csv" => format!("\"{}\"", s.replace('"', "\"\"")),
                    Json::String(s) => s.replace('\\', "\\\\").replace('\t', "\\t").replace('\n', "\\n").replace('\r', "\\r"),
                    other => return fail(format!("{} is not valid in a csv row", describe(other))),
                });
            }
            Ok(cells.join(if name == "csv" { "," } else { "\t" }))
        }
        "html" => Ok(text(v).replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('\'', "&#39;").replace('"', "&quot;")),
        "uri" => {
            let mut out = String::new();
            for b in text(v).bytes() {
                if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                    out.push(b as char);
                } else {
                    out.push_str(&format!("%{b:02X}"));
                }
            }
            Ok(out)
        }
        "sh" => {
            let quote = |v: &Json| -> Result<String, Stop> {
                match v {
                    Json::String(s) => Ok(format!("'{}'", s.replace('\'', "'\\''"))),
                    Json::Array(_) | Json::Object(_) => fail(format!("{} can not be escaped for shell", describe(v))),
                    other => Ok(compact(other)),
                }
            };
            match v {
                Json::Array(items) => Ok(items.iter().map(quote).collect::<Result<Vec<_>, _>>()?.join(" ")),
                other => quote(other),
            }
        }
        "base64" => {
            use base64::Engine;
            Ok(base64::engine::general_purpose::STANDARD.encode(text(v).as_bytes()))
        }
        "base64d" => {
            use base64::Engine;
            let input = text(v);
            let trimmed = input.trim_end_matches('=');
            match base64::engine::general_purpose::STANDARD_NO_PAD.decode(trimmed.as_bytes()) {
                Ok(bytes) => Ok(String::from_utf8_lossy(&bytes).into_owned()),
                Err(_) => fail(format!("{} is not valid base64 data", describe(v))),
            }
        }
        _ => fail(format!("{name} is not a valid format")),
    }
}
