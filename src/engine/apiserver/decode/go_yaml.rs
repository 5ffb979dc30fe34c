//! A YAML document to JSON with go-yaml v2's scalars, as kubectl reads
//! manifests (`sigs.k8s.io/yaml`, which uses go-yaml v2 and YAML 1.1's
//! rules), where serde_yaml reads YAML 1.2: a plain `yes`, `off` or `y` is
//! a boolean, `0644` an octal number and `1_000` a thousand. A learner's
//! `value: yes` in an env list is then refused by the API server as on a
//! real cluster, rather than kept as a text.
//!
//! serde_yaml resolves the plain scalars YAML 1.2 and 1.1 agree on (nulls,
//! `true`, decimal, hex and octal `0o` numbers, floats) and hands every
//! other scalar on as a text. A plain one is handed on borrowed from the
//! document, so where it sits there tells it apart from a quoted one (the
//! byte before it is a quote) and from one with an explicit tag (`!!str`);
//! only a plain, untagged text is resolved again, with go-yaml's rules.

use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// go-yaml's plain booleans (`resolve.go`).
const TRUE_WORDS: &[&str] = &["y", "Y", "yes", "Yes", "YES", "on", "On", "ON", "true", "True", "TRUE"];
const FALSE_WORDS: &[&str] = &["n", "N", "no", "No", "NO", "off", "Off", "OFF", "false", "False", "FALSE"];
/// go-yaml's other plain words that are not texts: nulls and the float
/// specials. (`<<` is in its table too, but `resolve` never looks it up:
/// its first byte gives no hint, so a `<<` text is written plain.)
const OTHER_WORDS: &[&str] =
    &["", "~", "null", "Null", "NULL", ".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF"];

/// Whether go-yaml's `resolve` gives `s`, written plain, a tag other than
/// a text's: go-yaml's marshaller then quotes it.
pub fn resolves_to_non_string(s: &str) -> bool {
    if OTHER_WORDS.contains(&s) {
        return true;
    }
    match s.as_bytes().first() {
        Some(b'.') => s.parse::<f64>().is_ok_and(f64::is_finite),
        Some(b'0'..=b'9' | b'+' | b'-') => is_timestamp(s) || resolve(s) != Scalar::Text,
        _ => resolve(s) != Scalar::Text,
    }
}

/// What a scalar resolves to under go-yaml's rules.
#[derive(Debug, PartialEq)]
enum Scalar {
    Bool(bool),
    Int(i64),
    Uint(u64),
    Float(f64),
    Text,
}

/// go-yaml v2's `resolve` of a plain scalar that YAML 1.2 read as a text.
fn resolve(text: &str) -> Scalar {
    if TRUE_WORDS.contains(&text) {
        return Scalar::Bool(true);
    }
    if FALSE_WORDS.contains(&text) {
        return Scalar::Bool(false);
    }
    // Only a text starting with a sign or a digit may be a number here; one
    // starting with `.` is a float YAML 1.2 reads the same.
    if !text.starts_with(|c: char| c.is_ascii_digit() || c == '+' || c == '-') {
        return Scalar::Text;
    }
    let plain: String = text.chars().filter(|&c| c != '_').collect();
    if let Some(n) = go_parse_int(&plain) {
        if let Ok(i) = i64::try_from(n) {
            return Scalar::Int(i);
        }
        if let Ok(u) = u64::try_from(n) {
            if !plain.starts_with('+') {
                return Scalar::Uint(u);
            }
        }
    }
    if is_yaml_style_float(&plain) {
        if let Ok(f) = plain.parse::<f64>() {
            if f.is_finite() {
                return Scalar::Float(f);
            }
        }
    }
    Scalar::Text
}

