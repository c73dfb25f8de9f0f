//! Benchmark of the bot against `modelgate check` on the same pull request: how much more
//! the bot's job costs than one evaluation of the same head.
//!
//!     cargo build --release -p modelgate -p modelgate-bench --bin modelgate --bin bot-vs-check && target/release/bot-vs-check [RUNS=5]
//!
//! (One cargo invocation for both: built alone, the bench package resolves regex-automata
//! without the binary's features and so compiles polars a second time.)
//!
//! The repository (written with `git fast-import`, so git must be on PATH) holds one
//! high-tier model, `credit-risk`, whose card names a 300,000-row training dataset of 12
//! columns and which has 300,000 evaluation predictions (label, prediction, score, two
//! sensitive features), all generated from fixed seeds. The pull request draws a new,
//! drifted training set and retrains the model (new predictions and metrics).
//!
//! Each run first adds a new head commit to the pull request (a README edit), so neither side
//! can answer from anything kept for an earlier head, then times, on that head and in
//! alternating order:
//! - `check`: `modelgate check --repo R --base main --head pr --format json`, process start to
//!   exit (the binary beside this benchmark);
//! - `bot`: `modelgate serve` (token mode) against a fake GitHub API on loopback (wiremock),
//!   from sending one signed `pull_request.synchronize` delivery to the moment the fake has
//!   received both check runs (`modelgate / evaluation` and `modelgate / approvals`) for that
//!   head. The fake answers every route of the job with GitHub's REST shapes, including the
//!   members of the policy's team (`tiers.high.teams`) and the card's owner team.
//!
//! The bot clones the repository into its cache on its first delivery; that delivery is
//! untimed in the medians and reported apart, so the timed runs compare evaluation work on a
//! warm cache, as every later push to a repository is. Each timed delivery still includes the
//! bot's incremental fetch of the one new commit; the same libgit2 fetch, timed alone into a
//! separate cache, is reported too. Figures are medians, and the ratio compares runs made
//! side by side, so a shared machine's load affects both sides alike. Set
//! MODELGATE_BENCH_DIR (an empty folder) to keep the repository and the caches.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use modelgate_core::predictions::{ClassificationRows, Column, Rows, Scores, compute_metrics};
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::SeedableRng;
use serde_json::{Value, json};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

mod fast_import;
mod random;

use fast_import::FastImport;
use random::{normal, uniform};

const ROWS: usize = 300_000;
const DEFAULT_RUNS: usize = 5;
const SECRET: &str = "bench-secret";
const OWNER: &str = "acme";
const NAME: &str = "models";
const PULL: u64 = 7;
const AUTHOR: &str = "ann";
const BOT_LOGIN: &str = "modelgate-bot";
const EVALUATION_CHECK: &str = "modelgate / evaluation";
const APPROVALS_CHECK: &str = "modelgate / approvals";
/// Generous: on two shared cores a 300,000-row evaluation can take tens of seconds.
const CHECK_TIMEOUT: Duration = Duration::from_secs(600);
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(600);
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

const POLICY: &str = "\
default_tier: medium
tiers:
  low:
    approvals: 1
  medium:
    approvals: 1
    block_on: [regression, card]
  high:
    approvals: 2
    required_sections: [Intended use, Limitations, Ethical considerations, Evaluation data]
    block_on: [regression, drift, fairness, card]
    invalidate_on_push: true
    teams: [acme/model-risk]
regression: {max_drop_pct: 2}
drift: {stattest: auto, drift_share: 0.5}
fairness: {max_parity_gap: 0.1, min_disparate_impact: 0.8, max_equal_opportunity_gap: 0.1}
";

