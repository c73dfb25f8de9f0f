//! `modelgate serve`: the webhook server. A delivery is verified, parsed, stored with its
//! jobs in the database and then acknowledged; workers of any replica claim the jobs with a
//! lease; open pull requests are reconciled at start-up and periodically (one reconcile job,
//! whichever replica claims it) so that a delivery GitHub never sent still gets evaluated.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use tokio::sync::{Notify, watch};
use tracing::Instrument;

use crate::comment::{APPROVALS_CHECK, EVALUATION_CHECK};
use crate::config::{Config, Credentials};
use crate::events::{self, Event, PullRequestNumber, RepoRef};
use crate::github::{CommentAuthor, GitHub, GitHubError, Identity, RetryPolicy};
use crate::job::JobError;
use crate::job::{self, Job, JobContext, JobKind};
use crate::metrics::Metrics;
use crate::pull_request::{self, PushTimes};
use crate::secret::Secret;
use crate::store::{
    self, Acceptance, Claim, DeliveryRecord, NewJob, Settled, Store, StoreError, Work,
};

/// GitHub's largest webhook payload.
const MAX_BODY: usize = 25 * 1024 * 1024;
/// How often an idle worker looks for jobs other replicas queued.
const POLL: Duration = Duration::from_millis(250);
/// How long running jobs may take to finish at shutdown before their leases are handed back.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// Finished jobs and deliveries are kept this long (GitHub redelivers for three days).
const KEEP_FINISHED: Duration = Duration::from_secs(7 * 24 * 3600);
/// The longest delay between two attempts of a failing job.
const MAX_RETRY_DELAY: Duration = Duration::from_secs(3600);

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("listening on {address}: {source}")]
    Listen {
        address: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    GitHub(#[from] GitHubError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The bot's shared state. Deliveries, jobs and leases live in the database, so that
/// replicas share them and a restart loses nothing.
pub struct Bot {
    config: Config,
    github: GitHub,
    identity: Identity,
    store: Store,
    metrics: Arc<Metrics>,
    /// Wakes this replica's idle workers when a delivery is stored here.
    wake: Notify,
    /// Jobs this replica's workers are running.
    running: AtomicI64,
    /// The configured repositories (token mode reconciles these and those deliveries named).
    configured_repos: Vec<RepoRef>,
}

impl std::fmt::Debug for Bot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bot")
            .field("identity", &self.identity)
            .finish_non_exhaustive()
    }
}

impl Bot {
    pub async fn new(config: Config, retry: RetryPolicy) -> Result<Arc<Bot>, ServeError> {
        let metrics = Arc::new(Metrics::default());
        let store = Store::open(
            config.database_url.expose(),
            config.replica_id.clone(),
            Duration::from_secs(config.lease_seconds),
        )
        .await?;
        let released = store.release_own_leases().await?;
        tracing::info!(
            database = %store::redacted(config.database_url.expose()),
            replica = %config.replica_id,
            released,
            "queue opened"
        );
        let github = match &config.credentials {
            Credentials::Token(token) => {
                GitHub::with_token(&config.api_url, token.expose(), retry, metrics.clone())?
            }
            Credentials::App {
                app_id,
                private_key_pem,
            } => GitHub::with_app(
                &config.api_url,
                *app_id,
                private_key_pem.expose(),
                retry,
                metrics.clone(),
            )?,
        };
        let identity = match config.credentials {
            Credentials::App { .. } => github.app_identity().await?,
            Credentials::Token(_) => Identity {
                comment_author: CommentAuthor::Login(github.own_login().await?),
                app: None,
            },
        };
        tracing::info!(?identity, api = %config.api_url, "authenticated");
        let mut configured_repos = Vec::new();
        for name in &config.repositories {
            let clone_url = github.repository_clone_url(name).await?;
            configured_repos.push(RepoRef {
                name: name.clone(),
                clone_url,
                installation: None,
            });
        }
        Ok(Arc::new(Bot {
            store,
            config,
            github,
            identity,
            metrics,
            wake: Notify::new(),
            running: AtomicI64::new(0),
            configured_repos,
        }))
    }

