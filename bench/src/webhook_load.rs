//! Benchmark of `modelgate serve`: webhook acknowledgement latency under a steady load, the
//! time from a delivery to the posted comment, and, after the load, that nothing was lost or
//! written twice.
//!
//!     cargo build --release --workspace
//!     target/release/webhook-bench [RATE] [SECONDS]                     # one replica, SQLite
//!     url=$(scripts/test-postgres.sh start /tmp/bench-pg)
//!     target/release/webhook-bench [RATE] [SECONDS] --replicas 2 --postgres "$url"
//!
//! It starts a fake GitHub API on loopback (wiremock) that keeps comments and check runs as
//! GitHub does, REPLICAS real `modelgate serve` processes (the binary beside this benchmark)
//! and a repository with one model and one pull request. With `--postgres ADMIN_URL` the
//! replicas share a new database on that server; without it the one replica keeps its queue
//! in SQLite. The load is open-loop: deliveries are sent at RATE per second (default 500) for
//! SECONDS (default 30), in turn to each replica as a load balancer would, each a signed
//! `pull_request` delivery for one of 50 pull requests, so the bots queue real jobs while
//! they acknowledge; latencies are client-side, from send to response. Then it waits for the
//! queue to drain and counts deliveries not stored as done (lost), and pull requests with
//! more than one comment or commits with more than one check run of a name (duplicates).

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use modelgate_core::scenario::{FileChange, RepoWriter};
use serde_json::{Value, json};
use sqlx::{Connection, Executor, Row};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const SECRET: &str = "bench-secret";
const PULLS: u64 = 50;
const LOGIN: &str = "modelgate-bot";

/// What the fake GitHub holds: comments (id, issue, body) and check runs (id, head, name),
/// and when each comment was first posted.
#[derive(Default)]
struct Written {
    comments: Vec<(u64, u64, String)>,
    check_runs: Vec<(u64, String, String)>,
    posted: Vec<(u64, Instant)>,
    next_id: u64,
}

/// Answers the routes a job uses, keeping what it writes as GitHub would, so that the bot
/// finds and edits its own comment and check runs and a duplicate shows.
struct FakeGitHub {
    main: String,
    head: String,
    written: Arc<Mutex<Written>>,
}

