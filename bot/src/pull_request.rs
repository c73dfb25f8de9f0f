//! One pull request on GitHub, shared by the bot's jobs and the Action: evaluated with its
//! facts from the API, posted as the sticky comment and two check runs (or commit statuses
//! when the token may not write check runs), and recorded in the audit ledger once merged.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use jiff::Timestamp;

use modelgate_core::approvals::{IssueComment, PrFacts, Review};
use modelgate_core::content::DataArtifact;
use modelgate_core::{Report, audit, evaluate};
use serde_json::Value;

use crate::comment::{self, APPROVALS_CHECK, EVALUATION_CHECK, MARKER};
use crate::error::JobError;
use crate::events::{CommitSha, PullRequestNumber, RepoName};
use crate::github::{CheckRun, GitHub, GitHubError, Identity, PullRequest};
use crate::lfs::{self, LfsServer};
use crate::remote;
use crate::secret::Secret;

/// Where an evaluation finds content kept outside git: a checkout (its LFS store and DVC
/// cache) besides the repository evaluated, and the repository's LFS server.
#[derive(Debug, Clone, Default)]
pub struct DataAccess {
    pub checkout: Option<PathBuf>,
    pub lfs: Option<Arc<LfsServer>>,
    /// Data files given for the head from outside the repository (the Action's `data`
    /// input: profiles an earlier job computed).
    pub head_artifacts: Vec<DataArtifact>,
}

impl DataAccess {
    /// The LFS server of `remote_url` (Git LFS's default endpoint, or `MODELGATE_LFS_URL`),
    /// authenticated with `token`. Without an HTTP endpoint, objects come from local stores
    /// only, and a missing one is reported as not evaluated.
    pub fn lfs_of_remote(remote_url: &str, token: Option<Secret>) -> Option<Arc<LfsServer>> {
        let endpoint = std::env::var("MODELGATE_LFS_URL")
            .ok()
            .or_else(|| lfs::endpoint_of_remote(remote_url))?;
        match LfsServer::new(&endpoint, token, lfs::max_object_bytes_from_env()) {
            Ok(server) => Some(Arc::new(server)),
            Err(error) => {
                tracing::warn!(%error, "no LFS downloads");
                None
            }
        }
    }

    fn open(&self, path: &Path, head: &str) -> Result<modelgate_core::Repo, modelgate_core::Error> {
        let mut repo = modelgate_core::Repo::open(path)?;
        for artifact in &self.head_artifacts {
            repo = repo.with_artifact(head, artifact.clone())?;
        }
        if let Some(checkout) = &self.checkout {
            repo = repo.with_checkout(checkout);
        }
        if let Some(lfs) = &self.lfs {
            repo = repo.with_lfs_server(lfs.clone());
        }
        Ok(repo)
    }
}

/// When each pull request's head was pushed, as the deliveries that announced it said (their
/// arrival; the committer date is the pusher's to set, so it cannot void a risk acceptance).
#[derive(Debug, Default)]
pub struct PushTimes(Mutex<HashMap<(RepoName, String), Timestamp>>);

impl PushTimes {
    /// Notes that `sha` arrived now, unless it was seen before.
    pub fn arrived(&self, repo: &RepoName, sha: &str) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry((repo.clone(), sha.to_owned()))
            .or_insert_with(Timestamp::now);
    }

    /// The push times stored for `repo`: (sha, milliseconds since the epoch).
    pub fn from_records(repo: &RepoName, records: Vec<(String, i64)>) -> PushTimes {
        let times = records
            .into_iter()
            .filter_map(|(sha, at)| {
                let at = Timestamp::from_millisecond(at).ok()?;
                Some(((repo.clone(), sha), at))
            })
            .collect();
        PushTimes(Mutex::new(times))
    }

    fn get(&self, repo: &RepoName, sha: &str) -> Option<Timestamp> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&(repo.clone(), sha.to_owned()))
            .copied()
    }
}