/// Go's `strconv.ParseInt(s, 0, 64)` syntax (a sign, then `0x`, `0o`, `0b`
/// or a leading `0` for octal, else decimal), without its range check.
fn go_parse_int(s: &str) -> Option<i128> {
    let (negative, rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let lower = rest.get(..2).map(str::to_ascii_lowercase);
    let (radix, digits) = match lower.as_deref() {
        Some("0x") => (16, &rest[2..]),
        Some("0o") => (8, &rest[2..]),
        Some("0b") => (2, &rest[2..]),
        _ if rest.len() > 1 && rest.starts_with('0') => (8, &rest[1..]),
        _ => (10, rest),
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let magnitude = u128::from_str_radix(digits, radix).ok()?;
    let value = i128::try_from(magnitude).ok()?;
    Some(if negative { -value } else { value })
}

/// go-yaml's `yamlStyleFloat`: `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`.
fn is_yaml_style_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    let digits = |i: &mut usize| {
        let start = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - start
    };
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            digits(&mut i);
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// Whether `text`, borrowed from `doc`, was written plain and untagged:
/// not inside quotes, and not after a tag (an anchor may come between).
fn is_plain_in(doc: &str, text: &str) -> bool {
    let start = text.as_ptr() as usize;
    let base = doc.as_ptr() as usize;
    let Some(offset) = start.checked_sub(base).filter(|o| o + text.len() <= doc.len()) else { return false };
    let before = &doc.as_bytes()[..offset];
    if matches!(before.last(), Some(b'"' | b'\'')) {
        return false;
    }
    // The words before it on its line: an anchor (`&a`) may stand between
    // a tag and its scalar.
    let mut end = before.len();
    for _ in 0..2 {
        while end > 0 && matches!(before[end - 1], b' ' | b'\t') {
            end -= 1;
        }
        let mut word_start = end;
        while word_start > 0 && !matches!(before[word_start - 1], b' ' | b'\t' | b'\n' | b'\r' | b',' | b'[' | b'{') {
            word_start -= 1;
        }
        match before.get(word_start) {
            Some(b'!') if word_start < end => return false,
            Some(b'&') if word_start < end => end = word_start,
            _ => break,
        }
    }
    true
}

/// go-yaml reads `.inf` and `.nan` as floats, which JSON cannot hold:
/// kubectl's conversion fails with encoding/json's words.
fn float_value<E: de::Error>(f: f64) -> Result<Value, E> {
    match Number::from_f64(f) {
        Some(n) => Ok(Value::Number(n)),
        None if f.is_nan() => Err(E::custom(UNSUPPORTED_NAN)),
        None if f > 0.0 => Err(E::custom(UNSUPPORTED_INF)),
        None => Err(E::custom(UNSUPPORTED_NEG_INF)),
    }
}

pub const UNSUPPORTED_NAN: &str = "json: unsupported value: NaN";
pub const UNSUPPORTED_INF: &str = "json: unsupported value: +Inf";
pub const UNSUPPORTED_NEG_INF: &str = "json: unsupported value: -Inf";

fn resolved_value<E: de::Error>(doc: &str, text: &str) -> Result<Value, E> {
    if !is_plain_in(doc, text) {
        return Ok(Value::String(text.to_string()));
    }
    Ok(match resolve(text) {
        Scalar::Bool(b) => Value::Bool(b),
        Scalar::Int(i) => Value::from(i),
        Scalar::Uint(u) => Value::from(u),
        Scalar::Float(f) => return float_value(f),
        Scalar::Text => Value::String(text.to_string()),
    })
}

/// go-yaml v2's merge key (`<<: *base`): the merged map's entries are set
/// where the key stands, over what came before it; of a list of maps, the
/// earlier ones win.
fn merge_into<E: de::Error>(out: &mut Map<String, Value>, merged: Value) -> Result<(), E> {
    match merged {
        Value::Object(entries) => out.extend(entries),
        Value::Array(maps) if maps.iter().all(Value::is_object) => {
            for map in maps.into_iter().rev() {
                if let Value::Object(entries) = map {
                    out.extend(entries);
                }
            }
        }
        _ => return Err(E::custom(MERGE_WANTS_MAP)),
    }
    Ok(())
}

pub const MERGE_WANTS_MAP: &str = "map merge requires map or sequence of maps as the value";

/// A document's value, read with go-yaml's scalars (see the module).
pub struct Document<'d> {
    pub doc: &'d str,
}

impl<'de> DeserializeSeed<'de> for Document<'de> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Document<'de> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }

    fn visit_i64<E: de::Error>(self, i: i64) -> Result<Value, E> {
        Ok(Value::from(i))
    }

    fn visit_u64<E: de::Error>(self, u: u64) -> Result<Value, E> {
        Ok(Value::from(u))
    }

    fn visit_f64<E: de::Error>(self, f: f64) -> Result<Value, E> {
        float_value(f)
    }

    // Beyond 64 bits go-yaml reads an integer as a float.
    fn visit_i128<E: de::Error>(self, i: i128) -> Result<Value, E> {
        float_value(i as f64)
    }

    fn visit_u128<E: de::Error>(self, u: u128) -> Result<Value, E> {
        float_value(u as f64)
    }

    fn visit_borrowed_str<E: de::Error>(self, text: &'de str) -> Result<Value, E> {
        resolved_value(self.doc, text)
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Value, E> {
        Ok(Value::String(text.to_string()))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        self.deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(Document { doc: self.doc })? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key_seed(Key { doc: self.doc })? {
            let value = map.next_value_seed(Document { doc: self.doc })?;
            if key.merge {
                merge_into(&mut out, value)?;
            } else {
                out.insert(key.text, value);
            }
        }
        Ok(Value::Object(out))
    }
}

