//! One job of the bot: fetch the repository into its cache, then evaluate the pull request
//! and post the result, or, for a merged pull request, record the decision in the audit
//! ledger and push it (both through `pull_request`, which the Action shares).

use std::path::PathBuf;
use std::time::Instant;

pub use crate::error::JobError;
use crate::events::{CommitSha, PullRequestNumber, RepoRef};
use crate::github::{GitHub, Identity, PullRequest};
use crate::pull_request::{self, DataAccess, Delivery, blocking};
use crate::remote;
use crate::secret::Secret;

/// What a job is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobKind {
    Evaluate,
    RecordMerge { merge_commit: CommitSha },
}

#[derive(Debug, Clone)]
pub struct Job {
    pub repo: RepoRef,
    pub pr: PullRequestNumber,
    pub kind: JobKind,
    /// Why it was queued, for logs.
    pub why: String,
    /// The `delivery` span of the webhook delivery that queued the job (or of the
    /// reconciliation): a worker runs the job inside it, later, so its logs name the delivery.
    pub span: tracing::Span,
}

/// What a job did, for logs and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobOutcome {
    Posted {
        conclusion: String,
        comment_written: bool,
    },
    Recorded {
        sequence: u64,
    },
    Skipped(String),
}

/// Everything a job needs from the running bot.
#[derive(Debug, Clone)]
pub struct JobContext {
    pub github: GitHub,
    /// A token for cloning over HTTPS (None for local paths and anonymous access).
    pub clone_token: Option<Secret>,
    pub identity: Identity,
    /// When heads were pushed, from the deliveries (shared by the bot's jobs).
    pub push_times: std::sync::Arc<pull_request::PushTimes>,
    pub cache_dir: PathBuf,
}

pub async fn run(context: &JobContext, job: &Job) -> Result<JobOutcome, JobError> {
    let started = Instant::now();
    let pr = context.github.pull_request(&job.repo.name, job.pr).await?;
    let outcome = match &job.kind {
        JobKind::Evaluate if pr.state != "open" => {
            JobOutcome::Skipped(format!("pull request is {}", pr.state))
        }
        JobKind::Evaluate => evaluate_and_post(context, job, &pr).await?,
        JobKind::RecordMerge { merge_commit } => {
            record_merge(context, job, &pr, merge_commit).await?
        }
    };
    tracing::info!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        ?outcome,
        "job done"
    );
    Ok(outcome)
}

async fn evaluate_and_post(
    context: &JobContext,
    job: &Job,
    pr: &PullRequest,
) -> Result<JobOutcome, JobError> {
    let local = fetch(context, &job.repo).await?;
    let judged = match evaluate(context, job, pr, &local).await {
        Ok(judged) => judged,
        Err(error) => {
            let Some(problems) = pull_request::problems_in_pull_request(&error) else {
                return Err(error);
            };
            tracing::info!(%error, "the pull request could not be evaluated");
            let publication = pull_request::publish_unevaluated(
                &context.github,
                &job.repo.name,
                pr,
                &context.identity,
                &problems,
                pr.html_url.clone(),
            )
            .await?;
            return Ok(JobOutcome::Posted {
                conclusion: "not evaluated".to_owned(),
                comment_written: publication.comment == Delivery::Written,
            });
        }
    };
    let publication = pull_request::publish(
        &context.github,
        &job.repo.name,
        pr,
        &context.identity,
        &judged,
        pr.html_url.clone(),
    )
    .await?;
    for refusal in publication.refusals() {
        tracing::warn!(%refusal, "GitHub refused a write; check the app's permissions");
    }
    Ok(JobOutcome::Posted {
        conclusion: judged.report.conclusion.as_str().to_owned(),
        comment_written: publication.comment == Delivery::Written,
    })
}

async fn record_merge(
    context: &JobContext,
    job: &Job,
    pr: &PullRequest,
    merge_commit: &CommitSha,
) -> Result<JobOutcome, JobError> {
    let local = fetch(context, &job.repo).await?;
    let judged = evaluate(context, job, pr, &local).await?;
    let sequence = pull_request::record_decision(
        local,
        merge_commit,
        judged,
        job.repo.clone_url.clone(),
        context.clone_token.as_ref().map(|t| t.expose().to_owned()),
    )
    .await?;
    Ok(JobOutcome::Recorded { sequence })
}

/// Evaluates the pull request in the fetched repository `local`, with its facts from GitHub
/// and LFS content from the repository's server.
async fn evaluate(
    context: &JobContext,
    job: &Job,
    pr: &PullRequest,
    local: &std::path::Path,
) -> Result<pull_request::Judged, JobError> {
    let data = DataAccess {
        checkout: None,
        lfs: DataAccess::lfs_of_remote(&job.repo.clone_url, context.clone_token.clone()),
        head_artifacts: Vec::new(),
    };
    pull_request::evaluate_with_facts(
        &context.github,
        &job.repo.name,
        pr,
        local,
        &data,
        Some(&context.push_times),
    )
    .await
}

/// Brings the repository's branches, pull-request heads and audit notes into a bare cache.
async fn fetch(context: &JobContext, repo: &RepoRef) -> Result<PathBuf, JobError> {
    let path = context
        .cache_dir
        .join(&repo.name.owner)
        .join(format!("{}.git", repo.name.name));
    let url = repo.clone_url.clone();
    let token = context.clone_token.clone();
    let target = path.clone();
    blocking(move || {
        let cache = remote::open_or_init_bare(&target)?;
        let refspecs = [
            "+refs/heads/*:refs/heads/*",
            "+refs/pull/*/head:refs/pull/*/head",
            "+refs/notes/modelgate:refs/notes/modelgate",
        ]
        .map(str::to_owned);
        remote::fetch(&cache, &url, &refspecs, token.as_ref().map(Secret::expose))
    })
    .await??;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::github::RetryPolicy;

    #[tokio::test]
    async fn the_context_debug_redacts_tokens() {
        let github = GitHub::with_token(
            "http://127.0.0.1:9",
            "ghp_api_token_42",
            RetryPolicy::default(),
            Arc::default(),
        )
        .expect("client");
        let context = JobContext {
            github,
            clone_token: Some(Secret::new("ghs_clone_token_42")),
            identity: Identity {
                comment_author: crate::github::CommentAuthor::Login("modelgate[bot]".to_owned()),
                app: Some("modelgate".to_owned()),
            },
            push_times: Arc::default(),
            cache_dir: PathBuf::from("cache"),
        };
        let shown = format!("{context:?}");
        assert!(
            !shown.contains("ghs_clone_token_42") && !shown.contains("ghp_api_token_42"),
            "{shown}"
        );
        assert!(shown.contains("clone_token: Some([redacted])"), "{shown}");
    }
}
