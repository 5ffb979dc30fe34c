//! Patches as a 1.33 API server applies them: JSON merge patch (RFC 7386),
//! JSON patch (RFC 6902) and strategic merge patch, plus the three-way merge
//! `kubectl apply` computes from the last-applied configuration.
//!
//! Written here rather than taken from a crate: strategic merge needs the
//! Kubernetes patch merge keys (containers by `name`, container ports by
//! `containerPort`, volume mounts by `mountPath`…), which no general JSON
//! patch crate knows, and the error texts must be the API server's.

use serde_json::{Map, Value};

use crate::engine::api::{ApiError, Reason};

/// How a list merges, by its field's `patchStrategy` and `patchMergeKey`
/// in the 1.33 API types: for the list at `field` whose enclosing fields
/// are `parents` (JSON names, innermost last) in an object of `kind`.
enum ListMerge {
    /// No patch strategy: the patch's list replaces the object's.
    Atomic,
    /// `patchStrategy:"merge"` with a merge key: items merge by it.
    ByKey(&'static str),
    /// `patchStrategy:"merge"` on a list of texts (`metadata.finalizers`,
    /// a Node's `spec.podCIDRs`): the union, without duplicates.
    Scalars,
}

fn list_merge(kind: &str, field: &str, parents: &[String]) -> ListMerge {
    let parent = parents.last().map(String::as_str).unwrap_or("");
    match field {
        "finalizers" if parent == "metadata" => ListMerge::Scalars,
        "podCIDRs" if kind == "Node" && parent == "spec" => ListMerge::Scalars,
        // A ServiceAccount's own lists: `secrets` merges by name, its
        // `imagePullSecrets` has no strategy (a PodSpec's merges by name).
        "secrets" if kind == "ServiceAccount" && parents.is_empty() => ListMerge::ByKey("name"),
        "imagePullSecrets" if kind == "ServiceAccount" && parents.is_empty() => ListMerge::Atomic,
        "containers" | "initContainers" | "ephemeralContainers" | "volumes" | "env" | "imagePullSecrets" | "schedulingGates" => ListMerge::ByKey("name"),
        "resourceClaims" if parent == "spec" => ListMerge::ByKey("name"),
        "volumeMounts" => ListMerge::ByKey("mountPath"),
        "volumeDevices" => ListMerge::ByKey("devicePath"),
        "ports" if matches!(parent, "containers" | "initContainers" | "ephemeralContainers") => ListMerge::ByKey("containerPort"),
        "ports" if parent == "spec" => ListMerge::ByKey("port"),
        "hostAliases" => ListMerge::ByKey("ip"),
        "podIPs" | "hostIPs" if parent == "status" => ListMerge::ByKey("ip"),
        "addresses" if kind == "Node" && parent == "status" => ListMerge::ByKey("type"),
        "ownerReferences" => ListMerge::ByKey("uid"),
        "conditions" => ListMerge::ByKey("type"),
        "topologySpreadConstraints" => ListMerge::ByKey("topologyKey"),
        _ => ListMerge::Atomic,
    }
}

/// `patchStrategy:"replace"` on a struct (a PodDisruptionBudget's
/// `spec.selector`): the patch's map replaces the object's whole.
fn replaces_map(kind: &str, field: &str, parents: &[String]) -> bool {
    kind == "PodDisruptionBudget" && field == "selector" && parents == ["spec"]
}

/// `patchStrategy:"retainKeys"`: a Deployment's `spec.strategy` and the
/// items of a pod's `volumes` and `resourceClaims` (`parents` ends with the
/// map's own field). kubectl apply sends `$retainKeys` with the keys the
/// file sets, so the server clears the others (`rollingUpdate` when the
/// type becomes `Recreate`, the old source when a volume's changes).
fn retains_keys(kind: &str, parents: &[String]) -> bool {
    match parents {
        [spec, strategy] => kind == "Deployment" && spec == "spec" && strategy == "strategy",
        [.., parent, list] => list == "volumes" || (list == "resourceClaims" && parent == "spec"),
        _ => false,
    }
}

/// The object's kind, which decides some fields' strategies.
fn kind_of(value: &Value) -> &str {
    value.get("kind").and_then(Value::as_str).unwrap_or("")
}

/// RFC 7386: objects merge, `null` deletes, everything else replaces.
pub fn merge_patch(target: &Value, patch: &Value) -> Value {
    match patch {
        Value::Object(p) => {
            let mut out = match target {
                Value::Object(t) => t.clone(),
                _ => Map::new(),
            };
            for (k, v) in p {
                if v.is_null() {
                    out.remove(k);
                } else {
                    let merged = merge_patch(out.get(k).unwrap_or(&Value::Null), v);
                    out.insert(k.clone(), merged);
                }
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

const RETAIN_KEYS: &str = "$retainKeys";
const DELETE_FROM_PRIMITIVE_LIST: &str = "$deleteFromPrimitiveList/";
const SET_ELEMENT_ORDER: &str = "$setElementOrder/";

/// A strategic merge patch as the API server's `strategicpatch` applies it:
/// as a merge patch, but lists with a merge key merge item by item, lists
/// of texts with the merge strategy are joined, and the `$patch`,
/// `$retainKeys` and `$deleteFromPrimitiveList` directives apply. Errors
/// carry the server's reason: strategicpatch's own errors reach kubectl
/// as a plain 500 (`Error from server: …`), a malformed `$retainKeys` as a
/// bad request.
pub fn strategic_merge_patch(target: &Value, patch: &Value) -> Result<Value, ApiError> {
    strategic(target, patch, kind_of(target), &mut Vec::new())
}

fn strategic(target: &Value, patch: &Value, kind: &str, parents: &mut Vec<String>) -> Result<Value, ApiError> {
    let Value::Object(p) = patch else { return Ok(patch.clone()) };
    match p.get("$patch") {
        Some(Value::String(d)) if d == "replace" => {
            let mut replaced = p.clone();
            replaced.remove("$patch");
            return Ok(Value::Object(replaced));
        }
        // `handleDirectiveInMergeMap`: the map is left empty, not removed.
        Some(Value::String(d)) if d == "delete" => return Ok(Value::Object(Map::new())),
        Some(other) => return Err(ApiError::new(Reason::Unknown, format!("unknown patch type: {} in map: {}", go_format(other), go_format(patch)))),
        None => {}
    }
    let mut out = match target {
        Value::Object(t) => t.clone(),
        _ => Map::new(),
    };
    // `applyRetainKeysDirective`: every key the patch sets must be listed,
    // and the object's keys not listed are cleared.
    if let Some(keys) = p.get(RETAIN_KEYS) {
        let malformed = || ApiError::bad_request("invalid patch format of retainKeys");
        let Value::Array(keys) = keys else { return Err(malformed()) };
        let listed = |k: &str| keys.iter().any(|key| key.as_str() == Some(k));
        let unlisted = p.iter().any(|(k, v)| k != RETAIN_KEYS && !v.is_null() && !k.starts_with(DELETE_FROM_PRIMITIVE_LIST) && !k.starts_with(SET_ELEMENT_ORDER) && !listed(k));
        if unlisted {
            return Err(malformed());
        }
        out.retain(|k, _| listed(k));
    }
    for (k, v) in p {
        if k.starts_with(SET_ELEMENT_ORDER) || k == RETAIN_KEYS {
            continue;
        }
        if let Some(field) = k.strip_prefix(DELETE_FROM_PRIMITIVE_LIST) {
            if let (Some(Value::Array(items)), Value::Array(gone)) = (out.get_mut(field), v) {
                items.retain(|item| !gone.contains(item));
            }
            continue;
        }
        if v.is_null() {
            out.remove(k);
            continue;
        }
        let current = out.get(k).cloned().unwrap_or(Value::Null);
        let merged = match (&current, v) {
            (Value::Array(cur), Value::Array(items)) => match list_merge(kind, k, parents) {
                ListMerge::ByKey(key) => {
                    parents.push(k.clone());
                    let merged = merge_list(cur, items, key, kind, parents);
                    parents.pop();
                    Value::Array(merged?)
                }
                ListMerge::Scalars => Value::Array(merge_scalars(cur, items)),
                ListMerge::Atomic => Value::Array(items.iter().filter(|i| !is_directive(i)).cloned().collect()),
            },
            (_, Value::Array(items)) => Value::Array(items.iter().filter(|i| !is_directive(i)).cloned().collect()),
            (Value::Object(_), Value::Object(_)) if replaces_map(kind, k, parents) => strategic(&Value::Null, v, kind, parents)?,
            (_, Value::Object(_)) => {
                parents.push(k.clone());
                let merged = strategic(&current, v, kind, parents);
                parents.pop();
                merged?
            }
            _ => v.clone(),
        };
        out.insert(k.clone(), merged);
    }
    Ok(Value::Object(out))
}

fn is_directive(item: &Value) -> bool {
    item.get("$patch").is_some()
}

/// Go's `%v` of a value decoded into `interface{}` (as strategicpatch's
/// errors print the patch's maps): `map[k:v]` with sorted keys, `[a b]`,
/// texts bare, whole numbers as integers.
fn go_format(value: &Value) -> String {
    match value {
        Value::Null => "<nil>".to_string(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => i.to_string(),
            (None, Some(f)) => crate::engine::kubectl::printers::yaml::go_format_float(f),
            _ => n.to_string(),
        },
        Value::Array(items) => format!("[{}]", items.iter().map(go_format).collect::<Vec<_>>().join(" ")),
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            format!("map[{}]", keys.iter().map(|k| format!("{k}:{}", go_format(&map[*k]))).collect::<Vec<_>>().join(" "))
        }
    }
}

/// strategicpatch's `mergeSlice` for texts: the object's and the patch's
/// items without duplicates, in `normalizeElementOrder`'s order.
fn merge_scalars(current: &[Value], patch: &[Value]) -> Vec<Value> {
    let mut merged: Vec<Value> = Vec::with_capacity(current.len() + patch.len());
    for item in current.iter().chain(patch) {
        if !merged.contains(item) {
            merged.push(item.clone());
        }
    }
    in_patch_order(merged, current, patch, None)
}

fn merge_list(current: &[Value], patch: &[Value], key: &str, kind: &str, parents: &mut Vec<String>) -> Result<Vec<Value>, ApiError> {
    let mut out: Vec<Value> = current.to_vec();
    for item in patch {
        let Some(id) = item.get(key) else {
            return Err(ApiError::new(Reason::Unknown, format!("map: {} does not contain declared merge key: {key}", go_format(item))));
        };
        let position = out.iter().position(|c| c.get(key) == Some(id));
        if item.get("$patch").and_then(Value::as_str) == Some("delete") {
            if let Some(i) = position {
                out.remove(i);
            }
            continue;
        }
        match position {
            Some(i) => {
                let merged = strategic(&out[i], item, kind, parents)?;
                out[i] = merged;
            }
            None => out.push(strategic(&Value::Null, item, kind, parents)?),
        }
    }
    Ok(in_patch_order(out, current, patch, Some(key)))
}

/// What identifies a list item: its merge key's value, or the item itself
/// in a list of texts.
fn identity<'a>(item: &'a Value, key: Option<&str>) -> Option<&'a Value> {
    match key {
        Some(key) => item.get(key),
        None => Some(item),
    }
}

/// strategicpatch's `normalizeElementOrder`: the patch's items in the
/// patch's order and the others in the object's, merged so that of two
/// items the object holds, the earlier comes first, and an item new to
/// the object comes before the object's own.
fn in_patch_order(merged: Vec<Value>, current: &[Value], patch: &[Value], key: Option<&str>) -> Vec<Value> {
    let place = |list: &[Value], item: &Value| identity(item, key).and_then(|id| list.iter().position(|other| identity(other, key) == Some(id)));
    let (mut patched, server_only): (Vec<Value>, Vec<Value>) = merged.into_iter().partition(|item| place(patch, item).is_some());
    patched.sort_by_key(|item| place(patch, item));
    let mut out = Vec::with_capacity(patched.len() + server_only.len());
    let (mut left, mut right) = (server_only.into_iter().peekable(), patched.into_iter().peekable());
    loop {
        let take_left = match (left.peek(), right.peek()) {
            (Some(l), Some(r)) => matches!((place(current, l), place(current, r)), (Some(li), Some(ri)) if li < ri),
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => break,
        };
        let next = if take_left { left.next() } else { right.next() };
        out.extend(next);
    }
    out
}

/// What `kubectl apply` makes of an object: fields set in `modified` win,
/// fields in `original` (the last applied configuration) but no longer in
/// `modified` are removed, anything else `current` holds (defaults, status,
/// other writers' fields) is kept. Lists with a merge key merge per item;
/// where a field's strategy is `retainKeys` only the keys `modified` sets
/// are kept, as the `$retainKeys` kubectl sends makes the server do.
pub fn three_way_merge(original: &Value, modified: &Value, current: &Value) -> Value {
    three_way(original, modified, current, kind_of(current), &mut Vec::new())
}

fn three_way(original: &Value, modified: &Value, current: &Value, kind: &str, parents: &mut Vec<String>) -> Value {
    let (Value::Object(m), Value::Object(c)) = (modified, current) else { return modified.clone() };
    let empty = Map::new();
    let o = original.as_object().unwrap_or(&empty);
    let mut out = c.clone();
    for (k, mv) in m {
        if mv.is_null() {
            out.remove(k);
            continue;
        }
        let ov = o.get(k).unwrap_or(&Value::Null);
        let merged = match (c.get(k), mv) {
            (Some(Value::Object(_)), Value::Object(_)) if replaces_map(kind, k, parents) => mv.clone(),
            (Some(cv @ Value::Object(_)), Value::Object(_)) => {
                parents.push(k.clone());
                let v = three_way(ov, mv, cv, kind, parents);
                parents.pop();
                v
            }
            (Some(Value::Array(cl)), Value::Array(ml)) => match list_merge(kind, k, parents) {
                ListMerge::ByKey(key) => {
                    parents.push(k.clone());
                    let v = three_way_list(ov.as_array().map(Vec::as_slice).unwrap_or(&[]), ml, cl, key, kind, parents);
                    parents.pop();
                    Value::Array(v)
                }
                ListMerge::Scalars => {
                    // Added items joined, and those the last apply set but
                    // the file no longer has deleted (`$deleteFromPrimitiveList`).
                    let removed: Vec<&Value> = ov.as_array().into_iter().flatten().filter(|v| !ml.contains(v)).collect();
                    let kept: Vec<Value> = cl.iter().filter(|v| !removed.contains(v)).cloned().collect();
                    Value::Array(merge_scalars(&kept, ml))
                }
                ListMerge::Atomic => mv.clone(),
            },
            _ => mv.clone(),
        };
        out.insert(k.clone(), merged);
    }
    for k in o.keys() {
        if !m.contains_key(k) {
            out.remove(k);
        }
    }
    if retains_keys(kind, parents) {
        out.retain(|k, _| m.get(k).is_some_and(|v| !v.is_null()));
    }
    Value::Object(out)
}

fn three_way_list(original: &[Value], modified: &[Value], current: &[Value], key: &str, kind: &str, parents: &mut Vec<String>) -> Vec<Value> {
    let id_of = |v: &Value| v.get(key).cloned();
    let removed: Vec<Value> = original
        .iter()
        .filter_map(id_of)
        .filter(|id| !modified.iter().any(|m| m.get(key) == Some(id)))
        .collect();
    let mut out: Vec<Value> = Vec::new();
    for m in modified {
        let id = m.get(key);
        let cur = current.iter().find(|c| id.is_some() && c.get(key) == id);
        let orig = original.iter().find(|o| id.is_some() && o.get(key) == id).unwrap_or(&Value::Null);
        out.push(match cur {
            Some(c) => three_way(orig, m, c, kind, parents),
            None => m.clone(),
        });
    }
    for c in current {
        let id = c.get(key);
        let in_modified = modified.iter().any(|m| id.is_some() && m.get(key) == id);
        let was_removed = id.is_some_and(|id| removed.contains(id));
        if !in_modified && !was_removed {
            out.push(c.clone());
        }
    }
    out
}

/// RFC 6902 JSON patch, with the error texts of the library the API server uses.
pub fn json_patch(target: &Value, ops: &Value) -> Result<Value, String> {
    let Some(ops) = ops.as_array() else {
        return Err("json: cannot unmarshal object into Go value of type jsonpatch.Patch".to_string());
    };
    let mut doc = target.clone();
    for op in ops {
        let kind = op.get("op").and_then(Value::as_str).unwrap_or("");
        let path = op.get("path").and_then(Value::as_str).unwrap_or("");
        match kind {
            "add" => {
                let value = op.get("value").cloned().ok_or_else(|| "missing value".to_string())?;
                add(&mut doc, path, value)?;
            }
            "remove" => {
                remove(&mut doc, path)?;
            }
            "replace" => {
                let value = op.get("value").cloned().ok_or_else(|| "missing value".to_string())?;
                if doc.pointer(path).is_none() {
                    // json-patch's findObject: no parent is a missing path, a
                    // parent without the key a missing key.
                    let parent = path.rfind('/').and_then(|i| path.get(..i)).and_then(|p| doc.pointer(p));
                    let what = if parent.is_some_and(|p| p.is_object() || p.is_array()) { "key" } else { "path" };
                    return Err(format!("replace operation does not apply: doc is missing {what}: {path}: missing value"));
                }
                if let Some(slot) = doc.pointer_mut(path) {
                    *slot = value;
                }
            }
            "test" => {
                let value = op.get("value").unwrap_or(&Value::Null);
                if doc.pointer(path) != Some(value) {
                    return Err(format!("testing value {path} failed: test failed"));
                }
            }
            "move" | "copy" => {
                let from = op.get("from").and_then(Value::as_str).unwrap_or("");
                let value = doc.pointer(from).cloned().ok_or_else(|| format!("{kind} operation does not apply: doc is missing from path: {from}: missing value"))?;
                if kind == "move" {
                    remove(&mut doc, from)?;
                }
                add(&mut doc, path, value)?;
            }
            other => return Err(format!("Unexpected kind: {other}")),
        }
    }
    Ok(doc)
}

fn split_pointer(path: &str) -> Result<(String, String), String> {
    let Some(i) = path.rfind('/') else {
        return Err(format!("add operation does not apply: doc is missing path: \"{path}\": missing value"));
    };
    let key = path[i + 1..].replace("~1", "/").replace("~0", "~");
    Ok((path[..i].to_string(), key))
}

fn add(doc: &mut Value, path: &str, value: Value) -> Result<(), String> {
    if path.is_empty() {
        *doc = value;
        return Ok(());
    }
    let (parent, key) = split_pointer(path)?;
    let missing = || format!("add operation does not apply: doc is missing path: \"{path}\": missing value");
    match doc.pointer_mut(&parent) {
        Some(Value::Object(map)) => {
            map.insert(key, value);
            Ok(())
        }
        Some(Value::Array(items)) => {
            if key == "-" {
                items.push(value);
                return Ok(());
            }
            match key.parse::<usize>() {
                Ok(i) if i <= items.len() => {
                    items.insert(i, value);
                    Ok(())
                }
                _ => Err(format!("add operation does not apply: doc is missing path: \"{path}\": missing value")),
            }
        }
        _ => Err(missing()),
    }
}

fn remove(doc: &mut Value, path: &str) -> Result<(), String> {
    let (parent, key) = split_pointer(path)?;
    let missing = || format!("remove operation does not apply: doc is missing path: \"{path}\": missing value");
    // Where the parent is there, json-patch words what its remove found.
    let failed = |why: String| format!("error in remove for path: '{path}': {why}");
    match doc.pointer_mut(&parent) {
        Some(Value::Object(map)) => map.remove(&key).map(|_| ()).ok_or_else(|| failed(format!("Unable to remove nonexistent key: {key}: missing value"))),
        Some(Value::Array(items)) => match key.parse::<i64>() {
            Ok(i) if (0..items.len() as i64).contains(&i) => {
                items.remove(i as usize);
                Ok(())
            }
            Ok(i) => Err(failed(format!("Unable to access invalid index: {i}: invalid index referenced"))),
            Err(_) => Err(failed(format!("strconv.Atoi: parsing {key:?}: invalid syntax"))),
        },
        _ => Err(missing()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn replace_words_a_missing_parent_and_a_missing_key_apart() {
        let doc = json!({"spec": {"a": 1}});
        let replace = |path: &str| json_patch(&doc, &json!([{"op": "replace", "path": path, "value": 2}])).unwrap_err();
        assert_eq!(replace("/spec/nope/x"), "replace operation does not apply: doc is missing path: /spec/nope/x: missing value");
        assert_eq!(replace("/spec/b"), "replace operation does not apply: doc is missing key: /spec/b: missing value");
    }

    #[test]
    fn strategic_merge_merges_containers_by_name() {
        let target = json!({"spec": {"containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "y"}], "tolerations": [{"key": "k"}]}});
        let patch = json!({"spec": {"containers": [{"name": "b", "image": "z"}, {"name": "c", "image": "w"}], "tolerations": []}});
        let out = strategic_merge_patch(&target, &patch).unwrap();
        assert_eq!(out["spec"]["containers"], json!([{"name": "a", "image": "x"}, {"name": "b", "image": "z"}, {"name": "c", "image": "w"}]));
        assert_eq!(out["spec"]["tolerations"], json!([]));
        let del = json!({"spec": {"containers": [{"name": "a", "$patch": "delete"}]}});
        let out = strategic_merge_patch(&target, &del).unwrap();
        assert_eq!(out["spec"]["containers"].as_array().unwrap().len(), 1);
        // An item new to the object comes before the object's own; the
        // patch's items keep the patch's order.
        let patch = json!({"spec": {"containers": [{"name": "c", "image": "w"}, {"name": "a", "image": "v"}]}});
        let out = strategic_merge_patch(&target, &patch).unwrap();
        let names: Vec<&str> = out["spec"]["containers"].as_array().unwrap().iter().filter_map(|c| c["name"].as_str()).collect();
        assert_eq!(names, ["c", "a", "b"]);
    }

    #[test]
    fn strategies_follow_the_fields_patch_tags() {
        // finalizers merge as a set, new items first; a delete list removes.
        let cm = json!({"kind": "ConfigMap", "metadata": {"finalizers": ["a"]}});
        let out = strategic_merge_patch(&cm, &json!({"metadata": {"finalizers": ["b", "a"]}})).unwrap();
        assert_eq!(out["metadata"]["finalizers"], json!(["b", "a"]));
        let out = strategic_merge_patch(&out, &json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]}})).unwrap();
        assert_eq!(out["metadata"], json!({"finalizers": ["b"]}));
        // A ServiceAccount's imagePullSecrets are replaced, a pod's merge.
        let sa = json!({"kind": "ServiceAccount", "imagePullSecrets": [{"name": "a"}]});
        assert_eq!(strategic_merge_patch(&sa, &json!({"imagePullSecrets": [{"name": "b"}]})).unwrap()["imagePullSecrets"], json!([{"name": "b"}]));
        let pod = json!({"kind": "Pod", "spec": {"imagePullSecrets": [{"name": "a"}]}});
        assert_eq!(strategic_merge_patch(&pod, &json!({"spec": {"imagePullSecrets": [{"name": "b"}]}})).unwrap()["spec"]["imagePullSecrets"], json!([{"name": "b"}, {"name": "a"}]));
        // $retainKeys clears the unlisted keys and refuses unlisted patch keys.
        let deploy = json!({"kind": "Deployment", "spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}}});
        let out = strategic_merge_patch(&deploy, &json!({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}})).unwrap();
        assert_eq!(out["spec"]["strategy"], json!({"type": "Recreate"}));
        let err = strategic_merge_patch(&deploy, &json!({"spec": {"strategy": {"$retainKeys": ["type"], "rollingUpdate": {}}}})).unwrap_err();
        assert_eq!((err.reason, err.message.as_str()), (Reason::BadRequest, "invalid patch format of retainKeys"));
        let pod = json!({"kind": "Pod", "spec": {"containers": [{"name": "c"}]}});
        let err = strategic_merge_patch(&pod, &json!({"spec": {"containers": [{"image": "x", "n": 1.5}]}})).unwrap_err();
        assert_eq!(err.message, "map: map[image:x n:1.5] does not contain declared merge key: name");
        // apply keeps only the strategy keys the file sets (retainKeys), and
        // a volume's old source is dropped though the last apply lacked it.
        let current = json!({"kind": "Deployment", "spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%"}}, "template": {"spec": {"volumes": [{"name": "v", "emptyDir": {}}]}}}});
        let modified = json!({"kind": "Deployment", "spec": {"strategy": {"type": "Recreate"}, "template": {"spec": {"volumes": [{"name": "v", "configMap": {"name": "c"}}]}}}});
        let out = three_way_merge(&Value::Null, &modified, &current);
        assert_eq!(out["spec"]["strategy"], json!({"type": "Recreate"}));
        assert_eq!(out["spec"]["template"]["spec"]["volumes"], json!([{"name": "v", "configMap": {"name": "c"}}]));
    }

    #[test]
    fn merge_patch_replaces_lists_and_deletes_nulls() {
        let out = merge_patch(&json!({"a": {"b": 1, "c": 2}, "l": [1, 2]}), &json!({"a": {"b": null}, "l": [3]}));
        assert_eq!(out, json!({"a": {"c": 2}, "l": [3]}));
    }

    #[test]
    fn json_patch_applies_operations_and_reports_missing_paths() {
        let doc = json!({"spec": {"replicas": 1, "list": [1, 2]}});
        let ops = json!([{"op": "replace", "path": "/spec/replicas", "value": 3}, {"op": "add", "path": "/spec/list/-", "value": 9}, {"op": "remove", "path": "/spec/list/0"}]);
        assert_eq!(json_patch(&doc, &ops).unwrap(), json!({"spec": {"replicas": 3, "list": [2, 9]}}));
        // The parent is missing, or the parent has no such key or item.
        let err = json_patch(&doc, &json!([{"op": "remove", "path": "/nope/x"}])).unwrap_err();
        assert_eq!(err, "remove operation does not apply: doc is missing path: \"/nope/x\": missing value");
        let err = json_patch(&doc, &json!([{"op": "remove", "path": "/spec/nope"}])).unwrap_err();
        assert_eq!(err, "error in remove for path: '/spec/nope': Unable to remove nonexistent key: nope: missing value");
        let err = json_patch(&doc, &json!([{"op": "remove", "path": "/spec/list/5"}])).unwrap_err();
        assert_eq!(err, "error in remove for path: '/spec/list/5': Unable to access invalid index: 5: invalid index referenced");
    }

    #[test]
    fn three_way_merge_keeps_other_writers_and_drops_removed_fields() {
        let original = json!({"metadata": {"labels": {"a": "1", "gone": "x"}}, "spec": {"containers": [{"name": "c", "image": "v1", "args": ["x"]}]}});
        let modified = json!({"metadata": {"labels": {"a": "2"}}, "spec": {"containers": [{"name": "c", "image": "v2"}]}});
        let current = json!({"metadata": {"labels": {"a": "1", "gone": "x", "other": "y"}}, "spec": {"containers": [{"name": "c", "image": "v1", "args": ["x"], "imagePullPolicy": "Always"}, {"name": "sidecar"}]}, "status": {}});
        let out = three_way_merge(&original, &modified, &current);
        assert_eq!(out["metadata"]["labels"], json!({"a": "2", "other": "y"}));
        assert_eq!(out["spec"]["containers"], json!([{"name": "c", "image": "v2", "imagePullPolicy": "Always"}, {"name": "sidecar"}]));
        assert_eq!(out["status"], json!({}));
    }
}
