//! Repository-relative paths: the only kind of path a card or policy may name.

use std::fmt;

use serde::Serialize;

/// A normalized path inside the repository: forward slashes, no `.` or `..` components,
/// no leading slash. Constructed only through [`RepoPath::parse`], so holding one proves
/// the path cannot escape the repository.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct RepoPath(String);

/// Why a path was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("path is empty; expected a repository-relative path such as data/train.csv")]
    Empty,
    #[error("`{0}` is absolute; expected a repository-relative path such as data/train.csv")]
    Absolute(String),
    #[error("`{0}` escapes the repository through `..`; expected a path inside it")]
    Escapes(String),
    #[error("`{0}` contains a backslash; expected forward slashes, as git stores paths")]
    Backslash(String),
}

impl RepoPath {
    /// Parses and normalizes a repository-relative path, refusing absolute paths and `..`
    /// components that climb above the repository root.
    pub fn parse(raw: &str) -> Result<Self, PathError> {
        Self::resolve_from(&[], raw)
    }

    /// Resolves `raw` relative to the directory `base` (given as components), as a symlink
    /// target is resolved relative to the folder holding the link.
    pub(crate) fn resolve_from(base: &[&str], raw: &str) -> Result<Self, PathError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(PathError::Empty);
        }
        if trimmed.contains('\\') {
            return Err(PathError::Backslash(raw.to_owned()));
        }
        let bytes = trimmed.as_bytes();
        let has_drive = bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':';
        if trimmed.starts_with('/') || trimmed.starts_with('~') || has_drive {
            return Err(PathError::Absolute(raw.to_owned()));
        }
        let mut parts: Vec<&str> = base.to_vec();
        for component in trimmed.split('/') {
            match component {
                "" | "." => {}
                ".." => {
                    if parts.pop().is_none() {
                        return Err(PathError::Escapes(raw.to_owned()));
                    }
                }
                other => parts.push(other),
            }
        }
        if parts.is_empty() {
            return Err(PathError::Empty);
        }
        Ok(RepoPath(parts.join("/")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The path's components, for walking git trees.
    pub fn components(&self) -> impl Iterator<Item = &str> {
        self.0.split('/')
    }

    /// The file name's extension, lower-cased, if any.
    pub fn extension(&self) -> Option<String> {
        let name = self.0.rsplit('/').next()?;
        let (stem, ext) = name.rsplit_once('.')?;
        (!stem.is_empty()).then(|| ext.to_ascii_lowercase())
    }

    /// Whether this path lies inside the folder `dir` (a path without trailing slash).
    pub fn is_under(&self, dir: &str) -> bool {
        self.0.len() > dir.len() && self.0.starts_with(dir) && self.0.as_bytes()[dir.len()] == b'/'
    }
}

impl fmt::Display for RepoPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_inner_dots() {
        let path = RepoPath::parse("./data/../data/./train.csv").expect("valid path");
        assert_eq!(path.as_str(), "data/train.csv");
        assert_eq!(path.extension().as_deref(), Some("csv"));
    }

    #[test]
    fn refuses_escapes_and_absolute_paths() {
        assert_eq!(
            RepoPath::parse("../secrets.csv"),
            Err(PathError::Escapes("../secrets.csv".into()))
        );
        assert_eq!(
            RepoPath::parse("data/../../x"),
            Err(PathError::Escapes("data/../../x".into()))
        );
        assert!(matches!(
            RepoPath::parse("/etc/passwd"),
            Err(PathError::Absolute(_))
        ));
        assert!(matches!(
            RepoPath::parse("C:/data.csv"),
            Err(PathError::Absolute(_))
        ));
        assert!(matches!(
            RepoPath::parse("data\\x.csv"),
            Err(PathError::Backslash(_))
        ));
        assert_eq!(RepoPath::parse("  "), Err(PathError::Empty));
    }

    #[test]
    fn symlink_targets_resolve_from_their_folder() {
        let path = RepoPath::resolve_from(&["models", "a"], "../../data/x.csv").expect("inside");
        assert_eq!(path.as_str(), "data/x.csv");
        assert!(RepoPath::resolve_from(&["models"], "../../x").is_err());
    }
}