/// When the head was pushed: as a delivery said, else from the repository's activity for a
/// branch of its own, else unknown (the head commit's committer time then stands in).
async fn head_pushed_at(
    github: &GitHub,
    repo: &RepoName,
    pr: &PullRequest,
    push_times: Option<&PushTimes>,
) -> Result<Option<Timestamp>, GitHubError> {
    if let Some(time) = push_times.and_then(|times| times.get(repo, &pr.head.sha)) {
        return Ok(Some(time));
    }
    let own_branch = pr
        .head
        .repo
        .as_ref()
        .is_some_and(|r| r.full_name.eq_ignore_ascii_case(&repo.to_string()));
    if !own_branch {
        return Ok(None);
    }
    github.pushed_at(repo, &pr.head.name, &pr.head.sha).await
}

/// A report, and the fingerprint of the pull request's facts it judged.
#[derive(Debug)]
pub struct Judged {
    pub report: Report,
    pub fingerprint: String,
    /// The facts it was judged on, kept as evidence when the decision is recorded.
    pub facts: PrFacts,
}

/// What the approvals verdict depends on, as a short digest: the head, each review's id,
/// reviewer, state and commit, and each `/modelgate` command comment. Kept with the check run
/// (`external_id`), so reconcile can tell a verdict a lost delivery left stale.
pub fn facts_fingerprint(head: &str, reviews: &[Review], comments: &[IssueComment]) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    hasher.update(head.as_bytes());
    for review in reviews {
        let login = review.user.as_ref().map_or("", |u| u.login.as_str());
        let commit = review.commit_id.as_deref().unwrap_or("");
        hasher.update(format!(
            "\nreview {} {login} {} {commit}",
            review.id, review.state
        ));
    }
    for comment in comments {
        let body = comment.body.as_deref().unwrap_or("");
        if body.trim_start().starts_with("/modelgate") {
            let login = comment.user.as_ref().map_or("", |u| u.login.as_str());
            hasher.update(format!("\ncomment {} {login} {}", comment.id, body.len()));
            hasher.update(body.as_bytes());
        }
    }
    format!("facts:{}", hex::encode(&hasher.finalize()[..12]))
}

/// The fingerprint of the pull request's facts as GitHub has them now.
pub async fn current_fingerprint(
    github: &GitHub,
    repo: &RepoName,
    pr: &PullRequest,
) -> Result<String, GitHubError> {
    let number = PullRequestNumber(pr.number);
    let reviews = lenient::<Review>(github.reviews(repo, number).await?);
    let comments = lenient::<IssueComment>(github.issue_comments(repo, number).await?);
    Ok(facts_fingerprint(&pr.head.sha, &reviews, &comments))
}

/// Evaluates the head once, reads the facts its approvals verdict needs from GitHub (the
/// teams it names among them), and judges them. `local` holds the base and head commits.
pub async fn evaluate_with_facts(
    github: &GitHub,
    repo: &RepoName,
    pr: &PullRequest,
    local: &Path,
    data: &DataAccess,
    push_times: Option<&PushTimes>,
) -> Result<Judged, JobError> {
    let number = PullRequestNumber(pr.number);
    let (base, head) = (pr.base.sha.clone(), pr.head.sha.clone());
    let path = local.to_path_buf();
    let data = data.clone();
    let evaluation = blocking(move || {
        let repo = data.open(&path, &head)?;
        Ok::<_, JobError>(evaluate(&repo, &base, &head)?)
    })
    .await??;

    let reviews = github.reviews(repo, number).await?;
    let reviews = lenient::<Review>(reviews);
    // GitHub's required reviews count only reviewers with write access; on a public
    // repository anyone may review.
    let mut permissions = BTreeMap::new();
    for review in &reviews {
        if let Some(user) = &review.user
            && matches!(review.state.as_str(), "APPROVED" | "CHANGES_REQUESTED")
            && !permissions.contains_key(&user.login)
        {
            let permission = github.collaborator_permission(repo, &user.login).await?;
            permissions.insert(user.login.clone(), permission);
        }
    }
    let comments = lenient::<IssueComment>(github.issue_comments(repo, number).await?);
    let fingerprint = facts_fingerprint(&pr.head.sha, &reviews, &comments);
    let commit_authors = github
        .commit_authors(repo, &pr.base.sha, &pr.head.sha)
        .await?;
    let mut team_members = BTreeMap::new();
    for team in evaluation.teams_needed() {
        let members = github.team_members(&team).await?;
        team_members.insert(team, members);
    }
    let facts = PrFacts {
        number: Some(pr.number),
        author: pr
            .user
            .as_ref()
            .map(|u| u.login.clone())
            .unwrap_or_default(),
        head_sha: Some(pr.head.sha.clone()),
        head_pushed_at: head_pushed_at(github, repo, pr, push_times)
            .await?
            .map(|t| t.to_string()),
        commit_authors,
        reviews,
        permissions: Some(permissions),
        team_members,
        comments,
    };
    Ok(Judged {
        report: evaluation.judge(&facts)?,
        fingerprint,
        facts,
    })
}

