//! Errors that the API server passes on as they are: apimachinery's
//! quantity errors and `time.Parse`'s, each returned from a type's own
//! `UnmarshalJSON`, and a `[]byte` field's base64 error, which the decoder
//! hands back as they are (it adds a field only to encoding/json's type
//! errors).
//! Quantities and times are parsed while decoding
//! (`crate::engine::api::from_value`).

use crate::engine::quantity;

/// Whether `message` is one of apimachinery's quantity errors or a
/// `time.ParseError`, which the API server passes on as they are.
pub fn is_passed_on_unwrapped(message: &str) -> bool {
    crate::engine::api::go_time::is_parse_error(message)
        || message.starts_with(crate::engine::api::go_base64::ERROR_PREFIX)
        || [quantity::QuantityError::FormatWrong, quantity::QuantityError::Numeric, quantity::QuantityError::Suffix]
            .iter()
            .any(|e| message.starts_with(&e.to_string()))
}