/// A mapping key, as `sigs.k8s.io/yaml` turns go-yaml's key into JSON's
/// text: a boolean as `true`, a number in decimal.
struct Key<'d> {
    doc: &'d str,
}

/// A mapping key's JSON text, and whether it is go-yaml's merge key (a
/// plain `<<`).
struct MapKey {
    text: String,
    merge: bool,
}

impl MapKey {
    fn text(text: String) -> Self {
        MapKey { text, merge: false }
    }
}

impl<'de> DeserializeSeed<'de> for Key<'de> {
    type Value = MapKey;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<MapKey, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Key<'de> {
    type Value = MapKey;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a mapping key")
    }

    fn visit_bool<E: de::Error>(self, b: bool) -> Result<MapKey, E> {
        Ok(MapKey::text(b.to_string()))
    }

    fn visit_i64<E: de::Error>(self, i: i64) -> Result<MapKey, E> {
        Ok(MapKey::text(i.to_string()))
    }

    fn visit_u64<E: de::Error>(self, u: u64) -> Result<MapKey, E> {
        Ok(MapKey::text(u.to_string()))
    }

    fn visit_f64<E: de::Error>(self, f: f64) -> Result<MapKey, E> {
        Ok(MapKey::text(go_float32_key(f)))
    }

    fn visit_i128<E: de::Error>(self, i: i128) -> Result<MapKey, E> {
        Ok(MapKey::text(go_float32_key(i as f64)))
    }

    fn visit_u128<E: de::Error>(self, u: u128) -> Result<MapKey, E> {
        Ok(MapKey::text(go_float32_key(u as f64)))
    }

    fn visit_borrowed_str<E: de::Error>(self, text: &'de str) -> Result<MapKey, E> {
        if !is_plain_in(self.doc, text) {
            return Ok(MapKey::text(text.to_string()));
        }
        if text == "<<" {
            return Ok(MapKey { text: text.to_string(), merge: true });
        }
        Ok(MapKey::text(match resolve(text) {
            Scalar::Bool(b) => b.to_string(),
            Scalar::Int(i) => i.to_string(),
            Scalar::Uint(u) => u.to_string(),
            Scalar::Float(f) => go_float32_key(f),
            Scalar::Text => text.to_string(),
        }))
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<MapKey, E> {
        Ok(MapKey::text(text.to_string()))
    }

    fn visit_unit<E: de::Error>(self) -> Result<MapKey, E> {
        Err(E::custom("unsupported map key of type: <nil>"))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, _seq: A) -> Result<MapKey, A::Error> {
        Err(de::Error::custom("unsupported map key of type: []interface {}"))
    }

    fn visit_map<A: MapAccess<'de>>(self, _map: A) -> Result<MapKey, A::Error> {
        Err(de::Error::custom("unsupported map key of type: map[interface {}]interface {}"))
    }
}

/// `strconv.FormatFloat(f, 'g', -1, 32)` with go-yaml's names for the
/// infinities and NaN, as `sigs.k8s.io/yaml` writes a float key.
fn go_float32_key(f: f64) -> String {
    let narrow = f as f32;
    if narrow.is_nan() {
        return ".nan".to_string();
    }
    if narrow.is_infinite() {
        return if narrow > 0.0 { ".inf" } else { "-.inf" }.to_string();
    }
    // Rust's `{:e}` gives the shortest digits that read back as this f32.
    let scientific = format!("{narrow:e}");
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let negative = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let sign = if negative { "-" } else { "" };
    // Go's shortest %g: %e below 1e-4 and from 1e6 on, with at least two
    // exponent digits.
    if !(-4..6).contains(&exponent) {
        let (first, rest) = digits.split_at(1);
        let fraction = if rest.is_empty() { String::new() } else { format!(".{rest}") };
        let exp_sign = if exponent < 0 { '-' } else { '+' };
        return format!("{sign}{first}{fraction}e{exp_sign}{:02}", exponent.abs());
    }
    if exponent < 0 {
        return format!("{sign}0.{}{digits}", "0".repeat((-exponent - 1) as usize));
    }
    let point = exponent as usize + 1;
    if digits.len() <= point {
        format!("{sign}{digits}{}", "0".repeat(point - digits.len()))
    } else {
        format!("{sign}{}.{}", &digits[..point], &digits[point..])
    }
}

