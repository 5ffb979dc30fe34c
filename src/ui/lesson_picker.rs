//! The lesson picker: the built-in lessons, and a lesson of your own from a
//! file or pasted text (errors name the line).

use std::rc::Rc;

use web_sys::{HtmlInputElement, HtmlTextAreaElement};
use yew::prelude::*;

/// A built-in lesson as the picker lists it.
#[derive(Clone, Debug, PartialEq)]
pub struct Card {
    pub id: String,
    pub title: String,
    pub summary: String,
    pub steps: usize,
    pub profile: &'static str,
    pub done: bool,
}

#[derive(Properties, PartialEq)]
pub struct Props {
    pub cards: Rc<Vec<Card>>,
    /// Why the last custom lesson could not be opened.
    pub error: Option<String>,
    pub on_pick: Callback<String>,
    pub on_custom: Callback<String>,
    /// A lesson file that could not be read.
    pub on_error: Callback<String>,
    pub on_close: Callback<()>,
}

#[function_component]
pub fn LessonPicker(props: &Props) -> Html {
    let text = use_state(String::new);
    // Keeps the file being read alive until it is read.
    let reader = use_mut_ref(|| None::<gloo::file::callbacks::FileReader>);
    let on_text = {
        let text = text.clone();
        Callback::from(move |e: InputEvent| {
            let field: HtmlTextAreaElement = e.target_unchecked_into();
            text.set(field.value());
        })
    };
    let on_open = {
        let (text, cb) = (text.clone(), props.on_custom.clone());
        Callback::from(move |_: MouseEvent| cb.emit((*text).clone()))
    };
    let on_file = {
        let (reader, text, cb, on_error) = (reader.clone(), text.clone(), props.on_custom.clone(), props.on_error.clone());
        Callback::from(move |e: Event| {
            let input: HtmlInputElement = e.target_unchecked_into();
            let Some(file) = input.files().and_then(|f| f.get(0)) else { return };
            let file = gloo::file::File::from(file);
            let (text, cb, on_error) = (text.clone(), cb.clone(), on_error.clone());
            let task = gloo::file::callbacks::read_as_text(&file, move |result| match result {
                Ok(content) => {
                    text.set(content.clone());
                    cb.emit(content);
                }
                Err(e) => on_error.emit(format!("The file could not be read as text: {e}")),
            });
            *reader.borrow_mut() = Some(task);
        })
    };
    let on_backdrop = props.on_close.reform(|_: MouseEvent| ());
    html! {
        <div class="modal-backdrop" onclick={on_backdrop}>
            <div class="modal lesson-picker" role="dialog" aria-modal="true" aria-label="Lessons" data-testid="lesson-picker"
                onclick={Callback::from(|e: MouseEvent| e.stop_propagation())}>
                <div class="modal-head">
                    <h2>{"Lessons"}</h2>
                    <button class="ghost" data-testid="lesson-picker-close" aria-label="Close" onclick={props.on_close.reform(|_| ())}>{"✕"}</button>
                </div>
                <p class="muted">{"Each lesson starts a fresh cluster, runs its setup, and checks each step as you do it. Your progress is kept in this browser."}</p>
                <ul class="lesson-cards">
                    { for props.cards.iter().map(|c| {
                        let id = c.id.clone();
                        let pick = props.on_pick.clone();
                        html! {
                            <li>
                                <button class={classes!("lesson-card", c.done.then_some("done"))} data-testid={format!("lesson-{}", c.id)}
                                    onclick={move |_| pick.emit(id.clone())}>
                                    <span class="card-title">{ c.title.clone() }{ if c.done { " ✓" } else { "" } }</span>
                                    <span class="card-summary">{ c.summary.clone() }</span>
                                    <span class="card-meta muted">{ format!("{} steps · {} cluster", c.steps, c.profile) }</span>
                                </button>
                            </li>
                        }
                    }) }
                </ul>
                <details class="custom-lesson" open={props.error.is_some()}>
                    <summary>{"Open your own lesson"}</summary>
                    <p class="muted small">{"A lesson is one Markdown file; the README's \"Writing a lesson\" explains the format."}</p>
                    <input type="file" accept=".md,.markdown,.txt,text/markdown,text/plain" data-testid="lesson-custom-file" onchange={on_file} />
                    <textarea class="mono" data-testid="lesson-custom-text" rows="8" placeholder={"---\ntitle: …\nsummary: …\n---\n## First step"}
                        value={(*text).clone()} oninput={on_text} spellcheck="false" />
                    <button class="primary" data-testid="lesson-custom-open" onclick={on_open}>{"Open this lesson"}</button>
                    if let Some(e) = &props.error {
                        <p class="lesson-error" role="alert" data-testid="lesson-error">{ e.clone() }</p>
                    }
                </details>
            </div>
        </div>
    }
}
