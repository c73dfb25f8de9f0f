//! One job: fetch the repository, evaluate the pull request with its facts from GitHub,
//! then post the sticky comment and the two check runs; or, for a merged pull request,
//! record the decision in the audit ledger and push it.

use std::path::{Path, PathBuf};
use std::time::Instant;

use modelgate_core::approvals::{IssueComment, PrFacts, Review};
use modelgate_core::{Report, audit, evaluate, evaluate_pr, teams_needed};
use serde_json::Value;

use crate::comment::{self, APPROVALS_CHECK, EVALUATION_CHECK, MARKER};
use crate::events::{CommitSha, PullRequestNumber, RepoRef};
use crate::github::{CheckRun, GitHub, GitHubError, PullRequest};

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error(transparent)]
    GitHub(#[from] GitHubError),
    #[error("evaluating: {0}")]
    Evaluate(#[from] modelgate_core::Error),
    #[error("git: {0}")]
    Git(String),
    #[error("background task failed: {0}")]
    Join(String),
}

impl JobError {
    fn git(context: &str) -> impl FnOnce(git2::Error) -> JobError + '_ {
        move |e| JobError::Git(format!("{context}: {}", e.message()))
    }
}

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
    pub clone_token: Option<String>,
    pub bot_login: String,
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
    let head = CommitSha(pr.head.sha.clone());
    let report = evaluate_with_facts(context, job, pr).await?;
    let body = comment::comment(&report);
    let comment_written = context
        .github
        .upsert_comment(&job.repo.name, job.pr, &context.bot_login, MARKER, &body)
        .await?;
    let existing = context.github.check_runs(&job.repo.name, &head).await?;
    let outputs = [
        (EVALUATION_CHECK, comment::evaluation_output(&report)),
        (APPROVALS_CHECK, comment::approvals_output(&report)),
    ];
    for (name, output) in outputs {
        let run = CheckRun {
            name,
            conclusion: output.conclusion,
            title: output.title,
            summary: output.summary,
            text: output.text,
            details_url: pr.html_url.clone(),
        };
        context
            .github
            .upsert_check_run(&job.repo.name, &head, &existing, &run)
            .await?;
    }
    Ok(JobOutcome::Posted {
        conclusion: report.conclusion.as_str().to_owned(),
        comment_written,
    })
}

/// Fetches, evaluates once to learn which teams matter, reads the facts, and evaluates
/// with them.
async fn evaluate_with_facts(
    context: &JobContext,
    job: &Job,
    pr: &PullRequest,
) -> Result<Report, JobError> {
    let local = fetch(context, &job.repo).await?;
    let (base, head) = (pr.base.sha.clone(), pr.head.sha.clone());
    let path = local.clone();
    let (b, h) = (base.clone(), head.clone());
    let teams = blocking(move || {
        let repo = modelgate_core::Repo::open(&path)?;
        let report = evaluate(&repo, &b, &h)?;
        Ok::<_, JobError>(teams_needed(&repo, &report)?)
    })
    .await??;

    let github = &context.github;
    let reviews = github.reviews(&job.repo.name, job.pr).await?;
    let comments = github.issue_comments(&job.repo.name, job.pr).await?;
    let commit_authors = github.commit_authors(&job.repo.name, job.pr).await?;
    let mut team_members = std::collections::BTreeMap::new();
    for team in teams {
        let members = github.team_members(&team).await?;
        team_members.insert(team, members);
    }
    let facts = PrFacts {
        number: Some(job.pr.0),
        author: pr
            .user
            .as_ref()
            .map(|u| u.login.clone())
            .unwrap_or_default(),
        head_sha: Some(head.clone()),
        head_pushed_at: None,
        commit_authors,
        reviews: lenient::<Review>(reviews),
        team_members,
        comments: lenient::<IssueComment>(comments),
    };
    let report = blocking(move || {
        let repo = modelgate_core::Repo::open(&local)?;
        Ok::<_, JobError>(evaluate_pr(&repo, &base, &head, Some(&facts))?)
    })
    .await??;
    Ok(report)
}

/// Items of a list response that parse; GitHub's shapes grow, and one odd entry (a review
/// by a deleted account, say) must not stop the evaluation.
fn lenient<T: serde::de::DeserializeOwned>(items: Vec<Value>) -> Vec<T> {
    items
        .into_iter()
        .filter_map(|item| serde_json::from_value(item).ok())
        .collect()
}

async fn record_merge(
    context: &JobContext,
    job: &Job,
    pr: &PullRequest,
    merge_commit: &CommitSha,
) -> Result<JobOutcome, JobError> {
    let report = evaluate_with_facts(context, job, pr).await?;
    let bytes = serde_json::to_vec_pretty(&report)
        .map_err(|e| JobError::Git(format!("serializing the report: {e}")))?;
    let local = fetch(context, &job.repo).await?;
    let (commit, number) = (merge_commit.0.clone(), job.pr.0);
    let clone_url = job.repo.clone_url.clone();
    let token = context.clone_token.clone();
    let sequence = blocking(move || {
        let repo = modelgate_core::Repo::open(&local)?;
        let facts = PrFacts {
            number: Some(number),
            ..PrFacts::default()
        };
        let request = audit::RecordRequest {
            commit: &commit,
            report: &bytes,
            report_file: "report.json",
            facts: Some(&facts),
        };
        let record = audit::record(&repo, &request)?;
        push_notes(repo.git(), &clone_url, token.as_deref())?;
        Ok::<_, JobError>(record.sequence)
    })
    .await??;
    Ok(JobOutcome::Recorded { sequence })
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, JobError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| JobError::Join(e.to_string()))
}

fn remote_callbacks(token: Option<&str>) -> git2::RemoteCallbacks<'_> {
    let mut callbacks = git2::RemoteCallbacks::new();
    if let Some(token) = token {
        callbacks
            .credentials(move |_, _, _| git2::Cred::userpass_plaintext("x-access-token", token));
    }
    callbacks
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
    blocking(move || fetch_into(&target, &url, token.as_deref())).await??;
    Ok(path)
}

fn fetch_into(path: &Path, url: &str, token: Option<&str>) -> Result<(), JobError> {
    let repo = match git2::Repository::open_bare(path) {
        Ok(repo) => repo,
        Err(_) => git2::Repository::init_bare(path).map_err(JobError::git("creating the cache"))?,
    };
    let mut remote = repo
        .remote_anonymous(url)
        .map_err(JobError::git("opening the remote"))?;
    let mut options = git2::FetchOptions::new();
    options.remote_callbacks(remote_callbacks(token));
    let refspecs = [
        "+refs/heads/*:refs/heads/*",
        "+refs/pull/*/head:refs/pull/*/head",
        "+refs/notes/modelgate:refs/notes/modelgate",
    ];
    remote
        .fetch(&refspecs, Some(&mut options), None)
        .map_err(JobError::git(&format!("fetching {url}")))
}

fn push_notes(repo: &git2::Repository, url: &str, token: Option<&str>) -> Result<(), JobError> {
    let mut remote = repo
        .remote_anonymous(url)
        .map_err(JobError::git("opening the remote"))?;
    let mut options = git2::PushOptions::new();
    options.remote_callbacks(remote_callbacks(token));
    remote
        .push(
            &["refs/notes/modelgate:refs/notes/modelgate"],
            Some(&mut options),
        )
        .map_err(JobError::git("pushing refs/notes/modelgate"))
}