    pub fn router(self: &Arc<Self>) -> Router {
        Router::new()
            .route("/webhook", post(webhook))
            .route("/healthz", get(|| async { "ok\n" }))
            .route("/readyz", get(readyz))
            .route("/metrics", get(metrics))
            .layer(DefaultBodyLimit::max(MAX_BODY))
            .with_state(self.clone())
    }

    /// What a job needs: the installation's client and token, and the push times the
    /// deliveries of `repo` stored.
    async fn job_context(&self, repo: Option<&RepoRef>) -> Result<JobContext, JobError> {
        let installation = repo.and_then(|r| r.installation);
        let (github, clone_token) = match (&self.config.credentials, installation) {
            (Credentials::App { .. }, Some(id)) => {
                let (client, token) = self.github.installation(id).await?;
                (client, Some(Secret::from(token)))
            }
            (Credentials::Token(token), _) => (self.github.clone(), Some(token.clone())),
            (Credentials::App { .. }, None) => (self.github.clone(), None),
        };
        let push_times = match repo {
            Some(repo) => {
                PushTimes::from_records(&repo.name, self.store.push_times(&repo.name).await?)
            }
            None => PushTimes::default(),
        };
        Ok(JobContext {
            github,
            clone_token,
            identity: self.identity.clone(),
            push_times: Arc::new(push_times),
            cache_dir: self.config.cache_dir.clone(),
        })
    }

    /// Queues every open pull request whose head has no modelgate evaluation (a check run,
    /// or in token mode, where only Apps may write check runs, a commit status). A
    /// repository or installation that fails is logged and skipped: one suspended
    /// installation must not stop the others.
    pub async fn reconcile(&self) -> Result<usize, JobError> {
        let repos: Vec<RepoRef> = match self.config.credentials {
            Credentials::App { .. } => {
                let mut repos = Vec::new();
                for id in self.github.installations().await? {
                    match self.github.installation_repositories(id).await {
                        Ok(found) => {
                            repos.extend(found.into_iter().map(|(name, clone_url)| RepoRef {
                                name,
                                clone_url,
                                installation: Some(id),
                            }));
                        }
                        Err(error) => {
                            tracing::warn!(installation = id, %error, "installation skipped by reconcile");
                        }
                    }
                }
                repos
            }
            Credentials::Token(_) => {
                let mut repos = self.configured_repos.clone();
                for seen in self.store.repositories().await? {
                    if !repos.iter().any(|r| r.name == seen.name) {
                        repos.push(seen);
                    }
                }
                repos
            }
        };
        let mut queued = 0;
        for repo in repos {
            match self.reconcile_repository(&repo).await {
                Ok(count) => queued += count,
                Err(error) => {
                    tracing::warn!(repo = %repo.name, %error, "repository skipped by reconcile");
                }
            }
        }
        self.store.prune(KEEP_FINISHED).await?;
        tracing::info!(queued, "reconciled open pull requests");
        Ok(queued)
    }

    async fn reconcile_repository(&self, repo: &RepoRef) -> Result<usize, JobError> {
        let context = self.job_context(Some(repo)).await?;
        let mut jobs = Vec::new();
        for pr in context.github.open_pull_requests(&repo.name).await? {
            if self.up_to_date(&context.github, &repo.name, &pr).await? {
                continue;
            }
            jobs.push(NewJob {
                work: Work::Evaluate {
                    repo: repo.clone(),
                    pr: pr.number,
                },
                why: "reconcile".to_owned(),
                event: "reconcile".to_owned(),
                delivery: "reconcile".to_owned(),
                not_before: store::now_ms(),
            });
        }
        self.store.enqueue(&jobs, None).await?;
        if !jobs.is_empty() {
            self.wake.notify_waiters();
        }
        Ok(jobs.len())
    }

