//! Read-only access to a repository's content at any revision, straight from git objects:
//! no checkout, so bare repositories and the bot's cache work the same way.

use std::cell::OnceCell;
use std::path::Path;
use std::sync::Arc;

use git2::{ObjectType, Oid, Repository, Tree};

use crate::content::dvc::DvcLock;
use crate::content::lfs::LfsDownload;
use crate::content::{DataArtifact, DataSources};
use crate::error::{Error, Result};
use crate::path::{PathError, RepoPath};

const SYMLINK_MODE: i32 = 0o120000;
const MAX_SYMLINK_HOPS: usize = 16;

/// An opened repository, bare or not.
pub struct Repo {
    git: Repository,
    location: String,
    sources: DataSources,
}

impl std::fmt::Debug for Repo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Repo")
            .field("location", &self.location)
            .finish()
    }
}

/// A file read from a snapshot: its blob id (equal ids mean equal content) and bytes.
#[derive(Debug, Clone)]
pub struct File {
    pub oid: Oid,
    pub content: Vec<u8>,
}

impl Repo {
    /// Opens the repository at `path` exactly (no search through parent folders).
    pub fn open(path: &Path) -> Result<Repo> {
        let location = path.display().to_string();
        let git = Repository::open_ext(path, git2::RepositoryOpenFlags::NO_SEARCH, [] as [&str; 0])
            .map_err(|source| Error::OpenRepository {
                path: location.clone(),
                reason: source.message().to_owned(),
            })?;
        let sources = DataSources {
            lfs_stores: vec![git.path().to_owned()],
            workdir: git.workdir().map(Path::to_owned),
            lfs_server: None,
            artifacts: Vec::new(),
        };
        Ok(Repo {
            git,
            location,
            sources,
        })
    }

    /// Also reads LFS objects and the DVC cache from the checkout at `path`: the Action
    /// evaluates a mirror when the workflow's checkout is shallow.
    pub fn with_checkout(mut self, path: &Path) -> Repo {
        self.sources.lfs_stores.push(path.join(".git"));
        self.sources.workdir = Some(path.to_owned());
        self
    }

    /// Downloads Git LFS objects missing from the local store from this server.
    pub fn with_lfs_server(mut self, server: Arc<dyn LfsDownload>) -> Repo {
        self.sources.lfs_server = Some(server);
        self
    }

    /// Reads the artifact's path at `rev` as its content instead of the repository's: a data
    /// profile computed by an earlier job for a pull request's head (the Action's
    /// `profiles` input, `check --data PATH=FILE`). It counts as a change of that dataset.
    pub fn with_artifact(mut self, rev: &str, artifact: DataArtifact) -> Result<Repo> {
        let commit = self.resolve(rev)?;
        self.sources.artifacts.push((commit, artifact));
        Ok(self)
    }

    pub fn git(&self) -> &Repository {
        &self.git
    }

    pub fn location(&self) -> &str {
        &self.location
    }

    /// Resolves a branch, tag, sha or other revision expression to a commit.
    pub fn resolve(&self, rev: &str) -> Result<Oid> {
        let unknown = || Error::UnknownRevision {
            rev: rev.to_owned(),
            repo: self.location.clone(),
        };
        let object = self.git.revparse_single(rev).map_err(|_| unknown())?;
        let commit = object.peel_to_commit().map_err(|_| unknown())?;
        Ok(commit.id())
    }

    /// The best common ancestor, as GitHub computes a pull request's diff.
    pub fn merge_base(&self, base: Oid, head: Oid) -> Result<Oid> {
        self.git
            .merge_base(base, head)
            .map_err(|_| Error::NoMergeBase {
                base: base.to_string(),
                head: head.to_string(),
            })
    }

