//! kubectl's argument parser: bytes as a shell line, and as raw words.
#![no_main]
use libfuzzer_sys::fuzz_target;
use miniplane::engine::kubectl::args;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(words) = shell_words::split(&text) {
        let _ = args::parse(&words);
    }
    let raw: Vec<String> = text.split('\0').map(str::to_string).collect();
    let _ = args::parse(&raw);
});
