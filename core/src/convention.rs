//! The repository convention (DESIGN section 2) read at one revision: models, their cards
//! and metrics, and the policy.

use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use git2::Oid;

use crate::card::Card;
use crate::content::lfs::LfsPointer;
use crate::diagnostic::Diagnostic;
use crate::error::{Error, Result};
use crate::git::{Folder, Snapshot};
use crate::metrics_file::{Metrics, parse_metrics};
use crate::path::RepoPath;
use crate::policy::{POLICY_PATH, Policy};

pub const MODELS_DIR: &str = "models";

pub fn card_path(model: &str) -> String {
    format!("{MODELS_DIR}/{model}/card.md")
}

pub fn metrics_path(model: &str) -> String {
    format!("{MODELS_DIR}/{model}/metrics.json")
}

/// The model that a repository path belongs to, if it lies in a model folder.
pub fn model_of(path: &RepoPath) -> Option<&str> {
    let rest = path.as_str().strip_prefix(MODELS_DIR)?.strip_prefix('/')?;
    let (model, inside) = rest.split_once('/')?;
    (!inside.is_empty()).then_some(model)
}

pub type CardResult = std::result::Result<Card, Diagnostic>;

/// A model folder at one revision. `card` is `None` when the folder has no `card.md`.
#[derive(Debug, Clone)]
pub struct ModelEntry {
    pub id: String,
    pub card: Option<Rc<CardResult>>,
}

impl ModelEntry {
    pub fn parsed_card(&self) -> Option<&Card> {
        self.card.as_deref().and_then(|result| result.as_ref().ok())
    }
}

/// Reads cards at several revisions, parsing each distinct blob once: a pull request
/// changes a few cards out of many, so base and head share nearly all of them.
#[derive(Default)]
pub struct CardCache {
    parsed: HashMap<(String, Oid), Rc<CardResult>>,
}

impl std::fmt::Debug for CardCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CardCache")
            .field("entries", &self.parsed.len())
            .finish()
    }
}

impl CardCache {
    /// Every model folder at `snapshot`, with its parsed card.
    pub fn models(&mut self, snapshot: &Snapshot<'_>) -> Result<BTreeMap<String, ModelEntry>> {
        let mut models = BTreeMap::new();
        for folder in snapshot.subfolders(MODELS_DIR)? {
            let card = match snapshot.plain_file_in(&folder, "card.md")? {
                Some(oid) => Some(self.parse_once(snapshot, &folder.name, oid)?),
                // Absent, or a symlink: the general path resolves it.
                None => self.card(snapshot, &folder.name)?,
            };
            models.insert(
                folder.name.clone(),
                ModelEntry {
                    id: folder.name,
                    card,
                },
            );
        }
        Ok(models)
    }

    /// The card of one model folder known by its tree (from a history walk): read without
    /// looking `models/` up again, which is costly in repositories of many models.
    pub fn card_in(
        &mut self,
        snapshot: &Snapshot<'_>,
        folder: &Folder,
    ) -> Result<Option<Rc<CardResult>>> {
        match snapshot.plain_file_in(folder, "card.md")? {
            Some(oid) => self.parse_once(snapshot, &folder.name, oid).map(Some),
            // Absent, or a symlink: the general path resolves it.
            None => self.card(snapshot, &folder.name),
        }
    }

    pub fn card(&mut self, snapshot: &Snapshot<'_>, model: &str) -> Result<Option<Rc<CardResult>>> {
        let file = card_path(model);
        let path = RepoPath::parse(&file).map_err(|source| Error::Path {
            path: file.clone(),
            source,
        })?;
        let Some(content) = snapshot.read(&path)? else {
            return Ok(None);
        };
        let key = (model.to_owned(), content.oid);
        let parsed = self
            .parsed
            .entry(key)
            .or_insert_with(|| Rc::new(Card::parse(&file, &content.content)));
        Ok(Some(parsed.clone()))
    }

    fn parse_once(
        &mut self,
        snapshot: &Snapshot<'_>,
        model: &str,
        oid: Oid,
    ) -> Result<Rc<CardResult>> {
        let key = (model.to_owned(), oid);
        if let Some(hit) = self.parsed.get(&key) {
            return Ok(hit.clone());
        }
        let file = card_path(model);
        let path = RepoPath::parse(&file).map_err(|source| Error::Path {
            path: file.clone(),
            source,
        })?;
        let parsed = Rc::new(Card::parse(&file, &snapshot.blob(oid, &path)?.content));
        self.parsed.insert(key, parsed.clone());
        Ok(parsed)
    }
}

/// Reads `models/<id>/metrics.json`; `None` when absent.
pub fn read_metrics(snapshot: &Snapshot<'_>, model: &str) -> Result<Option<Metrics>> {
    let file = metrics_path(model);
    let path = RepoPath::parse(&file).map_err(|source| Error::Path {
        path: file.clone(),
        source,
    })?;
    match snapshot.read_data_or_fail(&path)? {
        None => Ok(None),
        Some(content) => parse_metrics(&file, &content)
            .map(Some)
            .map_err(Error::invalid),
    }
}

/// Reads `metrics.json` of one model folder known by its tree; `None` when absent.
pub fn read_metrics_in(snapshot: &Snapshot<'_>, folder: &Folder) -> Result<Option<Metrics>> {
    match snapshot.plain_file_in(folder, "metrics.json")? {
        Some(oid) => {
            let file = metrics_path(&folder.name);
            let path = RepoPath::parse(&file).map_err(|source| Error::Path {
                path: file.clone(),
                source,
            })?;
            let content = snapshot.blob(oid, &path)?;
            if LfsPointer::parse(&content.content).is_some() {
                return read_metrics(snapshot, &folder.name);
            }
            parse_metrics(&file, &content.content)
                .map(Some)
                .map_err(Error::invalid)
        }
        None => read_metrics(snapshot, &folder.name),
    }
}

/// Where a policy came from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PolicySource {
    /// `.github/modelgate.yml` at this commit.
    File { path: String, commit: String },
    /// The file is absent; the documented defaults apply.
    Defaults,
}

/// Reads the policy at `snapshot`, or the defaults when the file is absent.
pub fn read_policy(snapshot: &Snapshot<'_>) -> Result<(Policy, PolicySource)> {
    let path = RepoPath::parse(POLICY_PATH).map_err(|source| Error::Path {
        path: POLICY_PATH.into(),
        source,
    })?;
    match snapshot.read(&path)? {
        None => Ok((Policy::default(), PolicySource::Defaults)),
        Some(file) => {
            let text = std::str::from_utf8(&file.content).map_err(|_| {
                Error::invalid(Diagnostic::whole_file(
                    POLICY_PATH,
                    "not valid UTF-8; expected a YAML file",
                ))
            })?;
            let policy = Policy::parse(POLICY_PATH, text).map_err(Error::Invalid)?;
            let source = PolicySource::File {
                path: POLICY_PATH.to_owned(),
                commit: snapshot.commit().to_string(),
            };
            Ok((policy, source))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_of_a_path() {
        let path = |s: &str| RepoPath::parse(s).expect("valid");
        assert_eq!(model_of(&path("models/fraud/card.md")), Some("fraud"));
        assert_eq!(model_of(&path("models/fraud/eval/x.csv")), Some("fraud"));
        assert_eq!(model_of(&path("models/README.md")), None);
        assert_eq!(model_of(&path("data/x.csv")), None);
    }
}
