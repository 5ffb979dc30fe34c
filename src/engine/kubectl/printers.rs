//! Output formats: tables, `-o yaml|json|name|jsonpath`, ages, pod status.

use std::rc::Rc;

use k8s_openapi::api::core::v1::Pod;

use crate::engine::api::{resource, Object};
use crate::engine::kubectl::{Error, Result, Session};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OutputFormat {
    Table,
    Wide,
    Yaml,
    Json,
    Name,
    JsonPath(String),
}

/// Parses `-o`; kubectl's error for an unknown format otherwise.
pub fn parse_output_format(value: Option<&str>) -> std::result::Result<OutputFormat, String> {
    match value {
        None | Some("") => Ok(OutputFormat::Table),
        Some("wide") => Ok(OutputFormat::Wide),
        Some("yaml") => Ok(OutputFormat::Yaml),
        Some("json") => Ok(OutputFormat::Json),
        Some("name") => Ok(OutputFormat::Name),
        Some(other) => match other.strip_prefix("jsonpath=") {
            Some(expr) => Ok(OutputFormat::JsonPath(expr.to_string())),
            None => Err(format!(
                "error: unable to match a printer suitable for the output format \"{other}\", allowed formats are: custom-columns,custom-columns-file,go-template,go-template-file,json,jsonpath,jsonpath-as-json,jsonpath-file,name,template,templatefile,wide,yaml"
            )),
        },
    }
}

/// `deployment.apps/web`: how kubectl names an object in `-o name` and in
/// its "created"/"configured" lines.
pub fn qualified_name(obj: &Object) -> String {
    let rt = resource(obj.resource_id());
    format!("{}/{}", rt.qualified_singular(), obj.meta().name.as_deref().unwrap_or(""))
}

/// Prints objects in a structured format (`yaml`, `json`, `name`, `jsonpath`).
pub fn print_objects(s: &mut Session, objects: &[Rc<Object>], format: &OutputFormat) -> Result {
    match format {
        OutputFormat::Name => {
            for o in objects {
                s.out.push_str(&qualified_name(o));
                s.out.push('\n');
            }
            Ok(())
        }
        OutputFormat::Json => {
            let value = if objects.len() == 1 { objects[0].to_json() } else { list_json(objects) };
            s.out.push_str(&serde_json::to_string_pretty(&value).unwrap_or_default());
            s.out.push('\n');
            Ok(())
        }
        OutputFormat::Yaml => {
            let value = if objects.len() == 1 { objects[0].to_json() } else { list_json(objects) };
            s.out.push_str(&to_yaml(&value));
            Ok(())
        }
        _ => Err(Error::Message(format!("error: output format {format:?} is not available here"))),
    }
}

fn list_json(objects: &[Rc<Object>]) -> serde_json::Value {
    serde_json::json!({
        "apiVersion": "v1",
        "items": objects.iter().map(|o| o.to_json()).collect::<Vec<_>>(),
        "kind": "List",
        "metadata": {"resourceVersion": ""},
    })
}

/// YAML as kubectl prints it.
pub fn to_yaml(value: &serde_json::Value) -> String {
    serde_yaml::to_string(value).unwrap_or_default()
}

/// What `kubectl get pods` shows in STATUS.
pub fn pod_status(pod: &Pod) -> String {
    if pod.metadata.deletion_timestamp.is_some() {
        return "Terminating".to_string();
    }
    pod.status.as_ref().and_then(|s| s.phase.clone()).unwrap_or_else(|| "Pending".to_string())
}

/// kubectl's `HumanDuration` for an age in milliseconds.
pub fn human_duration(ms: u64) -> String {
    format!("{}s", ms / 1000)
}
