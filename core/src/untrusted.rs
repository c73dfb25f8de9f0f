//! Text from input (audit notes, cards, GitHub) shown on a terminal or in a log line.

use std::fmt;

/// Displays text with its control characters (newlines, terminal escapes) and bidirectional
/// overrides escaped, so a hand-edited value cannot forge lines or reorder what is shown.
/// Everything else, non-ASCII letters included, is shown as it is.
#[derive(Debug, Clone, Copy)]
pub struct Escaped<'a>(pub &'a str);

fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
                | '\u{2028}' | '\u{2029}'
        )
}

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in self.0.chars() {
            if needs_escape(c) {
                write!(f, "{}", c.escape_debug())?;
            } else {
                write!(f, "{c}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_and_overrides_are_escaped_letters_kept() {
        assert_eq!(Escaped("Zoë \"ok\" \\ é…").to_string(), "Zoë \"ok\" \\ é…");
        assert_eq!(
            Escaped("a\nb\u{1b}[31mc\u{202e}d").to_string(),
            "a\\nb\\u{1b}[31mc\\u{202e}d"
        );
    }
}
