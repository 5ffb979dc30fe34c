//! Kubernetes' url library (library/urls.go) over a port of what it uses of
//! Go's `net/url`: `ParseRequestURI` to accept a string, `Parse` to split
//! it, and the getters' `Host`, `Hostname()`, `Port()`, `EscapedPath()` and
//! `Query()`, with Go's error words (`invalid port ":c" after host`).

use std::collections::BTreeMap;

use crate::engine::kubectl::printers::jsonpath::go_quote;

/// A parsed URL: the fields of Go's `url.URL` the library reads or that
/// `String()` (its equality) writes.
#[derive(Clone, Debug, PartialEq)]
pub struct Url {
    scheme: String,
    opaque: String,
    /// The userinfo as written (still escaped), when there is one.
    user: Option<String>,
    host: String,
    /// `scheme:/path`: no `//` and no authority (Go's `OmitHost`).
    omit_host: bool,
    path: String,
    raw_path: String,
    force_query: bool,
    raw_query: String,
    fragment: String,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Path,
    UserPassword,
    QueryComponent,
    Fragment,
    Host,
    Zone,
}

/// `url(s)`: checked by `ParseRequestURI`, then split by `Parse`, as
/// library/urls.go does (the first would keep a fragment in the path).
pub fn parse_url(s: &str) -> Result<Url, String> {
    let wrap = |e: String| format!("URL parse error during conversion from string: {e}");
    parse_request_uri(s).map_err(wrap)?;
    let (before, fragment) = s.split_once('#').unwrap_or((s, ""));
    let mut url = parse(before, false).map_err(|e| wrap(format!("parse {}: {e}", go_quote(before))))?;
    if !fragment.is_empty() {
        url.fragment = unescape(fragment, Mode::Fragment).map_err(|e| wrap(format!("parse {}: {e}", go_quote(s))))?;
    }
    Ok(url)
}

/// `url.ParseRequestURI`: an absolute URI or an absolute path; its error
/// as Go's `*url.Error` words it.
pub fn parse_request_uri(s: &str) -> Result<Url, String> {
    parse(s, true).map_err(|e| format!("parse {}: {e}", go_quote(s)))
}

fn parse(raw: &str, via_request: bool) -> Result<Url, String> {
    if raw.bytes().any(|b| b < b' ' || b == 0x7f) {
        return Err("net/url: invalid control character in URL".to_string());
    }
    if raw.is_empty() && via_request {
        return Err("empty url".to_string());
    }
    let mut url = Url { scheme: String::new(), opaque: String::new(), user: None, host: String::new(), omit_host: false, path: String::new(), raw_path: String::new(), force_query: false, raw_query: String::new(), fragment: String::new() };
    if raw == "*" {
        url.path = "*".to_string();
        return Ok(url);
    }
    let (scheme, mut rest) = get_scheme(raw)?;
    url.scheme = scheme.to_ascii_lowercase();
    if rest.ends_with('?') && rest.matches('?').count() == 1 {
        url.force_query = true;
        rest = &rest[..rest.len() - 1];
    } else if let Some((before, query)) = rest.split_once('?') {
        url.raw_query = query.to_string();
        rest = before;
    }
    if !rest.starts_with('/') {
        if !url.scheme.is_empty() {
            // A rootless path after a scheme is opaque (RFC 3986).
            url.opaque = rest.to_string();
            return Ok(url);
        }
        if via_request {
            return Err("invalid URI for request".to_string());
        }
        if rest.split('/').next().is_some_and(|segment| segment.contains(':')) {
            return Err("first path segment in URL cannot contain colon".to_string());
        }
    }
    if (!url.scheme.is_empty() || !via_request && !rest.starts_with("///")) && rest.starts_with("//") {
        let authority_and_path = &rest[2..];
        let (authority, path) = match authority_and_path.find('/') {
            Some(i) => authority_and_path.split_at(i),
            None => (authority_and_path, ""),
        };
        let (user, host) = parse_authority(authority)?;
        url.user = user;
        url.host = host;
        rest = path;
    } else if !url.scheme.is_empty() && rest.starts_with('/') {
        url.omit_host = true;
    }
    url.path = unescape(rest, Mode::Path)?;
    if escape(&url.path, Mode::Path) != rest {
        url.raw_path = rest.to_string();
    }
    Ok(url)
}

