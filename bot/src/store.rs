//! The bot's durable state: webhook deliveries, the job queue with its leases, push times and
//! the repositories deliveries named. An embedded SQLite file by default (one machine);
//! PostgreSQL lets any number of replicas share one queue.
//!
//! Every rule that must hold across replicas is a constraint or a single statement, never a
//! check followed by a write: a delivery is stored once by its primary key, one job per key
//! waits (a partial unique index on queued jobs), one job per pull request runs (a partial
//! unique index on running jobs), and a worker claims a job with one `UPDATE … RETURNING`
//! (with `FOR UPDATE SKIP LOCKED` on PostgreSQL). A lease is renewed while its job runs; a
//! worker that dies loses it when it expires, and another takes the job over.

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use sqlx::AnyPool;
use sqlx::any::AnyPoolOptions;
use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};
use sqlx::{Connection, Executor, Row};

use crate::events::{RepoName, RepoRef};

/// The schema, applied at start-up in order; see `migrations/`.
const MIGRATIONS: &[(i64, &str, &str)] =
    &[(1, "queue", include_str!("../migrations/0001_queue.sql"))];

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "database URL `{0}`: expected sqlite://PATH (a file, created when missing) or postgres://USER@HOST/DATABASE"
    )]
    Scheme(String),
    #[error("database {url}: {source}")]
    Connect { url: String, source: sqlx::Error },
    #[error("database {url}: applying the schema: {source}")]
    Migrate {
        url: String,
        source: sqlx::migrate::MigrateError,
    },
    #[error("database: {0}")]
    Query(#[from] sqlx::Error),
    #[error("stored job {id} cannot be read: {message}")]
    Corrupt { id: i64, message: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    fn of(url: &str) -> Option<Backend> {
        if url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Backend::Postgres)
        } else {
            None
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// The URL with any password replaced, for logs and errors.
pub fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    match authority.rsplit_once('@') {
        Some((user_info, host)) => {
            let user = user_info.split(':').next().unwrap_or("");
            format!("{scheme}://{user}:[redacted]@{host}{path}")
        }
        None => url.to_owned(),
    }
}

/// What a job does. Stored as JSON in `jobs.payload`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Work {
    /// Evaluate a pull request and post the comment and check runs.
    Evaluate { repo: RepoRef, pr: u64 },
    /// Record a merged pull request's decision in the audit ledger.
    RecordMerge {
        repo: RepoRef,
        pr: u64,
        merge_commit: String,
    },
    /// Find the open pull requests whose head is `head` and queue their evaluation.
    EvaluateHead { repo: RepoRef, head: String },
    /// Queue every open pull request whose head has no current evaluation.
    Reconcile,
}

impl Work {
    /// The job's queue slot (a newer job replaces a queued one with the same key) and its
    /// lock (jobs with the same lock never run at once: one pull request, one worker).
    fn keys(&self) -> (String, String) {
        let pull = |repo: &RepoRef, pr: u64| format!("{}#{pr}", repo_key(&repo.name));
        match self {
            Work::Evaluate { repo, pr } => {
                (format!("evaluate {}", pull(repo, *pr)), pull(repo, *pr))
            }
            Work::RecordMerge { repo, pr, .. } => {
                (format!("merge {}", pull(repo, *pr)), pull(repo, *pr))
            }
            Work::EvaluateHead { repo, head } => {
                let key = format!("head {}@{head}", repo_key(&repo.name));
                (key.clone(), key)
            }
            Work::Reconcile => ("reconcile".to_owned(), "reconcile".to_owned()),
        }
    }

    pub fn repo(&self) -> Option<&RepoRef> {
        match self {
            Work::Evaluate { repo, .. }
            | Work::RecordMerge { repo, .. }
            | Work::EvaluateHead { repo, .. } => Some(repo),
            Work::Reconcile => None,
        }
    }
}

/// GitHub's repository names are case-insensitive.
fn repo_key(name: &RepoName) -> String {
    name.to_string().to_lowercase()
}

/// A job to queue.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub work: Work,
    /// Why it was queued, for logs.
    pub why: String,
    /// The delivery that asked for it, its event and id (both `reconcile` for a
    /// reconciliation's), for logs.
    pub event: String,
    pub delivery: String,
    /// Milliseconds since the epoch before which it does not run.
    pub not_before: i64,
}

/// A stored webhook delivery: `X-GitHub-Delivery` with `X-GitHub-Hook-ID` (GitHub's manual
/// redelivery sends the same pair).
#[derive(Debug, Clone)]
pub struct DeliveryRecord {
    pub delivery_id: String,
    pub hook_id: String,
    pub event: String,
    pub repo: Option<RepoRef>,
    pub pr: Option<u64>,
    pub head_sha: Option<String>,
    /// The head this delivery announces as pushed (`opened`, `synchronize`).
    pub pushed_head: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acceptance {
    /// Stored with its jobs.
    Queued,
    /// Seen before, and not failed since: nothing stored.
    Duplicate,
}

/// A job a worker holds the lease of.
#[derive(Debug, Clone)]
pub struct Claim {
    pub id: i64,
    pub work: Work,
    pub why: String,
    pub event: String,
    pub delivery: String,
    /// Attempts so far, this one included.
    pub attempts: i64,
    /// Taken over from a worker whose lease expired.
    pub taken_over: bool,
}

/// What the lease-guarded updates found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    Done,
    /// The lease had expired and another worker holds the job now.
    LeaseLost,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QueueStats {
    /// Jobs waiting (the scheduled reconcile aside), those in backoff included.
    pub queued: i64,
    /// Seconds the oldest of them has waited.
    pub oldest_seconds: f64,
}

pub struct Store {
    /// Stores deliveries before they are acknowledged.
    acks: AnyPool,
    /// Everything else: the workers' claims, leases and results, and reads.
    pool: AnyPool,
    /// SQLite only: copies the write-ahead log into the database file.
    checkpointer: Option<tokio::task::JoinHandle<()>>,
    backend: Backend,
    url: String,
    owner: String,
    lease: Duration,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("url", &self.url)
            .field("owner", &self.owner)
            .finish_non_exhaustive()
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        if let Some(checkpointer) = &self.checkpointer {
            checkpointer.abort();
        }
    }
}