const CARD: &str = "\
---
version: 3.0.0
owners: [\"@acme/risk-ml\"]
license: apache-2.0
library_name: lightgbm
datasets:
  train: data/credit/applications.csv
governance:
  risk_tier: high
  id: applicant_id
  sensitive_features: [sex, age_band]
  task: binary_classification
  label: default
  prediction: predicted
  score: probability
  metrics:
    roc_auc: {direction: higher, max_drop: 0.01, min: 0.7}
    log_loss: {direction: lower, max_rise_pct: 2}
---
# credit-risk

Decides whether a consumer-loan application goes to manual review.

## Intended use

Ranking applications for review by an underwriter, who makes every decision.

## Limitations

Not validated for business loans.

## Ethical considerations

Sex and age band are not inputs; they are monitored for parity of review rates.

## Evaluation data

`models/credit-risk/predictions.csv`: 300,000 held-out applications.
";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let runs: usize = match std::env::args().nth(1) {
        Some(text) => text
            .parse()
            .with_context(|| format!("RUNS must be a whole number, not `{text}`"))?,
        None => DEFAULT_RUNS,
    };
    if runs == 0 {
        bail!("RUNS must be at least 1");
    }
    let modelgate = std::env::current_exe()?
        .parent()
        .map(|dir| dir.join("modelgate"))
        .filter(|path| path.exists())
        .context("modelgate binary not found beside bot-vs-check; build it first (see the command at the top of bench/src/bot_vs_check.rs)")?;

    // MODELGATE_BENCH_DIR keeps the repository, the caches and check's stderr for a look
    // afterwards; it must not hold an earlier run's.
    let temporary = tempfile::tempdir()?;
    let work = std::env::var_os("MODELGATE_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| temporary.path().to_owned());
    let origin = work.join("origin.git");
    if origin.exists() {
        bail!(
            "{} exists: give MODELGATE_BENCH_DIR an empty folder",
            origin.display()
        );
    }
    let started = Instant::now();
    let sizes = generate(&origin)?;
    let base_sha = rev_parse(&origin, "refs/heads/main")?;
    let first_head = rev_parse(&origin, "refs/heads/pr")?;
    println!(
        "generated the repository in {:.1} s: dataset {ROWS} rows x 12 columns ({:.1} MiB CSV at base, {:.1} MiB at head), predictions {ROWS} rows ({:.1} MiB each revision)",
        started.elapsed().as_secs_f64(),
        mib(sizes.dataset_base),
        mib(sizes.dataset_head),
        mib(sizes.predictions),
    );
    let clone_url = origin.display().to_string();

    let (written_sender, mut written) = unbounded_channel();
    let state = Arc::new(Mutex::new(FakeState::new(
        &clone_url,
        &base_sha,
        &first_head,
    )));
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(FakeGitHub {
            state: state.clone(),
            written: written_sender,
        })
        .mount(&server)
        .await;

    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let mut bot = Bot(Command::new(&modelgate)
        .arg("serve")
        .env("MODELGATE_LISTEN", format!("127.0.0.1:{port}"))
        .env("MODELGATE_WEBHOOK_SECRET", SECRET)
        .env("MODELGATE_GITHUB_TOKEN", "bench")
        .env("MODELGATE_API_URL", server.uri())
        .env("MODELGATE_CACHE_DIR", work.join("bot-cache"))
        // A periodic reconcile in the middle of a timed run would add a second job.
        .env("MODELGATE_RECONCILE_MINUTES", "1440")
        .env("MODELGATE_LOG", "error")
        .stdout(Stdio::null())
        .spawn()
        .context("starting modelgate serve")?);
    let client = reqwest::Client::new();
    wait_healthy(&client, port, &mut bot).await?;
    let webhook = format!("http://127.0.0.1:{port}/webhook");
    let delivery = Delivery {
        client: &client,
        url: &webhook,
        clone_url: &clone_url,
        base_sha: &base_sha,
        state: &state,
    };

    // The first delivery clones into the bot's empty cache: reported, not in the medians.
    let cold = delivery
        .time(&mut written, &mut bot, &first_head, &first_head, "warm-up")
        .await?;
    let probe_cache = work.join("fetch-probe.git");
    let cold_fetch = fetch_like_the_bot(&probe_cache, &clone_url)?;
    println!(
        "first delivery, empty bot cache (clone + evaluation + posting): {:.0} ms; of which the clone alone takes about {:.0} ms (timed apart); not in the medians below",
        ms(cold.elapsed),
        ms(cold_fetch),
    );

    let mut check_times = Vec::with_capacity(runs);
    let mut bot_times = Vec::with_capacity(runs);
    let mut fetch_times = Vec::with_capacity(runs);
    let mut ratios = Vec::with_capacity(runs);
    let mut previous_head = first_head.clone();
    let mut last = None;
    for run in 1..=runs {
        let head = new_head(&origin, run)?;
        // Alternating which side goes first spreads a load change over both sides.
        let check_first = run % 2 == 1;
        let mut check = None;
        if check_first {
            check = Some(tokio::task::block_in_place(|| {
                run_check(&modelgate, &origin, &head, &work)
            })?);
        }
        let bot_run = delivery
            .time(
                &mut written,
                &mut bot,
                &head,
                &previous_head,
                &format!("run-{run}"),
            )
            .await?;
        let check = match check {
            Some(check) => check,
            None => tokio::task::block_in_place(|| run_check(&modelgate, &origin, &head, &work))?,
        };
        fetch_times.push(fetch_like_the_bot(&probe_cache, &clone_url)?);
        println!(
            "run {run}/{runs} (head {}, {} first): check {:.0} ms, bot {:.0} ms",
            short(&head),
            if check_first { "check" } else { "bot" },
            ms(check.elapsed),
            ms(bot_run.elapsed),
        );
        ratios.push(bot_run.elapsed.as_secs_f64() / check.elapsed.as_secs_f64());
        check_times.push(check.elapsed);
        bot_times.push(bot_run.elapsed);
        previous_head = head;
        last = Some((check, bot_run));
    }

    let check_median = median(&mut check_times);
    let bot_median = median(&mut bot_times);
    let fetch_median = median(&mut fetch_times);
    println!();
    println!("medians over {runs} run(s), each on a new head commit:");
    println!(
        "  check  (modelgate check --format json, process start to exit):    {:>8.0} ms",
        ms(check_median)
    );
    println!(
        "  bot    (synchronize delivery to both check runs posted, warm cache): {:>6.0} ms",
        ms(bot_median)
    );
    println!(
        "  bot / check: {:.2}x (ratio of the medians); {:.2}x (median of each run's ratio, the two measured back to back)",
        bot_median.as_secs_f64() / check_median.as_secs_f64(),
        median_ratio(&mut ratios),
    );
    println!(
        "  the bot's incremental fetch of the new head, timed alone (included in bot): {:.0} ms",
        ms(fetch_median)
    );
    if let Some((check, bot_run)) = last {
        println!("last run: check says {}", check.summary);
        for (name, run) in &bot_run.runs {
            println!(
                "last run: bot's `{name}` is {} ({})",
                run.conclusion, run.title
            );
        }
    }
    let unexpected = lock(&state).unexpected.clone();
    if !unexpected.is_empty() {
        println!(
            "the fake GitHub answered 404 to requests it does not model: {}",
            unexpected.join(", ")
        );
    }
    Ok(())
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

fn mib(bytes: usize) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn short(sha: &str) -> &str {
    sha.get(..10).unwrap_or(sha)
}

fn median_ratio(ratios: &mut [f64]) -> f64 {
    ratios.sort_by(f64::total_cmp);
    ratios.get(ratios.len() / 2).copied().unwrap_or(f64::NAN)
}

fn median(times: &mut [Duration]) -> Duration {
    times.sort();
    times.get(times.len() / 2).copied().unwrap_or_default()
}

// ---------------------------------------------------------------------------------------
// The repository

/// Sizes of the generated files, for the report.
struct Sizes {
    dataset_base: usize,
    dataset_head: usize,
    predictions: usize,
}

/// `main` with the policy, the model and its data; `pr` with a new, drifted training set
/// and a retrained model. Packed, as a long-lived repository is.
fn generate(repo: &Path) -> anyhow::Result<Sizes> {
    let base_data = applications_csv(&mut ChaCha8Rng::seed_from_u64(1), &BASE_POPULATION, 0)?;
    let head_data = applications_csv(
        &mut ChaCha8Rng::seed_from_u64(2),
        &HEAD_POPULATION,
        ROWS as u64,
    )?;
    // One held-out evaluation set, scored by the model before and after retraining, so the
    // bootstrap pairs the same applicants by id.
    let evaluation = applicants(
        &mut ChaCha8Rng::seed_from_u64(3),
        &BASE_POPULATION,
        2 * ROWS as u64,
    );
    let base_model = score(&mut ChaCha8Rng::seed_from_u64(4), &evaluation, 0.80)?;
    let head_model = score(&mut ChaCha8Rng::seed_from_u64(5), &evaluation, 0.70)?;
    let sizes = Sizes {
        dataset_base: base_data.len(),
        dataset_head: head_data.len(),
        predictions: base_model.csv.len(),
    };
    let model = |file: &str| format!("models/credit-risk/{file}");
    let mut import = FastImport::start(repo)?;
    import.commit(
        "main",
        None,
        "credit-risk: first model",
        &[
            (".github/modelgate.yml".to_owned(), POLICY.to_owned()),
            ("README.md".to_owned(), "# models\n".to_owned()),
            ("data/credit/applications.csv".to_owned(), base_data),
            (model("card.md"), CARD.to_owned()),
            (model("metrics.json"), base_model.metrics_json),
            (model("predictions.csv"), base_model.csv),
        ],
    )?;
    import.commit(
        "pr",
        Some("refs/heads/main"),
        "credit-risk: retrain on the 2026 applications",
        &[
            ("data/credit/applications.csv".to_owned(), head_data),
            (model("metrics.json"), head_model.metrics_json),
            (model("predictions.csv"), head_model.csv),
        ],
    )?;
    import.finish()?;
    Ok(sizes)
}

/// A new commit on `pr` rewriting only README.md (no model is touched by it), so each run
/// evaluates a head that neither side has seen. Returns its id.
fn new_head(repo: &Path, run: usize) -> anyhow::Result<String> {
    let readme = format!("# models\n\nBenchmark run {run}.\n");
    let mut import = FastImport::append(repo, 1_800_000_000 + run as u64 * 60)?;
    // `refs/heads/pr^0` continues the existing branch (git-fast-import(1)).
    import.commit(
        "pr",
        Some("refs/heads/pr^0"),
        &format!("docs: benchmark run {run}"),
        &[("README.md".to_owned(), readme)],
    )?;
    import
        .close()
        .with_context(|| format!("adding head commit {run}"))?;
    rev_parse(repo, "refs/heads/pr")
}

fn rev_parse(repo: &Path, rev: &str) -> anyhow::Result<String> {
    let output = Command::new("git")
        .args(["rev-parse", "--verify", rev])
        .current_dir(repo)
        .output()
        .context("running git rev-parse")?;
    if !output.status.success() {
        bail!(
            "git rev-parse {rev}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(String::from_utf8(output.stdout)?.trim().to_owned())
}

/// How applicants are drawn; the head's differs in three columns (income, region,
/// credit score), the drift the pull request brings.
struct Population {
    income_scale: f64,
    credit_score_shift: f64,
    region_weights: [f64; 5],
}

const BASE_POPULATION: Population = Population {
    income_scale: 1.0,
    credit_score_shift: 0.0,
    region_weights: [0.2, 0.2, 0.2, 0.2, 0.2],
};

const HEAD_POPULATION: Population = Population {
    income_scale: 1.06,
    credit_score_shift: -12.0,
    region_weights: [0.14, 0.26, 0.2, 0.2, 0.2],
};

const AGE_BANDS: [&str; 4] = ["18-25", "26-40", "41-60", "60+"];
const SEXES: [&str; 2] = ["female", "male"];
const REGIONS: [&str; 5] = ["north", "south", "east", "west", "central"];
const EMPLOYMENT: [&str; 5] = [
    "salaried",
    "self-employed",
    "contract",
    "unemployed",
    "retired",
];
const TERMS: [u32; 5] = [12, 24, 36, 48, 60];

struct Applicant {
    id: u64,
    age_band: usize,
    sex: usize,
    region: usize,
    employment: usize,
    income: f64,
    loan_amount: f64,
    term_months: u32,
    credit_score: f64,
    debt_to_income: f64,
    open_accounts: u32,
    /// The true log-odds of default; the label is drawn from it, a model estimates it.
    risk: f64,
    default: bool,
}

fn applicants(rng: &mut ChaCha8Rng, population: &Population, first_id: u64) -> Vec<Applicant> {
    (0..ROWS as u64)
        .map(|index| {
            let age_band = pick(rng, &[0.18, 0.37, 0.33, 0.12]);
            let sex = pick(rng, &[0.49, 0.51]);
            let region = pick(rng, &population.region_weights);
            let employment = pick(rng, &[0.58, 0.17, 0.12, 0.05, 0.08]);
            let income = round_to(
                (10.7 + 0.45 * normal(rng)).exp() * population.income_scale,
                2,
            );
            let loan_amount = round_to(income * (0.1 + 0.6 * uniform(rng)), 2);
            let term_months = TERMS[pick(rng, &[0.1, 0.25, 0.35, 0.1, 0.2])];
            let credit_score = (680.0 + population.credit_score_shift + 60.0 * normal(rng))
                .clamp(300.0, 850.0)
                .round();
            let debt_to_income = round_to((0.25 + 0.12 * normal(rng)).clamp(0.0, 1.5), 3);
            let open_accounts = (uniform(rng) * 12.0) as u32;
            let risk = -1.5 - 0.025 * (credit_score - 680.0)
                + 4.0 * (debt_to_income - 0.25)
                + if EMPLOYMENT[employment] == "unemployed" {
                    0.8
                } else {
                    0.0
                }
                + 0.4 * (loan_amount / income - 0.4);
            let default = uniform(rng) < sigmoid(risk);
            Applicant {
                id: first_id + index,
                age_band,
                sex,
                region,
                employment,
                income,
                loan_amount,
                term_months,
                credit_score,
                debt_to_income,
                open_accounts,
                risk,
                default,
            }
        })
        .collect()
}

/// The training dataset: 12 columns, numeric and categorical.
fn applications_csv(
    rng: &mut ChaCha8Rng,
    population: &Population,
    first_id: u64,
) -> anyhow::Result<String> {
    let rows = applicants(rng, population, first_id);
    let mut csv = String::with_capacity(ROWS * 90);
    csv.push_str("applicant_id,age_band,sex,region,employment,income,loan_amount,term_months,credit_score,debt_to_income,open_accounts,default\n");
    for a in &rows {
        writeln!(
            csv,
            "A{:07},{},{},{},{},{:.2},{:.2},{},{},{:.3},{},{}",
            a.id,
            AGE_BANDS[a.age_band],
            SEXES[a.sex],
            REGIONS[a.region],
            EMPLOYMENT[a.employment],
            a.income,
            a.loan_amount,
            a.term_months,
            a.credit_score,
            a.debt_to_income,
            a.open_accounts,
            u8::from(a.default),
        )?;
    }
    Ok(csv)
}

/// A model's predictions on the evaluation set, and the metrics.json that agrees with them.
struct ScoredModel {
    csv: String,
    metrics_json: String,
}

/// Scores each applicant with the true risk plus noise of `error` (smaller is a better
/// model), written to 4 decimals as a model's export would be.
fn score(
    rng: &mut ChaCha8Rng,
    evaluation: &[Applicant],
    error: f64,
) -> anyhow::Result<ScoredModel> {
    let mut csv = String::with_capacity(ROWS * 40);
    csv.push_str("applicant_id,sex,age_band,default,predicted,probability\n");
    let mut labels = Vec::with_capacity(ROWS);
    let mut predictions = Vec::with_capacity(ROWS);
    let mut scores = Vec::with_capacity(ROWS);
    for a in evaluation {
        let probability = format!("{:.4}", sigmoid(a.risk + error * normal(rng)));
        // The metrics are computed from the written value, as modelgate reads it back.
        let score: f64 = probability.parse()?;
        let predicted = u32::from(score > 0.5);
        writeln!(
            csv,
            "A{:07},{},{},{},{predicted},{probability}",
            a.id,
            SEXES[a.sex],
            AGE_BANDS[a.age_band],
            u8::from(a.default),
        )?;
        labels.push(u32::from(a.default));
        predictions.push(predicted);
        scores.push(score);
    }
    let rows = Rows::Binary(ClassificationRows {
        classes: vec!["0".to_owned(), "1".to_owned()],
        labels: Column::new("default", labels),
        predictions: Some(Column::new("predicted", predictions)),
        scores: Some(Scores::Positive(Column::new("probability", scores))),
        ids: None,
    });
    let metrics: serde_json::Map<String, Value> = compute_metrics(&rows)?
        .into_iter()
        .filter_map(|m| Some((m.metric.name().to_owned(), json!(m.value?))))
        .collect();
    Ok(ScoredModel {
        csv,
        metrics_json: serde_json::to_string_pretty(&metrics)? + "\n",
    })
}

/// An index drawn with the given weights (which sum to 1).
fn pick(rng: &mut ChaCha8Rng, weights: &[f64]) -> usize {
    let mut draw = uniform(rng);
    for (index, weight) in weights.iter().enumerate() {
        if draw < *weight {
            return index;
        }
        draw -= weight;
    }
    weights.len() - 1
}

fn round_to(value: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (value * scale).round() / scale
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

// ---------------------------------------------------------------------------------------
// `modelgate check`

struct CheckRun {
    elapsed: Duration,
    /// The conclusion and each check's status, for the report.
    summary: String,
}

/// Runs `modelgate check` on `head` and verifies it evaluated the model's data (drift of
/// the dataset, predictions at both revisions).
fn run_check(modelgate: &Path, repo: &Path, head: &str, work: &Path) -> anyhow::Result<CheckRun> {
    let stderr_path = work.join("check.stderr");
    let started = Instant::now();
    let mut child = Command::new(modelgate)
        .args(["check", "--repo"])
        .arg(repo)
        .args(["--base", "main", "--head", "pr", "--format", "json"])
        .env("MODELGATE_LOG", "off")
        .stdout(Stdio::piped())
        // A file, not a pipe: nothing reads stderr while stdout is being read.
        .stderr(File::create(&stderr_path)?)
        .spawn()
        .context("starting modelgate check")?;
    let mut stdout = child.stdout.take().context("check's stdout")?;
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let read = stdout.read_to_end(&mut bytes).map(|_| bytes);
        let _ = sender.send(read);
    });
    let stdout = match receiver.recv_timeout(CHECK_TIMEOUT) {
        Ok(read) => read.context("reading check's output")?,
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            bail!("modelgate check did not finish within {CHECK_TIMEOUT:?}");
        }
    };
    let status = child.wait()?;
    let elapsed = started.elapsed();
    // Exit 1 is a failing evaluation, still a complete one.
    if !matches!(status.code(), Some(0 | 1)) {
        bail!(
            "modelgate check exited with {status}: {}",
            std::fs::read_to_string(&stderr_path).unwrap_or_default()
        );
    }
    let report: Value = serde_json::from_slice(&stdout).context("check's JSON report")?;
    if report["head"].as_str() != Some(head) {
        bail!("check evaluated {} instead of {head}", report["head"]);
    }
    let model = report["models"]
        .as_array()
        .and_then(|models| models.iter().find(|m| m["id"] == "credit-risk"))
        .context("credit-risk is not in check's report")?;
    let checks = model["checks"].as_array().cloned().unwrap_or_default();
    let status_of = |kind: &str| {
        checks
            .iter()
            .find(|c| c["kind"] == kind)
            .and_then(|c| c["status"].as_str())
            .unwrap_or("absent")
            .to_owned()
    };
    for kind in ["regression", "drift", "fairness"] {
        if matches!(status_of(kind).as_str(), "skipped" | "absent") {
            bail!("check's {kind} check did not run: {model}");
        }
    }
    let recomputed = checks.iter().any(|c| {
        c["kind"] == "regression"
            && c["metrics"]
                .as_array()
                .is_some_and(|m| m.iter().any(|d| d["source"] == "predictions"))
    });
    if !recomputed {
        bail!("check did not recompute metrics from the predictions: {model}");
    }
    let summary = format!(
        "{} (regression {}, drift {}, fairness {}, card {})",
        report["conclusion"].as_str().unwrap_or("?"),
        status_of("regression"),
        status_of("drift"),
        status_of("fairness"),
        status_of("card"),
    );
    Ok(CheckRun { elapsed, summary })
}

// ---------------------------------------------------------------------------------------
// The bot's cache fetch, timed alone

/// The fetch the bot's job makes before evaluating (same libgit2 call and refspecs), into
/// a cache of its own.
fn fetch_like_the_bot(cache: &Path, url: &str) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let repo = modelgate_bot::remote::open_or_init_bare(cache)?;
    let refspecs = [
        "+refs/heads/*:refs/heads/*",
        "+refs/pull/*/head:refs/pull/*/head",
        "+refs/notes/modelgate:refs/notes/modelgate",
    ]
    .map(str::to_owned);
    modelgate_bot::remote::fetch(&repo, url, &refspecs, None)?;
    Ok(started.elapsed())
}

