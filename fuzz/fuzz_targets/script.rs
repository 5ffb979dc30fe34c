//! Scripts and single script lines (faults, etcdctl) of any text.
#![no_main]
use libfuzzer_sys::fuzz_target;
use miniplane::engine::script;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = script::parse(&text);
    for line in text.lines().take(64) {
        let _ = script::parse_line(line);
        let _ = miniplane::scene::is_script_line(line);
        let _ = miniplane::scene::is_read_only(line);
    }
});