    /// Whether the pull request's head carries its evaluation: a check run of this App whose
    /// approvals verdict was judged on the reviews and comments GitHub has now (a lost review
    /// delivery must not leave it stale), or, in token mode, a commit status.
    async fn up_to_date(
        &self,
        github: &GitHub,
        repo: &events::RepoName,
        pr: &crate::github::PullRequest,
    ) -> Result<bool, GitHubError> {
        let head = events::CommitSha(pr.head.sha.clone());
        let runs = github
            .check_runs(repo, &head, self.identity.app.as_deref())
            .await?;
        if runs.iter().any(|r| r.name == EVALUATION_CHECK) {
            let judged_on = runs
                .iter()
                .find(|r| r.name == APPROVALS_CHECK)
                .and_then(|r| r.external_id.clone());
            return Ok(match judged_on {
                // Not evaluated (a problem to fix): nothing the reviews change.
                None => true,
                Some(judged_on) => {
                    judged_on == pull_request::current_fingerprint(github, repo, pr).await?
                }
            });
        }
        if self.identity.app.is_some() {
            return Ok(false);
        }
        Ok(github
            .status_contexts(repo, &head)
            .await?
            .iter()
            .any(|context| context == EVALUATION_CHECK))
    }

    /// Queues the open pull requests whose head is `head`: a rerequested check on a fork's
    /// pull request names none (GitHub leaves `pull_requests` empty for forks). The
    /// deliveries of `claim` answer for them.
    async fn queue_pull_requests_of(
        &self,
        repo: &RepoRef,
        head: &str,
        claim: &Claim,
    ) -> Result<(), JobError> {
        let context = self.job_context(Some(repo)).await?;
        let pulls = context
            .github
            .pull_requests_for_commit(&repo.name, &events::CommitSha(head.to_owned()))
            .await?;
        let jobs: Vec<NewJob> = pulls
            .into_iter()
            .filter(|p| p.state == "open" && p.head.sha == head)
            .map(|pr| NewJob {
                work: Work::Evaluate {
                    repo: repo.clone(),
                    pr: pr.number,
                },
                why: claim.why.clone(),
                event: claim.event.clone(),
                delivery: claim.delivery.clone(),
                not_before: store::now_ms(),
            })
            .collect();
        if jobs.is_empty() {
            tracing::info!(%head, "no open pull request has this head");
        }
        self.store.enqueue(&jobs, Some(claim.id)).await?;
        self.wake.notify_waiters();
        Ok(())
    }

    /// A worker: claims jobs until the bot stops.
    async fn work(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        loop {
            if *stop.borrow() {
                return;
            }
            // Registered before the claim, so that a delivery stored meanwhile wakes it.
            let woken = self.wake.notified();
            match self.store.claim().await {
                Ok(Some(claim)) => {
                    self.run_claimed(claim, &mut stop).await;
                    continue;
                }
                Ok(None) => {}
                Err(error) => tracing::error!(%error, "claiming a job failed"),
            }
            tokio::select! {
                () = woken => {}
                () = tokio::time::sleep(POLL) => {}
                _ = stop.changed() => {}
            }
        }
    }

    /// Runs a claimed job while renewing its lease, then settles it: done, retried later,
    /// failed with the error posted, or handed back at shutdown.
    async fn run_claimed(&self, claim: Claim, stop: &mut watch::Receiver<bool>) {
        let pr = match &claim.work {
            Work::Evaluate { pr, .. } | Work::RecordMerge { pr, .. } => Some(*pr),
            _ => None,
        };
        // The delivery's span, in the shape the webhook handler logs it, so that what the
        // job logs, on whichever replica, names the delivery.
        let span = tracing::error_span!(
            parent: None,
            "delivery",
            event = %claim.event,
            delivery = %claim.delivery,
            repo = tracing::field::Empty,
            pr = tracing::field::Empty
        );
        if let Some(repo) = claim.work.repo() {
            span.record("repo", tracing::field::display(&repo.name));
        }
        if let Some(pr) = pr {
            span.record("pr", pr);
        }
        let job_span =
            tracing::error_span!(parent: &span, "job", why = %claim.why, attempt = claim.attempts);
        if claim.taken_over {
            self.metrics.lease_expiries.inc();
            job_span.in_scope(|| tracing::warn!("taking over a job whose lease expired"));
        }
        // Counted as running until its outcome is stored.
        let _running = Running::start(&self.running);
        let started = Instant::now();
        let work = self.perform(&claim, &span).instrument(job_span.clone());
        let outcome = tokio::select! {
            result = work => Some(result),
            () = self.keep_lease(claim.id) => None,
            () = stopped_after_grace(stop) => {
                self.settle(&job_span, self.store.release(claim.id).await);
                job_span.in_scope(|| tracing::warn!("stopping: the job is handed back to the queue"));
                return;
            }
        };
        self.metrics.evaluation(started.elapsed().as_secs_f64());
        let Some(result) = outcome else {
            job_span
                .in_scope(|| tracing::error!("the job's lease was lost; another worker has it"));
            return;
        };
        let settled = match result {
            Ok(()) => self.store.succeed(claim.id).await,
            Err(error) if i64::from(self.config.max_attempts) <= claim.attempts => {
                job_span.in_scope(|| tracing::error!(%error, "job failed; no attempts left"));
                if let Err(post) = self
                    .post_failure(&claim, &error)
                    .instrument(job_span.clone())
                    .await
                {
                    job_span
                        .in_scope(|| tracing::error!(error = %post, "posting the failure failed"));
                }
                self.store.fail(claim.id, &error.to_string()).await
            }
            Err(error) => {
                let delay = retry_delay(self.config.retry_seconds, claim.attempts);
                job_span.in_scope(
                    || tracing::error!(%error, retry_in_seconds = delay.as_secs(), "job failed"),
                );
                self.metrics.job_retries.inc();
                self.store
                    .retry_later(claim.id, &error.to_string(), delay)
                    .await
            }
        };
        self.settle(&job_span, settled);
        if claim.work == Work::Reconcile {
            let next = store::now_ms()
                + i64::try_from(self.config.reconcile_minutes.max(1) * 60_000)
                    .unwrap_or(i64::MAX / 2);
            if let Err(error) = self.store.schedule_reconcile(next).await {
                tracing::error!(%error, "scheduling the next reconcile failed");
            }
        }
    }

