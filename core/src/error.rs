//! Errors of the core library. Everything here is either a problem with the user's input
//! (a repository, a revision, a file in it) or with git itself; the CLI maps both to exit 2.

use crate::diagnostic::Diagnostic;
use crate::path::PathError;

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

    #[error(transparent)]
    Compare(#[from] crate::table::CompareError),

    #[error("drift: {0}")]
    Drift(#[from] crate::drift::DriftError),

    #[error(transparent)]
    Profile(#[from] crate::profile::ProfileError),

    #[error("predictions: {0}")]
    Predictions(#[from] crate::predictions::PredictionError),

    #[error("audit ledger: {0}")]
    Audit(String),

    #[error("pull-request facts: {0}")]
    PrFacts(String),

    /// A data file is in Git LFS or DVC and its content could not be read.
    #[error("{0}")]
    Unavailable(Box<crate::content::Unavailable>),

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
