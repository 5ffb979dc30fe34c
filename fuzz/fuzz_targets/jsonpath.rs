//! JSONPath templates (the bytes up to the first NUL) run on JSON (the rest).
#![no_main]
use libfuzzer_sys::fuzz_target;
use miniplane::engine::kubectl::printers::jsonpath::{self, Template};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (template, doc) = text.split_once('\0').unwrap_or((&text, "{\"items\":[{\"metadata\":{\"name\":\"a\",\"labels\":{\"x\":\"1\"}}},{\"b\":[1,2.5,null,true]}]}"));
    let value: serde_json::Value = serde_json::from_str(doc).unwrap_or(serde_json::Value::Null);
    if let Ok(t) = Template::parse(template) {
        let _ = t.execute(&value);
        let _ = t.find(&value);
    }
    let _ = Template::parse(&jsonpath::relaxed(template));
});
