//! The event log: Kubernetes Events and component activity, newest at the
//! bottom, following new rows unless paused; filterable by namespace,
//! object and component. Rows are one line each, and only those in view
//! (plus a margin) are drawn: spacers stand for the rest, so a frame costs
//! the same with 400 rows as with 40.

use std::rc::Rc;

use wasm_bindgen::JsCast;
use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::engine::sim::clock::VirtualTime;
use crate::view::log::{Filter, Row, RowKind};

/// Rows drawn beyond the visible ones, above and below.
const OVERSCAN: usize = 8;
/// A row's height and the view's until they are measured (rows are one
/// line; CSS keeps them so).
const ROW_GUESS_PX: f64 = 21.0;
const VIEW_GUESS_PX: f64 = 900.0;

/// Where the log is scrolled, as last measured.
#[derive(Clone, Copy, PartialEq)]
struct Viewport {
    top: f64,
    height: f64,
    row: f64,
    /// Scrolled to the newest row (following shows the newest rows).
    at_bottom: bool,
}

impl Default for Viewport {
    fn default() -> Self {
        Viewport { top: 0.0, height: VIEW_GUESS_PX, row: ROW_GUESS_PX, at_bottom: true }
    }
}

/// The rows to draw: `first..end` of `len`.
fn window(len: usize, vp: Viewport, following: bool) -> (usize, usize) {
    let visible = (vp.height / vp.row).ceil() as usize + 1;
    if following && vp.at_bottom {
        return (len.saturating_sub(visible + OVERSCAN), len);
    }
    let first = ((vp.top / vp.row).floor().max(0.0) as usize).saturating_sub(OVERSCAN).min(len);
    (first, (first + visible + 2 * OVERSCAN).min(len))
}

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
                <td class="reason" title={reason.clone()}>{ reason.clone() }</td>
                <td class="object" title={format!("{namespace} {object}")}>{ object.clone() }</td>
                <td class="message" title={row.message.clone()}>
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
                <td class="message" title={row.message.clone()}>{ row.message.clone() }</td>
            </tr>
        },
    }
}

#[function_component]
pub fn EventLog(props: &Props) -> Html {
    super::browser::mark("event-log");
    let scroller = use_node_ref();
    let viewport = use_state(Viewport::default);
    {
        // Follow the newest row unless paused.
        let scroller = scroller.clone();
        let paused = props.paused;
        use_effect_with((props.rows.clone(), paused), move |_| {
            super::browser::mark("log-scroll");
            if !paused {
                if let Some(el) = scroller.cast::<web_sys::Element>() {
                    el.set_scroll_top(el.scroll_height());
                }
            }
            super::browser::mark("log-scrolled");
        });
    }
    let onscroll = {
        let (scroller, viewport) = (scroller.clone(), viewport.clone());
        Callback::from(move |_: Event| {
            let Some(el) = scroller.cast::<web_sys::Element>() else { return };
            let row = el
                .query_selector("tbody tr")
                .ok()
                .flatten()
                .and_then(|r| r.dyn_into::<web_sys::HtmlElement>().ok())
                .map(|r| r.offset_height() as f64)
                .filter(|h| *h > 0.0)
                .unwrap_or(viewport.row);
            let head = el.query_selector("thead").ok().flatten().map_or(0.0, |h| h.client_height() as f64);
            let top = el.scroll_top() as f64;
            let height = el.client_height() as f64;
            let next = Viewport {
                top: (top - head).max(0.0),
                height: if height > 0.0 { height } else { VIEW_GUESS_PX },
                row,
                at_bottom: top + height >= el.scroll_height() as f64 - row,
            };
            if *viewport != next {
                viewport.set(next);
            }
        })
    };
    let (first, end) = window(props.rows.len(), *viewport, !props.paused);
    let spacer = |rows: usize| {
        (rows > 0).then(|| html! { <tr class="spacer" aria-hidden="true"><td colspan="5" style={format!("height: {}px", rows as f64 * viewport.row)}></td></tr> })
    };
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
            <div class="log-scroll" ref={scroller} data-testid="event-log" tabindex="0" aria-live="off" {onscroll}>
                if props.hidden > 0 { <p class="muted small">{ format!("{} older rows not shown", props.hidden) }</p> }
                if props.rows.is_empty() { <p class="muted">{"Nothing yet: events and component activity appear here."}</p> }
                <table class="log-table one-line" data-rows={props.rows.len().to_string()}>
                    <colgroup><col class="t" /><col class="type" /><col class="reason" /><col class="object" /><col /></colgroup>
                    <thead><tr><th>{"Age"}</th><th>{"Type"}</th><th>{"Reason / component"}</th><th>{"Object"}</th><th>{"Message"}</th></tr></thead>
                    <tbody>
                        { spacer(first) }
                        { for props.rows[first..end].iter().map(|r| row_html(r, props.now_ms)) }
                        { spacer(props.rows.len() - end) }
                    </tbody>
                </table>
            </div>
        </div>
    }
}
