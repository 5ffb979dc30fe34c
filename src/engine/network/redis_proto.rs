//! Redis's reply types (RESP2) and how `redis-cli` prints them: the quoted
//! form on a terminal, the raw form when its output is not a terminal.

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RespValue {
    Simple(String),
    Error(String),
    Integer(i64),
    Bulk(Option<String>),
    Array(Vec<RespValue>),
}

impl RespValue {
    pub fn ok() -> Self {
        RespValue::Simple("OK".into())
    }

    /// The wire form (what `nc` shows).
    pub fn wire(&self) -> String {
        match self {
            RespValue::Simple(s) => format!("+{s}\r\n"),
            RespValue::Error(s) => format!("-{s}\r\n"),
            RespValue::Integer(n) => format!(":{n}\r\n"),
            RespValue::Bulk(None) => "$-1\r\n".into(),
            RespValue::Bulk(Some(s)) => format!("${}\r\n{s}\r\n", s.len()),
            RespValue::Array(items) => {
                let mut out = format!("*{}\r\n", items.len());
                for i in items {
                    out.push_str(&i.wire());
                }
                out
            }
        }
    }

    /// `redis-cli` on a terminal: `"value"`, `(integer) 1`, `(nil)`, `1) "a"`.
    pub fn tty(&self) -> String {
        self.tty_indented(0)
    }

    fn tty_indented(&self, indent: usize) -> String {
        match self {
            RespValue::Simple(s) => s.clone(),
            RespValue::Error(s) => format!("(error) {s}"),
            RespValue::Integer(n) => format!("(integer) {n}"),
            RespValue::Bulk(None) => "(nil)".into(),
            RespValue::Bulk(Some(s)) => quote(s),
            RespValue::Array(items) if items.is_empty() => "(empty array)".into(),
            RespValue::Array(items) => {
                let width = items.len().to_string().len();
                let mut lines = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    let prefix = format!("{:>width$}) ", i + 1);
                    let body = item.tty_indented(indent + prefix.len());
                    let pad = if i == 0 { String::new() } else { " ".repeat(indent) };
                    lines.push(format!("{pad}{prefix}{body}"));
                }
                lines.join("\n")
            }
        }
    }

    /// `redis-cli` when piped: bare values, one per line.
    pub fn raw(&self) -> String {
        match self {
            RespValue::Simple(s) | RespValue::Error(s) => s.clone(),
            RespValue::Integer(n) => n.to_string(),
            RespValue::Bulk(None) => String::new(),
            RespValue::Bulk(Some(s)) => s.clone(),
            RespValue::Array(items) => items.iter().map(RespValue::raw).collect::<Vec<_>>().join("\n"),
        }
    }
}

/// redis-cli's quoting of a bulk string (`sdscatrepr`).
fn quote(s: &str) -> String {
    let mut out = String::from("\"");
    for b in s.bytes() {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x07 => out.push_str("\\a"),
            0x08 => out.push_str("\\b"),
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push('"');
    out
}

/// Splits an inline command line (`SET "a b" c`) into arguments, as the
/// server does for inline commands and redis-cli for what is typed.
pub fn split_args(line: &str) -> Option<Vec<String>> {
    let mut args = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let Some(&first) = chars.peek() else { return Some(args) };
        let mut arg = String::new();
        if first == '"' || first == '\'' {
            chars.next();
            loop {
                match chars.next() {
                    None => return None,
                    Some(c) if c == first => break,
                    Some('\\') if first == '"' => match chars.next() {
                        Some('n') => arg.push('\n'),
                        Some('t') => arg.push('\t'),
                        Some(c) => arg.push(c),
                        None => return None,
                    },
                    Some(c) => arg.push(c),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                arg.push(c);
                chars.next();
            }
        }
        args.push(arg);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_like_redis_cli() {
        assert_eq!(RespValue::Integer(3).tty(), "(integer) 3");
        assert_eq!(RespValue::Bulk(Some("a\"b".into())).tty(), "\"a\\\"b\"");
        assert_eq!(RespValue::Bulk(None).tty(), "(nil)");
        let arr = RespValue::Array(vec![RespValue::Bulk(Some("a".into())), RespValue::Bulk(Some("b".into()))]);
        assert_eq!(arr.tty(), "1) \"a\"\n2) \"b\"");
        assert_eq!(arr.raw(), "a\nb");
        assert_eq!(RespValue::Array(vec![]).tty(), "(empty array)");
        assert_eq!(RespValue::ok().wire(), "+OK\r\n");
    }

    #[test]
    fn splits_quoted_arguments() {
        assert_eq!(split_args("SET \"a b\" c").unwrap(), ["SET", "a b", "c"]);
        assert_eq!(split_args("  GET x ").unwrap(), ["GET", "x"]);
        assert!(split_args("SET \"a").is_none());
    }
}
