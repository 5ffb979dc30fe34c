//! Typed decoding from a JSON value that also knows where it failed.
//!
//! The API server reports a type error with the field it is about (`Go
//! struct field DeploymentSpec.spec.replicas`). Wrapping serde_json's value
//! deserializer in a path-tracking one (as `serde_path_to_error` does) gives
//! every kind's generated decoder a second, larger copy in the page's wasm;
//! this deserializer is the only one objects are decoded with, and it keeps
//! the path itself, at the cost of two non-generic calls per field.
//!
//! It behaves as serde_json's deserializer for `&Value` does (the same
//! visits, the same error messages), so decoding accepts and refuses what
//! `serde_json::from_value` would, except that quantities are checked and
//! made canonical as the API server's decoder does, and a null text, number
//! or boolean is its zero value, as Go leaves such a field for a null.

use std::cell::RefCell;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, EnumAccess, Error as _, MapAccess, SeqAccess, Unexpected, VariantAccess, Visitor};
use serde::Deserialize;
use serde_json::{Map, Number, Value};

/// One step of the path to the value being decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Segment {
    /// A field of an object.
    Field(String),
    /// An entry of a map, by its key.
    Key(String),
    /// An item of a list.
    Item(usize),
}

/// Why a value did not decode, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError {
    /// serde's message: `invalid type: string "3", expected i32`.
    pub message: String,
    /// Outermost first.
    pub path: Vec<Segment>,
}

impl DecodeError {
    /// The field names on the path, without list positions or map keys,
    /// as encoding/json names a type error's field: it stacks the fields of
    /// structs only.
    pub fn fields(&self) -> Vec<&str> {
        self.path
            .iter()
            .filter_map(|s| match s {
                Segment::Field(f) => Some(f.as_str()),
                Segment::Key(_) | Segment::Item(_) => None,
            })
            .collect()
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if !self.path.is_empty() {
            f.write_str(" at ")?;
            for (i, s) in self.path.iter().enumerate() {
                match s {
                    Segment::Field(name) | Segment::Key(name) if i == 0 => f.write_str(name)?,
                    Segment::Field(name) | Segment::Key(name) => write!(f, ".{name}")?,
                    Segment::Item(n) => write!(f, "[{n}]")?,
                }
            }
        }
        Ok(())
    }
}

impl std::error::Error for DecodeError {}

/// Decodes `value` as a `T`, reporting the path of the first value that does not fit.
pub fn from_value<'de, T: Deserialize<'de>>(value: &'de Value) -> Result<T, DecodeError> {
    let path = PathLog::default();
    T::deserialize(Node { value, path: &path }).map_err(|Message(message)| DecodeError { message, path: path.take() })
}

/// serde's error for this deserializer: just the message.
#[derive(Debug)]
pub struct Message(String);

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Message {}

impl de::Error for Message {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Message(msg.to_string())
    }
}

/// The path to the value being decoded. A value that decodes takes its step
/// off again; one that fails leaves the steps to it in place.
#[derive(Default)]
struct PathLog<'de>(RefCell<Vec<Step<'de>>>);

#[derive(Clone, Copy)]
enum Step<'de> {
    Field(&'de str),
    Key(&'de str),
    Item(usize),
}

impl<'de> PathLog<'de> {
    #[inline(never)]
    fn enter(&self, step: Step<'de>) -> usize {
        let mut steps = self.0.borrow_mut();
        let depth = steps.len();
        steps.push(step);
        depth
    }

    #[inline(never)]
    fn leave(&self, depth: usize) {
        self.0.borrow_mut().truncate(depth);
    }

    fn take(&self) -> Vec<Segment> {
        self.0
            .borrow()
            .iter()
            .map(|s| match s {
                Step::Field(f) => Segment::Field((*f).to_string()),
                Step::Key(k) => Segment::Key((*k).to_string()),
                Step::Item(i) => Segment::Item(*i),
            })
            .collect()
    }
}

/// One value being decoded.
#[derive(Clone, Copy)]
struct Node<'de, 'p> {
    value: &'de Value,
    path: &'p PathLog<'de>,
}

fn unexpected(value: &Value) -> Unexpected<'_> {
    match value {
        Value::Null => Unexpected::Unit,
        Value::Bool(b) => Unexpected::Bool(*b),
        Value::Number(n) => number_unexpected(n),
        Value::String(s) => Unexpected::Str(s),
        Value::Array(_) => Unexpected::Seq,
        Value::Object(_) => Unexpected::Map,
    }
}