// ---------------------------------------------------------------------------------------
// The bot and the fake GitHub it talks to

struct Bot(Child);

impl Drop for Bot {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Bot {
    /// Why the bot is gone, when it is.
    fn exited(&mut self) -> Option<String> {
        match self.0.try_wait() {
            Ok(Some(status)) => Some(format!("modelgate serve exited with {status}")),
            Ok(None) => None,
            Err(error) => Some(format!("modelgate serve: {error}")),
        }
    }
}

async fn wait_healthy(client: &reqwest::Client, port: u16, bot: &mut Bot) -> anyhow::Result<()> {
    // The bot offers no readiness signal but /healthz, so this one wait polls.
    let deadline = Instant::now() + STARTUP_TIMEOUT;
    let url = format!("http://127.0.0.1:{port}/healthz");
    while Instant::now() < deadline {
        if let Some(why) = bot.exited() {
            bail!(why);
        }
        if client.get(&url).send().await.is_ok() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    bail!("modelgate serve did not answer /healthz within {STARTUP_TIMEOUT:?}")
}

/// A check run as the fake received it.
#[derive(Debug, Clone)]
struct WrittenCheckRun {
    head_sha: String,
    name: String,
    conclusion: String,
    title: String,
    at: Instant,
}

struct StoredCheckRun {
    id: u64,
    head_sha: String,
    name: String,
    conclusion: String,
}

struct StoredComment {
    id: u64,
    login: String,
    body: String,
    created_at: String,
}

/// What the fake GitHub knows: the pull request's current head, and what the bot wrote.
struct FakeState {
    clone_url: String,
    base_sha: String,
    head_sha: String,
    /// The head the team's approval was given on (the first), which a push voids.
    approved_sha: String,
    comments: Vec<StoredComment>,
    check_runs: Vec<StoredCheckRun>,
    unexpected: Vec<String>,
    next_id: u64,
}

impl FakeState {
    fn new(clone_url: &str, base_sha: &str, head_sha: &str) -> FakeState {
        FakeState {
            clone_url: clone_url.to_owned(),
            base_sha: base_sha.to_owned(),
            head_sha: head_sha.to_owned(),
            approved_sha: head_sha.to_owned(),
            comments: vec![StoredComment {
                id: 900,
                login: "rita".to_owned(),
                body: "Drift in income is expected: the 2026 applications.".to_owned(),
                created_at: "2026-01-06T10:00:00Z".to_owned(),
            }],
            check_runs: Vec::new(),
            unexpected: Vec::new(),
            next_id: 1000,
        }
    }

    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }
}

fn lock(state: &Mutex<FakeState>) -> MutexGuard<'_, FakeState> {
    // Every update is a single statement, so a poisoned lock still holds consistent data.
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

struct FakeGitHub {
    state: Arc<Mutex<FakeState>>,
    /// The completion signal: each check run written, as it arrives.
    written: UnboundedSender<WrittenCheckRun>,
}

fn user(login: &str, id: u64, kind: &str) -> Value {
    json!({
        "login": login, "id": id, "node_id": format!("U_{id}"), "type": kind, "site_admin": false,
        "avatar_url": format!("https://avatars.githubusercontent.com/u/{id}"),
        "html_url": format!("https://github.com/{login}"),
    })
}

fn repository(clone_url: &str) -> Value {
    json!({
        "id": 4242, "node_id": "R_4242", "name": NAME, "full_name": format!("{OWNER}/{NAME}"),
        "private": true, "owner": user(OWNER, 77, "Organization"),
        "html_url": format!("https://github.com/{OWNER}/{NAME}"),
        "clone_url": clone_url, "default_branch": "main",
    })
}

fn branch(name: &str, sha: &str, clone_url: &str) -> Value {
    json!({
        "label": format!("{OWNER}:{name}"), "ref": name, "sha": sha,
        "user": user(OWNER, 77, "Organization"), "repo": repository(clone_url),
    })
}

fn team_members(team: &str) -> Option<Value> {
    let members: &[(&str, u64)] = match team {
        "model-risk" => &[("rita", 11), ("sam", 12), ("tom", 13)],
        "risk-ml" => &[("ann", 21), ("bob", 22)],
        _ => return None,
    };
    Some(Value::Array(
        members
            .iter()
            .map(|(login, id)| user(login, *id, "User"))
            .collect(),
    ))
}

impl FakeGitHub {
    fn pull_request(state: &FakeState) -> Value {
        json!({
            "url": format!("https://api.github.com/repos/{OWNER}/{NAME}/pulls/{PULL}"),
            "id": 70_007, "node_id": "PR_70007", "number": PULL, "state": "open", "locked": false,
            "title": "credit-risk: retrain on the 2026 applications",
            "html_url": format!("https://github.com/{OWNER}/{NAME}/pull/{PULL}"),
            "user": user(AUTHOR, 21, "User"), "body": "New training data and a retrained model.",
            "created_at": "2026-01-05T10:00:00Z", "updated_at": "2026-01-06T10:00:00Z",
            "closed_at": null, "merged_at": null, "merge_commit_sha": null, "draft": false,
            "merged": false, "mergeable": true, "mergeable_state": "blocked",
            "head": branch("pr", &state.head_sha, &state.clone_url),
            "base": branch("main", &state.base_sha, &state.clone_url),
            "commits": 2, "additions": 600_012, "deletions": 600_010, "changed_files": 3,
        })
    }

