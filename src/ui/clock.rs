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
    /// Thousandths of the speed virtual time actually runs at, when the
    /// cluster is too busy for the speed asked.
    #[prop_or_default]
    pub behind: Option<u32>,
}

#[function_component]
pub fn Clock(props: &Props) -> Html {
    super::browser::mark("clock");
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
            if let Some(achieved) = props.behind {
                <span class="clock-behind" data-testid="clock-behind" role="status" data-achieved={achieved.to_string()}
                    title={behind_title(props.speed, achieved)}>
                    { format!("⚠ {}×", speed_text(achieved)) }
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

/// A speed given in thousandths, as precise as it needs to be read: one
/// decimal from 1× up, two significant digits below (a busy cluster's
/// 0.04× is not 0.0×).
fn speed_text(thousandths: u32) -> String {
    let speed = thousandths as f64 / 1000.0;
    match thousandths {
        0 => "0".to_string(),
        1..=9 => format!("{speed:.3}"),
        10..=999 => format!("{speed:.2}"),
        _ => format!("{speed:.1}"),
    }
}

fn behind_title(asked: u32, achieved: u32) -> String {
    if achieved == 0 {
        format!("The cluster is too busy for {asked}×: virtual time has not moved for a second of real time, while its components work through what is due at this instant")
    } else {
        format!("The cluster is too busy for {asked}×: virtual time runs at {}× real time", speed_text(achieved))
    }
}
