//! Draws lesson Markdown (`crate::lesson::markdown`): commands become
//! buttons that copy them into the terminal, YAML blocks get a button that
//! puts them into the editor.

use yew::prelude::*;

use crate::lesson::markdown::{is_terminal_line, Block, Inline};

/// What a click on lesson text asks for.
#[derive(Clone, PartialEq)]
pub struct Actions {
    /// A command line for the terminal's prompt.
    pub to_terminal: Callback<String>,
    /// A manifest for the editor.
    pub to_editor: Callback<String>,
}

#[derive(Properties, PartialEq)]
pub struct SimplificationsProps {
    pub actions: Actions,
}

/// The README's list of where the simulation simplifies, folded under one
/// line; drawn once (its props never change).
#[function_component]
pub fn Simplifications(props: &SimplificationsProps) -> Html {
    let parsed = use_memo((), |_| crate::view::simplifications::blocks());
    html! {
        <details class="honest-note simplifications" data-testid="simplifications">
            <summary>{"Where the simulation simplifies"}</summary>
            { blocks(&parsed, &props.actions) }
        </details>
    }
}

pub fn blocks(blocks: &[Block], actions: &Actions) -> Html {
    html! { <>{ for blocks.iter().map(|b| block(b, actions)) }</> }
}

fn block(b: &Block, actions: &Actions) -> Html {
    match b {
        Block::Heading(level, content) => {
            let inner = inlines(content, actions);
            match level {
                1 | 2 => html! { <h4 class="md-h">{ inner }</h4> },
                _ => html! { <h5 class="md-h">{ inner }</h5> },
            }
        }
        Block::Paragraph(content) => html! { <p>{ inlines(content, actions) }</p> },
        Block::List { ordered: true, start, items } => html! {
            <ol start={start.to_string()}>{ for items.iter().map(|i| html! { <li>{ inlines(i, actions) }</li> }) }</ol>
        },
        Block::List { items, .. } => html! {
            <ul>{ for items.iter().map(|i| html! { <li>{ inlines(i, actions) }</li> }) }</ul>
        },
        Block::Quote(inner) => html! { <blockquote>{ blocks(inner, actions) }</blockquote> },
        Block::Code { lang, text } => code_block(lang, text, actions),
    }
}

fn code_block(lang: &str, text: &str, actions: &Actions) -> Html {
    if matches!(lang, "yaml" | "yml") {
        let manifest = text.to_string();
        let to_editor = actions.to_editor.clone();
        return html! {
            <div class="md-code yaml">
                <button class="copy-yaml" data-testid="lesson-copy-yaml" title="Put this manifest into the editor"
                    onclick={move |_| to_editor.emit(manifest.clone())}>{"Copy to editor"}</button>
                <pre class="mono">{ text.to_string() }</pre>
            </div>
        };
    }
    let lines: Vec<&str> = text.lines().collect();
    if !lines.is_empty() && lines.iter().all(|l| l.trim().is_empty() || is_terminal_line(l)) {
        return html! {
            <div class="md-code commands">
                { for lines.iter().filter(|l| !l.trim().is_empty()).map(|l| command(l.trim(), actions)) }
            </div>
        };
    }
    html! { <pre class="md-code mono">{ text.to_string() }</pre> }
}

/// A command line as a button: a click puts it at the terminal's prompt.
fn command(line: &str, actions: &Actions) -> Html {
    let to_terminal = actions.to_terminal.clone();
    let text = line.to_string();
    html! {
        <button class="command mono" data-testid="lesson-command" title="Copy into the terminal (then press Enter)"
            onclick={move |_| to_terminal.emit(text.clone())}>
            <span class="prompt" aria-hidden="true">{"$ "}</span>{ line.to_string() }
        </button>
    }
}

fn inlines(content: &[Inline], actions: &Actions) -> Html {
    html! { <>{ for content.iter().map(|i| inline(i, actions)) }</> }
}

fn inline(i: &Inline, actions: &Actions) -> Html {
    match i {
        Inline::Text(t) => html! { { t.clone() } },
        Inline::Code(c) if is_terminal_line(c) => {
            let to_terminal = actions.to_terminal.clone();
            let text = c.clone();
            html! {
                <button class="command inline mono" data-testid="lesson-command" title="Copy into the terminal (then press Enter)"
                    onclick={move |_| to_terminal.emit(text.clone())}>{ c.clone() }</button>
            }
        }
        Inline::Code(c) => html! { <code>{ c.clone() }</code> },
        Inline::Strong(c) => html! { <strong>{ inlines(c, actions) }</strong> },
        Inline::Emphasis(c) => html! { <em>{ inlines(c, actions) }</em> },
        Inline::Link { href, children } => html! {
            <a href={href.clone()} target="_blank" rel="noopener noreferrer">{ inlines(children, actions) }</a>
        },
    }
}
