//! A problem at a place in a file: the bottom of the crate, imported by every parser.

use std::fmt;

use serde::Serialize;

/// A problem at a place in a file of the repository, shown as `file:line:column: message`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub file: String,
    /// 1-based; 0 when the problem concerns the whole file.
    pub line: u64,
    /// 1-based; 0 when the problem concerns the whole file or line.
    pub column: u64,
    pub message: String,
}

impl Diagnostic {
    pub fn at(file: impl Into<String>, line: u64, column: u64, message: impl Into<String>) -> Self {
        Diagnostic {
            file: file.into(),
            line,
            column,
            message: message.into(),
        }
    }

    pub fn whole_file(file: impl Into<String>, message: impl Into<String>) -> Self {
        Self::at(file, 0, 0, message)
    }
}

impl Diagnostic {
    /// A JSON error of `serde_json`, positioned, without its own `at line` suffix.
    pub fn from_json(file: &str, error: &serde_json::Error) -> Self {
        let text = error.to_string();
        let message = text
            .rfind(" at line ")
            .map_or(text.as_str(), |i| &text[..i]);
        Self::at(file, error.line() as u64, error.column() as u64, message)
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (0, _) => write!(f, "{}: {}", self.file, self.message),
            (line, 0) => write!(f, "{}:{line}: {}", self.file, self.message),
            (line, column) => write!(f, "{}:{line}:{column}: {}", self.file, self.message),
        }
    }
}

impl std::error::Error for Diagnostic {}
