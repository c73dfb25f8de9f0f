//! `modelgate serve` end to end: the real server on 127.0.0.1, a real git repository, and
//! a fake GitHub API on loopback.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::fake_github::{
    APP_ID, APP_PRIVATE_KEY, APP_SLUG, Failure, FakeGitHub, PERSONAL_TOKEN, REPO,
};
use crate::support::{TestRepo, high_tier_pull_request, write};

const SECRET: &str = "It's a Secret to Everybody";
const WAIT: Duration = Duration::from_secs(30);

/// How the bot authenticates: as a GitHub App (the product), or with a personal token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Credentials {
    App { installation: u64 },
    Token,
}

struct Harness {
    credentials: Credentials,
    repo: TestRepo,
    github: FakeGitHub,
    bot: Option<Child>,
    port: u16,
    cache: tempfile::TempDir,
    client: reqwest::Client,
    main_sha: String,
    head_sha: String,
    /// More variables for `modelgate serve`.
    env: Vec<(&'static str, &'static str)>,
    /// What a personal token reconciles (`MODELGATE_REPOSITORIES`).
    repositories: &'static str,
    /// `MODELGATE_DATABASE_URL`; unset, each bot keeps its queue in SQLite in its cache.
    database_url: Option<String>,
}

/// A second `modelgate serve` beside the harness's own, with a cache of its own (as on
/// another machine) and the harness's database.
struct Replica {
    child: Option<Child>,
    port: u16,
    _cache: tempfile::TempDir,
}

