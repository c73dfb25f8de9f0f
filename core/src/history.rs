//! The history of every model and dataset along one branch, from a single revision walk.
//!
//! The walk follows first parents only: what landed on the branch, one version per merged
//! pull request (its intermediate commits are the pull request's business, not the
//! branch's). Every commit of that walk that changes a model's folder is a version of the
//! model; a commit that removes the folder retires it, and its history is kept. A commit
//! that changes a file named as a dataset by any version of any card is a version of that
//! dataset. Annotated tags `<model>@v<semver>` (GTO's convention) mark releases.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use git2::{ObjectType, Oid, Sort, Tree, TreeEntry};

use crate::convention::{CardCache, MODELS_DIR};
use crate::error::{Error, Result};
use crate::git::{Folder, Repo};

/// A commit of the walk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitInfo {
    pub id: Oid,
    /// Committer time, seconds since the epoch: when the change landed.
    pub time: i64,
    pub author: String,
    /// The first line of the message.
    pub summary: String,
}

/// One version of a model: a commit of the walk that changed its folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelVersion {
    /// Index into [`History::commits`].
    pub commit: usize,
    /// The folder's tree; `None` when this commit removed the model.
    pub folder: Option<Oid>,
    /// The card's `version` at this commit, when it has one.
    pub label: Option<String>,
    /// Release tags (`<model>@v<semver>`) pointing at this version, sorted.
    pub releases: Vec<String>,
    /// The dataset paths the card names at this version.
    pub datasets: Vec<String>,
}

impl ModelVersion {
    pub fn is_removal(&self) -> bool {
        self.folder.is_none()
    }
}

/// One version of a dataset file: a commit of the walk that changed its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatasetVersion {
    pub commit: usize,
    /// The file's blob; `None` when this commit removed it.
    pub blob: Option<Oid>,
}

#[derive(Debug, Default)]
pub struct History {
    /// The commits of the walk, oldest first; the last one is the tip.
    pub commits: Vec<CommitInfo>,
    /// Versions of each model, oldest first.
    pub models: BTreeMap<String, Vec<ModelVersion>>,
    /// Versions of each dataset named by any card at any version, oldest first.
    pub datasets: BTreeMap<String, Vec<DatasetVersion>>,
}

impl History {
    pub fn tip(&self) -> Option<&CommitInfo> {
        self.commits.last()
    }

    /// A model is retired when its folder no longer exists at the tip.
    pub fn is_retired(&self, model: &str) -> bool {
        self.models
            .get(model)
            .and_then(|versions| versions.last())
            .is_some_and(ModelVersion::is_removal)
    }
}

/// Walks the first-parent history ending at `tip` once and returns every model's and
/// dataset's versions. Cards are parsed through `cards`, each distinct blob once.
pub fn walk(repo: &Repo, tip: Oid, cards: &mut CardCache) -> Result<History> {
    let git = repo.git();
    let mut revwalk = git
        .revwalk()
        .map_err(Error::git("starting a history walk"))?;
    revwalk
        .push(tip)
        .and_then(|()| revwalk.simplify_first_parent())
        .and_then(|()| revwalk.set_sorting(Sort::TOPOLOGICAL | Sort::REVERSE))
        .map_err(Error::git(format!("walking the history of {tip}")))?;

    let mut history = History::default();
    // Each commit's tree, kept by id only: trees are looked up again for datasets.
    let mut trees: Vec<Oid> = Vec::new();
    let mut previous_models: Option<Tree<'_>> = None;
    for oid in revwalk {
        let oid = oid.map_err(Error::git("walking the history"))?;
        let commit = git
            .find_commit(oid)
            .map_err(Error::git(format!("reading commit {oid}")))?;
        let tree = commit
            .tree()
            .map_err(Error::git(format!("reading the tree of {oid}")))?;
        let index = history.commits.len();
        history.commits.push(CommitInfo {
            id: oid,
            time: commit.committer().when().seconds(),
            author: String::from_utf8_lossy(commit.author().name_bytes()).into_owned(),
            summary: String::from_utf8_lossy(commit.summary_bytes().unwrap_or_default())
                .into_owned(),
        });
        trees.push(tree.id());

        // Most commits leave `models/` alone: compare its id before reading it.
        let models_id = folder_id(&tree, MODELS_DIR);
        if models_id == previous_models.as_ref().map(Tree::id) {
            continue;
        }
        let models = subtree(git, &tree, MODELS_DIR)?;
        for (model, folder) in changed_folders(previous_models.as_ref(), models.as_ref()) {
            history.models.entry(model).or_default().push(ModelVersion {
                commit: index,
                folder,
                label: None,
                releases: Vec::new(),
                datasets: Vec::new(),
            });
        }
        previous_models = models;
    }

    let dataset_paths = label_versions(repo, &mut history, cards)?;
    track_datasets(repo, &mut history, &trees, &dataset_paths)?;
    attach_releases(repo, &mut history)?;
    Ok(history)
}

