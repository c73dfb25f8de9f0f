//! modelgate's domain: the repository convention read from git objects, change evaluation,
//! checks and policy. Pure of network I/O; the bot and the CLI wrap it.

pub mod approvals;
pub mod audit;
pub mod card;
pub mod convention;
pub mod data_checks;
pub mod drift;
pub mod error;
pub mod evaluate;
pub mod git;
pub mod history;
pub mod lineage;
pub mod lint;
pub mod metrics;
pub mod path;
pub mod policy;
pub mod predictions;
pub mod regression;
pub mod render;
pub mod report;
pub mod scenario;
pub mod sha;
pub mod table;
pub mod untrusted;
mod yaml;

pub use error::{Diagnostic, Error, Result};
pub use evaluate::{evaluate, evaluate_pr, teams_needed};
pub use git::Repo;
pub use lint::lint;
pub use report::Report;
