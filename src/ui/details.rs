//! The details drawer of a clicked pod or node: `kubectl describe`, its
//! YAML, its events, and Edit (loads it into the editor).

use std::rc::Rc;

use yew::prelude::*;

use crate::engine::cluster::Cluster;
use crate::engine::kubectl;
use crate::view::log::{self as log_view, Filter, Row, RowKind};

/// What was clicked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selection {
    /// As kubectl names the resource: `pod`, `node`.
    pub resource: &'static str,
    pub namespace: Option<String>,
    pub name: String,
}

impl Selection {
    pub fn pod(namespace: &str, name: &str) -> Self {
        Selection { resource: "pod", namespace: Some(namespace.to_string()), name: name.to_string() }
    }
    pub fn node(name: &str) -> Self {
        Selection { resource: "node", namespace: None, name: name.to_string() }
    }
    fn args(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{} {} -n {}", self.resource, self.name, ns),
            None => format!("{} {}", self.resource, self.name),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct DetailsView {
    pub selection: Selection,
    pub describe: String,
    pub yaml: String,
    /// The YAML with Secret values hidden, shown until revealed.
    pub yaml_masked: Option<String>,
    pub events: Vec<Row>,
}

impl DetailsView {
    /// Asks kubectl, as a learner would; a stopped API server shows its refusal.
    pub fn build(cluster: &mut Cluster, sel: &Selection, filter: &Filter) -> Self {
        let describe = kubectl::run_read_only(cluster, &format!("describe {}", sel.args())).combined();
        let yaml = kubectl::run_read_only(cluster, &format!("get {} -o yaml", sel.args())).combined();
        let object = format!("{}/{}", sel.resource, sel.name);
        let events_filter = Filter { object: object.clone(), show_activity: false, namespace: String::new(), component: String::new(), ..filter.clone() };
        let (rows, _) = log_view::build(cluster, &Filter { show_events: true, ..events_filter });
        let events = rows
            .into_iter()
            .filter(|r| matches!(&r.kind, RowKind::Event { object: o, namespace, .. }
                if *o == object && (sel.namespace.is_none() || sel.namespace.as_deref() == Some(namespace.as_str()))))
            .collect();
        let yaml_masked = crate::view::secrets::mask(&yaml);
        DetailsView { selection: sel.clone(), describe, yaml, yaml_masked, events }
    }

    /// The YAML without the fields the server owns, ready to edit and apply.
    pub fn editable_yaml(&self) -> String {
        let Ok(mut value) = serde_yaml::from_str::<serde_yaml::Value>(&self.yaml) else { return self.yaml.clone() };
        if let Some(map) = value.as_mapping_mut() {
            map.remove("status");
            if let Some(meta) = map.get_mut("metadata").and_then(|m| m.as_mapping_mut()) {
                for field in ["uid", "resourceVersion", "creationTimestamp", "generation", "managedFields"] {
                    meta.remove(field);
                }
                if let Some(annotations) = meta.get_mut("annotations").and_then(|a| a.as_mapping_mut()) {
                    annotations.remove("kubectl.kubernetes.io/last-applied-configuration");
                }
            }
        }
        serde_yaml::to_string(&value).unwrap_or_else(|_| self.yaml.clone())
    }
}

#[derive(Properties, PartialEq)]
pub struct Props {
    pub view: Rc<DetailsView>,
    pub now_ms: u64,
    pub on_close: Callback<()>,
    pub on_edit: Callback<()>,
    /// Opens the scheduler's explanation of the selected pod.
    pub on_explain: Callback<Selection>,
}

#[derive(Clone, Copy, PartialEq)]
enum Tab {
    Describe,
    Yaml,
    Events,
}

#[function_component]
pub fn Details(props: &Props) -> Html {
    super::browser::mark("details");
    let tab = use_state(|| Tab::Describe);
    let revealed = use_state(|| false);
    let v = &props.view;
    let tab_button = |t: Tab, label: String| {
        let tab = tab.clone();
        let selected = *tab == t;
        html! {
            <button role="tab" aria-selected={selected.to_string()} class={classes!("tab", selected.then_some("active"))}
                onclick={move |_| tab.set(t)}>{ label }</button>
        }
    };
    let body = match *tab {
        Tab::Describe => html! { <pre class="mono details-text" data-testid="details-describe">{ v.describe.clone() }</pre> },
        Tab::Yaml => {
            let toggle = {
                let revealed = revealed.clone();
                Callback::from(move |_: MouseEvent| revealed.set(!*revealed))
            };
            let shown = match (&v.yaml_masked, *revealed) {
                (Some(masked), false) => masked.clone(),
                _ => v.yaml.clone(),
            };
            html! {
                <>
                    if v.yaml_masked.is_some() {
                        <button class="ghost reveal" data-testid="reveal-secret" onclick={toggle}>
                            { if *revealed { "Hide secret values" } else { "Reveal secret values" } }
                        </button>
                    }
                    <pre class="mono details-text" data-testid="details-yaml">{ shown }</pre>
                </>
            }
        }
        Tab::Events => html! {
            <div class="details-events" data-testid="details-events">
                if v.events.is_empty() { <p class="muted">{"No events for this object."}</p> }
                <table class="log-table">
                    <tbody>
                        { for v.events.iter().map(|r| super::event_log::row_html(r, props.now_ms)) }
                    </tbody>
                </table>
            </div>
        },
    };
    html! {
        <aside class="details" data-testid="details" aria-label={format!("Details of {} {}", v.selection.resource, v.selection.name)}>
            <header class="details-head">
                <h2>
                    <span class="muted">{ format!("{} ", v.selection.resource) }</span>
                    { v.selection.name.clone() }
                    if let Some(ns) = &v.selection.namespace { <span class="muted">{ format!("  ·  {ns}") }</span> }
                </h2>
                <div class="details-actions">
                    if v.selection.resource == "pod" {
                        <button class="ghost" data-testid={format!("explain-{}-{}", v.selection.namespace.clone().unwrap_or_default(), v.selection.name)}
                            onclick={{ let (cb, sel) = (props.on_explain.clone(), v.selection.clone()); move |_| cb.emit(sel.clone()) }}
                            title="Why the scheduler put this pod where it is, or why it has no node">{"Why here?"}</button>
                    }
                    <button class="primary" data-testid="edit-button" onclick={props.on_edit.reform(|_| ())} title="Load this object's YAML into the editor">{"✎ Edit"}</button>
                    <button class="ghost" data-testid="close-details" onclick={props.on_close.reform(|_| ())} aria-label="Close details (Esc)">{"✕"}</button>
                </div>
            </header>
            <nav class="tabs" role="tablist">
                { tab_button(Tab::Describe, "Describe".into()) }
                { tab_button(Tab::Yaml, "YAML".into()) }
                { tab_button(Tab::Events, format!("Events ({})", v.events.len())) }
            </nav>
            <div class="details-body">{ body }</div>
        </aside>
    }
}
