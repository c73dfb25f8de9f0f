//! The content of the data files a model names (datasets, predictions, metrics) wherever the
//! repository keeps it: in git, in Git LFS (git holds a pointer) or in DVC (git holds a
//! `.dvc` file or a `dvc.lock` entry). A file whose content cannot be had is
//! [`Unavailable`], never read as data: a pointer is not a CSV.

pub mod dvc;
pub mod lfs;

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use git2::Oid;

use crate::error::{Error, Result};
use crate::git::Snapshot;
use crate::path::RepoPath;
use crate::sha::ShortSha;
use dvc::{DvcLock, DvcStores, DvcTracked, Stage};
use lfs::{LfsDownload, LfsPointer};

/// Where a repository's content outside git is looked for: its git dir (the LFS store), its
/// checkout (the DVC cache) and, when the caller has one, its LFS server.
#[derive(Debug, Clone)]
pub struct DataSources {
    /// Git dirs whose `lfs/objects` may hold the objects; downloads go to the first.
    pub(crate) lfs_stores: Vec<PathBuf>,
    pub(crate) workdir: Option<PathBuf>,
    pub(crate) lfs_server: Option<Arc<dyn LfsDownload>>,
    /// Content given for data files at one commit instead of the repository's (a profile
    /// computed by an earlier job for a pull request's head): `(commit, path, content)`.
    pub(crate) artifacts: Vec<(Oid, DataArtifact)>,
}

/// A data file's content for one revision from outside the repository, given as
/// `PATH=FILE`: a profile an earlier job computed for a pull request's head, say.
#[derive(Debug, Clone)]
pub struct DataArtifact {
    pub path: RepoPath,
    pub file: PathBuf,
    pub content: Arc<Vec<u8>>,
    /// Hex sha256 of the content: its version (`DataVersion::Artifact`).
    pub sha256: String,
}

impl DataArtifact {
    /// Reads `PATH=FILE`; a relative FILE is taken from `relative_to`.
    pub fn read(
        spec: &str,
        relative_to: &std::path::Path,
    ) -> std::result::Result<DataArtifact, String> {
        let Some((path, file)) = spec.split_once('=') else {
            return Err(format!(
                "`{spec}`: expected DATASET=FILE (the dataset's path in the repository, the file to read it from)"
            ));
        };
        let path =
            RepoPath::parse(path.trim()).map_err(|e| format!("`{spec}`: dataset path {e}"))?;
        let file = relative_to.join(file.trim());
        let content = std::fs::read(&file)
            .map_err(|e| format!("`{spec}`: reading {}: {e}", file.display()))?;
        Ok(DataArtifact {
            path,
            file,
            sha256: crate::audit::sha256_hex(&content),
            content: Arc::new(content),
        })
    }
}

/// How a file's content is stored, when not in git itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Storage {
    Lfs(LfsPointer),
    Dvc(DvcTracked),
}

/// A file whose content could not be read at a revision: what names it, why, and how to
/// make it available.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unavailable {
    pub path: RepoPath,
    pub commit: Oid,
    pub storage: Storage,
    pub problem: String,
}

impl Unavailable {
    /// The command that makes the content available to modelgate.
    pub fn fetch_command(&self) -> String {
        match self.storage {
            Storage::Lfs(_) => format!("git lfs fetch origin {}", self.commit),
            Storage::Dvc(_) => format!("git checkout {} && dvc fetch", self.commit),
        }
    }
}

impl fmt::Display for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let commit = self.commit.to_string();
        let at = ShortSha(&commit);
        match &self.storage {
            Storage::Lfs(pointer) => write!(
                f,
                "{} at {at} is a Git LFS object ({pointer}) that could not be read: {}; fetch it with `{}`",
                self.path,
                self.problem,
                self.fetch_command()
            ),
            Storage::Dvc(tracked) => write!(
                f,
                "{} at {at} is {tracked}, and its content could not be read: {}; fetch it with `{}`",
                self.path,
                self.problem,
                self.fetch_command()
            ),
        }
    }
}

impl serde::Serialize for Unavailable {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// A data file read at a snapshot.
#[derive(Debug)]
pub enum DataFile {
    /// Nothing is there: not in git, not tracked by DVC.
    Absent,
    Read(Vec<u8>),
    Unavailable(Unavailable),
}

/// What identifies a data file's content at a revision: equal versions mean equal content,
/// so a pull request changed a dataset exactly when its versions differ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataVersion {
    /// The blob in git (for an LFS file, the pointer's blob, which names the object).
    Git(Oid),
    /// The md5 DVC recorded.
    Dvc(String),
    /// The sha256 of content given for the commit (an artifact, not in the repository).
    Artifact(String),
}

impl<'r> Snapshot<'r> {
    /// The content of the data file at `path`, through LFS or DVC when that is where it is.
    pub fn read_data(&self, path: &RepoPath) -> Result<DataFile> {
        if let Some(artifact) = self.artifact(path) {
            return Ok(DataFile::Read(artifact.content.as_ref().clone()));
        }
        if let Some(file) = self.read(path)? {
            let Some(pointer) = LfsPointer::parse(&file.content) else {
                return Ok(DataFile::Read(file.content));
            };
            let sources = self.sources();
            return Ok(
                match lfs::resolve(&pointer, &sources.lfs_stores, sources.lfs_server.as_deref()) {
                    Ok(content) => DataFile::Read(content),
                    Err(problem) => DataFile::Unavailable(Unavailable {
                        path: path.clone(),
                        commit: self.commit(),
                        storage: Storage::Lfs(pointer),
                        problem,
                    }),
                },
            );
        }
        let Some(tracked) = self.dvc_tracked(path)? else {
            return Ok(DataFile::Absent);
        };
        Ok(match self.dvc_stores()?.read(&tracked) {
            Ok(content) => DataFile::Read(content),
            Err(problem) => DataFile::Unavailable(Unavailable {
                path: path.clone(),
                commit: self.commit(),
                storage: Storage::Dvc(tracked),
                problem,
            }),
        })
    }

