//! The lesson beside the cluster: the steps (passed, current, pending), the
//! current step's text with its check ticking as its lines come true, hints,
//! "show me", step reset, and the summary once every step is done.

use std::rc::Rc;

use yew::prelude::*;

use super::markdown::{self, Actions};
use crate::lesson::check::Evaluation;
use crate::lesson::progress::Progress;
use super::LessonHandle;
use crate::lesson::human_duration;

#[derive(Properties, PartialEq)]
pub struct Props {
    pub lesson: LessonHandle,
    pub progress: Rc<Progress>,
    /// The current step's check as last evaluated.
    pub evaluation: Rc<Option<Evaluation>>,
    /// "Show me" is running the solution.
    pub solving: bool,
    pub actions: Actions,
    pub on_hint: Callback<()>,
    pub on_solve: Callback<()>,
    pub on_reset_step: Callback<()>,
    pub on_restart: Callback<()>,
    pub on_leave: Callback<()>,
    pub on_pick: Callback<()>,
    pub on_link: Callback<()>,
}

#[function_component]
pub fn LessonPanel(props: &Props) -> Html {
    let lesson = &props.lesson.0;
    let progress = &props.progress;
    let done = progress.is_done(lesson);
    html! {
        <section class="pane lesson-pane" data-testid="lesson-panel" data-lesson={lesson.id.clone()} aria-label="Lesson">
            <div class="lesson-head">
                <div class="lesson-head-row">
                    <span class="lesson-kicker">{ format!("Lesson · {} of {} steps done", progress.step.min(lesson.steps.len()), lesson.steps.len()) }</span>
                    <div class="lesson-head-actions">
                        <button class="ghost small-button" data-testid="lesson-link" title="Copy a link that opens this lesson from its start" onclick={props.on_link.reform(|_| ())}>{"Link"}</button>
                        <button class="ghost small-button" data-testid="lesson-pick" title="Pick another lesson" onclick={props.on_pick.reform(|_| ())}>{"Lessons"}</button>
                        <button class="ghost small-button" data-testid="lesson-leave" title="Leave the lesson (the cluster stays)" aria-label="Leave the lesson" onclick={props.on_leave.reform(|_| ())}>{"✕"}</button>
                    </div>
                </div>
                <h2 class="lesson-title">{ lesson.title.clone() }</h2>
                if let Some(source) = &lesson.source {
                    <span class="lesson-source muted">{ format!("After {source}") }</span>
                }
            </div>
            <ol class="lesson-steps" aria-label="Steps">
                { for lesson.steps.iter().enumerate().map(|(i, s)| {
                    let state = if i < progress.step { "passed" } else if i == progress.step { "current" } else { "pending" };
                    let label = format!("Step {}: {} ({})", i + 1, s.title, if state == "passed" { "done" } else if state == "current" { "current" } else { "to do" });
                    html! {
                        <li class={classes!("lesson-step", state)} data-testid={format!("lesson-step-{}", i + 1)} data-state={state}
                            title={label.clone()} aria-label={label} aria-current={(state == "current").then_some("step")}>
                            { if state == "passed" { "✓".to_string() } else { (i + 1).to_string() } }
                        </li>
                    }
                }) }
            </ol>
            <div class="lesson-body">
                if done {
                    { view_summary(props) }
                } else {
                    if progress.step == 0 && !lesson.intro.is_empty() {
                        <div class="lesson-intro md">{ markdown::blocks(&lesson.intro, &props.actions) }</div>
                    }
                    { view_step(props) }
                }
            </div>
        </section>
    }
}

fn view_step(props: &Props) -> Html {
    let lesson = &props.lesson.0;
    let progress = &props.progress;
    let Some(step) = lesson.steps.get(progress.step) else { return html! {} };
    let hints_left = step.hints.len().saturating_sub(progress.hints);
    let hint_label = if step.hints.is_empty() {
        "No hint".to_string()
    } else if hints_left == 0 {
        "No more hints".to_string()
    } else {
        format!("Hint ({} of {})", progress.hints + 1, step.hints.len())
    };
    html! {
        <div class="lesson-step-body">
            <h3 class="step-heading">{ format!("Step {} of {}", progress.step + 1, lesson.steps.len()) }</h3>
            <h2 class="step-name">{ step.title.clone() }</h2>
            <div class="md">{ markdown::blocks(&step.text, &props.actions) }</div>
            { view_check(&props.evaluation) }
            if progress.hints > 0 {
                <div class="lesson-hints" aria-live="polite">
                    { for step.hints.iter().take(progress.hints).enumerate().map(|(i, h)| html! {
                        <div class="lesson-hint-text md" data-testid="lesson-hint-text"><strong>{ format!("Hint {}: ", i + 1) }</strong>{ markdown::blocks(h, &props.actions) }</div>
                    }) }
                </div>
            }
            <div class="lesson-actions">
                <button data-testid="lesson-hint" disabled={hints_left == 0} onclick={props.on_hint.reform(|_| ())}>{ hint_label }</button>
                <button data-testid="lesson-solve" disabled={props.solving} title="Run this step's solution in the terminal"
                    onclick={props.on_solve.reform(|_| ())}>{ if props.solving { "Showing…" } else { "Show me" } }</button>
                <button class="ghost" data-testid="lesson-reset-step" title="Put the cluster back as it was when this step began"
                    onclick={props.on_reset_step.reform(|_| ())}>{"↺ Reset step"}</button>
            </div>
        </div>
    }
}

fn view_check(evaluation: &Option<Evaluation>) -> Html {
    let Some(ev) = evaluation else {
        return html! { <div class="lesson-check muted" data-testid="lesson-check" data-holds="false">{"Checking…"}</div> };
    };
    html! {
        <div class="lesson-check" data-testid="lesson-check" data-holds={ev.holds.to_string()} aria-live="polite">
            <h3>{"Done when"}</h3>
            <ul>
                { for ev.ticks.iter().map(|t| html! {
                    <li class={classes!("tick", t.holds.then_some("holds"))} data-testid="lesson-check-item" data-holds={t.holds.to_string()}
                        style={format!("margin-left: {}em", t.depth as f32 * 1.2)}>
                        <span class="tick-mark" aria-label={ if t.holds { "holds" } else { "not yet" } }>{ if t.holds { "✓" } else { "○" } }</span>
                        <code>{ t.text.clone() }</code>
                    </li>
                }) }
            </ul>
        </div>
    }
}

fn view_summary(props: &Props) -> Html {
    let summary = props.progress.summary(&props.lesson.0);
    let by_hand = summary.steps - summary.shown;
    html! {
        <div class="lesson-done" data-testid="lesson-done">
            <h2>{"Lesson complete"}</h2>
            <p class="lesson-stats">
                { format!("{} of {} steps done by hand", by_hand, summary.steps) }
                { if summary.shown > 0 { format!(", {} shown", summary.shown) } else { String::new() } }
                { format!(" · {} hint{} · {} of virtual time", summary.hints_used, if summary.hints_used == 1 { "" } else { "s" }, human_duration(summary.virtual_ms)) }
            </p>
            <div class="md">{ markdown::blocks(&props.lesson.0.outro, &props.actions) }</div>
            <div class="lesson-actions">
                <button class="primary" data-testid="lesson-restart" onclick={props.on_restart.reform(|_| ())}>{"Start again"}</button>
                <button data-testid="lesson-next" onclick={props.on_pick.reform(|_| ())}>{"Pick another lesson"}</button>
            </div>
        </div>
    }
}