/// go-yaml's timestamp forms: `2006-1-2`, `2006-1-2T15:4:5[.frac](Z|±hh:mm)`
/// (or lower-case `t`), and `2006-1-2 15:4:5[.frac]`.
fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 5 || !b[..4].iter().all(u8::is_ascii_digit) || b[4] != b'-' {
        return false;
    }
    let mut i = 5;
    let number = |i: &mut usize, max: usize| -> bool {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() && *i - start < max {
            *i += 1;
        }
        *i > start
    };
    let expect = |i: &mut usize, c: u8| -> bool {
        if *i < b.len() && b[*i] == c {
            *i += 1;
            true
        } else {
            false
        }
    };
    if !(number(&mut i, 2) && expect(&mut i, b'-') && number(&mut i, 2)) {
        return false;
    }
    if i == b.len() {
        return true;
    }
    let separator = b[i];
    if !matches!(separator, b'T' | b't' | b' ') {
        return false;
    }
    i += 1;
    if !(number(&mut i, 2) && expect(&mut i, b':') && number(&mut i, 2) && expect(&mut i, b':') && number(&mut i, 2)) {
        return false;
    }
    if expect(&mut i, b'.') && !number(&mut i, 9) {
        return false;
    }
    if separator == b' ' {
        return i == b.len();
    }
    if expect(&mut i, b'Z') {
        return i == b.len();
    }
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
        return number(&mut i, 2) && expect(&mut i, b':') && number(&mut i, 2) && i == b.len();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(doc: &str) -> Result<Value, String> {
        Document { doc }.deserialize(serde_yaml::Deserializer::from_str(doc)).map_err(|e| e.to_string())
    }

    #[test]
    fn plain_scalars_resolve_as_go_yaml_v2_resolves_them() {
        let doc = "a: yes\nb: 'yes'\nc: \"on\"\nd: Off\ne: n\nf: 0644\ng: 1_000\nh: -0x1F\ni: 0b101\nj: 08\nk: 1e400\nl: 12:30\nm: 2001-12-14\nnn: !!str 12\no: !!str &x yes\np: *x\nq: &y no\nr: *y\ns: [y, 'n', 007]\nt: |\n  yes\nu: .5\nv: 1_0.5\nw: 18446744073709551615\nx: 99999999999999999999\nyy: +12\nz: true\n";
        let v = read(doc).unwrap();
        let expected = serde_json::json!({
            "a": true, "b": "yes", "c": "on", "d": false, "e": false, "f": 420, "g": 1000, "h": -31,
            "i": 5, "j": 8.0, "k": "1e400", "l": "12:30", "m": "2001-12-14", "nn": "12", "o": "yes", "p": "yes",
            "q": false, "r": false, "s": [true, "n", 7], "t": "yes\n", "u": 0.5, "v": 10.5,
            "w": 18446744073709551615u64, "x": 1e20, "yy": 12, "z": true,
        });
        assert_eq!(v, expected);
    }

    #[test]
    fn keys_are_written_as_go_yaml_and_json_write_them() {
        let v = read("y: 1\nno: 2\n0x10: 3\n'on': 4\n1.5: 5\n007: 6\n").unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, ["1.5", "16", "7", "false", "on", "true"]);
        assert!(read("~: 1\n").unwrap_err().contains("unsupported map key of type: <nil>"));
    }

    #[test]
    fn a_plain_merge_key_merges_where_it_stands_and_a_quoted_one_is_a_key() {
        let v = read("base: &b {app: web, tier: front}\nm:\n  app: first\n  <<: *b\n  extra: 1\n  tier: own\nq:\n  '<<': x\nl:\n  <<: [{a: 1}, {a: 2, c: 3}]\n").unwrap();
        assert_eq!(v["m"], serde_json::json!({"app": "web", "extra": 1, "tier": "own"}));
        assert_eq!(v["q"], serde_json::json!({"<<": "x"}));
        assert_eq!(v["l"], serde_json::json!({"a": 1, "c": 3}));
        assert!(read("m:\n  <<: 5\n").unwrap_err().contains(MERGE_WANTS_MAP));
        assert!(!resolves_to_non_string("<<"));
    }

    #[test]
    fn infinities_and_nan_are_refused_as_json_refuses_them() {
        assert!(read("a: .inf\n").unwrap_err().contains(UNSUPPORTED_INF));
        assert!(read("a: -.Inf\n").unwrap_err().contains(UNSUPPORTED_NEG_INF));
        assert!(read("a: [.nan]\n").unwrap_err().contains(UNSUPPORTED_NAN));
        assert_eq!(read("a: '.inf'\n").unwrap(), serde_json::json!({"a": ".inf"}));
    }

    #[test]
    fn float_keys_print_as_go_prints_a_float32() {
        assert_eq!(go_float32_key(1.5), "1.5");
        assert_eq!(go_float32_key(0.1), "0.1");
        assert_eq!(go_float32_key(1000.0), "1000");
        assert_eq!(go_float32_key(123456.0), "123456");
        assert_eq!(go_float32_key(1e6), "1e+06");
        assert_eq!(go_float32_key(1e21), "1e+21");
        assert_eq!(go_float32_key(0.00001), "1e-05");
        assert_eq!(go_float32_key(-2.5e-3), "-0.0025");
    }
}
