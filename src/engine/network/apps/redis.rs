//! Redis: strings, counters and lists in memory. The keyspace lives in the
//! container's process, so it is lost when the container restarts.

use std::collections::BTreeMap;

use super::{Incoming, Payload, Reply, ServeCx};
use crate::engine::network::redis_proto::{split_args, RespValue};

#[derive(Clone, Debug, PartialEq, Eq)]
enum Value {
    Str(String),
    List(Vec<String>),
}

#[derive(Clone, Debug, Default)]
pub struct Redis {
    keys: BTreeMap<String, Value>,
}

const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";
const NOT_INTEGER: &str = "ERR value is not an integer or out of range";

fn arity(cmd: &str) -> String {
    format!("ERR wrong number of arguments for '{cmd}' command")
}

/// Redis's glob matching for `KEYS`.
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    match (pattern.first(), text.first()) {
        (None, None) => true,
        (Some(b'*'), _) => glob(&pattern[1..], text) || (!text.is_empty() && glob(pattern, &text[1..])),
        (Some(b'?'), Some(_)) => glob(&pattern[1..], &text[1..]),
        (Some(p), Some(t)) if p == t => glob(&pattern[1..], &text[1..]),
        _ => false,
    }
}

impl Redis {
    pub fn serve(&mut self, req: &Incoming, cx: &mut ServeCx) -> Reply {
        cx.cpu_us += 20;
        match &req.payload {
            Payload::Redis(args) => Reply::Redis(self.command(args)),
            Payload::Raw(text) => {
                // Inline commands, one per line, as `nc` sends them.
                let mut out = String::new();
                for line in text.lines().filter(|l| !l.trim().is_empty()) {
                    let reply = match split_args(line) {
                        Some(args) => self.command(&args),
                        None => RespValue::Error("ERR Protocol error: unbalanced quotes in request".into()),
                    };
                    out.push_str(&reply.wire());
                    if line.trim().eq_ignore_ascii_case("quit") {
                        break;
                    }
                }
                Reply::Raw(out)
            }
            // An HTTP request to Redis is refused by its protocol check.
            Payload::Http(_) => Reply::Closed,
            Payload::Dns(_) => Reply::Silent,
        }
    }

    fn int_of(&self, key: &str) -> Result<i64, RespValue> {
        match self.keys.get(key) {
            None => Ok(0),
            Some(Value::Str(s)) => s.parse::<i64>().map_err(|_| RespValue::Error(NOT_INTEGER.into())),
            Some(Value::List(_)) => Err(RespValue::Error(WRONGTYPE.into())),
        }
    }

    fn add(&mut self, key: &str, by: i64) -> RespValue {
        match self.int_of(key) {
            Ok(n) => match n.checked_add(by) {
                Some(v) => {
                    self.keys.insert(key.to_string(), Value::Str(v.to_string()));
                    RespValue::Integer(v)
                }
                None => RespValue::Error("ERR increment or decrement would overflow".into()),
            },
            Err(e) => e,
        }
    }