/// A leading `scheme:`; no scheme when a character cannot be one.
fn get_scheme(raw: &str) -> Result<(&str, &str), String> {
    for (i, c) in raw.bytes().enumerate() {
        match c {
            b'a'..=b'z' | b'A'..=b'Z' => {}
            b'0'..=b'9' | b'+' | b'-' | b'.' if i > 0 => {}
            b':' if i == 0 => return Err("missing protocol scheme".to_string()),
            b':' => return Ok((&raw[..i], &raw[i + 1..])),
            _ => return Ok(("", raw)),
        }
    }
    Ok(("", raw))
}

fn parse_authority(authority: &str) -> Result<(Option<String>, String), String> {
    let at = authority.rfind('@');
    let host = parse_host(at.map_or(authority, |i| &authority[i + 1..]))?;
    let Some(at) = at else { return Ok((None, host)) };
    let userinfo = &authority[..at];
    if !valid_userinfo(userinfo) {
        return Err("net/url: invalid userinfo".to_string());
    }
    for part in userinfo.splitn(2, ':') {
        unescape(part, Mode::UserPassword)?;
    }
    Ok((Some(userinfo.to_string()), host))
}

fn valid_userinfo(s: &str) -> bool {
    s.bytes().all(|c| c.is_ascii_alphanumeric() || b"-._:~!$&'()*+,;=%@".contains(&c))
}

fn parse_host(host: &str) -> Result<String, String> {
    if host.starts_with('[') {
        // An IP literal (RFC 3986, RFC 6874): `[fe80::1%25en0]:80`.
        let close = host.rfind(']').ok_or("missing ']' in host")?;
        let colon_port = &host[close + 1..];
        if !valid_optional_port(colon_port) {
            return Err(format!("invalid port {} after host", go_quote(colon_port)));
        }
        if let Some(zone) = host[..close].find("%25") {
            let mut out = unescape(&host[..zone], Mode::Host)?;
            out.push_str(&unescape(&host[zone..close], Mode::Zone)?);
            out.push_str(&unescape(&host[close..], Mode::Host)?);
            return Ok(out);
        }
    } else if let Some(i) = host.rfind(':') {
        let colon_port = &host[i..];
        if !valid_optional_port(colon_port) {
            return Err(format!("invalid port {} after host", go_quote(colon_port)));
        }
    }
    unescape(host, Mode::Host)
}

fn valid_optional_port(port: &str) -> bool {
    port.is_empty() || port.strip_prefix(':').is_some_and(|digits| digits.bytes().all(|b| b.is_ascii_digit()))
}

fn unhex(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        b'A'..=b'F' => c - b'A' + 10,
        _ => 0,
    }
}

/// Go's `unescape`: `%XX` decoded, checked as the component allows.
fn unescape(s: &str, mode: Mode) -> Result<String, String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let well_formed = i + 2 < b.len() && b[i + 1].is_ascii_hexdigit() && b[i + 2].is_ascii_hexdigit();
                if !well_formed {
                    let bad = String::from_utf8_lossy(&b[i..(i + 3).min(b.len())]).into_owned();
                    return Err(format!("invalid URL escape {}", go_quote(&bad)));
                }
                let escaped = &s[i..i + 3];
                let v = unhex(b[i + 1]) << 4 | unhex(b[i + 2]);
                // A host may %-encode only non-ASCII bytes, and `%25` (RFC 6874).
                let refused = match mode {
                    Mode::Host => unhex(b[i + 1]) < 8 && escaped != "%25",
                    Mode::Zone => escaped != "%25" && v != b' ' && should_escape(v, Mode::Host),
                    _ => false,
                };
                if refused {
                    return Err(format!("invalid URL escape {}", go_quote(escaped)));
                }
                out.push(v);
                i += 3;
            }
            b'+' if mode == Mode::QueryComponent => {
                out.push(b' ');
                i += 1;
            }
            c => {
                if matches!(mode, Mode::Host | Mode::Zone) && c < 0x80 && should_escape(c, mode) {
                    return Err(format!("invalid character {} in host name", go_quote(&(c as char).to_string())));
                }
                out.push(c);
                i += 1;
            }
        }
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// Go's `shouldEscape`: which bytes a component writes as `%XX`.
fn should_escape(c: u8, mode: Mode) -> bool {
    if c.is_ascii_alphanumeric() {
        return false;
    }
    if matches!(mode, Mode::Host | Mode::Zone) && b"!$&'()*+,;=:[]<>\"".contains(&c) {
        return false;
    }
    match c {
        b'-' | b'_' | b'.' | b'~' => return false,
        b'$' | b'&' | b'+' | b',' | b'/' | b':' | b';' | b'=' | b'?' | b'@' => match mode {
            Mode::Path => return c == b'?',
            Mode::UserPassword => return matches!(c, b'@' | b'/' | b'?' | b':'),
            Mode::QueryComponent => return true,
            Mode::Fragment => return false,
            Mode::Host | Mode::Zone => {}
        },
        _ => {}
    }
    !(mode == Mode::Fragment && matches!(c, b'!' | b'(' | b')' | b'*'))
}