    fn reviews(state: &FakeState) -> Value {
        json!([{
            "id": 501, "node_id": "PRR_501", "user": user("rita", 11, "User"),
            "body": "Approved for model risk.", "state": "APPROVED",
            "html_url": format!("https://github.com/{OWNER}/{NAME}/pull/{PULL}#pullrequestreview-501"),
            "commit_id": state.approved_sha, "submitted_at": "2026-01-06T09:00:00Z",
            "author_association": "MEMBER",
        }])
    }

    fn commits(state: &FakeState) -> Value {
        let commit = |sha: &str, message: &str| {
            json!({
                "sha": sha, "node_id": format!("C_{sha}"),
                "commit": {
                    "author": {"name": "Ann", "email": "ann@acme.invalid", "date": "2026-01-05T10:00:00Z"},
                    "committer": {"name": "Ann", "email": "ann@acme.invalid", "date": "2026-01-05T10:00:00Z"},
                    "message": message,
                },
                "author": user(AUTHOR, 21, "User"), "committer": user(AUTHOR, 21, "User"),
                "parents": [],
            })
        };
        json!([
            commit(
                &state.approved_sha,
                "credit-risk: retrain on the 2026 applications"
            ),
            commit(&state.head_sha, "docs: benchmark run"),
        ])
    }

