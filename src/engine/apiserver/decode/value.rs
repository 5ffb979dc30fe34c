//! apimachinery's quantity errors, which the API server passes on without
//! Go's `json:` prefix. Quantities are parsed and kept in canonical form
//! while decoding (`crate::engine::api::from_value`).

use crate::engine::quantity;

/// Whether `message` is one of apimachinery's quantity errors, which the
/// API server passes on without Go's `json:` prefix.
pub fn is_quantity_error(message: &str) -> bool {
    [quantity::QuantityError::FormatWrong, quantity::QuantityError::Numeric, quantity::QuantityError::Suffix]
        .iter()
        .any(|e| message.starts_with(&e.to_string()))
}
