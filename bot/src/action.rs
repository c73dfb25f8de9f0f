//! `modelgate action`: the GitHub Action. It reads the workflow's environment and event
//! payload, then:
//!
//! - `check`, on a pull request: evaluates base..head (the pull request's head commit, not
//!   the test merge commit the workflow checked out) and posts the same sticky comment and
//!   check runs as the bot, falling back to commit statuses, and to the job summary alone
//!   when the token is read-only (a fork's pull request);
//! - `record`, on a push to the default branch: records the merged pull request's decision
//!   in the audit ledger and pushes `refs/notes/modelgate`;
//! - `site`: builds the governance site.
//!
//! Every mode writes the job summary and the step outputs in GitHub's documented formats.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use modelgate_core::Report;
use modelgate_core::audit::NOTES_REF;
use modelgate_core::content::DataArtifact;
use modelgate_core::render;
use modelgate_core::report::Conclusion;
use serde::Deserialize;
use serde_json::Value;

use crate::comment;
use crate::error::JobError;
use crate::events::{CommitSha, RepoName};
use crate::github::{CommentAuthor, GitHub, GitHubError, Identity, PullRequest, RetryPolicy};
use crate::metrics::Metrics;
use crate::pull_request::{self, ChecksDelivery, DataAccess, Delivery, Publication};
use crate::remote::{self, RemoteError};
use crate::secret::Secret;

/// Where `actions/upload-pages-artifact` looks by default.
const DEFAULT_SITE_DIR: &str = "_site";

/// What the step does; `modelgate action --mode` takes these names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// Evaluate a pull request (pull_request, pull_request_review events).
    Check,
    /// Record a merged pull request in the audit ledger (push to the default branch).
    Record,
    /// Build the governance site.
    Site,
}

impl Mode {
    fn as_str(self) -> &'static str {
        match self {
            Mode::Check => "check",
            Mode::Record => "record",
            Mode::Site => "site",
        }
    }
}

/// When the step fails: on a `fail` conclusion, or never. Missing approvals never fail
/// the step: the `modelgate / approvals` check says so, and a review does not rerun it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum FailOn {
    Fail,
    Never,
}

/// What the command line gave.
#[derive(Debug, Clone)]
pub struct Settings {
    pub mode: Mode,
    pub site_dir: Option<PathBuf>,
    pub fail_on: Option<FailOn>,
    /// A TOML file of defaults for the settings above, committed once for every workflow.
    pub config: Option<PathBuf>,
    /// `DATASET=FILE`: check mode reads DATASET at the pull request's head from FILE
    /// (relative to the workspace): a profile an earlier job computed where the data lives.
    pub data: Vec<String>,
}

/// The `--config` file: settings the flags override.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    fail_on: Option<FailOn>,
    /// Relative to `GITHUB_WORKSPACE`.
    site_dir: Option<PathBuf>,
    /// The repository's folder relative to `GITHUB_WORKSPACE`, when `actions/checkout`
    /// was given a `path`. Default: the workspace itself.
    path: Option<PathBuf>,
}

/// The workflow's environment, as GitHub Actions sets it.
#[derive(Clone)]
pub struct Environment {
    pub token: Option<String>,
    pub event_name: String,
    pub event_path: PathBuf,
    pub repository: RepoName,
    pub api_url: String,
    pub server_url: String,
    pub workspace: PathBuf,
    pub step_summary: Option<PathBuf>,
    pub output: Option<PathBuf>,
    /// For the report file and the mirror of a shallow checkout (`RUNNER_TEMP`).
    pub temp_dir: PathBuf,
    /// The workflow run's page, where the job summary is shown.
    pub run_url: Option<String>,
}

impl std::fmt::Debug for Environment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Environment")
            .field("event_name", &self.event_name)
            .field("repository", &self.repository)
            .field("api_url", &self.api_url)
            .field("workspace", &self.workspace)
            .finish_non_exhaustive()
    }
}