    /// Runs one command and returns its reply.
    pub fn command(&mut self, args: &[String]) -> RespValue {
        let Some(name) = args.first() else { return RespValue::Error("ERR empty command".into()) };
        let cmd = name.to_ascii_lowercase();
        let a: Vec<&str> = args.iter().skip(1).map(String::as_str).collect();
        let bulk = |s: &str| RespValue::Bulk(Some(s.to_string()));
        match (cmd.as_str(), a.as_slice()) {
            ("ping", []) => RespValue::Simple("PONG".into()),
            ("ping", [msg]) => bulk(msg),
            ("echo", [msg]) => bulk(msg),
            ("set", [key, value, ..]) => {
                self.keys.insert(key.to_string(), Value::Str(value.to_string()));
                RespValue::ok()
            }
            ("get", [key]) => match self.keys.get(*key) {
                None => RespValue::Bulk(None),
                Some(Value::Str(s)) => bulk(s),
                Some(Value::List(_)) => RespValue::Error(WRONGTYPE.into()),
            },
            ("incr", [key]) => self.add(key, 1),
            ("decr", [key]) => self.add(key, -1),
            ("incrby" | "decrby", [key, by]) => match by.parse::<i64>() {
                Ok(n) => self.add(key, if cmd == "incrby" { n } else { -n }),
                Err(_) => RespValue::Error(NOT_INTEGER.into()),
            },
            ("append", [key, value]) => {
                let entry = self.keys.entry(key.to_string()).or_insert_with(|| Value::Str(String::new()));
                match entry {
                    Value::Str(s) => {
                        s.push_str(value);
                        RespValue::Integer(s.len() as i64)
                    }
                    Value::List(_) => RespValue::Error(WRONGTYPE.into()),
                }
            }
            ("del", keys) if !keys.is_empty() => RespValue::Integer(keys.iter().filter(|k| self.keys.remove(**k).is_some()).count() as i64),
            ("exists", keys) if !keys.is_empty() => RespValue::Integer(keys.iter().filter(|k| self.keys.contains_key(**k)).count() as i64),
            ("keys", [pattern]) => RespValue::Array(self.keys.keys().filter(|k| glob(pattern.as_bytes(), k.as_bytes())).map(|k| bulk(k)).collect()),
            ("dbsize", []) => RespValue::Integer(self.keys.len() as i64),
            ("flushall" | "flushdb", _) => {
                self.keys.clear();
                RespValue::ok()
            }
            ("lpush" | "rpush", [key, values @ ..]) if !values.is_empty() => {
                let entry = self.keys.entry(key.to_string()).or_insert_with(|| Value::List(Vec::new()));
                match entry {
                    Value::List(list) => {
                        for v in values {
                            if cmd == "lpush" {
                                list.insert(0, v.to_string());
                            } else {
                                list.push(v.to_string());
                            }
                        }
                        RespValue::Integer(list.len() as i64)
                    }
                    Value::Str(_) => RespValue::Error(WRONGTYPE.into()),
                }
            }
            ("llen", [key]) => match self.keys.get(*key) {
                None => RespValue::Integer(0),
                Some(Value::List(l)) => RespValue::Integer(l.len() as i64),
                Some(Value::Str(_)) => RespValue::Error(WRONGTYPE.into()),
            },
            ("lrange", [key, start, stop]) => {
                let (Ok(start), Ok(stop)) = (start.parse::<i64>(), stop.parse::<i64>()) else { return RespValue::Error(NOT_INTEGER.into()) };
                match self.keys.get(*key) {
                    None => RespValue::Array(vec![]),
                    Some(Value::List(l)) => {
                        let len = l.len() as i64;
                        let norm = |i: i64| if i < 0 { (len + i).max(0) } else { i };
                        let (s, e) = (norm(start), norm(stop).min(len - 1));
                        if s > e || s >= len {
                            return RespValue::Array(vec![]);
                        }
                        RespValue::Array(l[s as usize..=e as usize].iter().map(|v| bulk(v)).collect())
                    }
                    Some(Value::Str(_)) => RespValue::Error(WRONGTYPE.into()),
                }
            }
            ("type", [key]) => RespValue::Simple(
                match self.keys.get(*key) {
                    None => "none",
                    Some(Value::Str(_)) => "string",
                    Some(Value::List(_)) => "list",
                }
                .into(),
            ),
            ("select", [db]) => match db.parse::<u32>() {
                Ok(n) if n < 16 => RespValue::ok(),
                Ok(_) => RespValue::Error("ERR DB index is out of range".into()),
                Err(_) => RespValue::Error(NOT_INTEGER.into()),
            },
            ("quit", _) => RespValue::ok(),
            ("info", _) => bulk("# Server\r\nredis_version:8.0.2\r\nredis_mode:standalone\r\nos:Linux 6.8.0-60-generic x86_64\r\ntcp_port:6379\r\n"),
            (
                "ping" | "echo" | "set" | "get" | "incr" | "decr" | "incrby" | "decrby" | "append" | "del" | "exists" | "keys" | "dbsize" | "lpush"
                | "rpush" | "llen" | "lrange" | "type" | "select",
                _,
            ) => RespValue::Error(arity(&cmd)),
            _ => {
                let shown: Vec<String> = a.iter().map(|s| format!("'{s}' ")).collect();
                RespValue::Error(format!("ERR unknown command '{name}', with args beginning with: {}", shown.concat()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(r: &mut Redis, line: &str) -> RespValue {
        r.command(&split_args(line).unwrap())
    }

    #[test]
    fn answers_like_redis() {
        let mut r = Redis::default();
        assert_eq!(run(&mut r, "PING"), RespValue::Simple("PONG".into()));
        assert_eq!(run(&mut r, "INCR pv"), RespValue::Integer(1));
        assert_eq!(run(&mut r, "INCR pv"), RespValue::Integer(2));
        assert_eq!(run(&mut r, "GET pv"), RespValue::Bulk(Some("2".into())));
        assert_eq!(run(&mut r, "GET nope"), RespValue::Bulk(None));
        assert_eq!(run(&mut r, "SET name kube"), RespValue::ok());
        assert_eq!(run(&mut r, "INCR name"), RespValue::Error(NOT_INTEGER.into()));
        assert_eq!(run(&mut r, "GET"), RespValue::Error("ERR wrong number of arguments for 'get' command".into()));
        assert_eq!(run(&mut r, "FOO a b"), RespValue::Error("ERR unknown command 'FOO', with args beginning with: 'a' 'b' ".into()));
        assert_eq!(run(&mut r, "KEYS *").tty(), "1) \"name\"\n2) \"pv\"");
        assert_eq!(run(&mut r, "RPUSH l a b"), RespValue::Integer(2));
        assert_eq!(run(&mut r, "LRANGE l 0 -1").raw(), "a\nb");
    }
}
