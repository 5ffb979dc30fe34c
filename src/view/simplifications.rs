//! Where the simulation simplifies, as the page shows it: the README's own
//! list (`build.rs` copies it), so the page and the README say the same.

use crate::lesson::markdown::{self, Block};

/// The README's `Where the simulation simplifies:` bullets, as Markdown.
pub const TEXT: &str = include_str!(concat!(env!("OUT_DIR"), "/simplifications.md"));

/// The list, parsed for the page.
pub fn blocks() -> Vec<Block> {
    markdown::parse(TEXT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_gets_the_readmes_list_whole() {
        let readme = include_str!("../../README.md");
        let listed = readme.split("Where the simulation simplifies:").nth(1).unwrap_or_default();
        assert!(TEXT.lines().count() > 20, "{TEXT}");
        assert!(listed.trim_start().starts_with(TEXT.trim()), "the README's list, as it is there");
        let items = blocks().iter().map(|b| if let Block::List { items, .. } = b { items.len() } else { 0 }).sum::<usize>();
        assert_eq!(items, TEXT.lines().filter(|l| l.starts_with("- ")).count(), "one item a bullet");
        assert!(TEXT.contains("Pod Security's `audit` level"));
    }
}
