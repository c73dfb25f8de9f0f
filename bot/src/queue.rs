//! Jobs by pull request: one runs at a time per pull request, and a newer request for the
//! same pull request supersedes the one still waiting (the job reads the current head from
//! GitHub, so the newest state always wins).

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

use crate::events::{PullRequestNumber, RepoName};
use crate::job::{Job, JobKind};
use crate::metrics::Metrics;

/// One queue slot per pull request and kind of work.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct JobKey {
    pub repo: RepoName,
    pub pr: PullRequestNumber,
    pub merge: bool,
}

impl JobKey {
    pub fn of(job: &Job) -> JobKey {
        JobKey {
            repo: job.repo.name.clone(),
            pr: job.pr,
            merge: matches!(job.kind, JobKind::RecordMerge { .. }),
        }
    }
}

#[derive(Default)]
struct State {
    order: VecDeque<JobKey>,
    waiting: HashMap<JobKey, Job>,
    running: HashSet<JobKey>,
    closed: bool,
}

#[derive(Clone)]
pub struct JobQueue {
    state: Arc<Mutex<State>>,
    notify: Arc<Notify>,
    metrics: Arc<Metrics>,
}

impl std::fmt::Debug for JobQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobQueue").finish_non_exhaustive()
    }
}

impl JobQueue {
    pub fn new(metrics: Arc<Metrics>) -> JobQueue {
        JobQueue {
            state: Arc::default(),
            notify: Arc::new(Notify::new()),
            metrics,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock leaves consistent data (every update is one
        // statement), so a poisoned lock is still usable.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Queues a job; returns false when it replaced a waiting job for the same pull request.
    pub fn push(&self, job: Job) -> bool {
        let key = JobKey::of(&job);
        let fresh = {
            let mut state = self.lock();
            if state.closed {
                return false;
            }
            let fresh = state.waiting.insert(key.clone(), job).is_none();
            if fresh {
                state.order.push_back(key);
            }
            self.metrics.jobs_queued.set(state.waiting.len() as i64);
            fresh
        };
        self.notify.notify_one();
        fresh
    }

    /// The next job whose pull request has nothing running; `None` once closed.
    pub async fn pop(&self) -> Option<(JobKey, Job)> {
        loop {
            let notified = self.notify.notified();
            {
                let mut state = self.lock();
                if state.closed {
                    return None;
                }
                let position = state
                    .order
                    .iter()
                    .position(|key| !state.running.contains(key));
                if let Some(position) = position
                    && let Some(key) = state.order.remove(position)
                    && let Some(job) = state.waiting.remove(&key)
                {
                    state.running.insert(key.clone());
                    self.metrics.jobs_queued.set(state.waiting.len() as i64);
                    self.metrics.jobs_running.set(state.running.len() as i64);
                    return Some((key, job));
                }
            }
            notified.await;
        }
    }

    pub fn done(&self, key: &JobKey) {
        {
            let mut state = self.lock();
            state.running.remove(key);
            self.metrics.jobs_running.set(state.running.len() as i64);
        }
        // A job for the same pull request may have been waiting for this one.
        self.notify.notify_waiters();
    }

    /// Stops handing out jobs; running ones finish, waiting ones are left to reconcile.
    pub fn close(&self) {
        self.lock().closed = true;
        self.notify.notify_waiters();
    }

    pub fn is_idle(&self) -> bool {
        let state = self.lock();
        state.waiting.is_empty() && state.running.is_empty()
    }
}