/// How stale a repository's `seen_at` may get before a delivery refreshes it.
const SEEN_REFRESH: Duration = Duration::from_secs(3600);

/// How often SQLite's write-ahead log is copied into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(100);

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn ms(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// The embedded migrations, for sqlx's migrator (which records them in `_sqlx_migrations`
/// and, on PostgreSQL, holds an advisory lock so that replicas starting at once apply them once).
#[derive(Debug)]
struct Embedded(Backend);

impl<'s> MigrationSource<'s> for Embedded {
    fn resolve(
        self,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<Migration>, sqlx::error::BoxDynError>> + Send + 's>>
    {
        let migrations = MIGRATIONS
            .iter()
            .map(|(version, description, sql)| {
                let sql = match self.0 {
                    Backend::Postgres => (*sql).to_owned(),
                    Backend::Sqlite => sql.replace("BIGSERIAL PRIMARY KEY", "INTEGER PRIMARY KEY"),
                };
                Migration::new(
                    *version,
                    Cow::Borrowed(*description),
                    MigrationType::Simple,
                    Cow::Owned(sql),
                    false,
                )
            })
            .collect();
        Box::pin(async move { Ok(migrations) })
    }
}

impl Store {
    /// Opens the database at `url` (creating an SQLite file and its folder when missing) and
    /// applies the schema. `owner` names this replica's leases; `lease` is how long one lasts
    /// without renewal.
    pub async fn open(url: &str, owner: String, lease: Duration) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = Backend::of(url).ok_or_else(|| StoreError::Scheme(redacted(url)))?;
        let shown = redacted(url);
        let connect = |source| StoreError::Connect {
            url: shown.clone(),
            source,
        };
        let mut url = url.to_owned();
        let (acks, pool, checkpoints) = match backend {
            Backend::Sqlite => {
                if !url.contains("mode=") {
                    url.push(if url.contains('?') { '&' } else { '?' });
                    url.push_str("mode=rwc");
                }
                if let Some(file) = sqlite_path(&url)
                    && let Some(parent) = file.parent().filter(|p| !p.as_os_str().is_empty())
                {
                    std::fs::create_dir_all(parent).map_err(|e| connect(sqlx::Error::Io(e)))?;
                }
                // WAL lets readers go on while a write commits, and is a property of the file:
                // set once, on one connection, before the pool opens others.
                // Another process opening a new file at the same moment may hold a lock the
                // switch needs, and SQLite then answers "locked" without waiting: try again.
                let mut tries = 0;
                loop {
                    let mut first = sqlx::AnyConnection::connect(&url).await.map_err(connect)?;
                    let switched = first.execute("PRAGMA journal_mode = WAL").await;
                    first.close().await.map_err(connect)?;
                    match switched {
                        Ok(_) => break,
                        Err(_) if tries < 25 => {
                            tries += 1;
                            tokio::time::sleep(Duration::from_millis(40)).await;
                        }
                        Err(error) => return Err(connect(error)),
                    }
                }
                // One connection for every write: SQLite has one writer anyway, and a single
                // connection never meets another's lock (no SQLITE_BUSY). With WAL, NORMAL
                // keeps every commit through a crash of the process (not of the machine)
                // without an fsync each; the fsyncs are in the checkpoints, which a commit
                // would otherwise run when the log grows, so they run on a timer (below).
                let pool = AnyPoolOptions::new()
                    .max_connections(1)
                    .after_connect(|connection, _| {
                        Box::pin(async move {
                            connection.execute("PRAGMA synchronous = NORMAL").await?;
                            connection.execute("PRAGMA wal_autocheckpoint = 0").await?;
                            Ok(())
                        })
                    })
                    .connect(&url)
                    .await
                    .map_err(connect)?;
                (pool.clone(), pool.clone(), Some(pool))
            }
            Backend::Postgres => {
                // Acknowledgements have connections of their own, so that a delivery never
                // waits for one a worker holds, and commit durably: a stored delivery
                // survives a crash of the server. The workers' bookkeeping (claims, leases,
                // results) commits without waiting for its fsync: a crash of the server may
                // lose its last fraction of a second, which only runs a job again, and the
                // next durable commit writes it anyway.
                // Opened at start-up, not by the first deliveries: a new connection costs a
                // PostgreSQL process and its authentication, tens of milliseconds.
                let acks = AnyPoolOptions::new()
                    .min_connections(8)
                    .max_connections(8)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect(&url)
                    .await
                    .map_err(connect)?;
                let pool = AnyPoolOptions::new()
                    .max_connections(8)
                    .acquire_timeout(Duration::from_secs(10))
                    .after_connect(|connection, _| {
                        Box::pin(async move {
                            connection.execute("SET synchronous_commit = off").await?;
                            Ok(())
                        })
                    })
                    .connect(&url)
                    .await
                    .map_err(connect)?;
                (acks, pool, None)
            }
        };
        let migrator =
            Migrator::new(Embedded(backend))
                .await
                .map_err(|source| StoreError::Migrate {
                    url: shown.clone(),
                    source,
                })?;
        // sqlx locks PostgreSQL while it migrates but not SQLite: a process opening the same
        // file at the same moment may fail on tables the other just made, and then finds
        // them recorded on a second try.
        let tries = match backend {
            Backend::Sqlite => 3,
            Backend::Postgres => 1,
        };
        for attempt in 1..=tries {
            match migrator.run(&pool).await {
                Ok(()) => break,
                Err(_) if attempt < tries => {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(source) => {
                    return Err(StoreError::Migrate {
                        url: shown.clone(),
                        source,
                    });
                }
            }
        }
        let checkpointer = checkpoints.map(|checkpoints| {
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(CHECKPOINT_EVERY).await;
                    // On the writer's own connection, between two of its transactions: with no
                    // other connection reading the log, the checkpoint copies all of it and the
                    // next write starts the log over. A checkpoint on a connection of its own
                    // never caught up with a writer that never paused, and the log (and every
                    // page lookup in it) grew without end. A failure is retried next round.
                    if let Err(error) = checkpoints.execute("PRAGMA wal_checkpoint(PASSIVE)").await
                    {
                        tracing::warn!(%error, "SQLite checkpoint failed; retrying later");
                    }
                }
            })
        });
        Ok(Store {
            acks,
            pool,
            checkpointer,
            backend,
            url: shown,
            owner,
            lease,
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn lease(&self) -> Duration {
        self.lease
    }

    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// Stores a delivery and its jobs in one transaction, or nothing when the delivery was
    /// seen before and has not failed since. Two replicas storing the same delivery at once
    /// meet on its primary key: one stores it, the other finds a duplicate.
    pub async fn accept(
        &self,
        delivery: &DeliveryRecord,
        jobs: &[NewJob],
    ) -> Result<Acceptance, StoreError> {
        let now = now_ms();
        let keys: std::collections::HashSet<String> =
            jobs.iter().map(|j| j.work.keys().0).collect();
        if self.backend == Backend::Postgres && keys.len() == jobs.len() {
            return self.accept_in_one_statement(delivery, jobs, now).await;
        }
        let mut tx = self.acks.begin().await?;
        let fresh = sqlx::query(
            "INSERT INTO deliveries (delivery_id, hook_id, event, repo, pr, head_sha, received_at, state) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'accepted') \
             ON CONFLICT (delivery_id, hook_id) DO UPDATE SET state = 'accepted', received_at = excluded.received_at \
             WHERE deliveries.state = 'failed' \
             RETURNING delivery_id",
        )
        .bind(&delivery.delivery_id)
        .bind(&delivery.hook_id)
        .bind(&delivery.event)
        .bind(delivery.repo.as_ref().map(|r| r.name.to_string()))
        .bind(delivery.pr.map(|pr| pr as i64))
        .bind(delivery.head_sha.as_deref())
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        if fresh.is_none() {
            tx.rollback().await?;
            return Ok(Acceptance::Duplicate);
        }
        if let Some(repo) = &delivery.repo {
            // Every delivery of a repository names it: an upsert that always updated its row
            // would make all of them wait, each for the one before to commit. The row is
            // written when it is new or has changed, and its time refreshed hourly.
            sqlx::query(
                "INSERT INTO repositories (name, clone_url, installation, seen_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (name) DO NOTHING",
            )
            .bind(repo_key(&repo.name))
            .bind(&repo.clone_url)
            .bind(repo.installation.map(|i| i as i64))
            .bind(now)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "UPDATE repositories SET clone_url = $2, installation = $3, seen_at = $4 \
                 WHERE name = $1 AND (clone_url <> $2 OR installation IS DISTINCT FROM $3 OR seen_at < $5)",
            )
            .bind(repo_key(&repo.name))
            .bind(&repo.clone_url)
            .bind(repo.installation.map(|i| i as i64))
            .bind(now)
            .bind(now - ms(SEEN_REFRESH))
            .execute(&mut *tx)
            .await?;
            if let Some(sha) = &delivery.pushed_head {
                sqlx::query(
                    "INSERT INTO push_times (repo, sha, pushed_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (repo, sha) DO NOTHING",
                )
                .bind(repo_key(&repo.name))
                .bind(sha)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
        }
        for job in jobs {
            let id = self.upsert_job(&mut tx, job, now).await?;
            sqlx::query(
                "INSERT INTO job_deliveries (job_id, delivery_id, hook_id) VALUES ($1, $2, $3) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(id)
            .bind(&delivery.delivery_id)
            .bind(&delivery.hook_id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(Acceptance::Queued)
    }

    /// PostgreSQL: [`Store::accept`] as one statement, its writes chained by data-modifying
    /// `WITH` clauses, so that an acknowledgement is one round trip to the server (and one
    /// commit) instead of seven; the same writes, in the same order of effect. Each clause
    /// after the first writes only when the first stored the delivery. Jobs of one delivery
    /// must have distinct keys (one statement cannot upsert a row twice).
    async fn accept_in_one_statement(
        &self,
        delivery: &DeliveryRecord,
        jobs: &[NewJob],
        now: i64,
    ) -> Result<Acceptance, StoreError> {
        let mut sql = String::from(
            "WITH delivery AS (INSERT INTO deliveries (delivery_id, hook_id, event, repo, pr, head_sha, received_at, state) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'accepted') \
             ON CONFLICT (delivery_id, hook_id) DO UPDATE SET state = 'accepted', received_at = excluded.received_at \
             WHERE deliveries.state = 'failed' RETURNING delivery_id, hook_id)",
        );
        // $8 to $12: the repository; from $13 on, seven per job.
        if delivery.repo.is_some() {
            sql.push_str(
                ", repository AS (INSERT INTO repositories (name, clone_url, installation, seen_at) \
                 SELECT $8, $9, $10, $7 FROM delivery ON CONFLICT (name) DO NOTHING), \
                 refreshed AS (UPDATE repositories SET clone_url = $9, installation = $10, seen_at = $7 \
                 WHERE name = $8 AND EXISTS (SELECT 1 FROM delivery) \
                 AND (clone_url <> $9 OR installation IS DISTINCT FROM $10 OR seen_at < $11)), \
                 pushed AS (INSERT INTO push_times (repo, sha, pushed_at) \
                 SELECT $8, $12, $7 FROM delivery WHERE $12 IS NOT NULL ON CONFLICT (repo, sha) DO NOTHING)",
            );
        }
        for index in 0..jobs.len() {
            let p = |offset: usize| format!("${}", 13 + index * 7 + offset);
            sql.push_str(&format!(
                ", job{index} AS (INSERT INTO jobs (job_key, lock_key, payload, why, event, delivery, state, attempts, not_before, enqueued_at) \
                 SELECT {}, {}, {}, {}, {}, {}, 'queued', 0, {}, $7 FROM delivery {} RETURNING id), \
                 link{index} AS (INSERT INTO job_deliveries (job_id, delivery_id, hook_id) \
                 SELECT job{index}.id, delivery.delivery_id, delivery.hook_id FROM job{index}, delivery ON CONFLICT DO NOTHING)",
                p(0), p(1), p(2), p(3), p(4), p(5), p(6), self.job_conflict(),
            ));
        }
        sql.push_str(" SELECT COUNT(*) FROM delivery");
        let repo = delivery.repo.as_ref();
        let mut query = sqlx::query(&sql)
            .bind(&delivery.delivery_id)
            .bind(&delivery.hook_id)
            .bind(&delivery.event)
            .bind(repo.map(|r| r.name.to_string()))
            .bind(delivery.pr.map(|pr| pr as i64))
            .bind(delivery.head_sha.as_deref())
            .bind(now);
        if let Some(repo) = repo {
            query = query
                .bind(repo_key(&repo.name))
                .bind(&repo.clone_url)
                .bind(repo.installation.map(|i| i as i64))
                .bind(now - ms(SEEN_REFRESH))
                .bind(delivery.pushed_head.as_deref());
        } else {
            // Unused placeholders still need values for the numbering of the jobs' ones.
            query = query
                .bind(None::<String>)
                .bind(None::<String>)
                .bind(None::<i64>)
                .bind(None::<i64>)
                .bind(None::<String>);
        }
        for job in jobs {
            query = bind_job(query, job)?;
        }
        let stored: i64 = query.fetch_one(&self.acks).await?.try_get(0)?;
        Ok(if stored > 0 {
            Acceptance::Queued
        } else {
            Acceptance::Duplicate
        })
    }

    /// Queues jobs that no delivery asked for directly: a reconciliation's, or those a job
    /// found (`parent`, whose deliveries then answer for them too).
    pub async fn enqueue(&self, jobs: &[NewJob], parent: Option<i64>) -> Result<(), StoreError> {
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        for job in jobs {
            let id = self.upsert_job(&mut tx, job, now).await?;
            if let Some(parent) = parent {
                sqlx::query(
                    "INSERT INTO job_deliveries (job_id, delivery_id, hook_id) \
                     SELECT $1, delivery_id, hook_id FROM job_deliveries WHERE job_id = $2 \
                     ON CONFLICT DO NOTHING",
                )
                .bind(id)
                .bind(parent)
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// A job's upsert against the one queued with its key: the newer request wins (the job
    /// reads the pull request's current head when it runs), and the earlier of the two start
    /// times stands.
    fn job_conflict(&self) -> String {
        let earlier = match self.backend {
            Backend::Sqlite => "min(jobs.not_before, excluded.not_before)",
            Backend::Postgres => "LEAST(jobs.not_before, excluded.not_before)",
        };
        format!(
            "ON CONFLICT (job_key) WHERE state = 'queued' DO UPDATE SET payload = excluded.payload, \
             why = excluded.why, event = excluded.event, delivery = excluded.delivery, attempts = 0, last_error = NULL, \
             not_before = {earlier}"
        )
    }

    /// Queues a job, or updates the one already queued with its key ([`Store::job_conflict`]).
    async fn upsert_job(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        job: &NewJob,
        now: i64,
    ) -> Result<i64, StoreError> {
        let statement = format!(
            "INSERT INTO jobs (job_key, lock_key, payload, why, event, delivery, state, attempts, not_before, enqueued_at) \
             VALUES ($1, $2, $3, $4, $5, $6, 'queued', 0, $7, $8) {} RETURNING id",
            self.job_conflict()
        );
        let row = bind_job(sqlx::query(&statement), job)?
            .bind(now)
            .fetch_one(&mut **tx)
            .await?;
        Ok(row.try_get::<i64, _>(0)?)
    }

    /// Schedules the periodic reconciliation at `at` (or keeps an earlier one).
    pub async fn schedule_reconcile(&self, at: i64) -> Result<(), StoreError> {
        let job = NewJob {
            work: Work::Reconcile,
            why: "reconcile".to_owned(),
            event: "reconcile".to_owned(),
            delivery: "reconcile".to_owned(),
            not_before: at,
        };
        self.enqueue(&[job], None).await
    }

    /// Claims the next job: one whose lease expired (its worker died), else the oldest ready
    /// one whose pull request has nothing running. None when there is nothing to do.
    pub async fn claim(&self) -> Result<Option<Claim>, StoreError> {
        let now = now_ms();
        let lock_rows = match self.backend {
            Backend::Sqlite => "",
            Backend::Postgres => "FOR UPDATE SKIP LOCKED",
        };
        let statement = format!(
            "UPDATE jobs SET state = 'running', lease_owner = $1, lease_until = $2, \
             attempts = attempts + 1, taken_over = CASE WHEN state = 'running' THEN 1 ELSE 0 END \
             WHERE id = (SELECT j.id FROM jobs j \
               WHERE (j.state = 'queued' AND j.not_before <= $3 AND NOT EXISTS \
                       (SELECT 1 FROM jobs r WHERE r.lock_key = j.lock_key AND r.state = 'running')) \
                  OR (j.state = 'running' AND j.lease_until < $3) \
               ORDER BY CASE WHEN j.state = 'running' THEN 0 ELSE 1 END, j.not_before, j.id \
               LIMIT 1 {lock_rows}) \
             RETURNING id, payload, why, event, delivery, attempts, taken_over"
        );
        let claimed = sqlx::query(&statement)
            .bind(&self.owner)
            .bind(now + ms(self.lease))
            .bind(now)
            .fetch_optional(&self.pool)
            .await;
        let row = match claimed {
            Ok(Some(row)) => row,
            Ok(None) => return Ok(None),
            // Another replica started a job of the same pull request at this moment: the
            // unique index on running jobs kept it to one. Nothing claimed this time.
            Err(sqlx::Error::Database(error))
                if error.kind() == sqlx::error::ErrorKind::UniqueViolation =>
            {
                return Ok(None);
            }
            Err(other) => return Err(other.into()),
        };
        let id: i64 = row.try_get(0)?;
        let payload: String = row.try_get(1)?;
        let work = match serde_json::from_str::<Work>(&payload) {
            Ok(work) => work,
            Err(error) => {
                // A payload this version cannot read would be claimed again and again.
                let message = format!("payload {payload}: {error}");
                self.fail(id, &message).await?;
                return Err(StoreError::Corrupt { id, message });
            }
        };
        Ok(Some(Claim {
            id,
            work,
            why: row.try_get(2)?,
            event: row.try_get(3)?,
            delivery: row.try_get(4)?,
            attempts: row.try_get(5)?,
            taken_over: row.try_get::<i64, _>(6)? != 0,
        }))
    }

    /// Extends the lease of a running job; false when it is no longer this replica's.
    pub async fn renew(&self, id: i64) -> Result<bool, StoreError> {
        let result = sqlx::query(
            "UPDATE jobs SET lease_until = $1 WHERE id = $2 AND lease_owner = $3 AND state = 'running'",
        )
        .bind(now_ms() + ms(self.lease))
        .bind(id)
        .bind(&self.owner)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// The job finished: it and its deliveries are done.
    pub async fn succeed(&self, id: i64) -> Result<Settled, StoreError> {
        self.finish(id, "done", None).await
    }

    /// The job failed for the last time: its deliveries are failed, so that GitHub's
    /// redelivery of one is processed again.
    pub async fn fail(&self, id: i64, error: &str) -> Result<Settled, StoreError> {
        self.finish(id, "failed", Some(error)).await
    }

    /// Ends the job as `state` (`done` or `failed`), and its deliveries with it.
    async fn finish(
        &self,
        id: i64,
        state: &str,
        error: Option<&str>,
    ) -> Result<Settled, StoreError> {
        let mut tx = self.pool.begin().await?;
        if !self.end_running(&mut tx, id, state, error).await? {
            tx.rollback().await?;
            return Ok(Settled::LeaseLost);
        }
        self.mark_deliveries(&mut tx, id, state).await?;
        tx.commit().await?;
        Ok(Settled::Done)
    }

    /// Ends a job this replica holds the lease of, as `state`; false when the lease is gone.
    async fn end_running(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        id: i64,
        state: &str,
        error: Option<&str>,
    ) -> Result<bool, StoreError> {
        let ended = sqlx::query(
            "UPDATE jobs SET state = $1, last_error = COALESCE($2, last_error), finished_at = $3, \
             lease_owner = NULL, lease_until = NULL \
             WHERE id = $4 AND lease_owner = $5 AND state = 'running'",
        )
        .bind(state)
        .bind(error)
        .bind(now_ms())
        .bind(id)
        .bind(&self.owner)
        .execute(&mut **tx)
        .await?;
        Ok(ended.rows_affected() == 1)
    }

    /// The job failed and runs again after `delay` (the delay is stored, so a restart keeps
    /// the backoff). Its deliveries count as failed meanwhile: a manual redelivery runs it now.
    pub async fn retry_later(
        &self,
        id: i64,
        error: &str,
        delay: Duration,
    ) -> Result<Settled, StoreError> {
        self.requeue(id, Some(error), now_ms() + ms(delay), 0).await
    }

    /// Hands a running job back at shutdown: queued again at once, the attempt not counted.
    pub async fn release(&self, id: i64) -> Result<Settled, StoreError> {
        self.requeue(id, None, now_ms(), 1).await
    }

    async fn requeue(
        &self,
        id: i64,
        error: Option<&str>,
        not_before: i64,
        refund_attempts: i64,
    ) -> Result<Settled, StoreError> {
        let mut tx = self.pool.begin().await?;
        let updated = sqlx::query(
            "UPDATE jobs SET state = 'queued', not_before = $1, last_error = COALESCE($2, last_error), \
             attempts = attempts - $3, lease_owner = NULL, lease_until = NULL \
             WHERE id = $4 AND lease_owner = $5 AND state = 'running' \
             AND NOT EXISTS (SELECT 1 FROM jobs q WHERE q.job_key = jobs.job_key AND q.state = 'queued')",
        )
        .bind(not_before)
        .bind(error)
        .bind(refund_attempts)
        .bind(id)
        .bind(&self.owner)
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() == 0 {
            // Either the lease is gone, or a newer job with the same key is queued: that one
            // takes over this one's deliveries and this one is superseded.
            if !self.end_running(&mut tx, id, "superseded", error).await? {
                tx.rollback().await?;
                return Ok(Settled::LeaseLost);
            }
            sqlx::query(
                "INSERT INTO job_deliveries (job_id, delivery_id, hook_id) \
                 SELECT q.id, l.delivery_id, l.hook_id FROM job_deliveries l \
                 JOIN jobs s ON s.id = l.job_id \
                 JOIN jobs q ON q.job_key = s.job_key AND q.state = 'queued' \
                 WHERE l.job_id = $1 ON CONFLICT DO NOTHING",
            )
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
        if error.is_some() {
            self.mark_deliveries(&mut tx, id, "failed").await?;
        }
        tx.commit().await?;
        Ok(Settled::Done)
    }

    async fn mark_deliveries(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        job: i64,
        state: &str,
    ) -> Result<(), StoreError> {
        // A delivery that answers for several jobs stays failed once one of them failed.
        // `IN` rather than a correlated `EXISTS`: SQLite runs the latter once per row of the
        // whole table, and every finished job would then read every delivery ever stored.
        sqlx::query(
            "UPDATE deliveries SET state = $1 WHERE state <> 'failed' AND (delivery_id, hook_id) IN \
             (SELECT l.delivery_id, l.hook_id FROM job_deliveries l WHERE l.job_id = $2)",
        )
        .bind(state)
        .bind(job)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// At start-up: the jobs an earlier process of this replica (the same owner) held are
    /// queued again at once, without waiting for their leases to expire.
    pub async fn release_own_leases(&self) -> Result<u64, StoreError> {
        let result = sqlx::query(
            "UPDATE jobs SET lease_until = 0 WHERE lease_owner = $1 AND state = 'running'",
        )
        .bind(&self.owner)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected())
    }

    pub async fn queue_stats(&self) -> Result<QueueStats, StoreError> {
        let row = sqlx::query(
            "SELECT COUNT(*), MIN(enqueued_at) FROM jobs WHERE state = 'queued' AND job_key <> 'reconcile'",
        )
        .fetch_one(&self.pool)
        .await?;
        let queued: i64 = row.try_get(0)?;
        let oldest: Option<i64> = row.try_get(1)?;
        Ok(QueueStats {
            queued,
            oldest_seconds: oldest.map_or(0.0, |at| (now_ms() - at).max(0) as f64 / 1000.0),
        })
    }

    /// Whether the database answers and holds every migration this binary knows.
    pub async fn ready(&self) -> Result<(), String> {
        let row = sqlx::query("SELECT COUNT(*) FROM _sqlx_migrations WHERE success = TRUE")
            .fetch_one(&self.pool)
            .await
            .map_err(|e| format!("database {}: {e}", self.url))?;
        let applied: i64 = row.try_get(0).map_err(|e| e.to_string())?;
        let known = MIGRATIONS.len() as i64;
        if applied < known {
            return Err(format!(
                "database {}: {applied} of {known} migrations applied",
                self.url
            ));
        }
        Ok(())
    }

    /// When the heads of `repo` were pushed, as their deliveries said (sha, milliseconds).
    pub async fn push_times(&self, repo: &RepoName) -> Result<Vec<(String, i64)>, StoreError> {
        let rows = sqlx::query("SELECT sha, pushed_at FROM push_times WHERE repo = $1")
            .bind(repo_key(repo))
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
            .collect()
    }

    /// The repositories deliveries have named (a personal token reconciles these).
    pub async fn repositories(&self) -> Result<Vec<RepoRef>, StoreError> {
        let rows = sqlx::query("SELECT name, clone_url, installation FROM repositories")
            .fetch_all(&self.pool)
            .await?;
        let mut repos = Vec::new();
        for row in rows {
            let name: String = row.try_get(0)?;
            let Some(name) = RepoName::parse(&name) else {
                continue;
            };
            let installation: Option<i64> = row.try_get(2)?;
            repos.push(RepoRef {
                name,
                clone_url: row.try_get(1)?,
                installation: installation.and_then(|i| u64::try_from(i).ok()),
            });
        }
        Ok(repos)
    }

    /// Forgets finished jobs and deliveries older than `age` (GitHub redelivers for three
    /// days), and push times of heads older than that.
    pub async fn prune(&self, age: Duration) -> Result<(), StoreError> {
        let before = now_ms() - ms(age);
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "DELETE FROM jobs WHERE state IN ('done', 'failed', 'superseded') AND finished_at < $1",
        )
        .bind(before)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM deliveries WHERE state <> 'accepted' AND received_at < $1")
            .bind(before)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM push_times WHERE pushed_at < $1")
            .bind(before)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Binds a job's seven columns, from `job_key` to `not_before`, in the order of the table.
fn bind_job<'q>(
    query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    job: &'q NewJob,
) -> Result<sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>, StoreError> {
    let (job_key, lock_key) = job.work.keys();
    let payload = serde_json::to_string(&job.work).map_err(|e| StoreError::Corrupt {
        id: 0,
        message: e.to_string(),
    })?;
    Ok(query
        .bind(job_key)
        .bind(lock_key)
        .bind(payload)
        .bind(&job.why)
        .bind(&job.event)
        .bind(&job.delivery)
        .bind(job.not_before))
}

/// The file of an `sqlite:` URL, when it names one.
fn sqlite_path(url: &str) -> Option<std::path::PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or(url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or("");
    (!path.is_empty() && path != ":memory:").then(|| std::path::PathBuf::from(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The databases to test on: an SQLite file always; PostgreSQL when
    /// `MODELGATE_TEST_POSTGRES_URL` names a server (`scripts/test-postgres.sh start DIR`),
    /// which `.ci/run` starts, so under `CI` it must be set.
    async fn databases(dir: &std::path::Path) -> Vec<String> {
        let mut urls = vec![format!("sqlite://{}", dir.join("queue.db").display())];
        match std::env::var("MODELGATE_TEST_POSTGRES_URL") {
            Ok(admin) => urls.push(fresh_postgres_database(&admin).await),
            Err(_) if std::env::var_os("CI").is_some() => {
                panic!("MODELGATE_TEST_POSTGRES_URL is needed under CI; .ci/run starts PostgreSQL")
            }
            Err(_) => eprintln!(
                "PostgreSQL skipped: set MODELGATE_TEST_POSTGRES_URL (scripts/test-postgres.sh start DIR prints one)"
            ),
        }
        urls
    }

    /// A new empty database on the server of `admin`, and its URL.
    pub(crate) async fn fresh_postgres_database(admin: &str) -> String {
        sqlx::any::install_default_drivers();
        let name = format!(
            "modelgate_{}_{}",
            std::process::id(),
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        );
        let mut connection = sqlx::AnyConnection::connect(admin)
            .await
            .expect("PostgreSQL at MODELGATE_TEST_POSTGRES_URL");
        connection
            .execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .expect("create database");
        let base = admin.rsplit_once('/').map_or(admin, |(base, _)| base);
        format!("{base}/{name}")
    }

    fn evaluate(pr: u64, delivery: &str) -> NewJob {
        NewJob {
            work: Work::Evaluate {
                repo: RepoRef {
                    name: RepoName::parse("Acme/Models").expect("name"),
                    clone_url: "https://github.com/acme/models.git".to_owned(),
                    installation: Some(7),
                },
                pr,
            },
            why: "pull_request.synchronize".to_owned(),
            event: "pull_request".to_owned(),
            delivery: delivery.to_owned(),
            not_before: now_ms(),
        }
    }

    fn delivery(id: &str) -> DeliveryRecord {
        DeliveryRecord {
            delivery_id: id.to_owned(),
            hook_id: "1".to_owned(),
            event: "pull_request".to_owned(),
            repo: None,
            pr: Some(1),
            head_sha: Some("abc".to_owned()),
            pushed_head: None,
        }
    }

    async fn open(url: &str, owner: &str, lease: Duration) -> Store {
        Store::open(url, owner.to_owned(), lease)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_delivery_is_stored_once_and_again_after_its_job_failed() {
        let dir = tempfile::tempdir().expect("temp");
        for url in databases(dir.path()).await {
            let (a, b) = tokio::join!(
                open(&url, "a", Duration::from_secs(60)),
                open(&url, "b", Duration::from_secs(60))
            );
            a.ready().await.expect("migrated");
            // The same delivery at both replicas at once: one stores it.
            let (record, jobs) = (delivery("d-1"), [evaluate(1, "d-1")]);
            let (first, second) = tokio::join!(a.accept(&record, &jobs), b.accept(&record, &jobs));
            let mut outcomes = [first.expect("accept"), second.expect("accept")];
            outcomes.sort_by_key(|o| *o == Acceptance::Queued);
            assert_eq!(
                outcomes,
                [Acceptance::Duplicate, Acceptance::Queued],
                "{url}"
            );
            assert_eq!(a.queue_stats().await.expect("stats").queued, 1, "{url}");

            let claim = a.claim().await.expect("claim").expect("a job");
            assert_eq!(claim.attempts, 1);
            assert_eq!(
                b.accept(&delivery("d-1"), &[evaluate(1, "d-1")])
                    .await
                    .expect("accept"),
                Acceptance::Duplicate,
                "running: still a duplicate ({url})"
            );
            assert_eq!(a.fail(claim.id, "boom").await.expect("fail"), Settled::Done);
            assert_eq!(
                b.accept(&delivery("d-1"), &[evaluate(1, "d-1")])
                    .await
                    .expect("accept"),
                Acceptance::Queued,
                "a redelivery after a failure is processed ({url})"
            );
            let again = b.claim().await.expect("claim").expect("the job again");
            assert_eq!(b.succeed(again.id).await.expect("done"), Settled::Done);
            assert_eq!(
                a.accept(&delivery("d-1"), &[evaluate(1, "d-1")])
                    .await
                    .expect("accept"),
                Acceptance::Duplicate,
                "{url}"
            );
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn one_job_per_pull_request_runs_and_a_newer_one_replaces_the_queued() {
        let dir = tempfile::tempdir().expect("temp");
        for url in databases(dir.path()).await {
            let a = open(&url, "a", Duration::from_secs(60)).await;
            let b = open(&url, "b", Duration::from_secs(60)).await;
            for id in ["d-1", "d-2"] {
                a.accept(&delivery(id), &[evaluate(1, id)])
                    .await
                    .expect("accept");
            }
            assert_eq!(a.queue_stats().await.expect("stats").queued, 1, "{url}");
            let running = a.claim().await.expect("claim").expect("job");
            assert_eq!(running.delivery, "d-2", "the newer request won ({url})");
            b.accept(&delivery("d-3"), &[evaluate(1, "d-3")])
                .await
                .expect("accept");
            b.accept(&delivery("d-4"), &[evaluate(2, "d-4")])
                .await
                .expect("accept");
            let other = b.claim().await.expect("claim").expect("pull request 2");
            assert_eq!(other.delivery, "d-4", "pull request 1 is busy ({url})");
            assert!(b.claim().await.expect("claim").is_none(), "{url}");
            a.succeed(running.id).await.expect("done");
            let next = b
                .claim()
                .await
                .expect("claim")
                .expect("pull request 1 again");
            assert_eq!(next.delivery, "d-3", "{url}");
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_expired_lease_is_taken_over_and_its_old_holder_writes_nothing() {
        let dir = tempfile::tempdir().expect("temp");
        for url in databases(dir.path()).await {
            let a = open(&url, "a", Duration::from_millis(400)).await;
            let b = open(&url, "b", Duration::from_millis(400)).await;
            a.accept(&delivery("d-1"), &[evaluate(1, "d-1")])
                .await
                .expect("accept");
            let held = a.claim().await.expect("claim").expect("job");
            assert!(a.renew(held.id).await.expect("renew"));
            assert!(b.claim().await.expect("claim").is_none(), "{url}");
            tokio::time::sleep(Duration::from_millis(500)).await;
            let taken = b.claim().await.expect("claim").expect("taken over");
            assert!(taken.taken_over && taken.attempts == 2, "{taken:?}");
            assert!(!a.renew(held.id).await.expect("renew"), "{url}");
            assert_eq!(
                a.succeed(held.id).await.expect("settle"),
                Settled::LeaseLost
            );
            assert_eq!(b.succeed(taken.id).await.expect("settle"), Settled::Done);
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_attempt_waits_its_backoff_unless_redelivered() {
        let dir = tempfile::tempdir().expect("temp");
        for url in databases(dir.path()).await {
            let a = open(&url, "a", Duration::from_secs(60)).await;
            a.accept(&delivery("d-1"), &[evaluate(1, "d-1")])
                .await
                .expect("accept");
            let claim = a.claim().await.expect("claim").expect("job");
            let settled = a.retry_later(claim.id, "GitHub: 502", Duration::from_secs(600));
            assert_eq!(settled.await.expect("retry"), Settled::Done);
            assert!(
                a.claim().await.expect("claim").is_none(),
                "in backoff ({url})"
            );
            // Reopened: the backoff and its attempts are kept in the database.
            drop(a);
            let a = open(&url, "a", Duration::from_secs(60)).await;
            assert!(a.claim().await.expect("claim").is_none(), "{url}");
            assert_eq!(a.queue_stats().await.expect("stats").queued, 1);
            assert_eq!(
                a.accept(&delivery("d-1"), &[evaluate(1, "d-1")])
                    .await
                    .expect("accept"),
                Acceptance::Queued,
                "{url}"
            );
            let now = a.claim().await.expect("claim").expect("runs at once");
            assert_eq!(now.attempts, 1, "a redelivery starts the count again");
            // Handed back at shutdown: queued at once, the attempt not counted.
            assert_eq!(a.release(now.id).await.expect("release"), Settled::Done);
            let again = a.claim().await.expect("claim").expect("job");
            assert_eq!(again.attempts, 1, "{url}");
        }
    }

    #[test]
    fn passwords_are_redacted_and_unknown_schemes_refused() {
        assert_eq!(
            redacted("postgres://bot:hunter2@db.internal:5432/modelgate"),
            "postgres://bot:[redacted]@db.internal:5432/modelgate"
        );
        assert_eq!(redacted("sqlite:///var/lib/q.db"), "sqlite:///var/lib/q.db");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let error = runtime
            .block_on(Store::open(
                "mysql://u:secret@h/db",
                "a".to_owned(),
                Duration::from_secs(1),
            ))
            .expect_err("refused");
        let shown = error.to_string();
        assert!(
            shown.contains("expected sqlite://") && !shown.contains("secret"),
            "{shown}"
        );
    }
}
