//! The traffic panel: start and stop the traffic generator, and watch a
//! live chart of successes (coloured by the pod that answered) and
//! failures per second over the last minute.

use std::rc::Rc;

use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::view::traffic::{TrafficView, CHART_SECONDS};

#[derive(Properties, PartialEq)]
pub struct Props {
    pub view: Rc<TrafficView>,
    /// Runs a `traffic …` line as the terminal would.
    pub on_command: Callback<String>,
}

/// Colours for the legend's pods, then "other pods".
const POD_COLOURS: &[&str] = &["#326ce5", "#1f8f4e", "#8a3fbf", "#d08a00", "#0f8f8f", "#b04f8f", "#5d6b80", "#7a9a2e", "#9aa3b2"];

const CHART_W: f64 = 300.0;
const CHART_H: f64 = 90.0;

fn chart(view: &TrafficView) -> Html {
    let bar_w = CHART_W / CHART_SECONDS as f64;
    let scale = if view.peak == 0 { 0.0 } else { (CHART_H - 4.0) / view.peak as f64 };
    let bars = view.columns.iter().enumerate().map(|(i, col)| {
        let x = i as f64 * bar_w;
        let mut y = CHART_H;
        let mut rects = Vec::new();
        for (slot, n) in col.ok_by_pod.iter().enumerate() {
            if *n == 0 {
                continue;
            }
            let h = *n as f64 * scale;
            y -= h;
            let colour = POD_COLOURS.get(slot.min(POD_COLOURS.len() - 1)).copied().unwrap_or("#9aa3b2");
            rects.push(html! { <rect x={format!("{x:.2}")} y={format!("{y:.2}")} width={format!("{:.2}", bar_w - 0.6)} height={format!("{h:.2}")} fill={colour} /> });
        }
        if col.failed > 0 {
            let h = col.failed as f64 * scale;
            y -= h;
            rects.push(html! { <rect class="traffic-failed-bar" x={format!("{x:.2}")} y={format!("{y:.2}")} width={format!("{:.2}", bar_w - 0.6)} height={format!("{h:.2}")} fill="var(--bad)" /> });
        }
        let ok: u32 = col.ok_by_pod.iter().sum();
        html! {
            <g data-testid="traffic-column" data-ok={ok.to_string()} data-failed={col.failed.to_string()} data-age={col.age.to_string()}>
                <title>{ format!("{}s ago: {ok} ok, {} failed", col.age, col.failed) }</title>
                { for rects }
            </g>
        }
    });
    html! {
        <svg class="traffic-chart" data-testid="traffic-chart" viewBox={format!("0 0 {CHART_W} {CHART_H}")} preserveAspectRatio="none" role="img"
            aria-label="Requests per second over the last minute: successes by pod, failures in red">
            <line x1="0" y1={CHART_H.to_string()} x2={CHART_W.to_string()} y2={CHART_H.to_string()} class="traffic-axis" />
            { for bars }
        </svg>
    }
}

#[function_component]
pub fn TrafficPanel(props: &Props) -> Html {
    super::browser::mark("traffic");
    let url = use_state(String::new);
    let rate = use_state(|| "10".to_string());
    let from = use_state(String::new);
    let view = &props.view;
    let bind = |state: &UseStateHandle<String>| {
        let state = state.clone();
        Callback::from(move |e: InputEvent| {
            let field: HtmlInputElement = e.target_unchecked_into();
            state.set(field.value());
        })
    };
    let on_start = {
        let (url, rate, from, cb) = (url.clone(), rate.clone(), from.clone(), props.on_command.clone());
        let fallback = view.suggestions.first().cloned().unwrap_or_default();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let target = if url.trim().is_empty() { fallback.clone() } else { url.trim().to_string() };
            let mut line = format!("traffic start {target} --rate {}/s", rate.trim());
            if !from.trim().is_empty() && from.trim() != "outside" {
                line.push_str(&format!(" --from {}", from.trim()));
            }
            cb.emit(line);
        })
    };
    let on_stop = {
        let cb = props.on_command.clone();
        // The re-render puts the Start (submit) button where this one was:
        // without this, the click's default action would submit the form.
        Callback::from(move |e: MouseEvent| {
            e.prevent_default();
            cb.emit("traffic stop".to_string());
        })
    };
    let legend = view.pods.iter().take(crate::view::traffic::LEGEND_PODS).enumerate().map(|(i, (pod, n))| {
        html! {
            <li data-testid="traffic-pod" data-pod={pod.clone()}>
                <span class="swatch" style={format!("background: {}", POD_COLOURS[i])}></span>
                { format!("{pod} ({n})") }
            </li>
        }
    });
    html! {
        <div class="traffic-panel" data-testid="traffic-panel" data-running={view.running.to_string()}>
            <div class="pane-title">
                <span>{"Traffic"}</span>
                if view.present {
                    <span class={classes!("traffic-state", if view.running { "running" } else { "stopped" })}>{ if view.running { "running" } else { "stopped" } }</span>
                }
            </div>
            <form class="traffic-form" onsubmit={on_start}>
                <input class="traffic-url" data-testid="traffic-url" list="traffic-suggestions" placeholder={view.suggestions.first().cloned().unwrap_or_else(|| "http://NODE-IP:NODEPORT/".into())}
                    value={(*url).clone()} oninput={bind(&url)} aria-label="URL to request" />
                <datalist id="traffic-suggestions">
                    { for view.suggestions.iter().map(|s| html! { <option value={s.clone()} /> }) }
                </datalist>
                <input class="traffic-rate" data-testid="traffic-rate" type="number" min="1" max="1000" value={(*rate).clone()} oninput={bind(&rate)} aria-label="Requests per second" title="Requests per second" />
                <span class="muted">{"/s from"}</span>
                <input class="traffic-from" data-testid="traffic-from" placeholder="outside" value={(*from).clone()} oninput={bind(&from)}
                    aria-label="Where requests come from" title="outside (your machine), pod/NAME or node/NAME" />
                if view.running {
                    <button key="stop" type="button" class="ghost" data-testid="traffic-stop" onclick={on_stop}>{"■ Stop"}</button>
                } else {
                    <button key="start" type="submit" class="primary" data-testid="traffic-start">{"▶ Start"}</button>
                }
            </form>
            if view.present {
                <div class="traffic-title" title={view.title.clone()}>{ view.title.clone() }</div>
                <div class="traffic-totals">
                    <span>{ format!("{} sent", view.sent) }</span>
                    <span class="ok" data-testid="traffic-ok">{ format!("{} ok", view.ok) }</span>
                    <span class={classes!(if view.failed > 0 { "bad" } else { "muted" })} data-testid="traffic-failed">{ format!("{} failed", view.failed) }</span>
                </div>
                { chart(view) }
                <ul class="traffic-legend">
                    { for legend }
                    <li><span class="swatch" style="background: var(--bad)"></span>{"failed"}</li>
                </ul>
                if let Some(f) = &view.last_failure {
                    <div class="traffic-last-failure" data-testid="traffic-last-failure">{ format!("last failure: {f}") }</div>
                }
            } else {
                <p class="muted traffic-hint">{"Send requests to a Service's NodePort, an Ingress or (from a pod) a Service name, and watch which pods answer while you change the cluster. Requests are simulated, like everything here."}</p>
            }
        </div>
    }
}
