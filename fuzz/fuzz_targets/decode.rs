//! Arbitrary bytes through the manifest decoder, defaulting and validation.
#![no_main]
use libfuzzer_sys::fuzz_target;
use miniplane::engine::apiserver::{decode, defaults, validation};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let parsed = decode::parse_manifests(&text);
    for doc in &parsed.documents {
        let _ = decode::check_type_meta(&doc.value);
        if let Ok(rid) = decode::resolve_kind(&doc.value, "-") {
            if let Ok(mut obj) = decode::decode_object(rid, &doc.value) {
                defaults::apply(&mut obj);
                let _ = validation::validate_create(&obj);
                let _ = validation::validate_update(&obj, &obj);
            }
        }
    }
});
