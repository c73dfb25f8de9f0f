//! modelgate's domain: the repository convention read from git objects, change evaluation,
//! checks and policy. Pure of network I/O; the bot and the CLI wrap it.

pub mod approvals;
pub mod audit;
pub mod card;
pub mod checks;
pub mod content;
pub mod convention;
pub mod diagnostic;
pub mod documentation;
pub mod drift;
pub mod error;
pub mod evaluate;
pub mod git;
pub mod history;
pub mod hub_metadata;
pub mod lineage;
pub mod lint;
pub mod metrics_file;
pub mod path;
pub mod policy;
pub mod predictions;
pub mod profile;
pub mod render;
pub mod report;
#[cfg(any(test, feature = "scenario"))]
pub mod scenario;
pub mod sha;
pub mod stages;
pub mod status;
pub mod table;
pub mod untrusted;
mod yaml;

pub use diagnostic::Diagnostic;
pub use error::{Error, Result};
pub use evaluate::{Evaluation, evaluate};
pub use git::Repo;
pub use lint::lint;
pub use report::Report;