fn escape(s: &str, mode: Mode) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.bytes() {
        if should_escape(c, mode) {
            out.push_str(&format!("%{c:02X}"));
        } else {
            out.push(c as char);
        }
    }
    out
}

/// Go's `validEncoded` for a path.
fn valid_encoded_path(s: &str) -> bool {
    s.bytes().all(|c| b"!$&'()*+,;=:@[]%".contains(&c) || !should_escape(c, Mode::Path))
}

impl Url {
    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    /// `Hostname()`: the host without its port or an IP literal's brackets.
    pub fn hostname(&self) -> &str {
        let (host, _) = self.split_host_port();
        host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host)
    }

    /// `Port()`: the digits after the host's last colon, if any.
    pub fn port(&self) -> &str {
        self.split_host_port().1
    }

    /// Go's `splitHostPort`, which ignores a port that is not all digits.
    fn split_host_port(&self) -> (&str, &str) {
        let host = self.host.as_str();
        if let Some(colon) = host.rfind(':') {
            let port = &host[colon + 1..];
            if valid_optional_port(&host[colon..]) {
                let name = &host[..colon];
                return (name, port);
            }
        }
        (host, "")
    }

    pub fn escaped_path(&self) -> String {
        if !self.raw_path.is_empty() && valid_encoded_path(&self.raw_path) && unescape(&self.raw_path, Mode::Path).is_ok_and(|p| p == self.path) {
            return self.raw_path.clone();
        }
        if self.path == "*" {
            return "*".to_string();
        }
        escape(&self.path, Mode::Path)
    }

    /// `Query()`: Go's `ParseQuery`, its errors dropped as `Query()` drops them.
    pub fn query(&self) -> BTreeMap<String, Vec<String>> {
        let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for pair in self.raw_query.split('&') {
            if pair.is_empty() || pair.contains(';') {
                continue;
            }
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let (Ok(key), Ok(value)) = (unescape(key, Mode::QueryComponent), unescape(value, Mode::QueryComponent)) else { continue };
            out.entry(key).or_default().push(value);
        }
        out
    }

    /// Go's `URL.String()`, which the library's equality compares.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        if !self.scheme.is_empty() {
            out.push_str(&self.scheme);
            out.push(':');
        }
        if !self.opaque.is_empty() {
            out.push_str(&self.opaque);
        } else {
            let omit_host = self.omit_host && self.host.is_empty() && self.user.is_none();
            if (!self.scheme.is_empty() || !self.host.is_empty() || self.user.is_some()) && !omit_host {
                if !self.host.is_empty() || !self.path.is_empty() || self.user.is_some() {
                    out.push_str("//");
                }
                if let Some(user) = &self.user {
                    out.push_str(user);
                    out.push('@');
                }
                out.push_str(&escape(&self.host, Mode::Host));
            }
            let path = self.escaped_path();
            if !path.is_empty() && !path.starts_with('/') && !self.host.is_empty() {
                out.push('/');
            }
            if out.is_empty() && path.split('/').next().is_some_and(|segment| segment.contains(':')) {
                out.push_str("./");
            }
            out.push_str(&path);
        }
        if self.force_query || !self.raw_query.is_empty() {
            out.push('?');
            out.push_str(&self.raw_query);
        }
        if !self.fragment.is_empty() {
            out.push('#');
            out.push_str(&escape(&self.fragment, Mode::Fragment));
        }
        out
    }
}
