//! Card bodies: Markdown rendered to HTML in one pipeline (parse, rewrite events, render,
//! sanitize). Cards come from pull requests, so the HTML is cleaned with ammonia: no
//! scripts, no event handlers, no `javascript:` or `data:` URLs, and no images or relative
//! links, which would load from elsewhere or point into the repository rather than the site.

use std::collections::HashSet;

use pulldown_cmark::{Event, HeadingLevel, Options, Parser, Tag, TagEnd};

/// Renders card Markdown to safe HTML. Built once and shared by every page.
#[derive(Debug)]
pub struct MarkdownRenderer {
    cleaner: ammonia::Builder<'static>,
}

impl Default for MarkdownRenderer {
    fn default() -> Self {
        let mut cleaner = ammonia::Builder::default();
        cleaner
            .rm_tags(["img"])
            .url_schemes(HashSet::from(["http", "https", "mailto"]))
            .url_relative(ammonia::UrlRelative::Deny)
            .link_rel(Some("noopener noreferrer nofollow"));
        MarkdownRenderer { cleaner }
    }
}

impl MarkdownRenderer {
    pub fn render(&self, markdown: &str) -> String {
        let options = Options::ENABLE_TABLES
            | Options::ENABLE_STRIKETHROUGH
            | Options::ENABLE_TASKLISTS
            | Options::ENABLE_FOOTNOTES;
        let events = Parser::new_ext(markdown, options).map(|event| match event {
            // The page has its own h1: the card's headings go one level down.
            Event::Start(Tag::Heading { level, .. }) => Event::Start(Tag::Heading {
                level: demote(level),
                id: None,
                classes: Vec::new(),
                attrs: Vec::new(),
            }),
            Event::End(TagEnd::Heading(level)) => Event::End(TagEnd::Heading(demote(level))),
            // An image becomes a link to it, labelled by its alt text: the site loads
            // nothing from elsewhere.
            Event::Start(Tag::Image {
                link_type,
                dest_url,
                title,
                id,
            }) => Event::Start(Tag::Link {
                link_type,
                dest_url,
                title,
                id,
            }),
            Event::End(TagEnd::Image) => Event::End(TagEnd::Link),
            other => other,
        });
        let mut html = String::with_capacity(markdown.len() * 3 / 2);
        pulldown_cmark::html::push_html(&mut html, events);
        self.cleaner.clean(&html).to_string()
    }
}

fn demote(level: HeadingLevel) -> HeadingLevel {
    match level {
        HeadingLevel::H1 => HeadingLevel::H2,
        HeadingLevel::H2 => HeadingLevel::H3,
        HeadingLevel::H3 => HeadingLevel::H4,
        HeadingLevel::H4 => HeadingLevel::H5,
        HeadingLevel::H5 | HeadingLevel::H6 => HeadingLevel::H6,
    }
}

/// The plain text under each heading of a card body, in order: `(title, text)`, with the
/// text before the first heading under an empty title. Exports use it for the Model Card
/// Toolkit's considerations.
pub fn section_texts(markdown: &str) -> Vec<(String, String)> {
    let mut sections = vec![(String::new(), String::new())];
    let mut in_heading = false;
    for event in Parser::new(markdown) {
        match event {
            Event::Start(Tag::Heading { .. }) => {
                in_heading = true;
                sections.push((String::new(), String::new()));
            }
            Event::End(TagEnd::Heading(_)) => in_heading = false,
            Event::Text(text) | Event::Code(text) => {
                if let Some((title, body)) = sections.last_mut() {
                    if in_heading {
                        title.push_str(&text);
                    } else {
                        body.push_str(&text);
                    }
                }
            }
            Event::SoftBreak | Event::HardBreak => {
                if let Some((_, body)) = sections.last_mut() {
                    body.push(' ');
                }
            }
            Event::End(TagEnd::Paragraph | TagEnd::Item) => {
                if let Some((_, body)) = sections.last_mut() {
                    body.push('\n');
                }
            }
            _ => {}
        }
    }
    sections
        .into_iter()
        .map(|(title, text)| (title.trim().to_owned(), text.trim().to_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_handlers_and_dangerous_urls_are_removed() {
        let renderer = MarkdownRenderer::default();
        let html = renderer.render(
            "# T\n\n<script>alert(1)</script>\n\n<img src=x onerror=alert(2)>\n\n[a](javascript:alert(3)) [b](data:text/html,x) [c](https://example.org) [d](../x.md)\n\n<svg><script>alert(4)</script></svg>\n\n![pic](https://example.org/p.png)\n",
        );
        for bad in [
            "<script",
            "onerror",
            "javascript:",
            "data:",
            "<svg",
            "<img",
            "alert(",
            "../x.md",
        ] {
            assert!(!html.contains(bad), "{bad} survived: {html}");
        }
        assert!(html.contains("<h2>T</h2>"), "{html}");
        assert!(html.contains("href=\"https://example.org\""), "{html}");
        assert!(html.contains(">pic</a>"), "{html}");
    }

    #[test]
    fn sections_as_text() {
        let sections = section_texts(
            "Intro line.\n\n## Intended use\n\nRanking\nloans.\n\n## Limitations\n\n- a\n- b\n",
        );
        assert_eq!(sections[0], (String::new(), "Intro line.".to_owned()));
        assert_eq!(sections[1].0, "Intended use");
        assert_eq!(sections[1].1, "Ranking loans.");
        assert_eq!(sections[2].1, "a\nb");
    }
}