fn number_unexpected(n: &Number) -> Unexpected<'static> {
    if let Some(u) = n.as_u64() {
        Unexpected::Unsigned(u)
    } else if let Some(i) = n.as_i64() {
        Unexpected::Signed(i)
    } else {
        Unexpected::Float(n.as_f64().unwrap_or(f64::NAN))
    }
}

fn visit_number<'de, V: Visitor<'de>>(n: &Number, visitor: V) -> Result<V::Value, Message> {
    if let Some(u) = n.as_u64() {
        visitor.visit_u64(u)
    } else if let Some(i) = n.as_i64() {
        visitor.visit_i64(i)
    } else {
        visitor.visit_f64(n.as_f64().unwrap_or(f64::NAN))
    }
}

/// Whether `visitor` is k8s-openapi's `ByteString` visitor, told by what
/// it expects; the comparison stops at the first character that differs.
fn expects_base64(visitor: &dyn de::Expected) -> bool {
    const BASE64_EXPECTED: &str = "a base64-encoded string";
    struct Compare {
        rest: &'static str,
    }
    impl fmt::Write for Compare {
        fn write_str(&mut self, text: &str) -> fmt::Result {
            match self.rest.strip_prefix(text) {
                Some(rest) => {
                    self.rest = rest;
                    Ok(())
                }
                None => Err(fmt::Error),
            }
        }
    }
    let mut compare = Compare { rest: BASE64_EXPECTED };
    fmt::write(&mut compare, format_args!("{visitor}")).is_ok() && compare.rest.is_empty()
}

impl<'de, 'p> Node<'de, 'p> {
    fn invalid_type<V: Visitor<'de>>(self, visitor: &V) -> Message {
        Message::invalid_type(unexpected(self.value), visitor)
    }

    /// A `Time` or `MicroTime` read with `layout` (see
    /// `deserialize_newtype_struct`).
    fn time<V: Visitor<'de>>(self, layout: super::go_time::Layout, visitor: V) -> Result<V::Value, Message> {
        match self.value {
            Value::String(text) => match super::go_time::parse(layout, text) {
                Ok(instant) => visitor.visit_newtype_struct(de::value::StringDeserializer::<Message>::new(instant.to_string())),
                Err(e) => Err(Message(e)),
            },
            Value::Null => visitor.visit_newtype_struct(self),
            // encoding/json's type error, to which the API server's decoder
            // adds the field (`... into Go struct field
            // ObjectMeta.metadata.creationTimestamp of type string`).
            other => Err(Message::invalid_type(unexpected(other), &"string")),
        }
    }

    // On the page, one function per element type (see `visit_object`).
    #[cfg_attr(target_arch = "wasm32", inline(never))]
    fn visit_array<V: Visitor<'de>>(self, items: &'de [Value], visitor: V) -> Result<V::Value, Message> {
        let mut access = Items { items: items.iter(), index: 0, path: self.path };
        let out = visitor.visit_seq(&mut access)?;
        match access.items.len() {
            0 => Ok(out),
            _ => Err(Message::invalid_length(items.len(), &"fewer elements in array")),
        }
    }

    // On the page, one function per struct type, compiled only when a value
    // of it is first decoded (see `decode` in `api/mod.rs`).
    #[cfg_attr(target_arch = "wasm32", inline(never))]
    /// `keyed`: the object is a map (its entries are keys), not a struct
    /// (its entries are fields).
    fn visit_object<V: Visitor<'de>>(self, map: &'de Map<String, Value>, keyed: bool, visitor: V) -> Result<V::Value, Message> {
        let mut access = Fields { fields: map.iter(), pending: None, keyed, path: self.path };
        let out = visitor.visit_map(&mut access)?;
        match access.fields.len() {
            0 => Ok(out),
            _ => Err(Message::invalid_length(map.len(), &"fewer elements in map")),
        }
    }
}