impl Respond for FakeGitHub {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let path = request.url.path();
        let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let ok = |v: Value| ResponseTemplate::new(200).set_body_json(v);
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        let Ok(mut written) = self.written.lock() else {
            return ResponseTemplate::new(500);
        };
        match (request.method.as_str(), parts.as_slice()) {
            ("GET", ["user"]) => ok(json!({"login": LOGIN})),
            ("GET", ["repos", _, _, "pulls", n]) => ok(json!({
                "number": n.parse::<u64>().unwrap_or(1), "state": "open", "html_url": "https://github.com/acme/models/pull/1",
                "user": {"login": "ann"}, "head": {"ref": "pr", "sha": self.head}, "base": {"ref": "main", "sha": self.main},
            })),
            ("GET", ["repos", _, _, "issues", n, "comments"]) => {
                let issue = n.parse::<u64>().unwrap_or(0);
                let listed: Vec<Value> = written
                    .comments
                    .iter()
                    .filter(|(_, on, _)| *on == issue)
                    .map(|(id, _, body)| json!({"id": id, "user": {"login": LOGIN, "type": "User"}, "body": body}))
                    .collect();
                ok(Value::Array(listed))
            }
            ("POST", ["repos", _, _, "issues", n, "comments"]) => {
                let issue = n.parse::<u64>().unwrap_or(0);
                written.next_id += 1;
                let id = written.next_id;
                let text = body["body"].as_str().unwrap_or_default().to_owned();
                written.comments.push((id, issue, text.clone()));
                written.posted.push((issue, Instant::now()));
                ResponseTemplate::new(201).set_body_json(
                    json!({"id": id, "user": {"login": LOGIN, "type": "User"}, "body": text}),
                )
            }
            ("PATCH", ["repos", _, _, "issues", "comments", id]) => {
                let id = id.parse::<u64>().unwrap_or(0);
                let text = body["body"].as_str().unwrap_or_default().to_owned();
                match written
                    .comments
                    .iter_mut()
                    .find(|(found, _, _)| *found == id)
                {
                    Some(comment) => {
                        comment.2 = text;
                        ok(json!({"id": id}))
                    }
                    None => ResponseTemplate::new(404),
                }
            }
            ("GET", ["repos", _, _, "commits", sha, "check-runs"]) => {
                let runs: Vec<Value> = written
                    .check_runs
                    .iter()
                    .filter(|(_, head, _)| head == sha)
                    .map(|(id, _, name)| json!({"id": id, "name": name, "app": null}))
                    .collect();
                ok(json!({"total_count": runs.len(), "check_runs": runs}))
            }
            ("POST", ["repos", _, _, "check-runs"]) => {
                written.next_id += 1;
                let id = written.next_id;
                let head = body["head_sha"].as_str().unwrap_or_default().to_owned();
                let name = body["name"].as_str().unwrap_or_default().to_owned();
                written.check_runs.push((id, head, name));
                ResponseTemplate::new(201).set_body_json(json!({"id": id}))
            }
            ("PATCH", ["repos", _, _, "check-runs", _]) => ok(json!({})),
            ("GET", _) => ok(json!([])),
            _ => ResponseTemplate::new(404),
        }
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let index = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

fn payload(clone_url: &str, number: u64, head: &str) -> Vec<u8> {
    let value = json!({
        "action": "labeled", "number": number,
        "pull_request": {"number": number, "head": {"sha": head}, "merged": false, "merge_commit_sha": null},
        "repository": {"full_name": "acme/models", "clone_url": clone_url},
    });
    serde_json::to_vec(&value).unwrap_or_default()
}

struct Bot(Child);

impl Drop for Bot {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The command line: `[RATE] [SECONDS] [--replicas N] [--postgres ADMIN_URL]`.
struct Options {
    rate: u64,
    seconds: u64,
    replicas: usize,
    postgres: Option<String>,
}

impl Options {
    fn parse() -> anyhow::Result<Options> {
        let mut options = Options {
            rate: 500,
            seconds: 30,
            replicas: 1,
            postgres: None,
        };
        let mut positional = 0;
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--replicas" => {
                    let value = args.next().context("--replicas needs a number")?;
                    options.replicas = value
                        .parse()
                        .with_context(|| format!("--replicas {value}: expected a number"))?;
                }
                "--postgres" => {
                    options.postgres = Some(args.next().context("--postgres needs a server's URL")?)
                }
                number if positional < 2 => {
                    let value = number.parse().with_context(|| {
                        format!("{number}: expected RATE and SECONDS as numbers")
                    })?;
                    if positional == 0 {
                        options.rate = value;
                    } else {
                        options.seconds = value;
                    }
                    positional += 1;
                }
                other => bail!(
                    "unexpected argument {other}; usage: webhook-bench [RATE] [SECONDS] [--replicas N] [--postgres ADMIN_URL]"
                ),
            }
        }
        if options.replicas == 0 || options.rate == 0 {
            bail!("--replicas and RATE must be at least 1");
        }
        if options.replicas > 1 && options.postgres.is_none() {
            bail!(
                "replicas share a PostgreSQL queue: add --postgres ADMIN_URL (scripts/test-postgres.sh start DIR prints one)"
            );
        }
        Ok(options)
    }
}

/// A new database on the server at `admin`, and its URL.
async fn new_postgres_database(admin: &str) -> anyhow::Result<String> {
    let name = format!("modelgate_bench_{}", std::process::id());
    let mut connection = sqlx::AnyConnection::connect(admin)
        .await
        .with_context(|| format!("connecting to PostgreSQL at {admin}"))?;
    connection
        .execute(format!("DROP DATABASE IF EXISTS {name}").as_str())
        .await?;
    connection
        .execute(format!("CREATE DATABASE {name}").as_str())
        .await?;
    let base = admin.rsplit_once('/').map_or(admin, |(base, _)| base);
    Ok(format!("{base}/{name}"))
}

