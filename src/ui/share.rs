//! Share and keep: Copy link writes the scene into a link; Reset starts clean.

use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct Props {
    /// The last link made, empty before Copy link is pressed.
    pub link: String,
    pub on_share: Callback<()>,
    pub on_reset: Callback<()>,
}

#[function_component]
pub fn ShareBar(props: &Props) -> Html {
    super::browser::mark("share");
    let on_focus = Callback::from(|e: FocusEvent| {
        let input: web_sys::HtmlInputElement = e.target_unchecked_into();
        input.select();
    });
    html! {
        <div class="share-bar">
            <button class="primary" data-testid="share-button" onclick={props.on_share.reform(|_| ())}
                title="Put this scene (seed and every step you took) into a link and copy it">
                {"Copy link"}
            </button>
            <input class="share-link" data-testid="share-link" readonly=true value={props.link.clone()}
                placeholder="Copy link puts the scene's link here" aria-label="Link to this scene" onfocus={on_focus} />
            <button class="ghost" data-testid="reset-button" onclick={props.on_reset.reform(|_| ())}
                title="Forget the saved scene and boot a fresh cluster">
                {"↺ Reset"}
            </button>
        </div>
    }
}
