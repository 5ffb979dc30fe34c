//! Defaulting as a 1.33 API server applies it before validation.

use crate::engine::api::Object;

pub fn apply(_obj: &mut Object) {}
