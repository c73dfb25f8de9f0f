//! Benchmark of `modelgate serve`: webhook acknowledgement latency under a steady load, and
//! the time from a delivery to the posted comment.
//!
//!     cargo build --release --workspace && target/release/webhook-bench [RATE] [SECONDS]
//!
//! It starts a fake GitHub API on loopback (wiremock), the real `modelgate serve` binary
//! beside this benchmark, and a repository with one model and one pull request. The load is
//! open-loop: deliveries are sent at RATE per second (default 500) for SECONDS (default 30),
//! each a signed `pull_request` delivery for one of 50 pull requests, so the bot queues real
//! jobs while it acknowledges; latencies are client-side, from send to response.

use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use modelgate_core::scenario::{FileChange, RepoWriter};
use serde_json::{Value, json};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const SECRET: &str = "bench-secret";
const PULLS: u64 = 50;

/// Answers the few routes a job uses, and notes when each comment is posted.
struct FakeGitHub {
    main: String,
    head: String,
    posted: Arc<Mutex<Vec<(u64, Instant)>>>,
}

impl Respond for FakeGitHub {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let path = request.url.path();
        let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let ok = |v: Value| ResponseTemplate::new(200).set_body_json(v);
        match (request.method.as_str(), parts.as_slice()) {
            ("GET", ["user"]) => ok(json!({"login": "modelgate-bot"})),
            ("GET", ["repos", _, _, "pulls", n]) => ok(json!({
                "number": n.parse::<u64>().unwrap_or(1), "state": "open", "html_url": "https://github.com/acme/models/pull/1",
                "user": {"login": "ann"}, "head": {"ref": "pr", "sha": self.head}, "base": {"ref": "main", "sha": self.main},
            })),
            ("GET", ["repos", _, _, "commits", _, "check-runs"]) => {
                ok(json!({"total_count": 0, "check_runs": []}))
            }
            ("GET", _) => ok(json!([])),
            ("POST", ["repos", _, _, "issues", n, "comments"]) => {
                if let Ok(mut posted) = self.posted.lock() {
                    posted.push((n.parse().unwrap_or(0), Instant::now()));
                }
                ResponseTemplate::new(201).set_body_json(json!({"id": 1}))
            }
            ("POST", _) | ("PATCH", _) => {
                ResponseTemplate::new(201).set_body_json(json!({"id": 1}))
            }
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

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let rate: u64 = args.next().map(|a| a.parse()).transpose()?.unwrap_or(500);
    let seconds: u64 = args.next().map(|a| a.parse()).transpose()?.unwrap_or(30);
    let modelgate = std::env::current_exe()?
        .parent()
        .map(|dir| dir.join("modelgate"))
        .filter(|path| path.exists())
        .context("modelgate binary not found beside webhook-bench; run `cargo build --release --workspace` first")?;

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

    let posted = Arc::new(Mutex::new(Vec::new()));
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(FakeGitHub {
            main: main.to_string(),
            head: head.to_string(),
            posted: posted.clone(),
        })
        .mount(&server)
        .await;

    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let _bot = Bot(Command::new(&modelgate)
        .arg("serve")
        .env("MODELGATE_LISTEN", format!("127.0.0.1:{port}"))
        .env("MODELGATE_WEBHOOK_SECRET", SECRET)
        .env("MODELGATE_GITHUB_TOKEN", "bench")
        .env("MODELGATE_API_URL", server.uri())
        .env("MODELGATE_CACHE_DIR", work.path().join("cache"))
        .env("MODELGATE_LOG", "error")
        .stdout(Stdio::null())
        .spawn()?);
    let client = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}/webhook");
    let mut healthy = false;
    for _ in 0..400 {
        if client
            .get(format!("http://127.0.0.1:{port}/healthz"))
            .send()
            .await
            .is_ok()
        {
            healthy = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    if !healthy {
        bail!("modelgate serve did not start");
    }

    // Delivery to comment, on an idle bot: five pull requests, one at a time.
    let mut to_comment = Vec::new();
    for number in 1..=5u64 {
        let body = payload(&clone_url, number, &head.to_string());
        let started = Instant::now();
        send(
            &client,
            &url,
            "pull_request",
            &format!("first-{number}"),
            body,
        )
        .await?;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some((_, at)) = posted
                .lock()
                .ok()
                .and_then(|p| p.iter().find(|(n, _)| *n == number).copied())
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
        "delivery to comment: median {:.1} ms (5 pull requests, idle bot)",
        to_comment[2].as_secs_f64() * 1000.0
    );

    // Acknowledgement latency under load.
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
            url.clone(),
            latencies.clone(),
            errors.clone(),
        );
        let body = payload(&clone_url, 10 + index % PULLS, &head.to_string());
        tasks.push(tokio::spawn(async move {
            let sent = Instant::now();
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
                Ok(()) => latencies.lock().map(|mut l| l.push(elapsed)).unwrap_or(()),
                Err(_) => errors.lock().map(|mut e| *e += 1).unwrap_or(()),
            }
        }));
    }
    for task in tasks {
        let _ = task.await;
    }
    let wall = started.elapsed();
    let mut latencies = latencies.lock().map(|l| l.clone()).unwrap_or_default();
    latencies.sort();
    let errors = errors.lock().map(|e| *e).unwrap_or(0);
    println!(
        "acknowledgement at {rate}/s for {seconds} s: {} deliveries in {:.1} s, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms, {errors} error(s)",
        latencies.len(),
        wall.as_secs_f64(),
        percentile(&latencies, 0.50).as_secs_f64() * 1000.0,
        percentile(&latencies, 0.99).as_secs_f64() * 1000.0,
        latencies.last().copied().unwrap_or_default().as_secs_f64() * 1000.0,
    );
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
