//! Evaluation rows (`predictions.{csv,parquet}`) turned into evidence, in memory: metrics
//! with scikit-learn's definitions, a paired bootstrap of metric deltas between base and
//! head, and fairness gaps between groups with fairlearn's definitions.
//!
//! Loading files is the caller's job: it extracts the columns named by the card
//! (`label`, `prediction`, `score`, `id`, the sensitive features) into [`Rows`] and
//! [`GroupColumn`]s, and everything here is pure computation on them.

mod bootstrap;
mod fairness;
mod load;
mod metrics;
mod rows;

pub use bootstrap::{
    BootstrapConfig, DEFAULT_RESAMPLES, DEFAULT_SEED, DeltaInterval, Pairing, bootstrap_deltas,
    judge_breach,
};
pub use fairness::{FeatureFairness, Gap, Gaps, GroupFairness, LimitKind, fairness};
pub use load::{LoadedPredictions, PredictionSpec, load_predictions};
pub use metrics::{Metric, MetricValue, compute_metrics, compute_selected};
pub use rows::{
    ClassificationRows, Column, GroupColumn, PredictionError, RegressionRows, Rows, Scores,
    encode_classes,
};
