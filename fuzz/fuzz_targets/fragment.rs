//! Share-link fragments and autosaved scenes: the bytes as a fragment, as
//! base64 of them, and deflated then base64 (so the JSON reader is reached).
#![no_main]
use base64::Engine as _;
use libfuzzer_sys::fuzz_target;
use miniplane::scene::Scene;

fuzz_target!(|data: &[u8]| {
    let _ = Scene::from_fragment(&String::from_utf8_lossy(data));
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let _ = Scene::from_fragment(&format!("scene={}", b64.encode(data)));
    let deflated = miniz_oxide::deflate::compress_to_vec(data, 1);
    if let Ok(scene) = Scene::from_fragment(&format!("#scene={}", b64.encode(deflated))) {
        // What was read is written back the same.
        assert_eq!(Scene::from_fragment(&scene.to_fragment()), Ok(scene));
    }
});
