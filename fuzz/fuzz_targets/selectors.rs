//! Label and field selectors: parse, print, parse again, match.
#![no_main]
use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use miniplane::engine::api::{ids, Object};
use miniplane::engine::selector::{FieldSelector, Selector};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let labels: BTreeMap<String, String> = [("app", "web"), ("tier", "db"), ("a", "")].iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    if let Ok(s) = Selector::parse(&text) {
        let matched = s.matches(Some(&labels));
        let again = Selector::parse(&s.to_string()).expect("a printed selector reads back");
        assert_eq!(again.matches(Some(&labels)), matched, "{text:?} printed as {s}");
    }
    if let Ok(f) = FieldSelector::parse(&text) {
        let pod = serde_json::json!({"metadata": {"name": "p", "namespace": "default"}, "spec": {"nodeName": "n"}, "status": {"phase": "Running"}});
        if let Ok(pod) = Object::from_json(ids::pods(), pod) {
            let _ = f.matches(&pod);
        }
        let _ = f.check_supported("Pod");
    }
});
