//! Objects of real kinds with arbitrary fields, as YAML and as JSON,
//! through decoding, defaulting and validation.
#![no_main]
#[path = "common.rs"]
mod common;
use libfuzzer_sys::fuzz_target;
use miniplane::engine::apiserver::{decode, defaults, validation};

fn decode_all(text: &str) {
    for doc in &decode::parse_manifests(text).documents {
        if let Ok(rid) = decode::resolve_kind(&doc.value, "-") {
            if let Ok(mut obj) = decode::decode_object(rid, &doc.value) {
                defaults::apply(&mut obj);
                let _ = validation::validate_create(&obj);
                let _ = obj.to_json();
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut u = arbitrary::Unstructured::new(data);
    let Ok(obj) = common::object(&mut u) else { return };
    decode_all(&serde_yaml::to_string(&obj).unwrap_or_default());
    decode_all(&obj.to_string());
});