impl Environment {
    /// Reads the variables through `var` (the process environment, or a map in tests).
    pub fn from_vars(var: &dyn Fn(&str) -> Option<String>) -> Result<Environment, ActionError> {
        let get = |name: &str| var(name).filter(|v| !v.is_empty());
        let required = |name: &'static str| get(name).ok_or(ActionError::MissingVariable { name });
        let repository_text = required("GITHUB_REPOSITORY")?;
        let repository =
            RepoName::parse(&repository_text).ok_or_else(|| ActionError::InvalidVariable {
                name: "GITHUB_REPOSITORY",
                value: repository_text.clone(),
                expected: "owner/name",
            })?;
        let server_url = get("GITHUB_SERVER_URL").unwrap_or_else(|| "https://github.com".into());
        let run_url =
            get("GITHUB_RUN_ID").map(|id| format!("{server_url}/{repository}/actions/runs/{id}"));
        Ok(Environment {
            token: get("GITHUB_TOKEN"),
            event_name: required("GITHUB_EVENT_NAME")?,
            event_path: required("GITHUB_EVENT_PATH")?.into(),
            repository,
            api_url: get("GITHUB_API_URL").unwrap_or_else(|| "https://api.github.com".into()),
            server_url,
            workspace: get("GITHUB_WORKSPACE").unwrap_or_else(|| ".".into()).into(),
            step_summary: get("GITHUB_STEP_SUMMARY").map(PathBuf::from),
            output: get("GITHUB_OUTPUT").map(PathBuf::from),
            temp_dir: get("RUNNER_TEMP")
                .map(PathBuf::from)
                .unwrap_or_else(std::env::temp_dir),
            run_url,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    #[error("{name} is not set; `modelgate action` runs inside a GitHub Actions workflow")]
    MissingVariable { name: &'static str },
    #[error("{name} is `{value}`: expected {expected}")]
    InvalidVariable {
        name: &'static str,
        value: String,
        expected: &'static str,
    },
    #[error("GITHUB_TOKEN is not set; pass the action's `token` input (default: github.token)")]
    NoToken,
    #[error("mode `{mode}` runs on {expected} events, not on `{event}`")]
    UnsupportedEvent {
        mode: &'static str,
        event: String,
        expected: &'static str,
    },
    #[error("the event payload {path}: {message}")]
    Event { path: String, message: String },
    #[error("{path}: {message}")]
    Config { path: String, message: String },
    #[error("{0}")]
    Checkout(String),
    #[error("writing {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error("building the site: {0}")]
    Site(String),
    #[error(transparent)]
    GitHub(#[from] GitHubError),
    #[error(transparent)]
    Evaluation(#[from] JobError),
    #[error("git: {0}")]
    Remote(#[from] RemoteError),
}

/// What the step did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionOutcome {
    pub conclusion: Option<Conclusion>,
    /// The step should fail (exit 1), by `fail-on`.
    pub failed: bool,
}

/// Builds the governance site of the repository at the first path into the folder at the
/// second. The binary supplies it (`modelgate site build`), so this crate needs no site code.
pub type BuildSite<'a> = &'a (dyn Fn(&Path, &Path) -> Result<(), String> + Sync);

pub async fn run(
    settings: Settings,
    env: &Environment,
    retry: RetryPolicy,
    build_site: BuildSite<'_>,
) -> Result<ActionOutcome, ActionError> {
    let file = match &settings.config {
        Some(path) => load_settings(path)?,
        None => FileSettings::default(),
    };
    let fail_on = settings.fail_on.or(file.fail_on).unwrap_or(FailOn::Fail);
    let checkout = match &file.path {
        Some(path) => env.workspace.join(path),
        None => env.workspace.clone(),
    };
    let client = || {
        let token = env.token.as_deref().ok_or(ActionError::NoToken)?;
        Ok::<_, ActionError>(GitHub::with_token(
            &env.api_url,
            token,
            retry,
            Arc::new(Metrics::default()),
        )?)
    };
    let head_artifacts = settings
        .data
        .iter()
        .map(|spec| {
            DataArtifact::read(spec, &env.workspace).map_err(|message| ActionError::Config {
                path: "the `data` input".to_owned(),
                message,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    match settings.mode {
        Mode::Check => check(env, &client()?, &checkout, fail_on, head_artifacts).await,
        Mode::Record => record(env, &client()?, &checkout).await,
        Mode::Site => {
            let site_dir = settings
                .site_dir
                .or(file.site_dir)
                .unwrap_or_else(|| DEFAULT_SITE_DIR.into());
            site(env, &checkout, &env.workspace.join(site_dir), build_site).await
        }
    }
}

fn load_settings(path: &Path) -> Result<FileSettings, ActionError> {
    let config_error = |message: String| ActionError::Config {
        path: path.display().to_string(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| config_error(e.to_string()))?;
    toml::from_str(&text).map_err(|e| config_error(e.to_string()))
}

fn read_event(env: &Environment) -> Result<Value, ActionError> {
    let event_error = |message: String| ActionError::Event {
        path: env.event_path.display().to_string(),
        message,
    };
    let text = std::fs::read_to_string(&env.event_path).map_err(|e| event_error(e.to_string()))?;
    serde_json::from_str(&text).map_err(|e| event_error(e.to_string()))
}

async fn check(
    env: &Environment,
    github: &GitHub,
    checkout: &Path,
    fail_on: FailOn,
    head_artifacts: Vec<DataArtifact>,
) -> Result<ActionOutcome, ActionError> {
    if !matches!(
        env.event_name.as_str(),
        "pull_request" | "pull_request_review"
    ) {
        return Err(ActionError::UnsupportedEvent {
            mode: Mode::Check.as_str(),
            event: env.event_name.clone(),
            expected: "pull_request or pull_request_review",
        });
    }
    let event = read_event(env)?;
    let pr: PullRequest =
        serde_json::from_value(event["pull_request"].clone()).map_err(|e| ActionError::Event {
            path: env.event_path.display().to_string(),
            message: format!("pull_request: {e}"),
        })?;
    let head_repo = event["pull_request"]["head"]["repo"]["full_name"]
        .as_str()
        .map(str::to_owned);
    let fork = head_repo
        .as_deref()
        .filter(|name| *name != env.repository.to_string());
    tracing::info!(pr = pr.number, base = %pr.base.sha, head = %pr.head.sha, fork = fork.is_some(), "evaluating");

    let refspecs = [
        format!("+refs/heads/{0}:refs/remotes/origin/{0}", pr.base.name),
        format!(
            "+refs/pull/{0}/head:refs/remotes/origin/pull/{0}/head",
            pr.number
        ),
    ];
    let local = prepare_repository(
        env,
        checkout,
        &refspecs,
        &[&pr.base.sha, &pr.head.sha],
        false,
    )
    .await?;
    let data = data_access(env, checkout, head_artifacts);
    let evaluated =
        pull_request::evaluate_with_facts(github, &env.repository, &pr, &local, &data, None).await;
    let identity = identity(github).await?;
    let details_url = env.run_url.clone().or_else(|| pr.html_url.clone());
    let judged = match evaluated {
        Ok(judged) => judged,
        Err(error) => {
            // What the pull request must fix is posted where its author looks, then the step
            // fails with the same error.
            if let Some(problems) = pull_request::problems_in_pull_request(&error) {
                let unevaluated = comment::unevaluated(&problems);
                let publication = pull_request::publish_unevaluated(
                    github,
                    &env.repository,
                    &pr,
                    &identity,
                    &problems,
                    details_url,
                )
                .await?;
                let notes = publication_notes(&publication, fork);
                append(
                    env.step_summary.as_deref(),
                    &format!("{}{}", comment::notes_callouts(&notes), unevaluated.comment),
                )?;
            }
            return Err(error.into());
        }
    };
    let publication = pull_request::publish(
        github,
        &env.repository,
        &pr,
        &identity,
        &judged,
        details_url,
    )
    .await?;
    let report = judged.report;
    let notes = publication_notes(&publication, fork);
    for note in &notes {
        println!("::warning title=modelgate::{}", workflow_command_data(note));
    }
    let report_path = write_report(env, &report)?;
    append(
        env.step_summary.as_deref(),
        &comment::job_summary(&report, &notes),
    )?;
    write_outputs(env, &report, &report_path)?;
    print!("{}", render::text(&report));
    Ok(ActionOutcome {
        conclusion: Some(report.conclusion),
        failed: fail_on == FailOn::Fail && report.conclusion == Conclusion::Fail,
    })
}

/// Who the step writes as. A personal token's login is `GET /user`; an installation token
/// (the workflow's `GITHUB_TOKEN`, or an App's) may not read it, and its comments are its
/// App's bot's: `github-actions[bot]`, or `<slug>[bot]` for an App the token cannot name.
async fn identity(github: &GitHub) -> Result<Identity, ActionError> {
    let comment_author = match github.own_login().await {
        Ok(login) => CommentAuthor::Login(login),
        Err(GitHubError::Forbidden { .. } | GitHubError::NotFound { .. }) => CommentAuthor::AnyBot,
        Err(other) => return Err(other.into()),
    };
    Ok(Identity {
        comment_author,
        app: None,
    })
}

/// Sentences for the job summary about what could not be posted, and why.
fn publication_notes(publication: &Publication, fork: Option<&str>) -> Vec<String> {
    let mut notes = Vec::new();
    let refused = publication.refusals();
    if !refused.is_empty() {
        let why = match fork {
            Some(fork) => format!(
                "This pull request comes from the fork `{fork}`, so the workflow's token is read-only and GitHub refused"
            ),
            None => "The workflow's token may not write".to_owned(),
        };
        notes.push(format!(
            "{why} {}. The report is in this job summary instead.{}",
            refused.join("; and "),
            if fork.is_some() {
                ""
            } else {
                " Grant `pull-requests: write` and `checks: write` (or `statuses: write`) in the workflow's `permissions`."
            }
        ));
    }
    if let ChecksDelivery::CommitStatuses { refused } = &publication.checks {
        notes.push(format!(
            "Check runs were refused ({refused}); the verdict was posted as commit statuses `modelgate / evaluation` and `modelgate / approvals`. Grant `checks: write` for the full check runs."
        ));
    }
    if publication.comment == Delivery::Unchanged {
        tracing::info!("the sticky comment is up to date");
    }
    notes
}

/// The report as JSON in the runner's temporary folder, for later steps.
fn write_report(env: &Environment, report: &Report) -> Result<PathBuf, ActionError> {
    let dir = env.temp_dir.join("modelgate");
    let path = dir.join("report.json");
    let write_error = |source| ActionError::Write {
        path: path.display().to_string(),
        source,
    };
    std::fs::create_dir_all(&dir).map_err(write_error)?;
    let mut bytes = serde_json::to_vec_pretty(report).map_err(JobError::from)?;
    bytes.push(b'\n');
    std::fs::write(&path, bytes).map_err(write_error)?;
    Ok(path)
}

fn write_outputs(
    env: &Environment,
    report: &Report,
    report_path: &Path,
) -> Result<(), ActionError> {
    let verdict = comment::evaluation_output(report).summary;
    let outputs = [
        ("conclusion", report.conclusion.as_str().to_owned()),
        ("report", report_path.display().to_string()),
        ("summary", verdict),
    ];
    append(
        env.output.as_deref(),
        &output_lines(&outputs, &mut random_delimiter),
    )
}

/// `$GITHUB_OUTPUT` in GitHub's documented format: `name=value` for one line, and for a
/// value with a line break `name<<DELIMITER`, the value, `DELIMITER`, with a delimiter
/// that does not occur in the value.
pub fn output_lines(outputs: &[(&str, String)], delimiter: &mut dyn FnMut() -> String) -> String {
    let mut text = String::new();
    for (name, value) in outputs {
        if value.contains('\n') || value.contains('\r') {
            let mut fence = delimiter();
            while value.contains(&fence) {
                fence = delimiter();
            }
            text.push_str(&format!("{name}<<{fence}\n{value}\n{fence}\n"));
        } else {
            text.push_str(&format!("{name}={value}\n"));
        }
    }
    text
}

/// 128 random bits, from the standard library's randomly seeded hasher keys.
fn random_delimiter() -> String {
    let half = || RandomState::new().hash_one(std::time::SystemTime::now());
    format!("ghadelimiter_{:016x}{:016x}", half(), half())
}

/// Appends to a file the runner gave (the job summary, the outputs); nothing without one.
fn append(path: Option<&Path>, text: &str) -> Result<(), ActionError> {
    let Some(path) = path else {
        return Ok(());
    };
    let write_error = |source| ActionError::Write {
        path: path.display().to_string(),
        source,
    };
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut file| file.write_all(text.as_bytes()))
        .map_err(write_error)
}

/// Escapes a workflow command's message (`::warning::…`) as the runner expects.
fn workflow_command_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

#[derive(Deserialize)]
struct PushEvent {
    #[serde(rename = "ref")]
    pushed_ref: String,
    after: String,
    repository: PushRepository,
}

#[derive(Deserialize)]
struct PushRepository {
    default_branch: Option<String>,
}

async fn record(
    env: &Environment,
    github: &GitHub,
    checkout: &Path,
) -> Result<ActionOutcome, ActionError> {
    if env.event_name != "push" {
        return Err(ActionError::UnsupportedEvent {
            mode: Mode::Record.as_str(),
            event: env.event_name.clone(),
            expected: "push",
        });
    }
    let push: PushEvent =
        serde_json::from_value(read_event(env)?).map_err(|e| ActionError::Event {
            path: env.event_path.display().to_string(),
            message: e.to_string(),
        })?;
    let default_branch = push.repository.default_branch.unwrap_or_default();
    if push.pushed_ref != format!("refs/heads/{default_branch}") {
        let note = format!(
            "Nothing recorded: `{}` is not the default branch `{default_branch}`.",
            push.pushed_ref
        );
        println!("::notice title=modelgate::{}", workflow_command_data(&note));
        append(env.step_summary.as_deref(), &format!("{note}\n"))?;
        return Ok(ActionOutcome {
            conclusion: None,
            failed: false,
        });
    }
    let pushed = CommitSha(push.after);
    let pulls = github
        .pull_requests_for_commit(&env.repository, &pushed)
        .await?;
    let merged = pulls
        .iter()
        .find(|p| p.merge_commit_sha.as_deref() == Some(pushed.0.as_str()))
        .or_else(|| pulls.iter().find(|p| p.merged_at.is_some()));
    let Some(pr) = merged else {
        let note =
            format!("Nothing recorded: no merged pull request has the pushed commit `{pushed}`.");
        println!("::notice title=modelgate::{}", workflow_command_data(&note));
        append(env.step_summary.as_deref(), &format!("{note}\n"))?;
        return Ok(ActionOutcome {
            conclusion: None,
            failed: false,
        });
    };
    tracing::info!(pr = pr.number, commit = %pushed, "recording the merged decision");
    let refspecs = [
        format!("+refs/heads/{0}:refs/remotes/origin/{0}", pr.base.name),
        format!(
            "+refs/pull/{0}/head:refs/remotes/origin/pull/{0}/head",
            pr.number
        ),
        format!("+{NOTES_REF}:{NOTES_REF}"),
    ];
    let local = prepare_repository(
        env,
        checkout,
        &refspecs,
        &[&pr.base.sha, &pr.head.sha, &pushed.0],
        true,
    )
    .await?;
    let data = data_access(env, checkout, Vec::new());
    let judged =
        pull_request::evaluate_with_facts(github, &env.repository, pr, &local, &data, None).await?;
    let report = judged.report.clone();
    let sequence = pull_request::record_decision(
        local,
        &pushed,
        judged,
        remote_url(env, checkout),
        env.token.clone(),
    )
    .await?;
    let note = format!(
        "Recorded decision #{sequence} in the audit ledger ({NOTES_REF}): pull request #{} merged as `{pushed}`, {}.",
        pr.number,
        report.conclusion.as_str()
    );
    println!("{note}");
    let report_path = write_report(env, &report)?;
    append(
        env.step_summary.as_deref(),
        &comment::job_summary(&report, &[note]),
    )?;
    write_outputs(env, &report, &report_path)?;
    Ok(ActionOutcome {
        conclusion: Some(report.conclusion),
        failed: false,
    })
}

async fn site(
    env: &Environment,
    checkout: &Path,
    site_dir: &Path,
    build_site: BuildSite<'_>,
) -> Result<ActionOutcome, ActionError> {
    let repo = git2::Repository::open(checkout).map_err(|e| no_checkout(checkout, &e))?;
    if repo.is_shallow() {
        return Err(ActionError::Checkout(format!(
            "the checkout at {} is shallow; the site renders every version from history: check out with `fetch-depth: 0`",
            checkout.display()
        )));
    }
    // The site shows the audit trail, which actions/checkout does not fetch.
    let local = prepare_repository(
        env,
        checkout,
        &[format!("+{NOTES_REF}:{NOTES_REF}")],
        &[],
        true,
    )
    .await?;
    build_site(&local, site_dir).map_err(ActionError::Site)?;
    append(
        env.output.as_deref(),
        &output_lines(
            &[("site-dir", site_dir.display().to_string())],
            &mut random_delimiter,
        ),
    )?;
    Ok(ActionOutcome {
        conclusion: None,
        failed: false,
    })
}

fn no_checkout(checkout: &Path, error: &git2::Error) -> ActionError {
    ActionError::Checkout(format!(
        "no git repository at {} ({}); run actions/checkout before modelgate",
        checkout.display(),
        error.message()
    ))
}

/// The origin the checkout came from, else the repository on GitHub.
fn remote_url(env: &Environment, checkout: &Path) -> String {
    git2::Repository::open(checkout)
        .ok()
        .and_then(|repo| {
            repo.find_remote("origin")
                .ok()
                .and_then(|origin| origin.url().map(str::to_owned))
        })
        .unwrap_or_else(|| format!("{}/{}.git", env.server_url, env.repository))
}

/// Content outside git comes from the workflow's checkout (its LFS store, with `lfs: true`
/// on actions/checkout, and its DVC cache, after `dvc pull`), else from the LFS server with
/// the workflow's token.
fn data_access(
    env: &Environment,
    checkout: &Path,
    head_artifacts: Vec<DataArtifact>,
) -> DataAccess {
    DataAccess {
        head_artifacts,
        checkout: Some(checkout.to_path_buf()),
        lfs: DataAccess::lfs_of_remote(
            &remote_url(env, checkout),
            env.token.clone().map(Secret::new),
        ),
    }
}

/// The repository to evaluate in: the checkout when it holds every commit `needed` with
/// its history (and `refresh` is off), else after fetching `refspecs` from origin. A
/// shallow checkout's history goes to a bare mirror in the runner's temporary folder:
/// libgit2 cannot deepen a shallow clone over every transport.
async fn prepare_repository(
    env: &Environment,
    checkout: &Path,
    refspecs: &[String],
    needed: &[&str],
    refresh: bool,
) -> Result<PathBuf, ActionError> {
    let url = remote_url(env, checkout);
    let mirror = env
        .temp_dir
        .join("modelgate")
        .join("mirror")
        .join(&env.repository.owner)
        .join(format!("{}.git", env.repository.name));
    let checkout = checkout.to_path_buf();
    let refspecs = refspecs.to_vec();
    let needed: Vec<String> = needed.iter().map(|s| (*s).to_owned()).collect();
    let token = env.token.clone();
    pull_request::blocking(move || {
        let repo = git2::Repository::open(&checkout).map_err(|e| no_checkout(&checkout, &e))?;
        let shallow = repo.is_shallow();
        if !shallow && !refresh && needed.iter().all(|sha| has_commit(&repo, sha)) {
            return Ok(checkout);
        }
        let (target, fetch_into) = if shallow {
            tracing::info!(mirror = %mirror.display(), "the checkout is shallow; fetching its history");
            (mirror.clone(), remote::open_or_init_bare(&mirror)?)
        } else {
            (checkout.clone(), repo)
        };
        remote::fetch(&fetch_into, &url, &refspecs, token.as_deref()).map_err(|e| {
            ActionError::Checkout(format!(
                "the checkout at {} {} and fetching from origin failed: {e}. Check out with `fetch-depth: 0`, or give the token `contents: read`",
                checkout.display(),
                if shallow { "is shallow" } else { "lacks the pull request's commits" },
            ))
        })?;
        if let Some(missing) = needed.iter().find(|sha| !has_commit(&fetch_into, sha)) {
            return Err(ActionError::Checkout(format!(
                "commit {missing} is not in {url} after fetching {}; check out with `fetch-depth: 0`",
                refspecs.join(" ")
            )));
        }
        Ok(target)
    })
    .await?
}

fn has_commit(repo: &git2::Repository, sha: &str) -> bool {
    git2::Oid::from_str(sha)
        .and_then(|oid| repo.find_commit(oid))
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_environment_debug_omits_the_token() {
        let vars = std::collections::HashMap::from([
            ("GITHUB_TOKEN", "ghs_workflow_token_42"),
            ("GITHUB_REPOSITORY", "acme/models"),
            ("GITHUB_EVENT_NAME", "pull_request"),
            ("GITHUB_EVENT_PATH", "/tmp/event.json"),
        ]);
        let env = Environment::from_vars(&|name| vars.get(name).map(|v| (*v).to_owned()))
            .expect("environment");
        assert_eq!(env.token.as_deref(), Some("ghs_workflow_token_42"));
        let shown = format!("{env:?} {env:#?}");
        assert!(!shown.contains("ghs_workflow_token_42"), "{shown}");
    }

    #[test]
    fn outputs_use_a_heredoc_for_multiline_values() {
        let mut delimiters = ["EOF", "EOF", "ghadelimiter_2"]
            .into_iter()
            .map(String::from);
        let text = output_lines(
            &[
                ("conclusion", "pass".to_owned()),
                ("summary", "line one\nEOF\nline three".to_owned()),
            ],
            &mut || delimiters.next().unwrap_or_default(),
        );
        assert_eq!(
            text,
            "conclusion=pass\nsummary<<ghadelimiter_2\nline one\nEOF\nline three\nghadelimiter_2\n"
        );
    }

    #[test]
    fn delimiters_are_random() {
        let (a, b) = (random_delimiter(), random_delimiter());
        assert_ne!(a, b);
        assert!(a.starts_with("ghadelimiter_") && a.len() == 13 + 32, "{a}");
    }

    #[test]
    fn workflow_commands_escape_line_breaks() {
        assert_eq!(workflow_command_data("50% a\r\nb"), "50%25 a%0D%0Ab");
    }

    #[test]
    fn the_environment_is_read_with_defaults() {
        let vars = |name: &str| {
            match name {
                "GITHUB_REPOSITORY" => Some("acme/models"),
                "GITHUB_EVENT_NAME" => Some("pull_request"),
                "GITHUB_EVENT_PATH" => Some("/tmp/event.json"),
                "GITHUB_RUN_ID" => Some("7"),
                _ => None,
            }
            .map(str::to_owned)
        };
        let env = Environment::from_vars(&vars).expect("environment");
        assert_eq!(env.api_url, "https://api.github.com");
        assert_eq!(
            env.run_url.as_deref(),
            Some("https://github.com/acme/models/actions/runs/7")
        );
        let missing = Environment::from_vars(&|_| None).expect_err("no repository");
        assert!(
            missing
                .to_string()
                .starts_with("GITHUB_REPOSITORY is not set")
        );
    }
}