/// The tree id of the folder `dir` of `tree`, without reading it.
fn folder_id(tree: &Tree<'_>, dir: &str) -> Option<Oid> {
    tree.get_name(dir)
        .filter(|e| e.kind() == Some(ObjectType::Tree))
        .map(|e| e.id())
}

/// The subtree at `dir` of `tree`, if there is a folder there.
fn subtree<'r>(git: &'r git2::Repository, tree: &Tree<'r>, dir: &str) -> Result<Option<Tree<'r>>> {
    match tree.get_path(std::path::Path::new(dir)) {
        Ok(entry) if entry.kind() == Some(ObjectType::Tree) => git
            .find_tree(entry.id())
            .map(Some)
            .map_err(Error::git(format!("reading folder {dir}"))),
        Ok(_) => Ok(None),
        Err(error) if error.code() == git2::ErrorCode::NotFound => Ok(None),
        Err(error) => Err(Error::git(format!("reading folder {dir}"))(error)),
    }
}

/// Model folders whose tree differs between two `models/` trees: (id, new tree or `None`
/// when removed). Both trees list entries in git's order, so one merge pass compares them
/// without building maps or copying names: the walk is hot on long histories of many models.
fn changed_folders(
    before: Option<&Tree<'_>>,
    after: Option<&Tree<'_>>,
) -> Vec<(String, Option<Oid>)> {
    let name = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    let mut old = folder_entries(before).peekable();
    let mut new = folder_entries(after).peekable();
    let mut changed = Vec::new();
    loop {
        // Folders only, so git's order (name with a trailing slash) is byte order.
        let order = match (old.peek(), new.peek()) {
            (None, None) => break,
            (Some(a), Some(b)) => a.name_bytes().cmp(b.name_bytes()),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
        };
        match order {
            Ordering::Less => {
                if let Some(gone) = old.next() {
                    changed.push((name(gone.name_bytes()), None));
                }
            }
            Ordering::Greater => {
                if let Some(added) = new.next() {
                    changed.push((name(added.name_bytes()), Some(added.id())));
                }
            }
            Ordering::Equal => {
                if let (Some(a), Some(b)) = (old.next(), new.next())
                    && a.id() != b.id()
                {
                    changed.push((name(b.name_bytes()), Some(b.id())));
                }
            }
        }
    }
    changed
}

fn folder_entries<'t>(tree: Option<&'t Tree<'_>>) -> impl Iterator<Item = TreeEntry<'t>> {
    tree.into_iter()
        .flat_map(|t| t.iter())
        .filter(|e| e.kind() == Some(ObjectType::Tree))
}

