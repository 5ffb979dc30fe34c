//! The virtual clock: time since the cluster began, play/pause, speed, step.

use yew::prelude::*;

use crate::engine::sim::clock::VirtualTime;

#[derive(Properties, PartialEq)]
pub struct Props {
    pub now_ms: u64,
    pub playing: bool,
    pub speed: u32,
    pub on_toggle: Callback<()>,
    pub on_speed: Callback<u32>,
    pub on_step: Callback<()>,
    /// Tenths of the speed virtual time actually runs at, when the cluster
    /// is too busy for the speed asked.
    #[prop_or_default]
    pub behind: Option<u32>,
}

#[function_component]
pub fn Clock(props: &Props) -> Html {
    let time = VirtualTime::from_millis(props.now_ms).to_string();
    // Tenths are enough to see time run; milliseconds flicker.
    let shown = &time[..time.len().saturating_sub(2)];
    let on_toggle = props.on_toggle.reform(|_: MouseEvent| ());
    let on_step = props.on_step.reform(|_: MouseEvent| ());
    let on_speed = {
        let cb = props.on_speed.clone();
        Callback::from(move |e: Event| {
            let select: web_sys::HtmlSelectElement = e.target_unchecked_into();
            if let Ok(speed) = select.value().parse::<u32>() {
                cb.emit(speed);
            }
        })
    };
    html! {
        <div class="clock-bar" role="group" aria-label="Virtual clock">
            <span class="clock" data-testid="clock" data-ms={props.now_ms.to_string()} title="Virtual time since the cluster started">
                { shown.to_string() }
            </span>
            <button class="primary icon" data-testid="play-pause" data-playing={props.playing.to_string()}
                onclick={on_toggle} title="Play or pause virtual time (Space)"
                aria-label={if props.playing { "Pause" } else { "Play" }}>
                { if props.playing { "❚❚ Pause" } else { "▶ Play" } }
            </button>
            if let Some(tenths) = props.behind {
                <span class="clock-behind" data-testid="clock-behind" role="status"
                    title={format!("The cluster is too busy for {}×: virtual time runs at {:.1}× real time", props.speed, tenths as f64 / 10.0)}>
                    { format!("⚠ {:.1}×", tenths as f64 / 10.0) }
                </span>
            }
            <label class="speed-label">
                <span class="visually-hidden">{"Speed"}</span>
                <select data-testid="speed" onchange={on_speed} title="How many virtual seconds pass per real second">
                    { for super::SPEEDS.iter().map(|s| html! {
                        <option value={s.to_string()} selected={*s == props.speed}>{ format!("{s}×") }</option>
                    }) }
                </select>
            </label>
            <button class="ghost" data-testid="step" onclick={on_step} title="Pause and run to the next moment anything is due (.)">{"Step ›"}</button>
        </div>
    }
}
