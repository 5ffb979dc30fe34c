//! Validation with Kubernetes' field paths and messages.

use crate::engine::api::{Cause, Object};

pub fn validate_create(_obj: &Object) -> Vec<Cause> {
    Vec::new()
}

pub fn validate_update(_obj: &Object, _old: &Object) -> Vec<Cause> {
    Vec::new()
}