/// Reads each version's card for its `version` label, and gathers the dataset paths that
/// any card names.
fn label_versions(
    repo: &Repo,
    history: &mut History,
    cards: &mut CardCache,
) -> Result<BTreeSet<String>> {
    let mut datasets = BTreeSet::new();
    for (model, versions) in &mut history.models {
        for version in versions.iter_mut() {
            let Some(folder) = version.folder else {
                continue;
            };
            let snapshot = repo.snapshot(history.commits[version.commit].id)?;
            let folder = Folder {
                name: model.clone(),
                oid: folder,
            };
            let Some(card) = cards.card_in(&snapshot, &folder)? else {
                continue;
            };
            if let Ok(card) = card.as_ref() {
                version.label = card.version();
                version.datasets = card
                    .datasets()
                    .into_iter()
                    .map(|d| d.path.to_string())
                    .collect();
                datasets.extend(version.datasets.iter().cloned());
            }
        }
    }
    Ok(datasets)
}

/// Finds the commits that change each dataset. Datasets are grouped by folder, and a
/// folder whose tree did not change since the previous commit is skipped whole.
fn track_datasets(
    repo: &Repo,
    history: &mut History,
    trees: &[Oid],
    paths: &BTreeSet<String>,
) -> Result<()> {
    let git = repo.git();
    let mut by_folder: BTreeMap<&str, Vec<(&str, &str)>> = BTreeMap::new();
    for path in paths {
        let (folder, name) = path.rsplit_once('/').unwrap_or(("", path.as_str()));
        by_folder.entry(folder).or_default().push((path, name));
    }
    let mut folder_trees: HashMap<&str, Option<Oid>> = HashMap::new();
    let mut blobs: HashMap<&str, Option<Oid>> = HashMap::new();
    for (index, tree_id) in trees.iter().enumerate() {
        let root = git
            .find_tree(*tree_id)
            .map_err(Error::git(format!("reading tree {tree_id}")))?;
        for (folder, files) in &by_folder {
            // The folder's id comes from its parent's entry; the folder itself is read
            // only when it changed.
            let folder_id = if folder.is_empty() {
                Some(root.id())
            } else {
                root.get_path(std::path::Path::new(folder))
                    .ok()
                    .filter(|e| e.kind() == Some(ObjectType::Tree))
                    .map(|e| e.id())
            };
            if folder_trees.get(folder) == Some(&folder_id) {
                continue;
            }
            folder_trees.insert(folder, folder_id);
            let folder_tree = match folder_id {
                Some(id) => Some(
                    git.find_tree(id)
                        .map_err(Error::git(format!("reading folder {folder}")))?,
                ),
                None => None,
            };
            for (path, name) in files {
                let blob = folder_tree.as_ref().and_then(|t| {
                    t.get_name(name)
                        .filter(|e| e.kind() == Some(ObjectType::Blob))
                        .map(|e| e.id())
                });
                let before = blobs.get(path).copied().flatten();
                if blob != before {
                    history
                        .datasets
                        .entry((*path).to_owned())
                        .or_default()
                        .push(DatasetVersion {
                            commit: index,
                            blob,
                        });
                }
                blobs.insert(path, blob);
            }
        }
    }
    Ok(())
}

/// A release tag's model, when the name follows `<model>@v<semver>`.
pub fn release_tag_model(name: &str) -> Option<&str> {
    let (model, version) = name.rsplit_once('@')?;
    let version = version.strip_prefix('v')?;
    let core = version.split(['-', '+']).next()?;
    let parts: Vec<&str> = core.split('.').collect();
    let is_semver = parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    (!model.is_empty() && is_semver).then_some(model)
}