impl Drop for Replica {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        if let Some(mut bot) = self.bot.take() {
            let _ = bot.kill();
            let _ = bot.wait();
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl Harness {
    /// A repository with a high-tier model and an open pull request #1 that improves it,
    /// evaluated by the bot as a GitHub App; bob and carol may approve (write access).
    async fn new() -> Harness {
        Harness::with(Credentials::App { installation: 1 }, "").await
    }

    /// The same, with the bot's credentials and GitHub's API path (`/api/v3` on Enterprise
    /// Server) chosen.
    async fn with(credentials: Credentials, api_prefix: &str) -> Harness {
        let (repo, main_sha, head_sha) = high_tier_pull_request("pr", "0.81");
        let github = FakeGitHub::start_at(repo.path().to_str().expect("utf-8"), api_prefix).await;
        github.open_pull(1, "ann", ("main", &main_sha), ("pr", &head_sha));
        github.grant_write(&["bob", "carol"]);
        Harness {
            credentials,
            repo,
            github,
            bot: None,
            port: free_port(),
            cache: tempfile::tempdir().expect("cache"),
            client: reqwest::Client::new(),
            main_sha,
            head_sha,
            env: Vec::new(),
            repositories: REPO,
            database_url: None,
        }
    }

    async fn start_bot(&mut self, reconcile_repos: bool) {
        self.start_bot_logging(reconcile_repos, None).await;
    }

    /// Starts the bot; with `log`, its logs go to that file: the default `warn`, with the
    /// job's `info` and the core library's `debug` events.
    async fn start_bot_logging(&mut self, reconcile_repos: bool, log: Option<&std::path::Path>) {
        let bot = self.spawn_bot(self.port, reconcile_repos, log).await;
        self.bot = Some(bot);
    }

    /// Starts another replica, on its own port and cache, sharing the harness's database.
    async fn start_replica(&self) -> Replica {
        let cache = tempfile::tempdir().expect("cache");
        let port = free_port();
        let child = self.spawn(port, cache.path(), false, None).await;
        Replica {
            child: Some(child),
            port,
            _cache: cache,
        }
    }

    /// Starts `modelgate serve` on `port` and waits until it answers.
    async fn spawn_bot(
        &self,
        port: u16,
        reconcile_repos: bool,
        log: Option<&std::path::Path>,
    ) -> Child {
        self.spawn(port, self.cache.path(), reconcile_repos, log)
            .await
    }

    async fn spawn(
        &self,
        port: u16,
        cache: &std::path::Path,
        reconcile_repos: bool,
        log: Option<&std::path::Path>,
    ) -> Child {
        let mut command = Command::new(env!("CARGO_BIN_EXE_modelgate"));
        command
            .arg("serve")
            .env("MODELGATE_LISTEN", format!("127.0.0.1:{port}"))
            .env("MODELGATE_WEBHOOK_SECRET", format!("rotated-out,{SECRET}"))
            .env("MODELGATE_API_URL", self.github.url())
            .env("MODELGATE_CACHE_DIR", cache)
            .env("MODELGATE_WORKERS", "2")
            .env("MODELGATE_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        if let Some(log) = log {
            let file = std::fs::File::create(log).expect("log file");
            command
                .env(
                    "MODELGATE_LOG",
                    "warn,modelgate_bot::job=info,modelgate_core=debug",
                )
                .env("NO_COLOR", "1")
                .stderr(file);
        }
        command.env_remove("MODELGATE_REPOSITORIES");
        match &self.database_url {
            Some(url) => command.env("MODELGATE_DATABASE_URL", url),
            None => command.env_remove("MODELGATE_DATABASE_URL"),
        };
        command.envs(self.env.iter().copied());
        match self.credentials {
            Credentials::App { installation } => {
                let key = self.cache.path().join("app-key.pem");
                std::fs::write(&key, APP_PRIVATE_KEY).expect("key");
                command
                    .env("MODELGATE_APP_ID", APP_ID.to_string())
                    .env("MODELGATE_PRIVATE_KEY_FILE", key)
                    .env_remove("MODELGATE_GITHUB_TOKEN");
                // An App reconciles what its installations see.
                let repositories = if reconcile_repos {
                    vec![REPO.to_owned()]
                } else {
                    Vec::new()
                };
                self.github.with(|s| {
                    if let Some(found) = s.installations.iter_mut().find(|i| i.id == installation) {
                        found.repositories = repositories;
                    }
                });
            }
            Credentials::Token => {
                command.env("MODELGATE_GITHUB_TOKEN", PERSONAL_TOKEN);
                if reconcile_repos {
                    command.env("MODELGATE_REPOSITORIES", self.repositories);
                }
            }
        }
        let mut bot = command.spawn().expect("start modelgate serve");
        // The process needs a moment to bind and open its database; poll its readiness.
        for _ in 0..400 {
            if let Ok(response) = self
                .client
                .get(format!("http://127.0.0.1:{port}/readyz"))
                .send()
                .await
                && response.status().is_success()
            {
                return bot;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        let _ = bot.kill();
        let _ = bot.wait();
        panic!("modelgate serve did not become ready");
    }

    /// Waits until the bot on `port` has no job queued or running (its /metrics says so).
    async fn wait_idle(&self, port: u16) {
        for _ in 0..400 {
            if let Ok(response) = self
                .client
                .get(format!("http://127.0.0.1:{port}/metrics"))
                .send()
                .await
                && let Ok(text) = response.text().await
                && text.contains("\nmodelgate_jobs_queued 0\n")
                && text.contains("\nmodelgate_jobs_running 0\n")
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("the bot on port {port} did not become idle");
    }

    /// Kills the bot while its job waits for GitHub's slow reviews answer (`slow_path`), before
    /// it posts anything; then GitHub answers at once again.
    async fn kill_while_reviews_are_read(&mut self) {
        self.github
            .wait_until(WAIT, |s| {
                s.requests.iter().any(|r| r.ends_with("/pulls/1/reviews"))
            })
            .await;
        self.kill_bot();
        assert!(self.comments().is_empty(), "killed before posting");
        self.github.with(|s| s.slow_path = None);
    }

    fn kill_bot(&mut self) {
        if let Some(mut bot) = self.bot.take() {
            bot.kill().expect("kill");
            let _ = bot.wait();
        }
    }

    /// A GitHub example payload adapted to this repository and pull request.
    fn payload(&self, file: &str, head: &str) -> Value {
        let text = std::fs::read_to_string(format!(
            "{}/fixtures/github/payloads/{file}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .expect("payload");
        let mut payload: Value = serde_json::from_str(&text).expect("json");
        payload["repository"]["full_name"] = json!(REPO);
        payload["repository"]["clone_url"] = json!(self.repo.path().to_str());
        match self.credentials {
            Credentials::App { installation } => {
                payload["installation"] = json!({"id": installation})
            }
            Credentials::Token => {
                if let Some(object) = payload.as_object_mut() {
                    object.remove("installation");
                }
            }
        }
        if payload.get("pull_request").is_some() {
            payload["pull_request"]["number"] = json!(1);
            payload["pull_request"]["head"]["sha"] = json!(head);
        }
        if payload.get("number").is_some() {
            payload["number"] = json!(1);
        }
        payload
    }

    async fn send(
        &self,
        event: &str,
        delivery: &str,
        payload: &Value,
        secret: &str,
    ) -> reqwest::StatusCode {
        self.send_to(self.port, event, delivery, payload, secret)
            .await
    }

    async fn send_to(
        &self,
        port: u16,
        event: &str,
        delivery: &str,
        payload: &Value,
        secret: &str,
    ) -> reqwest::StatusCode {
        let body = serde_json::to_vec(payload).expect("json");
        self.client
            .post(format!("http://127.0.0.1:{port}/webhook"))
            .header("X-GitHub-Event", event)
            .header("X-GitHub-Delivery", delivery)
            .header("X-GitHub-Hook-ID", "1")
            .header(
                "X-Hub-Signature-256",
                modelgate_bot::signature::sign(secret, &body),
            )
            .header("Content-Type", "application/json")
            .body(body)
            .send()
            .await
            .expect("delivery")
            .status()
    }

    async fn send_webhook(
        &self,
        event: &str,
        delivery: &str,
        payload: &Value,
    ) -> reqwest::StatusCode {
        self.send(event, delivery, payload, SECRET).await
    }

    async fn expect_check_run(&self, name: &str, conclusion: &str) {
        let (name, conclusion, head) = (
            name.to_owned(),
            conclusion.to_owned(),
            self.head_sha.clone(),
        );
        self.github
            .wait_until(WAIT, move |s| {
                s.check_runs.iter().any(|r| {
                    r.name == name
                        && r.head_sha == head
                        && r.conclusion.as_deref() == Some(&conclusion)
                })
            })
            .await;
    }

    /// Main's policy with `high` tier `rules` (YAML flow mapping entries), and the pull
    /// request made again from there on branch `pr-policy`, changing the AUC from 0.80 to
    /// `head_auc`.
    fn with_high_tier(&mut self, rules: &str, head_auc: &str) {
        let policy = format!(
            "tiers:\n  low: {{approvals: 1}}\n  high: {{{rules}, block_on: [regression, card]}}\n"
        );
        self.main_sha = self
            .repo
            .commit("main", None, &[write(".github/modelgate.yml", policy)]);
        self.head_sha = self.repo.commit(
            "pr-policy",
            Some("main"),
            &[write(
                "models/m/metrics.json",
                format!("{{\"auc\": {head_auc}}}"),
            )],
        );
        self.github.open_pull(
            1,
            "ann",
            ("main", &self.main_sha),
            ("pr-policy", &self.head_sha),
        );
    }

    /// A new head commit on the pull request's branch, as GitHub then shows the pull request.
    fn push_head(&mut self, changes: &[modelgate_core::scenario::FileChange]) {
        self.head_sha = self.repo.commit("pr", None, changes);
        self.github
            .open_pull(1, "ann", ("main", &self.main_sha), ("pr", &self.head_sha));
    }

    /// Delivers `pull_request.opened` for the current head.
    async fn send_opened(&self, delivery: &str) -> reqwest::StatusCode {
        let opened = self.payload("pull_request/opened.payload.json", &self.head_sha);
        self.send_webhook("pull_request", delivery, &opened).await
    }

    fn comments(&self) -> Vec<crate::fake_github::Comment> {
        self.github.with(|s| s.comments.clone())
    }

    fn count_requests(&self, prefix: &str) -> usize {
        self.github
            .with(|s| s.requests.iter().filter(|r| r.starts_with(prefix)).count())
    }

    /// One comment, posted with one request, and one check run of each name.
    fn assert_posted_once(&self) {
        assert_eq!(self.comments().len(), 1);
        assert_eq!(
            self.count_requests("POST /repos/acme/models/issues/1/comments"),
            1
        );
        assert_eq!(
            self.github.with(|s| s.check_run_names()),
            ["modelgate / approvals", "modelgate / evaluation"]
        );
    }
}

fn review(id: u64, login: &str, sha: &str) -> Value {
    json!({"id": id, "user": {"login": login}, "state": "APPROVED", "commit_id": sha, "submitted_at": "2026-03-01T10:00:00Z"})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opened_synchronize_and_review() {
    let mut h = Harness::new().await;
    h.start_bot(false).await;

    // opened: one comment and two check runs.
    let opened = h.payload("pull_request/opened.payload.json", &h.head_sha);
    assert_eq!(
        h.send_webhook("pull_request", "d-1", &opened).await,
        reqwest::StatusCode::ACCEPTED
    );
    h.expect_check_run("modelgate / evaluation", "success")
        .await;
    h.expect_check_run("modelgate / approvals", "action_required")
        .await;
    let comments = h.comments();
    assert_eq!(comments.len(), 1);
    assert_eq!(comments[0].user, format!("{APP_SLUG}[bot]"));
    assert!(comments[0].body.starts_with("<!-- modelgate:report -->\n### 🟡 modelgate: ACTION REQUIRED: missing 2 approving review(s) of the head commit"), "{}", comments[0].body);
    let first_body = comments[0].body.clone();

    // synchronize: a new head; the approval of the old head is void; the same comment is edited.
    let old_head = h.head_sha.clone();
    h.push_head(&[write("models/m/metrics.json", "{\"auc\": 0.82}")]);
    h.github.with(|s| {
        s.reviews.insert(
            1,
            vec![review(11, "bob", &old_head), review(12, "carol", &old_head)],
        );
    });
    let synchronize = h.payload("pull_request/synchronize.payload.json", &h.head_sha);
    h.send_webhook("pull_request", "d-2", &synchronize).await;
    h.expect_check_run("modelgate / approvals", "action_required")
        .await;
    let head = h.head_sha.clone();
    h.github
        .wait_until(WAIT, move |s| {
            s.check_runs.iter().filter(|r| r.head_sha == head).count() == 2
                && s.comments[0].body.contains("0.8200")
        })
        .await;
    let comments = h.comments();
    assert_eq!(
        comments.len(),
        1,
        "the sticky comment is edited, not duplicated"
    );
    assert_ne!(comments[0].body, first_body);
    assert!(
        comments[0].body.contains("not the head commit"),
        "{}",
        comments[0].body
    );

    // Two approvals of the new head: the approvals check turns success.
    let head = h.head_sha.clone();
    h.github.with(|s| {
        s.reviews.insert(
            1,
            vec![review(13, "bob", &head), review(14, "carol", &head)],
        );
    });
    let submitted = h.payload("pull_request_review/submitted.payload.json", &h.head_sha);
    h.send_webhook("pull_request_review", "d-3", &submitted)
        .await;
    h.expect_check_run("modelgate / approvals", "success").await;
    h.github
        .wait_until(WAIT, |s| {
            s.comments[0].body.contains("### ✅ modelgate: PASS")
        })
        .await;
    h.github.assert_no_problems();

    // Metrics saw the deliveries.
    let metrics = metrics_of(&h.client, h.port).await;
    assert!(
        metrics.contains(
            "modelgate_webhook_deliveries_total{event=\"pull_request\",outcome=\"queued\"} 2"
        ),
        "{metrics}"
    );
    assert!(
        metrics.contains("modelgate_evaluation_seconds_count"),
        "{metrics}"
    );
}

/// The bot's log lines, without terminal colours should the subscriber add them.
fn log_lines(log: &std::path::Path) -> Vec<String> {
    let text = std::fs::read_to_string(log).expect("log");
    let mut plain = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // An SGR sequence: ESC [ ... m.
            for c in chars.by_ref() {
                if c == 'm' {
                    break;
                }
            }
        } else {
            plain.push(c);
        }
    }
    plain.lines().map(str::to_owned).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_logs_inside_its_delivery_span() {
    let mut h = Harness::new().await;
    let log = h.cache.path().join("bot.log");
    h.start_bot_logging(false, Some(&log)).await;
    let opened = h.payload("pull_request/opened.payload.json", &h.head_sha);
    assert_eq!(
        h.send("pull_request", "d-forged-01", &opened, "wrong secret")
            .await,
        reqwest::StatusCode::UNAUTHORIZED
    );
    h.send_webhook("pull_request", "d-traced-7f3a", &opened)
        .await;
    h.expect_check_run("modelgate / approvals", "action_required")
        .await;
    // "job done" is logged after the check runs are written.
    let mut lines = Vec::new();
    for _ in 0..400 {
        lines = log_lines(&log);
        if lines.iter().any(|l| l.contains("job done")) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    h.kill_bot();
    let span = "delivery{event=pull_request delivery=d-traced-7f3a repo=acme/models pr=1}";
    let done = lines
        .iter()
        .find(|l| l.contains("job done"))
        .unwrap_or_else(|| panic!("no `job done` line:\n{}", lines.join("\n")));
    assert!(done.contains(span), "{done}");
    // The evaluation runs on a blocking thread; its events still carry the delivery.
    let core: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains("modelgate_core"))
        .collect();
    assert!(
        !core.is_empty(),
        "the core logs at debug:\n{}",
        lines.join("\n")
    );
    for line in core {
        assert!(line.contains(span), "{line}");
    }
    // A warning under the default level names its delivery too.
    assert!(
        lines.iter().any(
            |l| l.contains("delivery{event=pull_request delivery=d-forged-01}")
                && l.contains("signature did not verify")
        ),
        "{}",
        lines.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_duplicate_and_concurrent_deliveries() {
    let mut h = Harness::new().await;
    h.start_bot(false).await;
    let opened = h.payload("pull_request/opened.payload.json", &h.head_sha);

    assert_eq!(
        h.send("pull_request", "forged", &opened, "wrong secret")
            .await,
        reqwest::StatusCode::UNAUTHORIZED
    );

    // The same delivery twice, and a second delivery for the same pull request at once.
    let (a, b, c) = tokio::join!(
        h.send_webhook("pull_request", "d-1", &opened),
        h.send_webhook("pull_request", "d-1", &opened),
        h.send_webhook("pull_request", "d-2", &opened),
    );
    let mut statuses = [a.as_u16(), b.as_u16(), c.as_u16()];
    statuses.sort();
    assert_eq!(
        statuses,
        [200, 202, 202],
        "one duplicate is acknowledged and dropped"
    );
    h.expect_check_run("modelgate / approvals", "action_required")
        .await;
    h.github
        .wait_until(WAIT, |s| {
            s.requests
                .iter()
                .filter(|r| r.starts_with("POST /repos/acme/models/check-runs"))
                .count()
                == 2
        })
        .await;
    assert_eq!(h.comments().len(), 1, "one comment however deliveries race");
    assert!(h.count_requests("POST /repos/acme/models/issues/1/comments") == 1);
    let ping = json!({"zen": "Keep it logically awesome.", "hook_id": 1});
    assert_eq!(
        h.send_webhook("ping", "d-ping", &ping).await,
        reqwest::StatusCode::OK
    );
    assert_eq!(
        h.send_webhook("star", "d-star", &json!({"action": "created"}))
            .await,
        reqwest::StatusCode::ACCEPTED
    );
    h.github.assert_no_problems();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn github_errors_are_retried_without_duplicates() {
    let mut h = Harness::new().await;
    h.github.with(|s| {
        s.failures
            .push_back(Failure::new("POST", "/issues/1/comments", 502));
        s.failures.push_back(Failure {
            headers: vec![("retry-after", "1".to_owned())],
            ..Failure::new("POST", "/check-runs", 403)
        });
    });
    h.start_bot(false).await;
    h.send_opened("d-1").await;
    h.expect_check_run("modelgate / approvals", "action_required")
        .await;
    h.expect_check_run("modelgate / evaluation", "success")
        .await;
    assert_eq!(h.comments().len(), 1);
    assert_eq!(
        h.count_requests("POST /repos/acme/models/issues/1/comments"),
        2,
        "one 502, one retry"
    );
    assert_eq!(h.github.with(|s| s.check_runs.len()), 2);
    h.github.assert_no_problems();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bot_killed_mid_job_is_completed_by_reconcile() {
    let mut h = Harness::new().await;
    h.github
        .with(|s| s.slow_path = Some(("/pulls/1/reviews".to_owned(), Duration::from_secs(5))));
    h.start_bot(false).await;
    h.send_opened("d-1").await;
    h.kill_while_reviews_are_read().await;
    h.start_bot(true).await;
    h.expect_check_run("modelgate / evaluation", "success")
        .await;
    h.expect_check_run("modelgate / approvals", "action_required")
        .await;
    assert_eq!(h.comments().len(), 1);
    assert_eq!(
        h.github.with(|s| s.check_run_names()),
        ["modelgate / approvals", "modelgate / evaluation"],
        "one check run of each name"
    );
    h.github.assert_no_problems();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pull_request_changing_3000_files() {
    let mut h = Harness::new().await;
    let files: Vec<_> = (0..3000)
        .map(|i| write(&format!("data/shard-{i:04}.csv"), format!("x\n{i}\n")))
        .collect();
    h.push_head(&files);
    h.start_bot(false).await;
    h.send_opened("d-1").await;
    h.expect_check_run("modelgate / evaluation", "success")
        .await;
    let body = h.comments()[0].body.clone();
    assert!(body.contains("3001 file(s) changed"), "{body}");
    h.github.assert_no_problems();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merge_records_and_pushes_the_audit_note() {
    let mut h = Harness::new().await;
    let head = h.head_sha.clone();
    h.github.with(|s| {
        s.reviews.insert(
            1,
            vec![review(21, "bob", &head), review(22, "carol", &head)],
        );
    });
    // The merge lands on main in the origin repository.
    let merge = h.repo.commit(
        "main",
        None,
        &[write("models/m/metrics.json", "{\"auc\": 0.81}")],
    );
    h.github.with(|s| {
        if let Some(pull) = s.pulls.get_mut(&1) {
            pull["state"] = json!("closed");
            pull["merged"] = json!(true);
            pull["merge_commit_sha"] = json!(merge);
        }
    });
    h.start_bot(false).await;
    let mut closed = h.payload("pull_request/closed.payload.json", &h.head_sha);
    closed["pull_request"]["merged"] = json!(true);
    closed["pull_request"]["merge_commit_sha"] = json!(merge);
    h.send_webhook("pull_request", "d-merge", &closed).await;

    let origin = git2::Repository::open(h.repo.path()).expect("origin");
    let oid = git2::Oid::from_str(&merge).expect("sha");
    let mut note = None;
    for _ in 0..400 {
        if let Ok(found) = origin.find_note(Some("refs/notes/modelgate"), oid) {
            note = found.message().map(str::to_owned);
            break;
        }
        // The push is a git operation on the origin, not a request the fake sees.
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let note = note.expect("the audit note was pushed to the origin");
    let record: Value = serde_json::from_str(&note).expect("record");
    assert_eq!(record["schema"], "modelgate.audit/v1");
    assert_eq!(record["pr"], 1);
    assert_eq!(record["conclusion"], "pass");
    assert_eq!(record["approvers"].as_array().map(Vec::len), Some(2));
    let path = h.repo.path();
    let verify =
        crate::support::modelgate(&["audit", "verify", "--repo", path.to_str().expect("utf-8")]);
    assert_eq!(verify.code, 0, "{}", verify.stdout);
    h.github.assert_no_problems();
}

/// GitHub Enterprise Server serves the API under `/api/v3` and paginates with absolute
/// `Link` URLs; every page must carry the installation token. Only reviewers with write
/// access count, as in GitHub's required reviews.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_enterprise_server_every_page_is_authenticated_and_only_writers_approve() {
    let mut h = Harness::with(Credentials::App { installation: 1 }, "/api/v3").await;
    // The high tier also needs an approval from acme/model-risk, a team of 151 whose only
    // approver is on the second page of its members.
    h.with_high_tier(
        "approvals: 2, invalidate_on_push: true, teams: [acme/model-risk]",
        "0.81",
    );
    let mut members: Vec<String> = (0..150).map(|i| format!("member{i:03}")).collect();
    members.push("carol".to_owned());
    h.github.with(|s| {
        s.teams.insert("acme/model-risk".to_owned(), members);
    });
    let head = h.head_sha.clone();
    // 150 comment-only reviews first, so the approvals are on the second page of 100.
    let mut reviews: Vec<Value> = (0..150)
        .map(|i| {
            json!({"id": 1000 + i, "user": {"login": format!("reader{i}")}, "state": "COMMENTED",
                "commit_id": head, "submitted_at": "2026-03-01T09:00:00Z"})
        })
        .collect();
    reviews.push(review(1, "mallory", &head));
    reviews.push(review(2, "bob", &head));
    h.github.with(|s| {
        s.reviews.insert(1, reviews.clone());
    });
    h.start_bot(false).await;
    h.send_opened("d-1").await;
    h.expect_check_run("modelgate / approvals", "action_required")
        .await;
    let body = h.comments()[0].body.clone();
    assert!(
        body.contains("review by mallory ignored: mallory has `read` permission on the repository"),
        "{body}"
    );
    assert!(
        h.count_requests("GET /api/v3/repos/acme/models/pulls/1/reviews") >= 2,
        "both pages of reviews were read"
    );

    // A second writer approves: the requirement of two is met.
    reviews.push(review(3, "carol", &head));
    h.github.with(|s| {
        s.reviews.insert(1, reviews);
    });
    let submitted = h.payload("pull_request_review/submitted.payload.json", &h.head_sha);
    h.send_webhook("pull_request_review", "d-2", &submitted)
        .await;
    h.expect_check_run("modelgate / approvals", "success").await;
    assert!(h.count_requests("GET /api/v3/orgs/acme/teams/model-risk/members") >= 2);
    h.github.assert_no_problems();
}

/// A report far over GitHub's 65,535 bytes (emoji and `·` are several bytes each) still
/// gets both check runs: the fake refuses an output over the limit in bytes, as GitHub does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_200_model_report_gets_both_check_runs() {
    let mut h = Harness::new().await;
    h.with_high_tier(
        "approvals: 2, required_sections: [Intended use, Limitations, Evaluation data]",
        "0.81",
    );
    let cards: Vec<_> = (0..200)
        .map(|i| {
            write(
                &format!("models/m{i:03}/card.md"),
                crate::support::card("high", "", "# A model without the sections a card needs\n"),
            )
        })
        .collect();
    h.head_sha = h.repo.commit("pr-policy", None, &cards);
    h.github
        .open_pull(1, "ann", ("main", &h.main_sha), ("pr-policy", &h.head_sha));
    h.start_bot(false).await;
    h.send_opened("d-1").await;
    h.expect_check_run("modelgate / evaluation", "failure")
        .await;
    h.expect_check_run("modelgate / approvals", "action_required")
        .await;
    let (summary, text) = h.github.with(|s| {
        s.check_run("modelgate / evaluation")
            .map(|r| (r.summary.clone(), r.text.clone()))
            .unwrap_or_default()
    });
    for output in [&summary, &text] {
        assert!(
            output.len() <= 65_535 && output.chars().count() < output.len(),
            "{} bytes, {} characters",
            output.len(),
            output.chars().count()
        );
    }
    // The evidence of 200 models does not fit: sections were left out, and the text says so.
    assert!(text.contains("65,535-byte limit"), "{text}");
    h.github.assert_no_problems();
}

/// Only Apps may write check runs: with a personal token the verdict goes to commit
/// statuses, and reconcile counts those as the evaluation instead of re-posting them on
/// every pass.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_personal_token_statuses_carry_the_verdict_and_reconcile_leaves_them() {
    let mut h = Harness::with(Credentials::Token, "").await;
    h.start_bot(true).await;
    h.github
        .wait_until(WAIT, |s| s.statuses.len() == 2 && s.comments.len() == 1)
        .await;
    assert!(h.github.with(|s| s.check_runs.is_empty()));
    assert_eq!(h.comments()[0].user, crate::fake_github::BOT_LOGIN);

    // Killed once its job is done (a job killed before it is done runs again).
    h.wait_idle(h.port).await;
    h.kill_bot();
    let jobs_before = h.count_requests("GET /repos/acme/models/pulls/1");
    let looked_before = h.count_requests("GET /repos/acme/models/commits/");
    h.start_bot(true).await;
    let statuses_path = format!("GET /repos/acme/models/commits/{}/statuses", h.head_sha);
    h.github
        .wait_until(WAIT, move |s| {
            s.requests
                .iter()
                .filter(|r| r.starts_with(&statuses_path))
                .count()
                >= 2
        })
        .await;
    assert!(h.count_requests("GET /repos/acme/models/commits/") > looked_before);
    // A job would read the pull request first; give one the time to start.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        h.count_requests("GET /repos/acme/models/pulls/1"),
        jobs_before,
        "reconcile found the statuses and queued nothing"
    );
    assert_eq!(h.github.with(|s| s.statuses.len()), 2);
    h.github.assert_no_problems();
}

/// A suspended installation gets no token (403); reconcile goes on with the others. A
/// token is minted once per installation and reused until it nears expiry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_suspended_installation_does_not_stop_the_others_and_tokens_are_reused() {
    let mut h = Harness::with(Credentials::App { installation: 2 }, "").await;
    h.github.with(|s| {
        s.installations = vec![
            crate::fake_github::Installation {
                id: 1,
                suspended: true,
                repositories: vec!["other/suspended".to_owned()],
            },
            crate::fake_github::Installation {
                id: 2,
                suspended: false,
                repositories: Vec::new(),
            },
        ];
    });
    h.start_bot(true).await;
    h.expect_check_run("modelgate / evaluation", "success")
        .await;
    h.expect_check_run("modelgate / approvals", "action_required")
        .await;
    // A delivery after reconcile: a second job, with the same token.
    let synchronize = h.payload("pull_request/synchronize.payload.json", &h.head_sha);
    h.send_webhook("pull_request", "d-1", &synchronize).await;
    h.github
        .wait_until(WAIT, |s| {
            s.requests
                .iter()
                .filter(|r| r.starts_with("PATCH /repos/acme/models/check-runs/"))
                .count()
                >= 2
        })
        .await;
    assert_eq!(
        h.github.with(|s| s.tokens_minted.clone()),
        std::collections::BTreeMap::from([(2, 1)]),
        "one token for installation 2, none asked for the suspended one"
    );
    h.github.assert_no_problems();
}

/// GitHub's secondary rate limit is a 403 (or a 429) that names itself only in its message,
/// often without `retry-after`: it is waited out and retried, not read as a missing
/// permission (which would give up on the comment).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secondary_rate_limits_are_waited_out() {
    let mut h = Harness::new().await;
    h.env.push(("MODELGATE_RATE_LIMIT_WAIT", "0.2"));
    h.github.with(|s| {
        s.failures.push_back(Failure {
            message: "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
            ..Failure::new("POST", "/issues/1/comments", 403)
        });
        s.failures
            .push_back(Failure::new("POST", "/check-runs", 429));
    });
    h.start_bot(false).await;
    h.send_opened("d-1").await;
    h.expect_check_run("modelgate / evaluation", "success")
        .await;
    h.expect_check_run("modelgate / approvals", "action_required")
        .await;
    h.github.wait_until(WAIT, |s| s.comments.len() == 1).await;
    assert_eq!(
        h.count_requests("POST /repos/acme/models/issues/1/comments"),
        2,
        "refused once, then written"
    );
    assert_eq!(h.count_requests("POST /repos/acme/models/check-runs"), 3);
    h.github.assert_no_problems();
}

/// "Re-run" on a fork's pull request: GitHub's `check_run.rerequested` payload then has an
/// empty `pull_requests`; the pull request is found from the head commit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rerun_on_a_fork_pull_request_finds_it_from_the_head() {
    let mut h = Harness::new().await;
    h.start_bot(false).await;
    let mut rerun = h.payload("check_run/rerequested.payload.json", &h.head_sha);
    rerun["check_run"]["head_sha"] = json!(h.head_sha);
    rerun["check_run"]["pull_requests"] = json!([]);
    assert_eq!(
        h.send_webhook("check_run", "d-rerun", &rerun).await,
        reqwest::StatusCode::ACCEPTED
    );
    h.expect_check_run("modelgate / evaluation", "success")
        .await;
    h.expect_check_run("modelgate / approvals", "action_required")
        .await;
    h.github.assert_no_problems();
}

/// A pull request that cannot be evaluated (here a lineage cycle between two cards) gets a
/// failing evaluation naming the problem and a comment saying what to fix, and reconcile
/// does not queue it again and again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pull_request_that_cannot_be_evaluated_is_told_what_to_fix() {
    let mut h = Harness::new().await;
    h.push_head(&[
        write(
            "models/m/card.md",
            crate::support::card("high", "base_model: n\n", crate::support::FULL_BODY),
        ),
        write(
            "models/n/card.md",
            crate::support::card("high", "base_model: m\n", crate::support::FULL_BODY),
        ),
    ]);
    h.start_bot(true).await;
    h.expect_check_run("modelgate / evaluation", "failure")
        .await;
    h.expect_check_run("modelgate / approvals", "action_required")
        .await;
    let (title, summary) = h.github.with(|s| {
        s.check_run("modelgate / evaluation")
            .map(|r| (r.title.clone(), r.summary.clone()))
            .unwrap_or_default()
    });
    assert!(title.starts_with("Not evaluated: 1 problem(s)"), "{title}");
    assert!(
        summary.contains("lineage cycle through base_model"),
        "{summary}"
    );
    h.github.wait_until(WAIT, |s| s.comments.len() == 1).await;
    let body = h.comments()[0].body.clone();
    assert!(body.contains("modelgate: NOT EVALUATED"), "{body}");
    assert!(
        body.contains("lineage cycle through base_model: "),
        "{body}"
    );
    h.github.assert_no_problems();
}

/// GitHub may answer a write with a 5xx after doing it. A retried creation looks first for
/// what the failed attempt created: one comment, one check run of each name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_that_failed_after_it_was_done_is_not_repeated() {
    let mut h = Harness::new().await;
    h.github.with(|s| {
        for path in ["/issues/1/comments", "/check-runs"] {
            s.failures.push_back(Failure {
                after_write: true,
                ..Failure::new("POST", path, 502)
            });
        }
    });
    h.start_bot(false).await;
    h.send_opened("d-1").await;
    h.expect_check_run("modelgate / evaluation", "success")
        .await;
    h.expect_check_run("modelgate / approvals", "action_required")
        .await;
    h.assert_posted_once();
    h.github.assert_no_problems();
}

/// A delivery whose job failed is processed again when GitHub redelivers it (the same
/// delivery id); one that succeeded stays a duplicate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redelivery_after_a_failed_job_is_processed_again() {
    let mut h = Harness::new().await;
    h.github
        .with(|s| s.failures.push_back(Failure::new("GET", "/pulls/1", 404)));
    h.start_bot(false).await;
    assert_eq!(h.send_opened("d-1").await, reqwest::StatusCode::ACCEPTED);
    h.github
        .wait_until(WAIT, |s| {
            s.requests
                .iter()
                .any(|r| r == "GET /repos/acme/models/pulls/1")
        })
        .await;
    // The job failed; its delivery is forgotten once the worker is done with it.
    let mut status = reqwest::StatusCode::OK;
    for _ in 0..200 {
        status = h.send_opened("d-1").await;
        if status == reqwest::StatusCode::ACCEPTED {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(status, reqwest::StatusCode::ACCEPTED, "redelivery queued");
    h.expect_check_run("modelgate / evaluation", "success")
        .await;
    h.expect_check_run("modelgate / approvals", "action_required")
        .await;
    assert_eq!(
        h.send_opened("d-1").await,
        reqwest::StatusCode::OK,
        "a delivery whose job succeeded is a duplicate"
    );
    h.github.assert_no_problems();
}

/// Independent review looks at every commit's author: past the 250 commits GitHub lists for
/// a pull request, through the compare API.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn independence_sees_authors_beyond_250_commits() {
    let mut h = Harness::new().await;
    h.with_high_tier("approvals: 1, independent: true", "0.81");
    let commits: Vec<Value> = (0..300)
        .map(|i| {
            let login = if i == 280 { "bob" } else { "ann" };
            json!({"sha": format!("{i:040x}"), "author": {"login": login}, "committer": {"login": "web-flow"}})
        })
        .collect();
    let head = h.head_sha.clone();
    h.github.with(|s| {
        s.pr_commits.insert(1, commits);
        s.reviews.insert(1, vec![review(1, "bob", &head)]);
    });
    h.start_bot(false).await;
    h.send_opened("d-1").await;
    h.expect_check_run("modelgate / approvals", "action_required")
        .await;
    let body = h.comments()[0].body.clone();
    assert!(
        body.contains("approval by bob ignored: tier high needs independent review and bob is an author of a commit in the pull request"),
        "{body}"
    );
    h.github.assert_no_problems();
}

/// A risk acceptance made before the head was pushed is void. When the head was pushed comes
/// from GitHub (here the repository's activity, as reconcile has no delivery), never from the
/// committer date, which the pusher sets (here two months before the acceptance).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_after_a_risk_acceptance_voids_it_whatever_the_commit_date() {
    let mut h = Harness::new().await;
    h.with_high_tier("approvals: 1, teams: [acme/model-risk]", "0.70");
    let head = h.head_sha.clone();
    h.github.with(|s| {
        s.teams
            .insert("acme/model-risk".to_owned(), vec!["gil".to_owned()]);
        // The fake dates every comment 2026-03-01T10:00:00Z.
        s.add_person_comment(500, "gil", "/modelgate accept-risk a seasonal dip");
        s.activity
            .push(json!({"id": 1, "before": "0".repeat(40), "after": head,
            "ref": "refs/heads/pr-policy", "timestamp": "2026-03-02T08:00:00Z",
            "activity_type": "push", "actor": {"login": "ann"}}));
    });
    h.start_bot(true).await;
    h.expect_check_run("modelgate / evaluation", "failure")
        .await;
    h.github.wait_until(WAIT, |s| s.comments.len() == 2).await;
    let body = h.comments()[1].body.clone();
    assert!(
        body.contains("accept-risk by gil (comment 500) ignored: it predates the head commit"),
        "{body}"
    );
    h.github.assert_no_problems();
}

/// A renamed repository: GitHub answers its old API URLs with 301 (reads) and 307 (writes);
/// modelgate follows them within the API.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renamed_repository_is_followed() {
    let mut h = Harness::with(Credentials::Token, "").await;
    h.repositories = crate::fake_github::OLD_REPO;
    h.start_bot(true).await;
    h.github
        .wait_until(WAIT, |s| s.statuses.len() == 2 && s.comments.len() == 1)
        .await;
    assert!(h.count_requests("GET /repos/acme/old-models/pulls") >= 1);
    assert!(h.count_requests("POST /repos/acme/old-models/") >= 1);
    h.github.assert_no_problems();
}

/// A review whose delivery was lost: reconcile sees that the approvals verdict was judged on
/// other reviews than GitHub has now, and evaluates again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_renews_an_approvals_verdict_a_lost_review_left_stale() {
    let mut h = Harness::new().await;
    h.start_bot(false).await;
    h.send_opened("d-1").await;
    h.expect_check_run("modelgate / approvals", "action_required")
        .await;
    h.kill_bot();
    let head = h.head_sha.clone();
    h.github.with(|s| {
        s.reviews.insert(
            1,
            vec![review(31, "bob", &head), review(32, "carol", &head)],
        );
    });
    h.start_bot(true).await;
    h.expect_check_run("modelgate / approvals", "success").await;
    assert_eq!(
        h.github.with(|s| s.check_runs.len()),
        2,
        "updated, not added"
    );
    h.github.assert_no_problems();
}

/// The queue is a file: deliveries stored before a restart are evaluated after it, the one
/// that was running and the one still waiting, without a reconcile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_bot_loses_no_queued_delivery() {
    let mut h = Harness::new().await;
    h.github.open_pull(
        2,
        "ann",
        ("main", &h.main_sha.clone()),
        ("pr", &h.head_sha.clone()),
    );
    h.env.push(("MODELGATE_WORKERS", "1"));
    h.github
        .with(|s| s.slow_path = Some(("/pulls/1/reviews".to_owned(), Duration::from_secs(5))));
    h.start_bot(false).await;
    assert_eq!(h.send_opened("d-1").await, reqwest::StatusCode::ACCEPTED);
    let mut second = h.payload("pull_request/opened.payload.json", &h.head_sha);
    second["pull_request"]["number"] = json!(2);
    second["number"] = json!(2);
    assert_eq!(
        h.send_webhook("pull_request", "d-2", &second).await,
        reqwest::StatusCode::ACCEPTED
    );
    h.kill_while_reviews_are_read().await;
    h.start_bot(false).await;
    h.github
        .wait_until(WAIT, |s| {
            let mut issues: Vec<u64> = s.comments.iter().map(|c| c.issue).collect();
            issues.sort();
            issues == [1, 2]
        })
        .await;
    h.github.assert_no_problems();
}

/// /metrics of the bot on `port`.
async fn metrics_of(client: &reqwest::Client, port: u16) -> String {
    client
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text")
}

/// A job that keeps failing is retried after a backoff stored with it (a restart between the
/// attempts keeps the count), then stops with its error posted: the pull request is told it
/// was not evaluated, and passes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_that_keeps_failing_is_retried_then_its_error_posted() {
    let mut h = Harness::new().await;
    h.env.push(("MODELGATE_MAX_ATTEMPTS", "2"));
    h.env.push(("MODELGATE_RETRY_SECONDS", "2"));
    h.github.with(|s| {
        for _ in 0..2 {
            s.failures
                .push_back(Failure::new("GET", "/pulls/1/reviews", 404));
        }
    });
    h.start_bot(false).await;
    assert_eq!(h.send_opened("d-1").await, reqwest::StatusCode::ACCEPTED);
    let mut retried = false;
    for _ in 0..400 {
        if metrics_of(&h.client, h.port)
            .await
            .contains("\nmodelgate_job_retries_total 1\n")
        {
            retried = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(retried, "the first attempt failed and was queued again");
    let first_failed = std::time::Instant::now();
    h.kill_bot();
    h.start_bot(false).await;
    h.expect_check_run("modelgate / evaluation", "failure")
        .await;
    assert!(
        first_failed.elapsed() >= Duration::from_secs(2),
        "the second attempt waited out its backoff"
    );
    h.expect_check_run("modelgate / approvals", "action_required")
        .await;
    let (title, summary) = h.github.with(|s| {
        s.check_run("modelgate / evaluation")
            .map(|r| (r.title.clone(), r.summary.clone()))
            .unwrap_or_default()
    });
    assert_eq!(title, "Not evaluated: modelgate failed 2 time(s)");
    assert!(
        summary.contains("/pulls/1/reviews?per_page=100: not found"),
        "{summary}"
    );
    h.github.wait_until(WAIT, |s| s.comments.len() == 1).await;
    let body = h.comments()[0].body.clone();
    assert!(body.contains("modelgate: NOT EVALUATED"), "{body}");
    assert!(
        body.contains("/pulls/1/reviews?per_page=100: not found"),
        "{body}"
    );
    // No third attempt: its backoff (4 s) would have passed.
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(
        h.count_requests("GET /repos/acme/models/pulls/1/reviews"),
        2,
        "two attempts, then the job stops"
    );
    h.github.assert_no_problems();
}

/// Two replicas on one PostgreSQL queue (GitHub sends an App's deliveries to one URL, and a
/// load balancer picks a replica), the same delivery sent to both at once: stored once,
/// evaluated once, one comment and one check run of each name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_process_a_delivery_sent_to_both_once() {
    let Some(database) = crate::support::postgres_database().await else {
        return;
    };
    let mut h = Harness::new().await;
    h.database_url = Some(database);
    h.start_bot(false).await;
    let other = h.start_replica().await;
    let opened = h.payload("pull_request/opened.payload.json", &h.head_sha);
    let (first, second) = tokio::join!(
        h.send_to(h.port, "pull_request", "d-1", &opened, SECRET),
        h.send_to(other.port, "pull_request", "d-1", &opened, SECRET),
    );
    let mut statuses = [first.as_u16(), second.as_u16()];
    statuses.sort();
    assert_eq!(
        statuses,
        [200, 202],
        "stored once; the other is a duplicate"
    );
    h.expect_check_run("modelgate / evaluation", "success")
        .await;
    h.expect_check_run("modelgate / approvals", "action_required")
        .await;
    h.wait_idle(h.port).await;
    h.wait_idle(other.port).await;
    assert_eq!(
        h.count_requests("GET /repos/acme/models/pulls/1/reviews"),
        1,
        "evaluated once"
    );
    h.assert_posted_once();
    h.github.assert_no_problems();
}

/// Pushes in quick succession, their deliveries spread over two replicas: one worker at a
/// time on the pull request, the last head evaluated, one comment (edited), and at most one
/// check run of each name on every head.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_pushes_over_two_replicas_ends_on_the_last_head() {
    let Some(database) = crate::support::postgres_database().await else {
        return;
    };
    let mut h = Harness::new().await;
    h.database_url = Some(database);
    h.start_bot(false).await;
    let other = h.start_replica().await;
    let mut heads = vec![h.head_sha.clone()];
    assert_eq!(h.send_opened("d-0").await, reqwest::StatusCode::ACCEPTED);
    for push in 1..=6 {
        h.push_head(&[write(
            "models/m/metrics.json",
            format!("{{\"auc\": 0.8{push}5}}"),
        )]);
        heads.push(h.head_sha.clone());
        let synchronize = h.payload("pull_request/synchronize.payload.json", &h.head_sha);
        let port = if push % 2 == 0 { h.port } else { other.port };
        assert_eq!(
            h.send_to(
                port,
                "pull_request",
                &format!("d-{push}"),
                &synchronize,
                SECRET
            )
            .await,
            reqwest::StatusCode::ACCEPTED
        );
    }
    h.expect_check_run("modelgate / evaluation", "success")
        .await;
    h.expect_check_run("modelgate / approvals", "action_required")
        .await;
    h.wait_idle(h.port).await;
    h.wait_idle(other.port).await;
    let comments = h.comments();
    assert_eq!(comments.len(), 1, "one comment, edited");
    assert!(comments[0].body.contains("0.865"), "{}", comments[0].body);
    let runs = h.github.with(|s| s.check_runs.clone());
    for head in &heads {
        for name in ["modelgate / evaluation", "modelgate / approvals"] {
            let count = runs
                .iter()
                .filter(|r| &r.head_sha == head && r.name == name)
                .count();
            let expected = if head == &h.head_sha { 1..=1 } else { 0..=1 };
            assert!(
                expected.contains(&count),
                "{count} check run(s) {name} on {head}"
            );
        }
    }
    h.github.assert_no_problems();
}