/// Waits until `url` answers 200.
async fn wait_ready(client: &reqwest::Client, url: &str) -> anyhow::Result<()> {
    for _ in 0..400 {
        if let Ok(response) = client.get(url).send().await
            && response.status().is_success()
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    bail!("{url} did not answer within 10 s")
}

/// Waits until no replica has a job queued or running (the queue depth is the database's).
async fn wait_drained(client: &reqwest::Client, ports: &[u16]) -> anyhow::Result<Duration> {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(300) {
        let mut idle = true;
        for port in ports {
            let text = client
                .get(format!("http://127.0.0.1:{port}/metrics"))
                .send()
                .await?
                .text()
                .await?;
            idle &= text.contains("\nmodelgate_jobs_queued 0\n")
                && text.contains("\nmodelgate_jobs_running 0\n");
        }
        if idle {
            return Ok(started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("the queue did not drain within 300 s")
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let options = Options::parse()?;
    let modelgate = std::env::current_exe()?
        .parent()
        .map(|dir| dir.join("modelgate"))
        .filter(|path| path.exists())
        .context("modelgate binary not found beside webhook-bench; run `cargo build --release --workspace` first")?;
    sqlx::any::install_default_drivers();

    let work = tempfile::tempdir()?;
    let repo_path = work.path().join("origin.git");
    let mut writer = RepoWriter::init(&repo_path, true)?;
    let card = "---\nowners: [\"@acme/ml\"]\ngovernance:\n  risk_tier: low\n---\n# m\n\n## Intended use\n\nx\n";
    let main = writer.commit(
        "main",
        None,
        "baseline",
        &[
            FileChange::write("models/m/card.md", card),
            FileChange::write("models/m/metrics.json", "{\"auc\": 0.8}"),
        ],
    )?;
    let head = writer.commit(
        "pr",
        Some("main"),
        "retrain",
        &[FileChange::write(
            "models/m/metrics.json",
            "{\"auc\": 0.81}",
        )],
    )?;
    let clone_url = repo_path.display().to_string();

    let written = Arc::new(Mutex::new(Written::default()));
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(FakeGitHub {
            main: main.to_string(),
            head: head.to_string(),
            written: written.clone(),
        })
        .mount(&server)
        .await;

    let (database, database_name) = match &options.postgres {
        Some(admin) => (new_postgres_database(admin).await?, "PostgreSQL"),
        None => (
            format!(
                "sqlite://{}",
                work.path().join("cache-0/modelgate.db").display()
            ),
            "SQLite",
        ),
    };
    let client = reqwest::Client::new();
    let mut bots = Vec::new();
    let mut ports = Vec::new();
    for replica in 0..options.replicas {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        bots.push(Bot(Command::new(&modelgate)
            .arg("serve")
            .env("MODELGATE_LISTEN", format!("127.0.0.1:{port}"))
            .env("MODELGATE_WEBHOOK_SECRET", SECRET)
            .env("MODELGATE_GITHUB_TOKEN", "bench")
            .env("MODELGATE_API_URL", server.uri())
            .env(
                "MODELGATE_CACHE_DIR",
                work.path().join(format!("cache-{replica}")),
            )
            .env("MODELGATE_DATABASE_URL", &database)
            .env("MODELGATE_LOG", "error")
            .stdout(Stdio::null())
            .spawn()?));
        wait_ready(&client, &format!("http://127.0.0.1:{port}/readyz")).await?;
        ports.push(port);
    }
    let urls: Vec<String> = ports
        .iter()
        .map(|port| format!("http://127.0.0.1:{port}/webhook"))
        .collect();

    // Delivery to comment, on idle bots: five pull requests, one at a time.
    let mut to_comment = Vec::new();
    for number in 1..=5u64 {
        let body = payload(&clone_url, number, &head.to_string());
        let started = Instant::now();
        let url = &urls[number as usize % urls.len()];
        send(
            &client,
            url,
            "pull_request",
            &format!("first-{number}"),
            body,
        )
        .await?;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some((_, at)) = written
                .lock()
                .ok()
                .and_then(|w| w.posted.iter().find(|(n, _)| *n == number).copied())
            {
                to_comment.push(at.duration_since(started));
                break;
            }
            if Instant::now() > deadline {
                bail!("no comment for pull request {number} within 30 s");
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    to_comment.sort();
    println!(
        "delivery to comment: median {:.1} ms (5 pull requests, idle bots)",
        to_comment[2].as_secs_f64() * 1000.0
    );

    // Acknowledgement latency under load, the deliveries dealt to the replicas in turn.
    let (rate, seconds) = (options.rate, options.seconds);
    let total = rate * seconds;
    let interval = Duration::from_secs_f64(1.0 / rate as f64);
    let latencies = Arc::new(Mutex::new(Vec::with_capacity(total as usize)));
    let errors = Arc::new(Mutex::new(0u64));
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut tasks = Vec::with_capacity(total as usize);
    let started = Instant::now();
    for index in 0..total {
        ticker.tick().await;
        let (client, url, latencies, errors) = (
            client.clone(),
            urls[index as usize % urls.len()].clone(),
            latencies.clone(),
            errors.clone(),
        );
        let body = payload(&clone_url, 10 + index % PULLS, &head.to_string());
        tasks.push(tokio::spawn(async move {
            let sent = Instant::now();
            let offset = sent.duration_since(started);
            let outcome = send(
                &client,
                &url,
                "pull_request",
                &format!("load-{index}"),
                body,
            )
            .await;
            let elapsed = sent.elapsed();
            match outcome {
                Ok(()) => latencies
                    .lock()
                    .map(|mut l| l.push((offset, elapsed)))
                    .unwrap_or(()),
                Err(_) => errors.lock().map(|mut e| *e += 1).unwrap_or(()),
            }
        }));
    }
    for task in tasks {
        let _ = task.await;
    }
    let wall = started.elapsed();
    let timed = latencies.lock().map(|l| l.clone()).unwrap_or_default();
    let mut latencies: Vec<Duration> = timed.iter().map(|(_, l)| *l).collect();
    latencies.sort();
    let errors = errors.lock().map(|e| *e).unwrap_or(0);
    println!(
        "acknowledgement at {rate}/s for {seconds} s over {} replica(s) on {database_name}: {} deliveries in {:.1} s, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms, {errors} error(s)",
        options.replicas,
        latencies.len(),
        wall.as_secs_f64(),
        percentile(&latencies, 0.50).as_secs_f64() * 1000.0,
        percentile(&latencies, 0.99).as_secs_f64() * 1000.0,
        latencies.last().copied().unwrap_or_default().as_secs_f64() * 1000.0,
    );

    // Per five seconds: a latency that climbs through the run is a cost that grows with
    // the tables (a scan), not the machine's noise.
    for window in 0..seconds.div_ceil(5) {
        let mut part: Vec<Duration> = timed
            .iter()
            .filter(|(at, _)| at.as_secs() / 5 == window)
            .map(|(_, l)| *l)
            .collect();
        part.sort();
        println!(
            "  {}-{} s: p50 {:.2} ms, p99 {:.2} ms",
            window * 5,
            window * 5 + 5,
            percentile(&part, 0.5).as_secs_f64() * 1000.0,
            percentile(&part, 0.99).as_secs_f64() * 1000.0
        );
    }

    // Nothing lost, nothing twice: every delivery stored and done, one comment per pull
    // request, at most one check run of each name per commit.
    let drained = wait_drained(&client, &ports).await?;
    let mut database = sqlx::AnyConnection::connect(&database).await?;
    let done: i64 = sqlx::query(
        "SELECT COUNT(*) FROM deliveries WHERE delivery_id LIKE 'load-%' AND state = 'done'",
    )
    .fetch_one(&mut database)
    .await?
    .try_get(0)?;
    let lost = total.saturating_sub(u64::try_from(done).unwrap_or(0));
    let written = written
        .lock()
        .map_err(|_| anyhow::anyhow!("fake GitHub poisoned"))?;
    let mut comments_per_pull = BTreeMap::<u64, usize>::new();
    for (_, issue, _) in &written.comments {
        *comments_per_pull.entry(*issue).or_default() += 1;
    }
    let mut runs_per_name = BTreeMap::<(&str, &str), usize>::new();
    for (_, head, name) in &written.check_runs {
        *runs_per_name.entry((head, name)).or_default() += 1;
    }
    let duplicate_comments: usize = comments_per_pull.values().map(|n| n - 1).sum();
    let duplicate_runs: usize = runs_per_name.values().map(|n| n - 1).sum();
    let uncommented = (10..10 + PULLS.min(total))
        .filter(|n| !comments_per_pull.contains_key(n))
        .count();
    println!(
        "after the load: drained in {:.1} s; {lost} delivery(ies) lost (of {total}), {uncommented} pull request(s) without a comment, {duplicate_comments} duplicate comment(s), {duplicate_runs} duplicate check run(s)",
        drained.as_secs_f64()
    );
    if lost + uncommented as u64 + duplicate_comments as u64 + duplicate_runs as u64 > 0 {
        bail!("deliveries were lost or written twice");
    }
    Ok(())
}

async fn send(
    client: &reqwest::Client,
    url: &str,
    event: &str,
    delivery: &str,
    body: Vec<u8>,
) -> anyhow::Result<()> {
    let signature = modelgate_bot::signature::sign(SECRET, &body);
    let response = client
        .post(url)
        .header("X-GitHub-Event", event)
        .header("X-GitHub-Delivery", delivery)
        .header("X-GitHub-Hook-ID", "1")
        .header("X-Hub-Signature-256", signature)
        .body(body)
        .send()
        .await?;
    if !response.status().is_success() {
        bail!("delivery answered {}", response.status());
    }
    Ok(())
}