/// Marks releases: each annotated tag `<model>@v<semver>` is attached to the model's latest
/// version at or before the tagged commit. Lightweight tags and tags of commits off the
/// walk are ignored (GTO writes annotated tags).
fn attach_releases(repo: &Repo, history: &mut History) -> Result<()> {
    let git = repo.git();
    let positions: HashMap<Oid, usize> = history
        .commits
        .iter()
        .enumerate()
        .map(|(index, c)| (c.id, index))
        .collect();
    let names = git.tag_names(None).map_err(Error::git("listing tags"))?;
    for name in names.iter().flatten() {
        let Some(model) = release_tag_model(name) else {
            continue;
        };
        let Ok(reference) = git.find_reference(&format!("refs/tags/{name}")) else {
            continue;
        };
        let Ok(tag) = reference.peel_to_tag() else {
            tracing::debug!(
                tag = name,
                "lightweight tag ignored; releases are annotated tags"
            );
            continue;
        };
        let Ok(commit) = tag.target().and_then(|t| t.peel_to_commit()) else {
            continue;
        };
        let Some(&position) = positions.get(&commit.id()) else {
            tracing::debug!(
                tag = name,
                "release tag of a commit off the walked branch ignored"
            );
            continue;
        };
        if let Some(version) = history
            .models
            .get_mut(model)
            .and_then(|versions| versions.iter_mut().rev().find(|v| v.commit <= position))
        {
            version.releases.push(name.to_owned());
            version.releases.sort();
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{FileChange, RepoWriter};

    fn card(version: &str, dataset: &str) -> String {
        format!("---\nversion: {version}\ndatasets: {{train: {dataset}}}\n---\n# m\n")
    }

    #[test]
    fn versions_removals_datasets_and_releases() {
        let dir = tempfile::tempdir().expect("temp");
        let mut writer = RepoWriter::init(dir.path(), true).expect("init");
        let write = |path: &str, content: &str| FileChange::write(path, content);
        writer
            .commit(
                "main",
                None,
                "a",
                &[
                    write("models/a/card.md", &card("1.0.0", "data/a.csv")),
                    write("data/a.csv", "x\n1\n"),
                    write("models/b/card.md", &card("0.1.0", "data/b.csv")),
                ],
            )
            .expect("commit");
        writer
            .commit("main", None, "docs", &[write("README.md", "hi")])
            .expect("commit");
        let retrain = writer
            .commit(
                "main",
                None,
                "retrain a",
                &[
                    write("models/a/card.md", &card("1.1.0", "data/a.csv")),
                    write("data/a.csv", "x\n1\n2\n"),
                ],
            )
            .expect("commit");
        writer
            .commit(
                "side",
                Some("main"),
                "off the branch",
                &[write("models/a/metrics.json", "{}")],
            )
            .expect("commit");
        let tip = writer
            .commit(
                "main",
                None,
                "retire b",
                &[FileChange::delete("models/b/card.md")],
            )
            .expect("commit");
        let git = writer.repository();
        let signature = git
            .signature()
            .or_else(|_| git2::Signature::now("t", "t@t"))
            .expect("sig");
        let target = git.find_object(retrain, None).expect("object");
        git.tag("a@v1.1.0", &target, &signature, "release", false)
            .expect("tag");
        git.tag_lightweight("a@v9.9.9", &target, false)
            .expect("tag");

        let repo = Repo::open(dir.path()).expect("open");
        let history = walk(&repo, tip, &mut CardCache::default()).expect("walk");
        assert_eq!(history.commits.len(), 4, "the side branch is not walked");
        let a = &history.models["a"];
        assert_eq!(a.iter().map(|v| v.commit).collect::<Vec<_>>(), [0, 2]);
        assert_eq!(a[1].label.as_deref(), Some("1.1.0"));
        assert_eq!(
            a[1].releases,
            ["a@v1.1.0"],
            "the lightweight tag is not a release"
        );
        assert!(history.is_retired("b"));
        assert!(!history.is_retired("a"));
        assert_eq!(history.datasets["data/a.csv"].len(), 2);
        assert!(
            !history.datasets.contains_key("data/b.csv"),
            "a named file that never existed has no versions"
        );
    }

    #[test]
    fn release_tag_names() {
        assert_eq!(release_tag_model("credit-risk@v2.1.0"), Some("credit-risk"));
        assert_eq!(release_tag_model("a@b@v1.0.0-rc.1"), Some("a@b"));
        assert_eq!(release_tag_model("credit-risk@2.1.0"), None);
        assert_eq!(release_tag_model("v1.0.0"), None);
        assert_eq!(release_tag_model("m@v1.0"), None);
    }
}
