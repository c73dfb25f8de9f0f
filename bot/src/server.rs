//! `modelgate serve`: the webhook server. A delivery is verified, parsed and queued, and
//! acknowledged at once; workers evaluate in the background; open pull requests are
//! reconciled at start-up and periodically so a lost delivery still gets its evaluation.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use tracing::Instrument;

use crate::comment::{APPROVALS_CHECK, EVALUATION_CHECK};
use crate::config::{Config, Credentials};
use crate::events::{self, Event, PullRequestNumber, RepoRef};
use crate::github::{CommentAuthor, GitHub, GitHubError, Identity, RetryPolicy};
use crate::job::{self, Job, JobContext, JobKind};
use crate::metrics::Metrics;
use crate::pull_request::{self, PushTimes};
use crate::queue::{JobKey, JobQueue};
use crate::secret::Secret;

/// GitHub's largest webhook payload.
const MAX_BODY: usize = 25 * 1024 * 1024;
const REMEMBERED_DELIVERIES: usize = 10_000;

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("listening on {address}: {source}")]
    Listen {
        address: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    GitHub(#[from] GitHubError),
}

/// Deliveries already seen, by (delivery id, hook id), oldest forgotten first.
#[derive(Default)]
struct SeenDeliveries {
    set: HashSet<(String, String)>,
    order: VecDeque<(String, String)>,
}

/// A delivery's identity: its `X-GitHub-Delivery` and `X-GitHub-Hook-ID`. GitHub's manual
/// redelivery sends the same.
type DeliveryKey = (String, String);

impl SeenDeliveries {
    /// Forgets a delivery, so that its redelivery is processed.
    fn forget(&mut self, key: &DeliveryKey) {
        self.set.remove(key);
    }

    /// True the first time a delivery is seen.
    fn first_time(&mut self, key: (String, String)) -> bool {
        if !self.set.insert(key.clone()) {
            return false;
        }
        self.order.push_back(key);
        if self.order.len() > REMEMBERED_DELIVERIES
            && let Some(old) = self.order.pop_front()
        {
            self.set.remove(&old);
        }
        true
    }
}

/// The bot's shared state.
pub struct Bot {
    config: Config,
    github: GitHub,
    identity: Identity,
    queue: JobQueue,
    metrics: Arc<Metrics>,
    seen: Mutex<SeenDeliveries>,
    /// The deliveries each queued or running job answers: forgotten when the job fails, so
    /// that redelivering one runs it again.
    deliveries_of_jobs: Mutex<HashMap<JobKey, Vec<DeliveryKey>>>,
    push_times: Arc<PushTimes>,
    /// Repositories seen in deliveries (token mode reconciles these and the configured ones).
    known_repos: Mutex<Vec<RepoRef>>,
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
        let mut known_repos = Vec::new();
        for name in &config.repositories {
            let clone_url = github.repository_clone_url(name).await?;
            known_repos.push(RepoRef {
                name: name.clone(),
                clone_url,
                installation: None,
            });
        }
        Ok(Arc::new(Bot {
            queue: JobQueue::new(metrics.clone()),
            config,
            github,
            identity,
            metrics,
            seen: Mutex::default(),
            deliveries_of_jobs: Mutex::default(),
            push_times: Arc::default(),
            known_repos: Mutex::new(known_repos),
        }))
    }

    pub fn router(self: &Arc<Self>) -> Router {
        Router::new()
            .route("/webhook", post(webhook))
            .route("/healthz", get(|| async { "ok" }))
            .route("/metrics", get(metrics))
            .layer(DefaultBodyLimit::max(MAX_BODY))
            .with_state(self.clone())
    }

    async fn job_context(&self, installation: Option<u64>) -> Result<JobContext, GitHubError> {
        let (github, clone_token) = match (&self.config.credentials, installation) {
            (Credentials::App { .. }, Some(id)) => {
                let (client, token) = self.github.installation(id).await?;
                (client, Some(Secret::from(token)))
            }
            (Credentials::Token(token), _) => (self.github.clone(), Some(token.clone())),
            (Credentials::App { .. }, None) => (self.github.clone(), None),
        };
        Ok(JobContext {
            github,
            clone_token,
            identity: self.identity.clone(),
            push_times: self.push_times.clone(),
            cache_dir: self.config.cache_dir.clone(),
        })
    }

    fn remember(&self, repo: &RepoRef) {
        let mut known = self.known_repos.lock().unwrap_or_else(|p| p.into_inner());
        if !known.iter().any(|r| r.name == repo.name) {
            known.push(repo.clone());
        }
    }

    /// Queues a job that will run inside `span`, the delivery's (or the reconciliation's).
    fn enqueue(
        &self,
        repo: RepoRef,
        pr: PullRequestNumber,
        kind: JobKind,
        why: String,
        span: &tracing::Span,
        delivery: Option<&DeliveryKey>,
    ) {
        self.remember(&repo);
        let job = Job {
            repo,
            pr,
            kind,
            why,
            span: span.clone(),
        };
        if let Some(delivery) = delivery {
            self.deliveries_of_jobs
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .entry(JobKey::of(&job))
                .or_default()
                .push(delivery.clone());
        }
        self.queue.push(job);
    }

    /// After a job: its deliveries are settled, or, when it failed, forgotten, so that GitHub's
    /// redelivery of one is processed again.
    fn settle_deliveries(&self, key: &JobKey, failed: bool) {
        let deliveries = self
            .deliveries_of_jobs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key)
            .unwrap_or_default();
        if failed {
            let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
            for delivery in &deliveries {
                seen.forget(delivery);
            }
        }
    }

    /// Queues every open pull request whose head has no modelgate evaluation (a check run,
    /// or in token mode, where only Apps may write check runs, a commit status). A
    /// repository or installation that fails is logged and skipped: one suspended
    /// installation must not stop the others.
    pub async fn reconcile(&self) -> Result<usize, GitHubError> {
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
            Credentials::Token(_) => self
                .known_repos
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
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
        tracing::info!(queued, "reconciled open pull requests");
        Ok(queued)
    }

    async fn reconcile_repository(&self, repo: &RepoRef) -> Result<usize, GitHubError> {
        let context = self.job_context(repo.installation).await?;
        let mut queued = 0;
        for pr in context.github.open_pull_requests(&repo.name).await? {
            if self.up_to_date(&context.github, &repo.name, &pr).await? {
                continue;
            }
            // No delivery asked for this job; its span says so in the same shape.
            let span = tracing::error_span!(
                parent: None,
                "delivery",
                event = "reconcile",
                delivery = "reconcile",
                repo = %repo.name,
                pr = pr.number
            );
            self.enqueue(
                repo.clone(),
                PullRequestNumber(pr.number),
                JobKind::Evaluate,
                "reconcile".to_owned(),
                &span,
                None,
            );
            queued += 1;
        }
        Ok(queued)
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
    /// pull request names none (GitHub leaves `pull_requests` empty for forks).
    async fn queue_pull_requests_of(
        &self,
        repo: RepoRef,
        head: events::CommitSha,
        why: String,
        span: tracing::Span,
        delivery: DeliveryKey,
    ) {
        let found = async {
            let context = self.job_context(repo.installation).await?;
            context
                .github
                .pull_requests_for_commit(&repo.name, &head)
                .await
        }
        .await;
        match found {
            Ok(pulls) => {
                let open: Vec<_> = pulls
                    .into_iter()
                    .filter(|p| p.state == "open" && p.head.sha == head.0)
                    .collect();
                if open.is_empty() {
                    span.in_scope(|| tracing::info!(%head, "no open pull request has this head"));
                }
                for pr in open {
                    self.enqueue(
                        repo.clone(),
                        PullRequestNumber(pr.number),
                        JobKind::Evaluate,
                        why.clone(),
                        &span,
                        Some(&delivery),
                    );
                }
            }
            Err(error) => span
                .in_scope(|| tracing::warn!(%head, %error, "pull requests of the head not found")),
        }
    }

    async fn work(self: Arc<Self>) {
        while let Some((key, job)) = self.queue.pop().await {
            // Inside the delivery's span, which names the repository and the delivery; the
            // pull request is repeated because one delivery can queue several.
            let span =
                tracing::error_span!(parent: &job.span, "job", pr = job.pr.0, why = %job.why);
            let started = Instant::now();
            let result = async {
                let context = self.job_context(job.repo.installation).await?;
                job::run(&context, &job).await
            }
            .instrument(span.clone())
            .await;
            self.metrics.evaluation(started.elapsed().as_secs_f64());
            if let Err(error) = &result {
                span.in_scope(|| tracing::error!(%error, "job failed"));
            }
            self.settle_deliveries(&key, result.is_err());
            self.queue.done(&key);
        }
    }
}

