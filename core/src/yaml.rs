//! The one place YAML is parsed. Cards and policies arrive in pull requests, so they are
//! untrusted: the parser runs with budgets on depth, nodes, aliases and size.

use serde::de::DeserializeOwned;

use crate::diagnostic::Diagnostic;

/// Largest YAML document accepted, in bytes. Cards and policies are small; anything larger
/// is refused before parsing.
pub const MAX_YAML_BYTES: usize = 1024 * 1024;

/// Parses `text` as one YAML document into `T`. `line_offset` is the number of lines of
/// `file` that precede `text` (front matter starts after its `---` line), so positions in
/// errors point into the real file.
pub(crate) fn parse<T: DeserializeOwned>(
    file: &str,
    text: &str,
    line_offset: u64,
) -> Result<T, Diagnostic> {
    parse_with(file, text, line_offset, Dialect::Strict)
}

/// How far YAML is read the way the Hub reads card front matter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dialect {
    /// Policies: a repeated key is an error.
    Strict,
    /// Card front matter as PyYAML (the Hub's loader) reads it: a repeated key keeps its last
    /// value, `.nan` and `.inf` are numbers, and a tag it does not know is an error.
    Hub,
}

/// [`parse`] for card front matter, in the Hub's dialect.
pub(crate) fn parse_card_yaml<T: DeserializeOwned>(
    file: &str,
    text: &str,
    line_offset: u64,
) -> Result<T, Diagnostic> {
    parse_with(file, text, line_offset, Dialect::Hub)
}

fn parse_with<T: DeserializeOwned>(
    file: &str,
    text: &str,
    line_offset: u64,
    dialect: Dialect,
) -> Result<T, Diagnostic> {
    if text.len() > MAX_YAML_BYTES {
        return Err(Diagnostic::at(
            file,
            line_offset + 1,
            1,
            format!(
                "YAML is {} bytes; at most {MAX_YAML_BYTES} are accepted",
                text.len()
            ),
        ));
    }
    let mut options = serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_depth: 64,
            max_nodes: 100_000,
            max_events: 400_000,
            max_aliases: 1_000,
            max_anchors: 1_000,
            max_documents: 1,
        },
    };
    if dialect == Dialect::Hub {
        options.duplicate_keys = serde_saphyr::DuplicateKeyPolicy::LastWins;
        options.non_finite_float_policy = serde_saphyr::NonFiniteFloatPolicy::PassThrough;
        options.reject_unsupported_tags = true;
    }
    serde_saphyr::from_str_with_options(text, options).map_err(|error| {
        let (line, column) = error
            .location()
            .map(|location| (location.line(), location.column()))
            .unwrap_or((0, 0));
        let line = if line == 0 {
            line_offset + 1
        } else {
            line + line_offset
        };
        Diagnostic::at(file, line, column.max(1), plain_message(&error))
    })
}

/// The error's message without the snippet and without the location suffix that the
/// crate appends, since [`Diagnostic`] carries the position itself.
fn plain_message(error: &serde_saphyr::Error) -> String {
    let rendered = error
        .without_snippet()
        .render_with_options(serde_saphyr::render_options! {
            snippets: serde_saphyr::SnippetMode::Off,
        });
    let first_line = rendered.lines().next().unwrap_or_default().trim();
    let message = match first_line.rfind(" at line ") {
        Some(index) => &first_line[..index],
        None => first_line,
    };
    match message {
        "expected mapping start" => {
            "expected a mapping of keys to values (`key: value` lines)".to_owned()
        }
        "expected sequence start" => "expected a list (`- item` lines or `[a, b]`)".to_owned(),
        other => other.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Sample {
        name: String,
        count: u32,
    }

    #[test]
    fn errors_point_into_the_file() {
        let error =
            parse::<Sample>("f.yml", "name: x\ncount: many\n", 1).expect_err("not a number");
        assert_eq!(error.to_string(), "f.yml:3:8: invalid u32");
        let error = parse::<Sample>("f.yml", "name: x\ncont: 1\n", 0).expect_err("typo");
        assert_eq!(
            error.to_string(),
            "f.yml:2:1: unknown field `cont`, expected one of name, count"
        );
        let error = parse::<Sample>("f.yml", "- a\n", 0).expect_err("a list");
        assert!(
            error.message.contains("mapping of keys to values"),
            "{error}"
        );
    }

    #[test]
    fn alias_bombs_are_stopped_by_the_budget() {
        let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for level in 1..12 {
            let prev = (b'a' + level - 1) as char;
            let name = (b'a' + level) as char;
            let refs = vec![format!("*{prev}"); 10].join(", ");
            bomb.push_str(&format!("{name}: &{name} [{refs}]\n"));
        }
        let error = parse::<serde_json::Value>("bomb.yml", &bomb, 0).expect_err("budget breached");
        assert_eq!(error.file, "bomb.yml");
    }
}
