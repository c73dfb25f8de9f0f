//! Scripted repositories: a list of commits on branches, written with git2 into a real
//! repository. The demo builds the example repository this way, and tests build theirs.

use std::collections::BTreeMap;
use std::path::Path;

use git2::{FileMode, Oid, Repository, Signature, Time, build::TreeUpdateBuilder};
use serde::Deserialize;

use crate::diagnostic::Diagnostic;
use crate::error::{Error, Result};
use crate::path::RepoPath;

/// One change to a file in a commit.
#[derive(Debug, Clone)]
pub enum FileChange {
    Write { path: String, content: Vec<u8> },
    Symlink { path: String, target: String },
    Delete { path: String },
}

impl FileChange {
    pub fn write(path: &str, content: impl AsRef<[u8]>) -> FileChange {
        FileChange::Write {
            path: path.to_owned(),
            content: content.as_ref().to_vec(),
        }
    }

    pub fn delete(path: &str) -> FileChange {
        FileChange::Delete {
            path: path.to_owned(),
        }
    }

    pub fn symlink(path: &str, target: &str) -> FileChange {
        FileChange::Symlink {
            path: path.to_owned(),
            target: target.to_owned(),
        }
    }
}

/// Writes commits onto branches of a new repository, with a fixed author and a clock that
/// advances one hour per commit, so the same script gives the same commit ids.
pub struct RepoWriter {
    repo: Repository,
    clock: i64,
}

impl std::fmt::Debug for RepoWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RepoWriter")
            .field("path", &self.repo.path())
            .finish()
    }
}

/// 2026-01-05T09:00:00Z, the first commit's time.
const START: i64 = 1_767_603_600;

impl RepoWriter {
    /// Creates an empty repository at `path` whose HEAD is `main`.
    pub fn init(path: &Path, bare: bool) -> Result<RepoWriter> {
        let mut options = git2::RepositoryInitOptions::new();
        options.bare(bare).initial_head("main").mkpath(true);
        let repo = Repository::init_opts(path, &options).map_err(Error::git(format!(
            "creating a repository at {}",
            path.display()
        )))?;
        Ok(RepoWriter { repo, clock: START })
    }

    pub fn repository(&self) -> &Repository {
        &self.repo
    }

    /// Commits `changes` on `branch`. A branch that does not exist yet starts from `from`
    /// (a branch or commit), or as a root commit when `from` is `None`.
    pub fn commit(
        &mut self,
        branch: &str,
        from: Option<&str>,
        message: &str,
        changes: &[FileChange],
    ) -> Result<Oid> {
        let reference = format!("refs/heads/{branch}");
        let parent = match self.repo.find_reference(&reference) {
            Ok(r) => Some(
                r.peel_to_commit()
                    .map_err(Error::git(format!("reading {reference}")))?,
            ),
            Err(_) => match from {
                Some(from) => Some(
                    self.repo
                        .revparse_single(from)
                        .and_then(|o| o.peel_to_commit())
                        .map_err(|_| Error::UnknownRevision {
                            rev: from.to_owned(),
                            repo: self.location(),
                        })?,
                ),
                None => None,
            },
        };
        let base_tree = match &parent {
            Some(parent) => parent
                .tree()
                .map_err(Error::git("reading the parent tree"))?,
            None => {
                let empty = self
                    .repo
                    .treebuilder(None)
                    .and_then(|b| b.write())
                    .map_err(Error::git("empty tree"))?;
                self.repo
                    .find_tree(empty)
                    .map_err(Error::git("empty tree"))?
            }
        };
        let mut update = TreeUpdateBuilder::new();
        for change in changes {
            match change {
                FileChange::Write { path, content } => {
                    let blob = self
                        .repo
                        .blob(content)
                        .map_err(Error::git(format!("writing {path}")))?;
                    update.upsert(checked(path)?.as_str(), blob, FileMode::Blob);
                }
                FileChange::Symlink { path, target } => {
                    let blob = self
                        .repo
                        .blob(target.as_bytes())
                        .map_err(Error::git(format!("writing {path}")))?;
                    update.upsert(checked(path)?.as_str(), blob, FileMode::Link);
                }
                FileChange::Delete { path } => {
                    update.remove(checked(path)?.as_str());
                }
            }
        }
        let tree_id = update
            .create_updated(&self.repo, &base_tree)
            .map_err(Error::git("building a tree"))?;
        let tree = self
            .repo
            .find_tree(tree_id)
            .map_err(Error::git("reading the new tree"))?;
        self.clock += 3600;
        let signature = Signature::new(
            "modelgate demo",
            "demo@modelgate.invalid",
            &Time::new(self.clock, 0),
        )
        .map_err(Error::git("making a signature"))?;
        let parents: Vec<&git2::Commit<'_>> = parent.iter().collect();
        self.repo
            .commit(
                Some(&reference),
                &signature,
                &signature,
                message,
                &tree,
                &parents,
            )
            .map_err(Error::git(format!("committing on {branch}")))
    }

