//! A serde deserializer over a JSON document that reads quantities as the
//! API server's Go decoder does: every `resource.Quantity` field, wherever
//! it sits in a kind, is parsed when decoded (a malformed one fails the
//! whole request with apimachinery's error) and kept in canonical form.
//!
//! k8s-openapi stores a quantity as a string and asks its deserializer for
//! a newtype struct named `Quantity`; that request is the hook. Everything
//! else reads the value as `serde_json::Value`'s own deserializer does.

use serde::de::value::{MapDeserializer, SeqDeserializer};
use serde::de::{self, IntoDeserializer, Visitor};
use serde_json::{Error, Value};

use crate::engine::quantity;

#[derive(Clone, Copy)]
pub struct Checked<'a>(pub &'a Value);

impl<'de> IntoDeserializer<'de, Error> for Checked<'de> {
    type Deserializer = Self;
    fn into_deserializer(self) -> Self {
        self
    }
}

impl<'de> de::Deserializer<'de> for Checked<'de> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Number(n) => {
                if let Some(u) = n.as_u64() {
                    visitor.visit_u64(u)
                } else if let Some(i) = n.as_i64() {
                    visitor.visit_i64(i)
                } else {
                    visitor.visit_f64(n.as_f64().unwrap_or(0.0))
                }
            }
            Value::String(s) => visitor.visit_borrowed_str(s),
            Value::Array(items) => {
                let mut seq = SeqDeserializer::new(items.iter().map(Checked));
                let out = visitor.visit_seq(&mut seq)?;
                seq.end()?;
                Ok(out)
            }
            Value::Object(map) => {
                let mut entries = MapDeserializer::new(map.iter().map(|(k, v)| (k.as_str(), Checked(v))));
                let out = visitor.visit_map(&mut entries)?;
                entries.end()?;
                Ok(out)
            }
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, name: &'static str, visitor: V) -> Result<V::Value, Error> {
        if name != "Quantity" {
            return visitor.visit_newtype_struct(self);
        }
        let text = match self.0 {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            // Go reads `null` as the zero quantity.
            Value::Null => "0".to_string(),
            // Other types fail as Go's type check fails them.
            _ => return visitor.visit_newtype_struct(self),
        };
        match quantity::normalize(&text) {
            Ok(canonical) => visitor.visit_newtype_struct(canonical.into_deserializer()),
            Err(e) => Err(de::Error::custom(e)),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(self, name: &'static str, variants: &'static [&'static str], visitor: V) -> Result<V::Value, Error> {
        de::Deserializer::deserialize_enum(self.0, name, variants, visitor)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map struct identifier ignored_any
    }
}

/// Whether `message` is one of apimachinery's quantity errors, which the
/// API server passes on without Go's `json:` prefix.
pub fn is_quantity_error(message: &str) -> bool {
    [quantity::QuantityError::FormatWrong, quantity::QuantityError::Numeric, quantity::QuantityError::Suffix]
        .iter()
        .any(|e| message.starts_with(&e.to_string()))
}