/// Items of a list response that parse; GitHub's shapes grow, and one odd entry (a review
/// by a deleted account, say) must not stop the evaluation.
fn lenient<T: serde::de::DeserializeOwned>(items: Vec<Value>) -> Vec<T> {
    items
        .into_iter()
        .filter_map(|item| serde_json::from_value(item).ok())
        .collect()
}

/// What became of one surface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    Written,
    Unchanged,
    /// The token may not write it (a fork's read-only token, a missing permission).
    Forbidden(String),
}

/// Where the verdict went on the head commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChecksDelivery {
    CheckRuns,
    /// Check runs were refused; commit statuses with the same names carry the verdict.
    CommitStatuses {
        refused: String,
    },
    Forbidden(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publication {
    pub comment: Delivery,
    pub checks: ChecksDelivery,
}

impl Publication {
    /// Why something could not be written, when it could not.
    pub fn refusals(&self) -> Vec<String> {
        let mut refusals = Vec::new();
        if let Delivery::Forbidden(message) = &self.comment {
            refusals.push(format!("the pull-request comment: {message}"));
        }
        if let ChecksDelivery::Forbidden(message) = &self.checks {
            refusals.push(format!("check runs and commit statuses: {message}"));
        }
        refusals
    }
}

/// Posts the sticky comment and the two check runs on the pull request's head commit.
/// A 403 on a surface is reported, not raised: the caller decides what it means.
pub async fn publish(
    github: &GitHub,
    repo: &RepoName,
    pr: &PullRequest,
    identity: &Identity,
    judged: &Judged,
    details_url: Option<String>,
) -> Result<Publication, GitHubError> {
    let report = &judged.report;
    let runs = check_runs(
        [
            comment::evaluation_output(report),
            comment::approvals_output(report),
        ],
        details_url,
        Some(&judged.fingerprint),
    );
    publish_outputs(github, repo, pr, identity, &comment::comment(report), &runs).await
}

/// Posts, in place of a report, what keeps a pull request that could not be evaluated from
/// passing: the comment and a failing evaluation check naming each problem.
pub async fn publish_unevaluated(
    github: &GitHub,
    repo: &RepoName,
    pr: &PullRequest,
    identity: &Identity,
    problems: &[String],
    details_url: Option<String>,
) -> Result<Publication, GitHubError> {
    let outputs = comment::unevaluated(problems);
    let runs = check_runs([outputs.evaluation, outputs.approvals], details_url, None);
    publish_outputs(github, repo, pr, identity, &outputs.comment, &runs).await
}

/// Posts, in place of a report, the error that kept modelgate from evaluating the pull
/// request after its last attempt: the comment and a failing evaluation check.
pub async fn publish_failed(
    github: &GitHub,
    repo: &RepoName,
    pr: &PullRequest,
    identity: &Identity,
    error: &str,
    attempts: i64,
    details_url: Option<String>,
) -> Result<Publication, GitHubError> {
    let outputs = comment::failed(error, attempts);
    let runs = check_runs([outputs.evaluation, outputs.approvals], details_url, None);
    publish_outputs(github, repo, pr, identity, &outputs.comment, &runs).await
}

/// The problems in the pull request that kept it from being evaluated, one line each (at
/// file:line:col where known); None when the failure is the bot's own (git, the cache), to
/// be retried rather than blamed on the pull request.
pub fn problems_in_pull_request(error: &JobError) -> Option<Vec<String>> {
    use modelgate_core::Error;
    match error {
        JobError::Evaluate(Error::Git { .. } | Error::OpenRepository { .. }) => None,
        JobError::Evaluate(Error::Invalid(diagnostics)) => {
            Some(diagnostics.iter().map(ToString::to_string).collect())
        }
        JobError::Evaluate(other) => Some(vec![other.to_string()]),
        _ => None,
    }
}

async fn publish_outputs(
    github: &GitHub,
    repo: &RepoName,
    pr: &PullRequest,
    identity: &Identity,
    body: &str,
    runs: &[CheckRun],
) -> Result<Publication, GitHubError> {
    let number = PullRequestNumber(pr.number);
    let head = CommitSha(pr.head.sha.clone());
    let comment = match github
        .upsert_comment(repo, number, &identity.comment_author, MARKER, body)
        .await
    {
        Ok(true) => Delivery::Written,
        Ok(false) => Delivery::Unchanged,
        Err(GitHubError::Forbidden { message, .. }) => Delivery::Forbidden(message),
        Err(other) => return Err(other),
    };
    let checks = match write_check_runs(github, repo, &head, identity, runs).await {
        Ok(()) => ChecksDelivery::CheckRuns,
        // A token without `checks: write` may still have `statuses: write`.
        Err(GitHubError::Forbidden { message, .. }) => {
            tracing::info!(%message, "check runs refused; writing commit statuses");
            match write_statuses(github, repo, &head, runs).await {
                Ok(()) => ChecksDelivery::CommitStatuses { refused: message },
                Err(GitHubError::Forbidden { message, .. }) => ChecksDelivery::Forbidden(message),
                Err(other) => return Err(other),
            }
        }
        Err(other) => return Err(other),
    };
    Ok(Publication { comment, checks })
}

/// The evaluation's and the approvals' outputs as the two check runs.
fn check_runs(
    [evaluation, approvals]: [comment::CheckOutput; 2],
    details_url: Option<String>,
    fingerprint: Option<&str>,
) -> [CheckRun; 2] {
    [(EVALUATION_CHECK, evaluation), (APPROVALS_CHECK, approvals)].map(|(name, output)| CheckRun {
        name,
        conclusion: output.conclusion,
        title: output.title,
        summary: output.summary,
        text: output.text,
        details_url: details_url.clone(),
        external_id: fingerprint.map(str::to_owned),
    })
}

async fn write_check_runs(
    github: &GitHub,
    repo: &RepoName,
    head: &CommitSha,
    identity: &Identity,
    runs: &[CheckRun],
) -> Result<(), GitHubError> {
    github
        .upsert_check_runs(repo, head, identity.app.as_deref(), runs)
        .await
}

async fn write_statuses(
    github: &GitHub,
    repo: &RepoName,
    head: &CommitSha,
    runs: &[CheckRun],
) -> Result<(), GitHubError> {
    for run in runs {
        github.create_status(repo, head, run).await?;
    }
    Ok(())
}

/// Records the merged pull request's decision on `merge_commit` in the ledger of `local`,
/// with the report and the facts it was judged on as its evidence, and pushes the ledger to
/// `push_url`. Returns the record's sequence number.
pub async fn record_decision(
    local: PathBuf,
    merge_commit: &CommitSha,
    judged: Judged,
    push_url: String,
    token: Option<String>,
) -> Result<u64, JobError> {
    let bytes = serde_json::to_vec_pretty(&judged.report)?;
    let commit = merge_commit.0.clone();
    let facts = judged.facts;
    blocking(move || {
        let repo = modelgate_core::Repo::open(&local)?;
        let request = audit::RecordRequest {
            commit: &commit,
            report: &bytes,
            report_file: "report.json",
            facts: Some(&facts),
        };
        let record = audit::record(&repo, &request)?;
        remote::push_notes(repo.git(), &push_url, token.as_deref())?;
        Ok::<_, JobError>(record.sequence)
    })
    .await?
}

pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, JobError> {
    // A blocking thread starts outside any span: carry the caller's (the delivery's) in, so
    // what the evaluation logs names the delivery.
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || span.in_scope(work))
        .await
        .map_err(|e| JobError::Join(e.to_string()))
}