    /// Checks out `main` into the working tree (no-op for a bare repository).
    pub fn checkout_main(&self) -> Result<()> {
        if self.repo.is_bare() {
            return Ok(());
        }
        self.repo
            .set_head("refs/heads/main")
            .map_err(Error::git("setting HEAD"))?;
        self.repo
            .checkout_head(Some(git2::build::CheckoutBuilder::new().force()))
            .map_err(Error::git("checking out main"))
    }

    fn location(&self) -> String {
        self.repo.path().display().to_string()
    }
}

fn checked(path: &str) -> Result<RepoPath> {
    RepoPath::parse(path).map_err(|source| Error::Path {
        path: path.to_owned(),
        source,
    })
}

/// A file of a scenario folder: its path relative to that folder, and its content.
pub type ScenarioFile = (String, Vec<u8>);

/// A scripted history, `scenario.yml` of the example repository.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub commits: Vec<ScriptedCommit>,
    #[serde(default)]
    pub pull_requests: Vec<ScriptedPullRequest>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScriptedCommit {
    pub branch: String,
    /// Where a new branch starts.
    pub from: Option<String>,
    pub message: String,
    /// A folder of the scenario whose files are written over the parent's tree.
    pub files: Option<String>,
    #[serde(default)]
    pub delete: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScriptedPullRequest {
    pub title: String,
    pub base: String,
    pub head: String,
    /// The conclusion this pull request demonstrates.
    pub expect: String,
    /// One sentence on what the pull request shows.
    pub story: String,
    /// Review stages: the pull request's facts at each, and the conclusion expected.
    #[serde(default)]
    pub reviews: Vec<ScriptedReview>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScriptedReview {
    pub stage: String,
    /// A JSON file of the scenario in the shape of `check --pr-facts`.
    pub facts: String,
    pub expect: String,
}

impl Scenario {
    pub fn parse(file: &str, text: &str) -> std::result::Result<Scenario, Diagnostic> {
        crate::yaml::parse(file, text, 0)
    }

    /// Writes the scenario's commits into a new repository at `path`. `files_under` lists
    /// the files of a scenario folder as (path relative to that folder, content).
    pub fn build(
        &self,
        path: &Path,
        files_under: &dyn Fn(&str) -> Option<Vec<ScenarioFile>>,
    ) -> Result<BTreeMap<String, Oid>> {
        let mut writer = RepoWriter::init(path, false)?;
        let mut tips = BTreeMap::new();
        for commit in &self.commits {
            let mut changes = Vec::new();
            if let Some(folder) = &commit.files {
                let files = files_under(folder).ok_or_else(|| {
                    Error::invalid(Diagnostic::whole_file(folder, "scenario folder not found"))
                })?;
                changes.extend(
                    files
                        .into_iter()
                        .map(|(path, content)| FileChange::Write { path, content }),
                );
            }
            changes.extend(commit.delete.iter().map(|path| FileChange::delete(path)));
            let oid = writer.commit(
                &commit.branch,
                commit.from.as_deref(),
                &commit.message,
                &changes,
            )?;
            tips.insert(commit.branch.clone(), oid);
        }
        writer.checkout_main()?;
        Ok(tips)
    }
}
