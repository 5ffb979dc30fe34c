//! The YAML editor: a plain textarea (so selection, undo, Ctrl+A and typing
//! behave as in any field) over a highlighted copy of its text, with line
//! numbers and markers at the lines errors are about.
//!
//! Tab inserts two spaces; Enter keeps the indentation (and indents after a
//! `key:`), except within a burst of keys, so typed-in manifests keep exactly
//! their own indentation. Ctrl+Enter applies.

use std::cell::RefCell;
use std::rc::Rc;

use web_sys::HtmlTextAreaElement;
use yew::prelude::*;

use super::browser;
use crate::scene::EditorReport;
use crate::view::templates::TEMPLATES;
use crate::view::yaml::{self, Marker, Severity};

#[derive(Properties, PartialEq)]
pub struct Props {
    /// (generation, text): a new generation replaces the editor's text.
    pub load: (u64, Rc<String>),
    /// (generation, report) of the last Apply or Delete.
    pub report: (u64, Rc<EditorReport>),
    pub on_apply: Callback<String>,
    pub on_delete: Callback<String>,
}

/// The indent Enter adds, inserted a moment later unless another key comes
/// first: a person sees it at once, while text typed in one burst (pasted by
/// a tool, typed by a test driver) keeps exactly its own indentation.
type PendingIndent = Rc<RefCell<Option<gloo::timers::callback::Timeout>>>;
const INDENT_DELAY_MS: u32 = 40;

#[function_component]
pub fn Editor(props: &Props) -> Html {
    super::browser::mark("editor");
    let text = use_state(|| (*props.load.1).clone());
    let loaded = use_mut_ref(|| props.load.0);
    let textarea = use_node_ref();
    let overlay = use_node_ref();
    let gutter = use_node_ref();
    let pending_indent: PendingIndent = use_mut_ref(|| None);
    // Markers belong to the text they were made for; editing fades them.
    let report_text = use_mut_ref(String::new);
    let report_seen = use_mut_ref(|| 0u64);
    if *report_seen.borrow() != props.report.0 {
        *report_seen.borrow_mut() = props.report.0;
        *report_text.borrow_mut() = (*text).clone();
    }
    if *loaded.borrow() != props.load.0 {
        *loaded.borrow_mut() = props.load.0;
        text.set((*props.load.1).clone());
    }
    let stale = *report_text.borrow() != *text;

    let on_input = {
        let text = text.clone();
        Callback::from(move |e: InputEvent| {
            let field: HtmlTextAreaElement = e.target_unchecked_into();
            text.set(field.value());
        })
    };
    let on_scroll = {
        let (overlay, gutter) = (overlay.clone(), gutter.clone());
        Callback::from(move |e: Event| {
            let field: HtmlTextAreaElement = e.target_unchecked_into();
            if let Some(el) = overlay.cast::<web_sys::Element>() {
                el.set_scroll_top(field.scroll_top());
                el.set_scroll_left(field.scroll_left());
            }
            if let Some(el) = gutter.cast::<web_sys::Element>() {
                el.set_scroll_top(field.scroll_top());
            }
        })
    };
    let on_keydown = {
        let (on_apply, pending_indent) = (props.on_apply.clone(), pending_indent.clone());
        Callback::from(move |e: KeyboardEvent| {
            // Any key cancels an indent not yet inserted (see `PendingIndent`).
            pending_indent.borrow_mut().take();
            let field: HtmlTextAreaElement = e.target_unchecked_into();
            let value = field.value();
            let start = field.selection_start().ok().flatten().unwrap_or(0);
            match e.key().as_str() {
                "Enter" if e.ctrl_key() || e.meta_key() => {
                    e.prevent_default();
                    on_apply.emit(value);
                }
                "Enter" if !e.shift_key() && !e.alt_key() => {
                    e.prevent_default();
                    let before = utf16_prefix(&value, start);
                    let line = before.rsplit('\n').next().unwrap_or("");
                    let insertion = yaml::newline_insertion(line);
                    browser::insert_text(&field, "\n");
                    let indent = insertion[1..].to_string();
                    if !indent.is_empty() {
                        let caret = start + 1;
                        let timeout = gloo::timers::callback::Timeout::new(INDENT_DELAY_MS, move || {
                            if field.selection_start().ok().flatten() == Some(caret) && field.selection_end().ok().flatten() == Some(caret) {
                                browser::insert_text(&field, &indent);
                            }
                        });
                        *pending_indent.borrow_mut() = Some(timeout);
                    }
                }
                "Tab" if !e.ctrl_key() && !e.alt_key() && !e.meta_key() => {
                    e.prevent_default();
                    if !e.shift_key() {
                        browser::insert_text(&field, "  ");
                    }
                }
                _ => {}
            }
        })
    };
    let on_template = {
        let text = text.clone();
        Callback::from(move |e: Event| {
            let select: web_sys::HtmlSelectElement = e.target_unchecked_into();
            if let Some((_, yaml)) = TEMPLATES.iter().find(|(name, _)| *name == select.value()) {
                text.set(yaml.to_string());
            }
            select.set_value("");
        })
    };
    let apply = {
        let (cb, text) = (props.on_apply.clone(), text.clone());
        Callback::from(move |_: MouseEvent| cb.emit((*text).clone()))
    };
    let delete = {
        let (cb, text) = (props.on_delete.clone(), text.clone());
        Callback::from(move |_: MouseEvent| cb.emit((*text).clone()))
    };
    let jump = {
        let textarea = textarea.clone();
        Callback::from(move |(line, column): (usize, Option<usize>)| {
            if let Some(field) = textarea.cast::<HtmlTextAreaElement>() {
                let value = field.value();
                let offset: usize = value.split('\n').take(line).map(|l| l.encode_utf16().count() + 1).sum::<usize>() + column.unwrap_or(0);
                let _ = field.focus();
                let _ = field.set_selection_range(offset as u32, offset as u32);
            }
        })
    };

    let report = &props.report.1;
    let lines = yaml::highlight(&text);
    let marker_at = |i: usize| report.markers.iter().filter(move |m| m.line == i);
    html! {
        <div class="editor-pane">
            <div class="pane-title">
                <h2>{"YAML editor"}</h2>
                <div class="editor-tools">
                    <select onchange={on_template} aria-label="Load a template" title="Start from a template">
                        <option value="" selected=true>{"Template…"}</option>
                        { for TEMPLATES.iter().map(|(name, _)| html! { <option value={*name}>{ *name }</option> }) }
                    </select>
                    <button class="primary" data-testid="apply-button" onclick={apply} title="kubectl apply -f (Ctrl+Enter)">{"Apply"}</button>
                    <button class="danger" data-testid="delete-button" onclick={delete} title="kubectl delete -f">{"Delete"}</button>
                </div>
            </div>
            <div class={classes!("editor", stale.then_some("stale"))}>
                <div class="gutter mono" ref={gutter} aria-hidden="true">
                    { for (0..lines.len()).map(|i| {
                        let mark = marker_at(i).map(|m| m.severity).max_by_key(|s| *s == Severity::Error);
                        let class = match mark { Some(Severity::Error) => "err", Some(Severity::Ok) => "ok", None => "" };
                        html! { <div class={classes!("ln", class)}>{ i + 1 }</div> }
                    }) }
                </div>
                <div class="code">
                    <pre class="highlight mono" ref={overlay} aria-hidden="true">
                        { for lines.iter().enumerate().map(|(i, spans)| view_line(i, spans, marker_at(i).collect())) }
                    </pre>
                    <textarea data-testid="yaml-editor" ref={textarea} class="editor-source mono" wrap="off" spellcheck="false"
                        autocapitalize="off" autocomplete="off" aria-label="YAML manifests; Ctrl+Enter applies"
                        value={(*text).clone()} oninput={on_input} onkeydown={on_keydown} onscroll={on_scroll} />
                </div>
            </div>
            <ul class="editor-messages" data-testid="editor-messages" aria-live="polite">
                { for report.markers.iter().map(|m| {
                    let (jump, line, column) = (jump.clone(), m.line, m.column);
                    let class = if m.severity == Severity::Error { "err" } else { "ok" };
                    html! {
                        <li class={class}>
                            <button class="linklike" onclick={move |_| jump.emit((line, column))}>
                                { match m.column { Some(c) => format!("line {}:{}", m.line + 1, c + 1), None => format!("line {}", m.line + 1) } }
                            </button>
                            { format!(" {}", m.message) }
                        </li>
                    }
                }) }
            </ul>
        </div>
    }
}

