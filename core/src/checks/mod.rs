//! The checks of a touched model (DESIGN section 3), one module each: `regression`,
//! `drift`, `fairness` and `card`. Each reads what it needs from git objects and returns a
//! [`Check`](crate::report::Check); the evaluation decides which models they run on.

pub mod card;
pub mod drift;
pub mod fairness;
pub mod regression;

use crate::card::Card;
use crate::error::{Error, Result};
use crate::git::Snapshot;
use crate::path::RepoPath;
use crate::predictions::PredictionSpec;
use crate::profile::Profile;
use crate::table::Table;

/// A data file at a snapshot, `None` when it is not there.
pub(crate) fn read_table(snapshot: &Snapshot<'_>, path: &RepoPath) -> Result<Option<Table>> {
    match snapshot.read_data_or_fail(path)? {
        None => Ok(None),
        Some(content) => Ok(Some(Table::from_bytes(path.as_str(), content)?)),
    }
}

/// A data profile at a snapshot (`modelgate.profile/v1`), `None` when it is not there.
pub(crate) fn read_profile(snapshot: &Snapshot<'_>, path: &RepoPath) -> Result<Option<Profile>> {
    match snapshot.read_data_or_fail(path)? {
        None => Ok(None),
        Some(content) => Ok(Some(Profile::from_json(path.as_str(), &content)?)),
    }
}

/// The predictions file of a model at a snapshot (`predictions.parquet`, else `.csv`).
pub(crate) fn predictions_table(snapshot: &Snapshot<'_>, model: &str) -> Result<Option<Table>> {
    for extension in ["parquet", "csv"] {
        let file = format!("models/{model}/predictions.{extension}");
        let path = RepoPath::parse(&file).map_err(|source| Error::Path {
            path: file.clone(),
            source,
        })?;
        if let Some(table) = read_table(snapshot, &path)? {
            return Ok(Some(table));
        }
    }
    Ok(None)
}

/// Which columns of the predictions hold what, when the card says so.
pub(crate) fn prediction_spec(card: &Card) -> Option<PredictionSpec> {
    let governance = card.governance()?;
    Some(PredictionSpec {
        task: governance.task?,
        label: governance.label.clone()?,
        prediction: governance.prediction.clone(),
        score: governance.score.clone(),
        id: governance.id.clone(),
        groups: governance.sensitive_features.clone(),
    })
}