/// SIGKILL of the replica working on a job: its lease runs out and the other replica
/// finishes the job within the lease time, posting nothing twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_killed_mid_job_is_relieved_within_the_lease() {
    let Some(database) = crate::support::postgres_database().await else {
        return;
    };
    const LEASE_SECONDS: u64 = 3;
    let mut h = Harness::new().await;
    h.database_url = Some(database);
    h.env.push(("MODELGATE_LEASE_SECONDS", "3"));
    h.github
        .with(|s| s.slow_path = Some(("/pulls/1/reviews".to_owned(), Duration::from_secs(60))));
    h.start_bot(false).await;
    assert_eq!(h.send_opened("d-1").await, reqwest::StatusCode::ACCEPTED);
    h.github
        .wait_until(WAIT, |s| {
            s.requests.iter().any(|r| r.ends_with("/pulls/1/reviews"))
        })
        .await;
    // The other replica starts while the first holds the job's lease.
    let other = h.start_replica().await;
    h.kill_while_reviews_are_read().await;
    let killed = std::time::Instant::now();
    h.expect_check_run("modelgate / evaluation", "success")
        .await;
    h.expect_check_run("modelgate / approvals", "action_required")
        .await;
    // The lease, plus the few seconds the evaluation itself takes.
    let finished = killed.elapsed();
    assert!(
        finished < Duration::from_secs(LEASE_SECONDS + 5),
        "finished {finished:?} after the kill"
    );
    assert!(
        metrics_of(&h.client, other.port)
            .await
            .contains("\nmodelgate_lease_expiries_total 1\n"),
        "the other replica took the job over"
    );
    assert_eq!(h.comments().len(), 1);
    assert_eq!(
        h.github.with(|s| s.check_run_names()),
        ["modelgate / approvals", "modelgate / evaluation"]
    );
    h.github.assert_no_problems();
}