fn view_line(index: usize, spans: &yaml::Spans, markers: Vec<&Marker>) -> Html {
    let error = markers.iter().find(|m| m.severity == Severity::Error);
    let column = error.and_then(|m| m.column);
    let mut offset = 0;
    let mut parts: Vec<Html> = Vec::new();
    for (token, piece) in spans {
        let len = piece.chars().count();
        match column {
            // Underline the character the error names.
            Some(c) if c >= offset && c < offset + len => {
                let split = piece.char_indices().nth(c - offset).map(|(i, _)| i).unwrap_or(piece.len());
                let ch_end = piece[split..].chars().next().map(|ch| split + ch.len_utf8()).unwrap_or(split);
                parts.push(html! { <span class={token.class()}>{ &piece[..split] }</span> });
                parts.push(html! { <span class={classes!(token.class(), "err-col")}>{ &piece[split..ch_end] }</span> });
                parts.push(html! { <span class={token.class()}>{ &piece[ch_end..] }</span> });
            }
            _ => parts.push(html! { <span class={token.class()}>{ piece.clone() }</span> }),
        }
        offset += len;
    }
    if column.is_some_and(|c| c >= offset) {
        parts.push(html! { <span class="err-col">{" "}</span> });
    }
    let class = match (error.is_some(), markers.is_empty()) {
        (true, _) => "line err",
        (false, false) => "line ok",
        _ => "line",
    };
    html! {
        <div class={class} key={index}>
            { for parts }
            { for markers.iter().map(|m| html! {
                <span class={classes!("marker", if m.severity == Severity::Error { "err" } else { "ok" })}>{ m.message.lines().next().unwrap_or("").to_string() }</span>
            }) }
        </div>
    }
}

/// The text before a caret position given in UTF-16 units (as the DOM counts).
fn utf16_prefix(text: &str, units: u32) -> &str {
    let mut count = 0u32;
    for (i, ch) in text.char_indices() {
        if count >= units {
            return &text[..i];
        }
        count += ch.len_utf16() as u32;
    }
    text
}
