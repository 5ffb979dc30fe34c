//! Admission plugins a 1.33 API server enables by default, where a learner
//! can see their effect.

use crate::engine::api::{ApiError, Object};

use super::ApiServer;

pub fn admit_create(_api: &mut ApiServer, _obj: &mut Object) -> Result<(), ApiError> {
    Ok(())
}

pub fn admit_update(_api: &mut ApiServer, _obj: &mut Object, _old: &Object) -> Result<(), ApiError> {
    Ok(())
}