    fn settle(&self, span: &tracing::Span, settled: Result<Settled, StoreError>) {
        match settled {
            Ok(Settled::Done) => {}
            Ok(Settled::LeaseLost) => {
                span.in_scope(|| {
                    tracing::error!(
                        "the job's lease expired before it finished; another worker has it"
                    )
                });
            }
            Err(error) => {
                span.in_scope(|| tracing::error!(%error, "storing the job's outcome failed"))
            }
        }
    }

    async fn perform(&self, claim: &Claim, delivery_span: &tracing::Span) -> Result<(), JobError> {
        let (repo, pr, kind) = match &claim.work {
            Work::Evaluate { repo, pr } => (repo, *pr, JobKind::Evaluate),
            Work::RecordMerge {
                repo,
                pr,
                merge_commit,
            } => (
                repo,
                *pr,
                JobKind::RecordMerge {
                    merge_commit: events::CommitSha(merge_commit.clone()),
                },
            ),
            Work::EvaluateHead { repo, head } => {
                return self.queue_pull_requests_of(repo, head, claim).await;
            }
            Work::Reconcile => return self.reconcile().await.map(|_| ()),
        };
        let job = Job {
            repo: repo.clone(),
            pr: PullRequestNumber(pr),
            kind,
            why: claim.why.clone(),
            span: delivery_span.clone(),
        };
        let context = self.job_context(Some(repo)).await?;
        job::run(&context, &job).await.map(|_| ())
    }

    /// Renews the job's lease every third of its length; returns once it is lost (another
    /// replica took it over, or the database stayed unreachable until it expired).
    async fn keep_lease(&self, id: i64) {
        let lease = self.store.lease();
        let mut held_until = Instant::now() + lease;
        loop {
            tokio::time::sleep(lease / 3).await;
            let asked = Instant::now();
            match self.store.renew(id).await {
                Ok(true) => held_until = asked + lease,
                Ok(false) => return,
                Err(error) => {
                    tracing::warn!(%error, "renewing the job's lease failed");
                    if Instant::now() + lease / 3 >= held_until {
                        return;
                    }
                }
            }
        }
    }

    /// After the last attempt: the error in place of a report, so that the pull request
    /// shows why it has no evaluation (and passes nothing).
    async fn post_failure(&self, claim: &Claim, error: &JobError) -> Result<(), JobError> {
        let Work::Evaluate { repo, pr } = &claim.work else {
            return Ok(());
        };
        let context = self.job_context(Some(repo)).await?;
        let pull = context
            .github
            .pull_request(&repo.name, PullRequestNumber(*pr))
            .await?;
        if pull.state != "open" {
            return Ok(());
        }
        pull_request::publish_failed(
            &context.github,
            &repo.name,
            &pull,
            &context.identity,
            &error.to_string(),
            claim.attempts,
            pull.html_url.clone(),
        )
        .await?;
        Ok(())
    }
}

