//! The event log: Kubernetes Events and component activity, newest at the
//! bottom, following new rows unless paused; filterable by namespace,
//! object and component.

use std::rc::Rc;

use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::engine::sim::clock::VirtualTime;
use crate::view::log::{Filter, Row, RowKind};

#[derive(Properties, PartialEq)]
pub struct Props {
    pub rows: Rc<Vec<Row>>,
    /// Older rows that matched but are not drawn.
    pub hidden: usize,
    pub now_ms: u64,
    pub filter: Filter,
    pub paused: bool,
    pub namespaces: Rc<Vec<String>>,
    pub on_filter: Callback<Filter>,
    pub on_toggle_pause: Callback<()>,
}

/// One row, shared with the details drawer's Events tab.
pub fn row_html(row: &Row, now_ms: u64) -> Html {
    let time = VirtualTime::from_millis(row.time_ms).to_string();
    let time = time[..8.min(time.len())].to_string();
    match &row.kind {
        RowKind::Event { type_, reason, namespace, object, count, source } => html! {
            <tr class={classes!("event", (type_ == "Warning").then_some("warning"))}>
                <td class="t" title={format!("last seen at {time}")}>{ row.age(now_ms) }</td>
                <td class="type">{ type_.clone() }</td>
                <td class="reason">{ reason.clone() }</td>
                <td class="object" title={namespace.clone()}>{ object.clone() }</td>
                <td class="message">
                    { row.message.clone() }
                    if *count > 1 { <span class="count" title="count">{ format!(" ×{count}") }</span> }
                    <span class="source">{ format!(" — {source}") }</span>
                </td>
            </tr>
        },
        RowKind::Activity { component } => html! {
            <tr class="activity">
                <td class="t" title={format!("at {time}")}>{ row.age(now_ms) }</td>
                <td class="type">{"Activity"}</td>
                <td class="reason">{ component.clone() }</td>
                <td class="object"></td>
                <td class="message">{ row.message.clone() }</td>
            </tr>
        },
    }
}

#[function_component]
pub fn EventLog(props: &Props) -> Html {
    let scroller = use_node_ref();
    {
        // Follow the newest row unless paused.
        let scroller = scroller.clone();
        let paused = props.paused;
        use_effect_with((props.rows.clone(), paused), move |_| {
            if !paused {
                if let Some(el) = scroller.cast::<web_sys::Element>() {
                    el.set_scroll_top(el.scroll_height());
                }
            }
        });
    }
    let filter = props.filter.clone();
    let on_text = |field: fn(&mut Filter, String)| {
        let (cb, filter) = (props.on_filter.clone(), filter.clone());
        Callback::from(move |e: InputEvent| {
            let input: HtmlInputElement = e.target_unchecked_into();
            let mut f = filter.clone();
            field(&mut f, input.value());
            cb.emit(f);
        })
    };
    let on_namespace = {
        let (cb, filter) = (props.on_filter.clone(), filter.clone());
        Callback::from(move |e: Event| {
            let select: web_sys::HtmlSelectElement = e.target_unchecked_into();
            cb.emit(Filter { namespace: select.value(), ..filter.clone() });
        })
    };
    let on_check = |field: fn(&mut Filter, bool)| {
        let (cb, filter) = (props.on_filter.clone(), filter.clone());
        Callback::from(move |e: Event| {
            let input: HtmlInputElement = e.target_unchecked_into();
            let mut f = filter.clone();
            field(&mut f, input.checked());
            cb.emit(f);
        })
    };
    html! {
        <div class="event-log-pane">
            <div class="pane-title">
                <h2>{"Events & activity"}</h2>
                <div class="filters" role="group" aria-label="Filter the log">
                    <select onchange={on_namespace} aria-label="Namespace" title="Namespace">
                        <option value="" selected={filter.namespace.is_empty()}>{"all namespaces"}</option>
                        { for props.namespaces.iter().map(|ns| html! { <option value={ns.clone()} selected={*ns == filter.namespace}>{ ns.clone() }</option> }) }
                    </select>
                    <input type="search" placeholder="object, e.g. pod/web" value={filter.object.clone()} aria-label="Object"
                        oninput={on_text(|f, v| f.object = v)} />
                    <input type="search" placeholder="component, e.g. scheduler" value={filter.component.clone()} aria-label="Component"
                        oninput={on_text(|f, v| f.component = v)} />
                    <label class="check"><input type="checkbox" checked={filter.show_events} onchange={on_check(|f, v| f.show_events = v)} />{"Events"}</label>
                    <label class="check"><input type="checkbox" checked={filter.show_activity} onchange={on_check(|f, v| f.show_activity = v)} />{"Activity"}</label>
                    <button class={classes!("ghost", props.paused.then_some("active"))} data-testid="log-pause" onclick={props.on_toggle_pause.reform(|_| ())}
                        aria-pressed={props.paused.to_string()} title="Stop following new rows, to read">
                        { if props.paused { "▶ Follow" } else { "❚❚ Pause" } }
                    </button>
                </div>
            </div>
            <div class="log-scroll" ref={scroller} data-testid="event-log" tabindex="0" aria-live="off">
                if props.hidden > 0 { <p class="muted small">{ format!("{} older rows not shown", props.hidden) }</p> }
                if props.rows.is_empty() { <p class="muted">{"Nothing yet: events and component activity appear here."}</p> }
                <table class="log-table">
                    <thead><tr><th>{"Age"}</th><th>{"Type"}</th><th>{"Reason / component"}</th><th>{"Object"}</th><th>{"Message"}</th></tr></thead>
                    <tbody>
                        { for props.rows.iter().map(|r| row_html(r, props.now_ms)) }
                    </tbody>
                </table>
            </div>
        </div>
    }
}