    pub fn snapshot(&self, commit: Oid) -> Result<Snapshot<'_>> {
        let tree = self
            .git
            .find_commit(commit)
            .and_then(|c| c.tree())
            .map_err(Error::git(format!("reading the tree of commit {commit}")))?;
        Ok(Snapshot {
            git: &self.git,
            sources: &self.sources,
            commit,
            tree,
            dvc_lock: OnceCell::new(),
        })
    }

    /// Paths that differ between two snapshots (added, removed, modified or changed type).
    /// Only subtrees whose ids differ are visited, so the cost follows the size of the change,
    /// not of the repository or its history.
    pub fn changed_paths(&self, from: &Snapshot<'_>, to: &Snapshot<'_>) -> Result<Vec<RepoPath>> {
        let mut options = git2::DiffOptions::new();
        options.include_typechange(true).skip_binary_check(true);
        let diff = self
            .git
            .diff_tree_to_tree(Some(&from.tree), Some(&to.tree), Some(&mut options))
            .map_err(Error::git(format!(
                "diffing {} against {}",
                from.commit, to.commit
            )))?;
        let mut paths = Vec::with_capacity(diff.deltas().len());
        for delta in diff.deltas() {
            for file in [delta.old_file(), delta.new_file()] {
                if let Some(path) = file.path().and_then(|p| p.to_str())
                    && let Ok(path) = RepoPath::parse(path)
                {
                    paths.push(path);
                }
            }
        }
        paths.sort();
        paths.dedup();
        Ok(paths)
    }
}

/// The repository's content at one commit.
pub struct Snapshot<'r> {
    git: &'r Repository,
    sources: &'r DataSources,
    commit: Oid,
    tree: Tree<'r>,
    /// The root `dvc.lock`, parsed on first use (`None` inside: there is none).
    dvc_lock: OnceCell<Option<DvcLock>>,
}

impl std::fmt::Debug for Snapshot<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshot")
            .field("commit", &self.commit)
            .finish()
    }
}

impl<'r> Snapshot<'r> {
    pub fn commit(&self) -> Oid {
        self.commit
    }

    pub(crate) fn sources(&self) -> &DataSources {
        self.sources
    }

    pub(crate) fn dvc_lock_cell(&self) -> &OnceCell<Option<DvcLock>> {
        &self.dvc_lock
    }

    /// Reads the file at `path`, following symlinks that stay inside the repository.
    /// Returns `None` when nothing is there.
    pub fn read(&self, path: &RepoPath) -> Result<Option<File>> {
        let mut current = path.clone();
        for _ in 0..MAX_SYMLINK_HOPS {
            match self.lookup(&current)? {
                Lookup::Missing => return Ok(None),
                Lookup::File(file) => return Ok(Some(file)),
                Lookup::Symlink { link, target } => {
                    let parent: Vec<&str> = {
                        let mut parts: Vec<&str> = link.components().collect();
                        parts.pop();
                        parts
                    };
                    current = match RepoPath::resolve_from(&parent, &target) {
                        Ok(resolved) => resolved,
                        Err(PathError::Empty) => return Ok(None),
                        Err(_) => {
                            return Err(Error::SymlinkEscapes {
                                path: link.to_string(),
                                target,
                            });
                        }
                    };
                }
            }
        }
        Err(Error::invalid(crate::Diagnostic::whole_file(
            path.as_str(),
            format!("more than {MAX_SYMLINK_HOPS} symlinks to follow; expected a file"),
        )))
    }