/// Counts a job as running until dropped.
struct Running<'a>(&'a AtomicI64);

impl<'a> Running<'a> {
    fn start(count: &'a AtomicI64) -> Running<'a> {
        count.fetch_add(1, Ordering::Relaxed);
        Running(count)
    }
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The delay before attempt `attempts + 1`: `base` seconds, doubled for each attempt since
/// the first, at most an hour.
fn retry_delay(base: u64, attempts: i64) -> Duration {
    let doublings = u32::try_from(attempts.saturating_sub(1).clamp(0, 20)).unwrap_or(20);
    Duration::from_secs(base.saturating_mul(1 << doublings)).min(MAX_RETRY_DELAY)
}

/// Resolves `SHUTDOWN_GRACE` after the stop signal (or after the sender is gone).
async fn stopped_after_grace(stop: &mut watch::Receiver<bool>) {
    while !*stop.borrow_and_update() {
        if stop.changed().await.is_err() {
            break;
        }
    }
    tokio::time::sleep(SHUTDOWN_GRACE).await;
}

async fn metrics(State(bot): State<Arc<Bot>>) -> impl IntoResponse {
    match bot.store.queue_stats().await {
        Ok(stats) => {
            bot.metrics.jobs_queued.set(stats.queued);
            bot.metrics.oldest_queued_seconds.set(stats.oldest_seconds);
        }
        Err(error) => tracing::warn!(%error, "queue statistics unavailable"),
    }
    bot.metrics
        .jobs_running
        .set(bot.running.load(Ordering::Relaxed));
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        bot.metrics.encode(),
    )
}

/// Ready when the database answers and holds this binary's schema.
async fn readyz(State(bot): State<Arc<Bot>>) -> (StatusCode, String) {
    match bot.store.ready().await {
        Ok(()) => (StatusCode::OK, "ready\n".to_owned()),
        Err(why) => (StatusCode::SERVICE_UNAVAILABLE, format!("{why}\n")),
    }
}

async fn webhook(
    State(bot): State<Arc<Bot>>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let event = header("x-github-event");
    let delivery = header("x-github-delivery");
    // Error level, like the job spans: a span is enabled only when its level is, and a
    // warning or error logged under the default `warn` must still name its delivery.
    let span = tracing::error_span!("delivery", %event, %delivery, repo = tracing::field::Empty, pr = tracing::field::Empty);
    let hook_id = header("x-github-hook-id");
    let signature = headers
        .get("x-hub-signature-256")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    async move {
        // Nothing is parsed before the signature is verified.
        if !crate::signature::verify(&bot.config.webhook_secrets, &body, signature.as_deref()) {
            bot.metrics.delivery(&event, "bad_signature");
            tracing::warn!("signature did not verify");
            return (
                StatusCode::UNAUTHORIZED,
                "signature does not verify\n".to_owned(),
            );
        }
        let parsed = match events::parse(&event, &body) {
            Ok(parsed) => parsed,
            Err(error) => {
                bot.metrics.delivery(&event, "bad_payload");
                tracing::warn!(%error, "bad payload");
                return (StatusCode::BAD_REQUEST, format!("{error}\n"));
            }
        };
        let now = store::now_ms();
        let job = |work: Work, why: String| NewJob {
            work,
            why,
            event: event.clone(),
            delivery: delivery.clone(),
            not_before: now,
        };
        let mut record = DeliveryRecord {
            delivery_id: delivery.clone(),
            hook_id: hook_id.clone(),
            event: event.clone(),
            repo: None,
            pr: None,
            head_sha: None,
            pushed_head: None,
        };
        let span = tracing::Span::current();
        let (jobs, outcome, message) = match parsed {
            Event::Ping => {
                bot.metrics.delivery(&event, "ping");
                return (StatusCode::OK, "pong\n".to_owned());
            }
            Event::Ignored(why) => {
                bot.metrics.delivery(&event, "ignored");
                return (StatusCode::ACCEPTED, format!("ignored: {why}\n"));
            }
            Event::Evaluate {
                repo,
                pr,
                why,
                head,
            } => {
                span.record("repo", tracing::field::display(&repo.name));
                span.record("pr", pr.0);
                // A push announces its head: `opened` and `synchronize` arrive as it happens.
                if matches!(
                    why.as_str(),
                    "pull_request.opened" | "pull_request.synchronize"
                ) {
                    record.pushed_head = head.as_ref().map(|h| h.0.clone());
                }
                record.repo = Some(repo.clone());
                record.pr = Some(pr.0);
                record.head_sha = head.map(|h| h.0);
                (
                    vec![job(Work::Evaluate { repo, pr: pr.0 }, why)],
                    "queued",
                    "queued",
                )
            }
            Event::EvaluateHead { repo, head, why } => {
                span.record("repo", tracing::field::display(&repo.name));
                record.repo = Some(repo.clone());
                record.head_sha = Some(head.0.clone());
                let work = Work::EvaluateHead { repo, head: head.0 };
                (vec![job(work, why)], "queued", "queued")
            }
            Event::EvaluateMany { repo, prs, why } => {
                span.record("repo", tracing::field::display(&repo.name));
                record.repo = Some(repo.clone());
                let jobs = prs
                    .into_iter()
                    .map(|pr| {
                        let work = Work::Evaluate {
                            repo: repo.clone(),
                            pr: pr.0,
                        };
                        job(work, why.clone())
                    })
                    .collect();
                (jobs, "queued", "queued")
            }
            Event::Merged {
                repo,
                pr,
                merge_commit,
            } => {
                span.record("repo", tracing::field::display(&repo.name));
                span.record("pr", pr.0);
                record.repo = Some(repo.clone());
                record.pr = Some(pr.0);
                let work = Work::RecordMerge {
                    repo,
                    pr: pr.0,
                    merge_commit: merge_commit.0,
                };
                (vec![job(work, "merged".to_owned())], "queued", "queued")
            }
            Event::Installation {
                action,
                installation,
            } => {
                tracing::info!(%action, installation, "installation changed");
                let why = format!("installation.{action}");
                (
                    vec![job(Work::Reconcile, why)],
                    "installation",
                    "reconciling",
                )
            }
        };
        // Acknowledged only once stored: a delivery GitHub saw accepted is never lost.
        match bot.store.accept(&record, &jobs).await {
            Ok(Acceptance::Queued) => {
                bot.wake.notify_waiters();
                bot.metrics.delivery(&event, outcome);
                (StatusCode::ACCEPTED, format!("{message}\n"))
            }
            Ok(Acceptance::Duplicate) => {
                bot.metrics.delivery(&event, "duplicate");
                (StatusCode::OK, "duplicate delivery\n".to_owned())
            }
            Err(error) => {
                bot.metrics.delivery(&event, "not_stored");
                tracing::error!(%error, "the delivery could not be stored");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the delivery could not be stored; redeliver it\n".to_owned(),
                )
            }
        }
    }
    .instrument(span.clone())
    .await
}

/// Runs the server until `shutdown` resolves; then running jobs get `SHUTDOWN_GRACE` to
/// finish, and those that do not are handed back to the queue for another replica.
pub async fn serve(
    bot: Arc<Bot>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let address = bot.config.listen;
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(|source| ServeError::Listen {
            address: address.to_string(),
            source,
        })?;
    tracing::info!(%address, "listening");
    // A reconcile at start-up (one, however many replicas start), then one job every
    // `reconcile_minutes`, whichever replica runs it.
    bot.store.schedule_reconcile(store::now_ms()).await?;
    let (stop, stopped) = watch::channel(false);
    let workers: Vec<_> = (0..bot.config.workers)
        .map(|_| tokio::spawn(bot.clone().work(stopped.clone())))
        .collect();
    let served = axum::serve(listener, bot.router())
        .with_graceful_shutdown(shutdown)
        .await;
    let _ = stop.send(true);
    for worker in workers {
        // A worker ends after its current job, or hands it back after the grace period.
        let _ = worker.await;
    }
    tracing::info!("stopped");
    served.map_err(|source| ServeError::Listen {
        address: address.to_string(),
        source,
    })
}
