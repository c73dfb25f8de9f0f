//! Errors of the core library. Everything here is either a problem with the user's input
//! (a repository, a revision, a file in it) or with git itself; the CLI maps both to exit 2.

use std::fmt;

use serde::Serialize;

use crate::path::PathError;

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

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot open a git repository at {path}: {reason}")]
    OpenRepository { path: String, reason: String },

    #[error(
        "unknown revision `{rev}` in {repo}: expected a branch, tag or commit sha that exists there"
    )]
    UnknownRevision { rev: String, repo: String },

    #[error(
        "revisions {base} and {head} have no common ancestor, so there is no pull-request diff between them"
    )]
    NoMergeBase { base: String, head: String },

    /// One or more problems in files of the repository.
    #[error("{}", join_diagnostics(.0))]
    Invalid(Vec<Diagnostic>),

    #[error("{path}: {source}")]
    Path { path: String, source: PathError },

    #[error(
        "{path} is a symlink to `{target}`, which points outside the repository; symlinks out of the repository are refused"
    )]
    SymlinkEscapes { path: String, target: String },

    #[error("{path}: expected a file but found a {found}")]
    NotAFile { path: String, found: &'static str },

    #[error("lineage cycle through base_model: {}; a model cannot be its own upstream", .cycle.join(" -> "))]
    LineageCycle { cycle: Vec<String> },

    #[error(transparent)]
    Table(#[from] crate::table::TableError),

    #[error("drift: {0}")]
    Drift(#[from] crate::drift::DriftError),

    #[error("predictions: {0}")]
    Predictions(#[from] crate::predictions::PredictionError),

    #[error("audit ledger: {0}")]
    Audit(String),

    #[error("pull-request facts: {0}")]
    PrFacts(String),

    /// libgit2 failed on an existing repository (corrupt objects, I/O).
    #[error("git: {context}: {reason}")]
    Git { context: String, reason: String },
}

fn join_diagnostics(diagnostics: &[Diagnostic]) -> String {
    diagnostics
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

impl Error {
    pub(crate) fn git(context: impl Into<String>) -> impl FnOnce(git2::Error) -> Error {
        let context = context.into();
        move |source| Error::Git {
            context,
            reason: source.message().to_owned(),
        }
    }

    pub(crate) fn invalid(diagnostic: Diagnostic) -> Error {
        Error::Invalid(vec![diagnostic])
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl std::error::Error for Diagnostic {}