    /// The content of the data file at `path`, `None` when absent; content that cannot be
    /// had is [`Error::Unavailable`], so no check judges what it did not read.
    pub fn read_data_or_fail(&self, path: &RepoPath) -> Result<Option<Vec<u8>>> {
        match self.read_data(path)? {
            DataFile::Absent => Ok(None),
            DataFile::Read(content) => Ok(Some(content)),
            DataFile::Unavailable(unavailable) => Err(Error::Unavailable(Box::new(unavailable))),
        }
    }

    /// The version of the data file at `path`; `None` when nothing is there.
    pub fn data_version(&self, path: &RepoPath) -> Result<Option<DataVersion>> {
        if let Some(artifact) = self.artifact(path) {
            return Ok(Some(DataVersion::Artifact(artifact.sha256.clone())));
        }
        // The tree entry's id, without reading the blob; a path through a symlink is read.
        if let Some(oid) = self.entry_oid(path) {
            return Ok(Some(DataVersion::Git(oid)));
        }
        if let Some(file) = self.read(path)? {
            return Ok(Some(DataVersion::Git(file.oid)));
        }
        let Some(tracked) = self.dvc_tracked(path)? else {
            return Ok(None);
        };
        // A file inside a tracked folder is versioned by its own md5 when the manifest can
        // be read, else by the folder's: any change to the folder then counts as its change.
        let file_md5 = match tracked.inside {
            Some(_) => self
                .dvc_stores()?
                .file_record(&tracked)
                .map(|file| file.md5)
                .unwrap_or(tracked.md5),
            None => tracked.md5,
        };
        Ok(Some(DataVersion::Dvc(file_md5)))
    }

    /// Content given for `path` at this commit in place of the repository's.
    fn artifact(&self, path: &RepoPath) -> Option<&DataArtifact> {
        let commit = self.commit();
        self.sources()
            .artifacts
            .iter()
            .find(|(at, artifact)| *at == commit && artifact.path == *path)
            .map(|(_, artifact)| artifact)
    }

    /// The paths given content for this commit from outside the repository.
    pub(crate) fn artifact_paths(&self) -> impl Iterator<Item = &RepoPath> {
        let commit = self.commit();
        self.sources()
            .artifacts
            .iter()
            .filter(move |(at, _)| *at == commit)
            .map(|(_, artifact)| &artifact.path)
    }

    /// The stages of the root `dvc.lock`; empty when there is none.
    pub fn dvc_stages(&self) -> Result<Vec<Stage>> {
        Ok(self
            .dvc_lock()?
            .map(|lock| lock.stages.clone())
            .unwrap_or_default())
    }

    /// The root `dvc.lock`, parsed on first use.
    fn dvc_lock(&self) -> Result<Option<&DvcLock>> {
        if let Some(lock) = self.dvc_lock_cell().get() {
            return Ok(lock.as_ref());
        }
        let lock = match self.text_file("dvc.lock")? {
            None => None,
            Some(text) => Some(DvcLock::parse("dvc.lock", &text).map_err(Error::invalid)?),
        };
        Ok(self.dvc_lock_cell().get_or_init(|| lock).as_ref())
    }

    /// What DVC records for `path`: `<path>.dvc` or an output of the root `dvc.lock`; else,
    /// for a file inside a folder tracked as a whole (`dvc add data/`), the folder's record,
    /// deepest folder first.
    fn dvc_tracked(&self, path: &RepoPath) -> Result<Option<DvcTracked>> {
        let parts: Vec<&str> = path.components().collect();
        for depth in (1..=parts.len()).rev() {
            let recorded = parts[..depth].join("/");
            let dvc_file = format!("{recorded}.dvc");
            let folder = parts[..depth - 1].join("/");
            let mut found = match self.text_file(&dvc_file)? {
                Some(text) => dvc::dvc_file_output(&dvc_file, &folder, &text, &recorded)
                    .map_err(Error::invalid)?,
                None => None,
            };
            if found.is_none() {
                found = self
                    .dvc_lock()?
                    .and_then(|lock| lock.output(&recorded))
                    .cloned();
            }
            let Some(mut tracked) = found else { continue };
            if depth == parts.len() {
                return Ok(Some(tracked));
            }
            if tracked.md5.ends_with(".dir") {
                tracked.inside = Some(parts[depth..].join("/"));
                return Ok(Some(tracked));
            }
        }
        Ok(None)
    }

    fn dvc_stores(&self) -> Result<DvcStores> {
        Ok(DvcStores::new(
            self.sources().workdir.as_deref(),
            self.text_file(".dvc/config")?.as_deref(),
        ))
    }

    /// A small text file of the snapshot (DVC's records), `None` when absent.
    fn text_file(&self, file: &str) -> Result<Option<String>> {
        let path = RepoPath::parse(file).map_err(|source| Error::Path {
            path: file.to_owned(),
            source,
        })?;
        match self.read(&path)? {
            None => Ok(None),
            Some(content) => String::from_utf8(content.content).map(Some).map_err(|_| {
                Error::invalid(crate::Diagnostic::whole_file(
                    file,
                    "is not UTF-8 text; expected the YAML DVC writes",
                ))
            }),
        }
    }
}