async fn metrics(State(bot): State<Arc<Bot>>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        bot.metrics.encode(),
    )
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
    // Error level, like the reconcile and job spans: a span is enabled only when its level
    // is, and a warning or error logged under the default `warn` must still name its delivery.
    let span = tracing::error_span!("delivery", %event, %delivery, repo = tracing::field::Empty, pr = tracing::field::Empty);
    let _entered = span.enter();
    // Nothing is parsed before the signature is verified.
    if !crate::signature::verify(
        &bot.config.webhook_secrets,
        &body,
        headers
            .get("x-hub-signature-256")
            .and_then(|v| v.to_str().ok()),
    ) {
        bot.metrics.delivery(&event, "bad_signature");
        tracing::warn!("signature did not verify");
        return (
            StatusCode::UNAUTHORIZED,
            "signature does not verify\n".to_owned(),
        );
    }
    let delivery_key: DeliveryKey = (delivery.clone(), header("x-github-hook-id"));
    let first_time = bot
        .seen
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .first_time(delivery_key.clone());
    if !first_time {
        bot.metrics.delivery(&event, "duplicate");
        return (StatusCode::OK, "duplicate delivery\n".to_owned());
    }
    let parsed = match events::parse(&event, &body) {
        Ok(parsed) => parsed,
        Err(error) => {
            bot.metrics.delivery(&event, "bad_payload");
            tracing::warn!(%error, "bad payload");
            return (StatusCode::BAD_REQUEST, format!("{error}\n"));
        }
    };
    let (status, outcome, message) = match parsed {
        Event::Ping => (StatusCode::OK, "ping", "pong".to_owned()),
        Event::Ignored(why) => (StatusCode::ACCEPTED, "ignored", format!("ignored: {why}")),
        Event::Evaluate {
            repo,
            pr,
            why,
            head,
        } => {
            span.record("repo", tracing::field::display(&repo.name));
            span.record("pr", pr.0);
            // A push announces its head: `opened` and `synchronize` arrive as it happens.
            if let Some(head) = &head
                && matches!(
                    why.as_str(),
                    "pull_request.opened" | "pull_request.synchronize"
                )
            {
                bot.push_times.arrived(&repo.name, &head.0);
            }
            bot.enqueue(repo, pr, JobKind::Evaluate, why, &span, Some(&delivery_key));
            (StatusCode::ACCEPTED, "queued", "queued".to_owned())
        }
        Event::EvaluateHead { repo, head, why } => {
            span.record("repo", tracing::field::display(&repo.name));
            let bot = bot.clone();
            let job_span = span.clone();
            tokio::spawn(
                async move {
                    bot.queue_pull_requests_of(repo, head, why, job_span, delivery_key)
                        .await
                }
                .instrument(span.clone()),
            );
            (StatusCode::ACCEPTED, "queued", "queued".to_owned())
        }
        Event::EvaluateMany { repo, prs, why } => {
            span.record("repo", tracing::field::display(&repo.name));
            for pr in prs {
                bot.enqueue(
                    repo.clone(),
                    pr,
                    JobKind::Evaluate,
                    why.clone(),
                    &span,
                    Some(&delivery_key),
                );
            }
            (StatusCode::ACCEPTED, "queued", "queued".to_owned())
        }
        Event::Merged {
            repo,
            pr,
            merge_commit,
        } => {
            span.record("repo", tracing::field::display(&repo.name));
            span.record("pr", pr.0);
            bot.enqueue(
                repo,
                pr,
                JobKind::RecordMerge { merge_commit },
                "merged".to_owned(),
                &span,
                Some(&delivery_key),
            );
            (StatusCode::ACCEPTED, "queued", "queued".to_owned())
        }
        Event::Installation {
            action,
            installation,
        } => {
            tracing::info!(%action, installation, "installation changed");
            let bot = bot.clone();
            tokio::spawn(
                async move {
                    if let Err(error) = bot.reconcile().await {
                        tracing::warn!(%error, "reconcile after an installation change failed");
                    }
                }
                .instrument(span.clone()),
            );
            (
                StatusCode::ACCEPTED,
                "installation",
                "reconciling".to_owned(),
            )
        }
    };
    bot.metrics.delivery(&event, outcome);
    (status, format!("{message}\n"))
}

/// Runs the server until `shutdown` resolves, then lets running jobs finish.
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
    let workers: Vec<_> = (0..bot.config.workers)
        .map(|_| tokio::spawn(bot.clone().work()))
        .collect();

    let reconciler = {
        let bot = bot.clone();
        let every = Duration::from_secs(bot.config.reconcile_minutes.max(1) * 60);
        tokio::spawn(async move {
            loop {
                if let Err(error) = bot.reconcile().await {
                    tracing::warn!(%error, "reconcile failed");
                }
                tokio::time::sleep(every).await;
            }
        })
    };

    let served = axum::serve(listener, bot.router())
        .with_graceful_shutdown(shutdown)
        .await;
    reconciler.abort();
    bot.queue.close();
    for worker in workers {
        // A worker ends after its current job.
        let _ = worker.await;
    }
    tracing::info!("stopped");
    served.map_err(|source| ServeError::Listen {
        address: address.to_string(),
        source,
    })
}
