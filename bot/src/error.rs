//! Errors of the bot's work on one pull request, shared by the webhook jobs and the Action.

use crate::github::GitHubError;
use crate::remote::RemoteError;

/// Why evaluating, posting or recording a pull request failed.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error(transparent)]
    GitHub(#[from] GitHubError),
    #[error("evaluating: {0}")]
    Evaluate(#[from] modelgate_core::Error),
    #[error("serializing the report: {0}")]
    Serialize(#[from] serde_json::Error),
    #[error("git: {0}")]
    Remote(#[from] RemoteError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("background task failed: {0}")]
    Join(String),
}
