//! Commit ids and sha256 digests as text. They reach us from audit notes, report files and
//! GitHub, all of which can be edited by hand, so a sha is shortened only once it is known
//! to be hex digits (one byte each, so any cut is a character boundary). Anything else is
//! shown whole, quoted and escaped: a tampered value stays visible and never panics a cut.

use std::fmt;

/// Hex digits of a commit shown in human output.
pub const SHORT_LEN: usize = 10;

/// A sha written as git and the ledger write it: 40 (SHA-1) or 64 (SHA-256, and sha256
/// digests) hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Sha<'a>(&'a str);

impl<'a> Sha<'a> {
    /// `text` when it is 40 or 64 hex digits.
    pub fn parse(text: &'a str) -> Option<Sha<'a>> {
        let hex = text.bytes().all(|b| b.is_ascii_hexdigit());
        (hex && matches!(text.len(), 40 | 64)).then_some(Sha(text))
    }

    /// `text` when it is a sha256 digest: exactly 64 hex digits.
    pub fn parse_sha256(text: &'a str) -> Option<Sha<'a>> {
        Sha::parse(text).filter(|sha| sha.0.len() == 64)
    }

    pub fn as_str(self) -> &'a str {
        self.0
    }

    /// The first `digits` hex digits (all of them when there are fewer).
    pub fn abbreviated(self, digits: usize) -> &'a str {
        // Every byte is an ASCII hex digit, so any index is a character boundary.
        self.0.get(..digits).unwrap_or(self.0)
    }

    /// The first [`SHORT_LEN`] hex digits.
    pub fn short(self) -> &'a str {
        self.abbreviated(SHORT_LEN)
    }
}

/// The short form of `text` when it is a valid sha; `None` for anything else.
pub fn short_sha(text: &str) -> Option<&str> {
    Sha::parse(text).map(Sha::short)
}

/// Displays a sha from input in its short form, or, when it is not a sha, the whole text
/// quoted and escaped.
#[derive(Debug, Clone, Copy)]
pub struct ShortSha<'a>(pub &'a str);

impl fmt::Display for ShortSha<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match short_sha(self.0) {
            Some(short) => f.write_str(short),
            None => write!(f, "{:?}", self.0),
        }
    }
}

/// Displays a sha from input whole, or, when it is not a sha, quoted and escaped.
#[derive(Debug, Clone, Copy)]
pub struct FullSha<'a>(pub &'a str);

impl fmt::Display for FullSha<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match Sha::parse(self.0) {
            Some(sha) => f.write_str(sha.as_str()),
            None => write!(f, "{:?}", self.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA1: &str = "0123456789abcdef0123456789abcdef01234567";

    #[test]
    fn valid_shas_are_shortened() {
        let sha256 = "ab".repeat(32);
        assert_eq!(short_sha(SHA1), Some("0123456789"));
        assert_eq!(short_sha(&sha256), Some("ababababab"));
        assert_eq!(short_sha(&SHA1.to_uppercase()), Some("0123456789"));
        assert_eq!(ShortSha(SHA1).to_string(), "0123456789");
        assert_eq!(FullSha(SHA1).to_string(), SHA1);
        assert_eq!(Sha::parse(SHA1).map(|s| s.abbreviated(7)), Some("0123456"));
        assert_eq!(Sha::parse(SHA1).map(|s| s.abbreviated(99)), Some(SHA1));
        assert!(Sha::parse_sha256(SHA1).is_none());
        assert!(Sha::parse_sha256(&sha256).is_some());
    }

    #[test]
    fn anything_else_is_shown_whole_and_escaped() {
        // A multi-byte character where a byte cut would fall.
        let tampered = "abcdefghié…\u{1b}[31m\nforged";
        assert_eq!(short_sha(tampered), None);
        assert_eq!(
            ShortSha(tampered).to_string(),
            "\"abcdefghié…\\u{1b}[31m\\nforged\""
        );
        assert_eq!(
            FullSha(tampered).to_string(),
            ShortSha(tampered).to_string()
        );
        let almost = format!("{}é", &SHA1[..39]);
        assert_eq!(almost.len(), 41);
        assert_eq!(short_sha(&almost), None);
        assert_eq!(short_sha(&SHA1[..39]), None, "too short");
        assert_eq!(short_sha(&format!("{SHA1}0")), None, "too long");
        assert_eq!(short_sha(&SHA1.replace('0', "g")), None, "not hex");
        assert_eq!(ShortSha("").to_string(), "\"\"");
    }
}
