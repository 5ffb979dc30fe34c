//! Merge, strategic merge, three-way and JSON patches of shaped documents.
#![no_main]
#[path = "common.rs"]
mod common;
use libfuzzer_sys::fuzz_target;
use miniplane::engine::apiserver::patch;
use serde_json::json;

fuzz_target!(|data: &[u8]| {
    let mut u = arbitrary::Unstructured::new(data);
    let (Ok(target), Ok(doc)) = (common::tree(&mut u, 4), common::tree(&mut u, 4)) else { return };
    let once = patch::merge_patch(&target, &doc);
    assert_eq!(patch::merge_patch(&once, &doc), once, "a merge patch applied twice differs from once");
    let _ = patch::strategic_merge_patch(&target, &doc);
    let _ = patch::three_way_merge(&target, &doc, &once);
    let ops: Vec<serde_json::Value> = (0..u.int_in_range(0..=4).unwrap_or(0))
        .filter_map(|_| {
            let op = *u.choose(&["add", "remove", "replace", "move", "copy", "test", "x"]).ok()?;
            let path: String = (0..u.int_in_range(0..=3).ok()?).filter_map(|_| u.choose(common::FIELDS).ok().map(|f| format!("/{f}"))).collect();
            let index = u.int_in_range(0..=2).ok()?;
            Some(json!({"op": op, "path": format!("{path}/{index}"), "from": path, "value": common::tree(&mut u, 2).ok()?}))
        })
        .collect();
    let _ = patch::json_patch(&target, &serde_json::Value::Array(ops));
    let _ = patch::json_patch(&target, &doc);
});