    fn comment(comment: &StoredComment) -> Value {
        json!({
            "id": comment.id, "node_id": format!("IC_{}", comment.id),
            "html_url": format!("https://github.com/{OWNER}/{NAME}/pull/{PULL}#issuecomment-{}", comment.id),
            "user": user(&comment.login, if comment.login == BOT_LOGIN { 42 } else { 11 }, if comment.login == BOT_LOGIN { "Bot" } else { "User" }),
            "body": comment.body, "created_at": comment.created_at, "updated_at": comment.created_at,
            "author_association": if comment.login == BOT_LOGIN { "NONE" } else { "MEMBER" },
        })
    }

    fn check_run(run: &StoredCheckRun) -> Value {
        json!({
            "id": run.id, "node_id": format!("CR_{}", run.id), "head_sha": run.head_sha,
            "name": run.name, "status": "completed", "conclusion": run.conclusion,
            "started_at": "2026-01-06T10:00:00Z", "completed_at": "2026-01-06T10:00:05Z",
            "app": {"id": 1, "slug": "modelgate", "name": "modelgate"},
        })
    }

    /// Records a written check run and signals it.
    fn check_run_written(&self, state: &mut FakeState, id: Option<u64>, body: &Value) -> Value {
        let text = |key: &str| body[key].as_str().unwrap_or_default().to_owned();
        let existing = id.and_then(|id| state.check_runs.iter().position(|r| r.id == id));
        let (head_sha, name) = match existing {
            Some(index) => (
                state.check_runs[index].head_sha.clone(),
                state.check_runs[index].name.clone(),
            ),
            None => (text("head_sha"), text("name")),
        };
        let stored = StoredCheckRun {
            id: match existing {
                Some(index) => state.check_runs[index].id,
                None => state.id(),
            },
            head_sha: head_sha.clone(),
            name: name.clone(),
            conclusion: text("conclusion"),
        };
        let answer = Self::check_run(&stored);
        let _ = self.written.send(WrittenCheckRun {
            head_sha,
            name,
            conclusion: stored.conclusion.clone(),
            title: body["output"]["title"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            at: Instant::now(),
        });
        match existing {
            Some(index) => state.check_runs[index] = stored,
            None => state.check_runs.push(stored),
        }
        answer
    }
}

impl Respond for FakeGitHub {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut state = lock(&self.state);
        let path = request.url.path();
        let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        let ok = |value: Value| ResponseTemplate::new(200).set_body_json(value);
        let created = |value: Value| ResponseTemplate::new(201).set_body_json(value);
        let ours = |owner: &str, name: &str| owner == OWNER && name == NAME;
        let this_pull = |number: &str| number.parse::<u64>().ok() == Some(PULL);
        match (request.method.as_str(), parts.as_slice()) {
            ("GET", ["user"]) => ok(user(BOT_LOGIN, 42, "Bot")),
            ("GET", ["repos", o, n, "pulls"]) if ours(o, n) => {
                ok(json!([Self::pull_request(&state)]))
            }
            ("GET", ["repos", o, n, "pulls", p]) if ours(o, n) && this_pull(p) => {
                ok(Self::pull_request(&state))
            }
            ("GET", ["repos", o, n, "pulls", p, "reviews"]) if ours(o, n) && this_pull(p) => {
                ok(Self::reviews(&state))
            }
            ("GET", ["repos", o, n, "pulls", p, "commits"]) if ours(o, n) && this_pull(p) => {
                ok(Self::commits(&state))
            }
            ("GET", ["repos", o, n, "issues", p, "comments"]) if ours(o, n) && this_pull(p) => ok(
                Value::Array(state.comments.iter().map(Self::comment).collect()),
            ),
            ("POST", ["repos", o, n, "issues", p, "comments"]) if ours(o, n) && this_pull(p) => {
                let comment = StoredComment {
                    id: state.id(),
                    login: BOT_LOGIN.to_owned(),
                    body: body["body"].as_str().unwrap_or_default().to_owned(),
                    created_at: "2026-01-06T10:00:05Z".to_owned(),
                };
                let answer = Self::comment(&comment);
                state.comments.push(comment);
                created(answer)
            }
            ("PATCH", ["repos", o, n, "issues", "comments", id]) if ours(o, n) => {
                let id = id.parse::<u64>().ok();
                match state.comments.iter_mut().find(|c| Some(c.id) == id) {
                    Some(comment) => {
                        comment.body = body["body"].as_str().unwrap_or_default().to_owned();
                        ok(Self::comment(comment))
                    }
                    None => not_found(),
                }
            }
            ("GET", ["orgs", org, "teams", slug, "members"]) if *org == OWNER => {
                match team_members(slug) {
                    Some(members) => ok(members),
                    None => not_found(),
                }
            }
            ("GET", ["repos", o, n, "commits", sha, "check-runs"]) if ours(o, n) => {
                let runs: Vec<Value> = state
                    .check_runs
                    .iter()
                    .filter(|r| r.head_sha == *sha)
                    .map(Self::check_run)
                    .collect();
                ok(json!({"total_count": runs.len(), "check_runs": runs}))
            }
            ("POST", ["repos", o, n, "check-runs"]) if ours(o, n) => {
                created(self.check_run_written(&mut state, None, &body))
            }
            ("PATCH", ["repos", o, n, "check-runs", id]) if ours(o, n) => {
                match id.parse::<u64>().ok() {
                    Some(id) if state.check_runs.iter().any(|r| r.id == id) => {
                        ok(self.check_run_written(&mut state, Some(id), &body))
                    }
                    _ => not_found(),
                }
            }
            (method, _) => {
                let request = format!("{method} {path}");
                state.unexpected.push(request);
                not_found()
            }
        }
    }
}

fn not_found() -> ResponseTemplate {
    ResponseTemplate::new(404).set_body_json(json!({
        "message": "Not Found",
        "documentation_url": "https://docs.github.com/rest",
    }))
}

/// One timed delivery's result.
struct BotRun {
    elapsed: Duration,
    /// Each check run written for the head, by name.
    runs: BTreeMap<String, WrittenCheckRun>,
}

/// Sends signed `pull_request.synchronize` deliveries and waits for their check runs.
struct Delivery<'a> {
    client: &'a reqwest::Client,
    url: &'a str,
    clone_url: &'a str,
    base_sha: &'a str,
    state: &'a Mutex<FakeState>,
}

