-- The bot's durable queue. One text for PostgreSQL and SQLite: on SQLite the store reads
-- `BIGSERIAL PRIMARY KEY` as `INTEGER PRIMARY KEY` (its rowid). Times are milliseconds since
-- the Unix epoch, from the replicas' clocks. README "The bot's database" describes each table.

CREATE TABLE deliveries (
    delivery_id TEXT NOT NULL,
    hook_id TEXT NOT NULL,
    event TEXT NOT NULL,
    repo TEXT,
    pr BIGINT,
    head_sha TEXT,
    received_at BIGINT NOT NULL,
    -- accepted: its jobs are queued or running; done: they finished; failed: one failed, so
    -- GitHub's redelivery of it is processed again.
    state TEXT NOT NULL,
    PRIMARY KEY (delivery_id, hook_id)
);

CREATE TABLE jobs (
    id BIGSERIAL PRIMARY KEY,
    -- A newer job with the same job_key replaces a queued one; jobs with the same lock_key
    -- (one pull request) never run at once.
    job_key TEXT NOT NULL,
    lock_key TEXT NOT NULL,
    payload TEXT NOT NULL,
    -- For logs: why it was queued, and the delivery (event and id) that asked for it.
    why TEXT NOT NULL,
    event TEXT NOT NULL,
    delivery TEXT NOT NULL,
    -- queued, running, done, failed or superseded.
    state TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    not_before BIGINT NOT NULL,
    enqueued_at BIGINT NOT NULL,
    lease_owner TEXT,
    lease_until BIGINT,
    taken_over BIGINT NOT NULL DEFAULT 0,
    last_error TEXT,
    finished_at BIGINT
);
CREATE UNIQUE INDEX jobs_one_queued_per_key ON jobs (job_key) WHERE state = 'queued';
CREATE UNIQUE INDEX jobs_one_running_per_lock ON jobs (lock_key) WHERE state = 'running';
CREATE INDEX jobs_by_state ON jobs (state, not_before);

CREATE TABLE job_deliveries (
    job_id BIGINT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    delivery_id TEXT NOT NULL,
    hook_id TEXT NOT NULL,
    PRIMARY KEY (job_id, delivery_id, hook_id),
    FOREIGN KEY (delivery_id, hook_id) REFERENCES deliveries (delivery_id, hook_id) ON DELETE CASCADE
);
CREATE INDEX job_deliveries_by_delivery ON job_deliveries (delivery_id, hook_id);

CREATE TABLE push_times (
    repo TEXT NOT NULL,
    sha TEXT NOT NULL,
    pushed_at BIGINT NOT NULL,
    PRIMARY KEY (repo, sha)
);

CREATE TABLE repositories (
    name TEXT PRIMARY KEY,
    clone_url TEXT NOT NULL,
    installation BIGINT,
    seen_at BIGINT NOT NULL
);