    /// Walks the tree one component at a time, stopping at the first symlink, whose target
    /// is returned together with the remainder of the path appended.
    fn lookup(&self, path: &RepoPath) -> Result<Lookup> {
        let components: Vec<&str> = path.components().collect();
        let mut tree = self.tree.clone();
        for (index, name) in components.iter().enumerate() {
            let Some((id, mode, kind)) = tree
                .get_name(name)
                .map(|entry| (entry.id(), entry.filemode(), entry.kind()))
            else {
                return Ok(Lookup::Missing);
            };
            let is_last = index + 1 == components.len();
            if mode == SYMLINK_MODE {
                let blob = self.find_blob(id, path)?;
                let target = String::from_utf8_lossy(blob.content()).into_owned();
                let link = RepoPath::parse(&components[..=index].join("/")).map_err(|source| {
                    Error::Path {
                        path: path.to_string(),
                        source,
                    }
                })?;
                let rest = &components[index + 1..];
                let target = if rest.is_empty() {
                    target
                } else {
                    format!("{target}/{}", rest.join("/"))
                };
                return Ok(Lookup::Symlink { link, target });
            }
            match kind {
                Some(ObjectType::Tree) if !is_last => {
                    tree = self
                        .git
                        .find_tree(id)
                        .map_err(Error::git(format!("reading folder {name} of {path}")))?;
                }
                Some(ObjectType::Blob) if is_last => {
                    let blob = self.find_blob(id, path)?;
                    return Ok(Lookup::File(File {
                        oid: blob.id(),
                        content: blob.content().to_vec(),
                    }));
                }
                Some(ObjectType::Tree) => {
                    return Err(Error::NotAFile {
                        path: path.to_string(),
                        found: "folder",
                    });
                }
                Some(ObjectType::Commit) => {
                    return Err(Error::NotAFile {
                        path: path.to_string(),
                        found: "submodule",
                    });
                }
                _ => return Ok(Lookup::Missing),
            }
        }
        Ok(Lookup::Missing)
    }

    fn find_blob(&self, oid: Oid, path: &RepoPath) -> Result<git2::Blob<'r>> {
        self.git
            .find_blob(oid)
            .map_err(Error::git(format!("reading {path}")))
    }

    /// The blob id at `path` without reading the blob; `None` when absent or not a plain
    /// file. Lets callers skip content they have already parsed.
    pub fn entry_oid(&self, path: &RepoPath) -> Option<Oid> {
        let entry = self.tree.get_path(Path::new(path.as_str())).ok()?;
        (entry.kind() == Some(ObjectType::Blob)).then(|| entry.id())
    }

    /// The sub-folders of `dir` with their tree ids (empty when `dir` does not exist).
    /// One read of `dir`: large folders are costly to look up again and again.
    pub fn subfolders(&self, dir: &str) -> Result<Vec<Folder>> {
        let entry = match self.tree.get_path(Path::new(dir)) {
            Ok(entry) => entry,
            Err(error) if error.code() == git2::ErrorCode::NotFound => return Ok(Vec::new()),
            Err(error) => return Err(Error::git(format!("reading folder {dir}"))(error)),
        };
        if entry.kind() != Some(ObjectType::Tree) {
            return Ok(Vec::new());
        }
        let tree = self
            .git
            .find_tree(entry.id())
            .map_err(Error::git(format!("reading folder {dir}")))?;
        Ok(tree
            .iter()
            .filter(|e| e.kind() == Some(ObjectType::Tree))
            .filter_map(|e| {
                e.name().map(|name| Folder {
                    name: name.to_owned(),
                    oid: e.id(),
                })
            })
            .collect())
    }

    /// The plain file `name` directly inside `folder`: its blob id, or `None` when absent
    /// or not a plain file (a symlink is left to [`Snapshot::read`]).
    pub fn plain_file_in(&self, folder: &Folder, name: &str) -> Result<Option<Oid>> {
        let tree = self
            .git
            .find_tree(folder.oid)
            .map_err(Error::git(format!("reading folder {}", folder.name)))?;
        Ok(tree
            .get_name(name)
            .filter(|e| e.kind() == Some(ObjectType::Blob) && e.filemode() != SYMLINK_MODE)
            .map(|e| e.id()))
    }

    /// The content of a blob known by id.
    pub fn blob(&self, oid: Oid, path: &RepoPath) -> Result<File> {
        let blob = self.find_blob(oid, path)?;
        Ok(File {
            oid,
            content: blob.content().to_vec(),
        })
    }
}

/// A folder of a snapshot, by name and tree id (equal ids mean equal content).
#[derive(Debug, Clone)]
pub struct Folder {
    pub name: String,
    pub oid: Oid,
}

enum Lookup {
    Missing,
    File(File),
    Symlink { link: RepoPath, target: String },
}