impl Delivery<'_> {
    /// Moves the pull request to `head`, delivers the push, and returns the time until both
    /// check runs for `head` were received.
    async fn time(
        &self,
        written: &mut UnboundedReceiver<WrittenCheckRun>,
        bot: &mut Bot,
        head: &str,
        before: &str,
        delivery_id: &str,
    ) -> anyhow::Result<BotRun> {
        // Anything left from an earlier head is not this run's completion.
        while written.try_recv().is_ok() {}
        lock(self.state).head_sha = head.to_owned();
        let payload = json!({
            "action": "synchronize", "number": PULL, "before": before, "after": head,
            "pull_request": {
                "number": PULL, "state": "open", "merged": false, "merge_commit_sha": null,
                "user": {"login": AUTHOR},
                "head": {"ref": "pr", "sha": head},
                "base": {"ref": "main", "sha": self.base_sha},
            },
            "repository": repository(self.clone_url),
            "sender": user(AUTHOR, 21, "User"),
        });
        let body = serde_json::to_vec(&payload)?;
        let signature = modelgate_bot::signature::sign(SECRET, &body);
        let started = Instant::now();
        let response = self
            .client
            .post(self.url)
            .header("X-GitHub-Event", "pull_request")
            .header("X-GitHub-Delivery", delivery_id)
            .header("X-GitHub-Hook-ID", "1")
            .header("X-Hub-Signature-256", signature)
            .header("Content-Type", "application/json")
            .body(body)
            .timeout(STARTUP_TIMEOUT)
            .send()
            .await?;
        if !response.status().is_success() {
            bail!("the bot answered the delivery with {}", response.status());
        }
        let deadline = tokio::time::Instant::now() + DELIVERY_TIMEOUT;
        let mut runs = BTreeMap::new();
        while !(runs.contains_key(EVALUATION_CHECK) && runs.contains_key(APPROVALS_CHECK)) {
            match tokio::time::timeout_at(deadline, written.recv()).await {
                Ok(Some(run)) if run.head_sha == head => {
                    runs.insert(run.name.clone(), run);
                }
                Ok(Some(_)) => {}
                Ok(None) => bail!("the fake GitHub stopped"),
                Err(_) => {
                    let why = bot.exited().unwrap_or_default();
                    let unexpected = lock(self.state).unexpected.join(", ");
                    bail!(
                        "no check runs for {head} within {DELIVERY_TIMEOUT:?} {why}; unmodelled requests: [{unexpected}]"
                    );
                }
            }
        }
        let finished = runs
            .values()
            .map(|run| run.at)
            .max()
            .unwrap_or_else(Instant::now);
        Ok(BotRun {
            elapsed: finished.duration_since(started),
            runs,
        })
    }
}