impl<'de, 'p> Deserializer<'de> for Node<'de, 'p> {
    type Error = Message;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Message> {
        match self.value {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Number(n) => visit_number(n, visitor),
            Value::String(s) => visitor.visit_borrowed_str(s),
            Value::Array(items) => self.visit_array(items, visitor),
            Value::Object(map) => self.visit_object(map, true, visitor),
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Message> {
        match self.value {
            Value::Bool(b) => visitor.visit_bool(*b),
            // Go leaves a value that is not a pointer, map, slice or
            // interface as it was for a null: its zero value.
            Value::Null => visitor.visit_bool(false),
            _ => Err(self.invalid_type(&visitor)),
        }
    }

    fn deserialize_i8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Message> {
        self.deserialize_number(visitor)
    }
    fn deserialize_i16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Message> {
        self.deserialize_number(visitor)
    }
    fn deserialize_i32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Message> {
        self.deserialize_number(visitor)
    }
    fn deserialize_i64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Message> {
        self.deserialize_number(visitor)
    }
    fn deserialize_i128<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Message> {
        self.deserialize_number(visitor)
    }
    fn deserialize_u8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Message> {
        self.deserialize_number(visitor)
    }
    fn deserialize_u16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Message> {
        self.deserialize_number(visitor)
    }
    fn deserialize_u32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Message> {
        self.deserialize_number(visitor)
    }
    fn deserialize_u64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Message> {
        self.deserialize_number(visitor)
    }
    fn deserialize_u128<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Message> {
        self.deserialize_number(visitor)
    }
    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Message> {
        self.deserialize_number(visitor)
    }
    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Message> {
        self.deserialize_number(visitor)
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Message> {
        self.deserialize_str(visitor)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Message> {
        match self.value {
            // A `[]byte` field (k8s-openapi's `ByteString`) is read with Go's
            // decoder, whose rules and errors differ from the base64 crate's,
            // and handed over in the canonical form.
            Value::String(s) if expects_base64(&visitor) => match super::go_base64::decode(s.as_bytes()) {
                Ok(bytes) => visitor.visit_str(&base64::Engine::encode(&base64::engine::general_purpose::STANDARD, bytes)),
                Err(e) => Err(Message(e)),
            },
            Value::String(s) => visitor.visit_borrowed_str(s),
            Value::Null => visitor.visit_borrowed_str(""),
            _ => Err(self.invalid_type(&visitor)),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Message> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Message> {
        match self.value {
            Value::String(s) => visitor.visit_borrowed_str(s),
            Value::Array(items) => self.visit_array(items, visitor),
            _ => Err(self.invalid_type(&visitor)),
        }
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Message> {
        self.deserialize_bytes(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Message> {
        match self.value {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Message> {
        match self.value {
            Value::Null => visitor.visit_unit(),
            _ => Err(self.invalid_type(&visitor)),
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(self, _name: &'static str, visitor: V) -> Result<V::Value, Message> {
        self.deserialize_unit(visitor)
    }

    /// k8s-openapi asks for a newtype struct named `Quantity` for every
    /// `resource.Quantity`: it is parsed here as the API server's Go decoder
    /// parses it (a malformed one fails the request with apimachinery's
    /// error) and kept in canonical form.
    ///
    /// It asks for `Time` and `MicroTime` the same way: a text is read as
    /// Go's `time.Parse` reads it ([`super::go_time`]), so a time a 1.33
    /// API server refuses is refused with Go's words, and one it reads is
    /// handed on in the form jiff reads. A value that is not a text fails
    /// as Go's `json.Unmarshal` into a `string` fails inside their
    /// `UnmarshalJSON`.
    fn deserialize_newtype_struct<V: Visitor<'de>>(self, name: &'static str, visitor: V) -> Result<V::Value, Message> {
        match name {
            "Quantity" => {}
            "Time" => return self.time(super::go_time::Layout::Rfc3339, visitor),
            "MicroTime" => return self.time(super::go_time::Layout::Rfc3339Micro, visitor),
            _ => return visitor.visit_newtype_struct(self),
        }
        let text = match self.value {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            // Go reads `null` as the zero quantity.
            Value::Null => "0".to_string(),
            // Other types fail as Go's type check fails them.
            _ => return visitor.visit_newtype_struct(self),
        };
        match crate::engine::quantity::normalize(&text) {
            Ok(canonical) => visitor.visit_newtype_struct(de::value::StringDeserializer::<Message>::new(canonical)),
            Err(e) => Err(Message::custom(e)),
        }
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Message> {
        match self.value {
            Value::Array(items) => self.visit_array(items, visitor),
            _ => Err(self.invalid_type(&visitor)),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, Message> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(self, _name: &'static str, _len: usize, visitor: V) -> Result<V::Value, Message> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Message> {
        match self.value {
            Value::Object(map) => self.visit_object(map, true, visitor),
            _ => Err(self.invalid_type(&visitor)),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(self, _name: &'static str, _fields: &'static [&'static str], visitor: V) -> Result<V::Value, Message> {
        match self.value {
            Value::Array(items) => self.visit_array(items, visitor),
            Value::Object(map) => self.visit_object(map, false, visitor),
            _ => Err(self.invalid_type(&visitor)),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(self, _name: &'static str, _variants: &'static [&'static str], visitor: V) -> Result<V::Value, Message> {
        let (variant, value) = match self.value {
            Value::Object(map) => {
                let mut entries = map.iter();
                match (entries.next(), entries.next()) {
                    (Some((variant, value)), None) => (variant.as_str(), Some(value)),
                    _ => return Err(Message::invalid_value(Unexpected::Map, &"map with a single key")),
                }
            }
            Value::String(variant) => (variant.as_str(), None),
            other => return Err(Message::invalid_type(unexpected(other), &"string or map")),
        };
        visitor.visit_enum(Variant { name: variant, value, path: self.path })
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Message> {
        self.deserialize_str(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Message> {
        visitor.visit_unit()
    }
}

impl<'de, 'p> Node<'de, 'p> {
    fn deserialize_number<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Message> {
        match self.value {
            Value::Number(n) => visit_number(n, visitor),
            Value::Null => visitor.visit_u64(0),
            _ => Err(self.invalid_type(&visitor)),
        }
    }
}

struct Items<'de, 'p> {
    items: std::slice::Iter<'de, Value>,
    index: usize,
    path: &'p PathLog<'de>,
}

impl<'de, 'p> SeqAccess<'de> for Items<'de, 'p> {
    type Error = Message;

    #[cfg_attr(target_arch = "wasm32", inline(never))]
    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, Message> {
        let Some(value) = self.items.next() else { return Ok(None) };
        let depth = self.path.enter(Step::Item(self.index));
        self.index += 1;
        let out = seed.deserialize(Node { value, path: self.path })?;
        self.path.leave(depth);
        Ok(Some(out))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

struct Fields<'de, 'p> {
    fields: serde_json::map::Iter<'de>,
    pending: Option<(&'de str, &'de Value)>,
    /// A map's entries, not a struct's fields (see `visit_object`).
    keyed: bool,
    path: &'p PathLog<'de>,
}

impl<'de, 'p> MapAccess<'de> for Fields<'de, 'p> {
    type Error = Message;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, Message> {
        let Some((key, value)) = self.fields.next() else { return Ok(None) };
        self.pending = Some((key.as_str(), value));
        seed.deserialize(de::value::BorrowedStrDeserializer::<Message>::new(key)).map(Some)
    }

    // On the page, one function per field type, shared by every struct's
    // fields of that type rather than copied into each.
    #[cfg_attr(target_arch = "wasm32", inline(never))]
    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Message> {
        let Some((key, value)) = self.pending.take() else { return Err(Message::custom("value is missing")) };
        let depth = self.path.enter(if self.keyed { Step::Key(key) } else { Step::Field(key) });
        let out = seed.deserialize(Node { value, path: self.path })?;
        self.path.leave(depth);
        Ok(out)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.fields.len())
    }
}

/// An enum written as `"Variant"` or `{"Variant": value}`.
struct Variant<'de, 'p> {
    name: &'de str,
    value: Option<&'de Value>,
    path: &'p PathLog<'de>,
}

impl<'de, 'p> EnumAccess<'de> for Variant<'de, 'p> {
    type Error = Message;
    type Variant = Self;

    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Self), Message> {
        let tag = seed.deserialize(de::value::BorrowedStrDeserializer::<Message>::new(self.name))?;
        Ok((tag, self))
    }
}

impl<'de, 'p> VariantAccess<'de> for Variant<'de, 'p> {
    type Error = Message;

    fn unit_variant(self) -> Result<(), Message> {
        match self.value {
            None | Some(Value::Null) => Ok(()),
            Some(other) => Err(Message::invalid_type(unexpected(other), &"unit variant")),
        }
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, Message> {
        match self.value {
            Some(value) => self.within(|node| seed.deserialize(node), value),
            None => Err(Message::invalid_type(Unexpected::UnitVariant, &"newtype variant")),
        }
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, Message> {
        match self.value {
            Some(value @ Value::Array(_)) => self.within(|node| node.deserialize_seq(visitor), value),
            Some(other) => Err(Message::invalid_type(unexpected(other), &"tuple variant")),
            None => Err(Message::invalid_type(Unexpected::UnitVariant, &"tuple variant")),
        }
    }

    fn struct_variant<V: Visitor<'de>>(self, _fields: &'static [&'static str], visitor: V) -> Result<V::Value, Message> {
        match self.value {
            Some(value @ Value::Object(_)) => self.within(|node| node.deserialize_map(visitor), value),
            Some(other) => Err(Message::invalid_type(unexpected(other), &"struct variant")),
            None => Err(Message::invalid_type(Unexpected::UnitVariant, &"struct variant")),
        }
    }
}

impl<'de, 'p> Variant<'de, 'p> {
    fn within<T>(&self, decode: impl FnOnce(Node<'de, 'p>) -> Result<T, Message>, value: &'de Value) -> Result<T, Message> {
        let depth = self.path.enter(Step::Field(self.name));
        let out = decode(Node { value, path: self.path })?;
        self.path.leave(depth);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::apps::v1::Deployment;
    use crate::engine::api::pod::Pod;
    use serde_json::json;

    /// What serde_json's own value deserializer says, for comparison.
    fn serde_json_says<T: for<'de> Deserialize<'de>>(value: &Value) -> Result<T, String> {
        T::deserialize(value).map_err(|e| e.to_string())
    }

    #[test]
    fn decodes_as_serde_json_does() {
        let pod = json!({"metadata": {"name": "p", "labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "nginx",
            "ports": [{"containerPort": 80}], "resources": {"limits": {"cpu": "1", "memory": 5}}}],
            "terminationGracePeriodSeconds": 30, "priority": -5, "hostNetwork": true},
            "status": {"startTime": "2026-01-01T00:00:00Z"}});
        let ours: Pod = from_value(&pod).expect("decodes");
        assert_eq!(Ok(ours), serde_json_says::<Pod>(&pod));
    }

    #[test]
    fn errors_name_the_path_and_read_as_serde_json_s() {
        let cases = [
            (json!({"spec": {"replicas": "3"}}), vec!["spec", "replicas"]),
            (json!({"spec": {"replicas": 3_000_000_000u64}}), vec!["spec", "replicas"]),
            (json!({"spec": {"replicas": 1.5}}), vec!["spec", "replicas"]),
            (json!({"spec": {"template": {"spec": {"containers": [{"name": "a"}, {"name": 5}]}}}}), vec!["spec", "template", "spec", "containers", "name"]),
            (json!({"metadata": {"labels": ["x"]}}), vec!["metadata", "labels"]),
            (json!({"spec": {"paused": "yes"}}), vec!["spec", "paused"]),
            (json!({"spec": {"strategy": {"rollingUpdate": {"maxSurge": true}}}}), vec!["spec", "strategy", "rollingUpdate", "maxSurge"]),
            (json!([1]), vec![]),
        ];
        for (value, fields) in cases {
            let err = from_value::<Deployment>(&value).expect_err("refused");
            assert_eq!(err.fields(), fields, "{value}");
            assert_eq!(Err(err.message.clone()), serde_json_says::<Deployment>(&value).map(|_| ()), "{value}");
        }
        let err = from_value::<Deployment>(&json!({"spec": {"template": {"spec": {"containers": [{"name": "a"}, {"name": 5}]}}}})).unwrap_err();
        assert_eq!(err.to_string(), "invalid type: integer `5`, expected a string at spec.template.spec.containers[1].name");
    }

    #[test]
    fn fields_that_decoded_leave_no_step_behind() {
        let err = from_value::<Pod>(&json!({"spec": {"containers": [{"name": "ok"}], "hostname": 5}})).unwrap_err();
        assert_eq!(err.fields(), ["spec", "hostname"]);
    }
}
