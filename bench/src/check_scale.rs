//! Benchmark of `modelgate check` on a generated repository of 2,000 models, for a pull
//! request touching 10 of them, with 2,000 and with 20,000 commits of history.
//!
//!     cargo build --release --workspace && target/release/check-scale
//!
//! The repositories are written with `git fast-import` (git must be on PATH) into a temporary
//! folder. Each run spawns the real `modelgate` binary (the one beside this benchmark),
//! and the figures are medians of wall time (set MODELGATE_BENCH_DIR to keep the repositories), so the two histories are compared in one run
//! on the same machine.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

mod fast_import;

use fast_import::FastImport;

const MODELS: usize = 2_000;
const TOUCHED: usize = 10;
const RUNS: usize = 11;

fn main() -> anyhow::Result<()> {
    let modelgate = std::env::current_exe()?
        .parent()
        .map(|dir| dir.join("modelgate"))
        .filter(|path| path.exists())
        .context("modelgate binary not found beside check-scale; run `cargo build --release --workspace` first")?;
    // MODELGATE_BENCH_DIR keeps the generated repositories for profiling.
    let work = tempfile::tempdir()?;
    let root = std::env::var_os("MODELGATE_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| work.path().to_owned());
    let mut medians = Vec::new();
    for commits in [2_000usize, 20_000] {
        let repo = root.join(format!("history-{commits}"));
        let started = Instant::now();
        generate(&repo, commits)?;
        println!(
            "generated {MODELS} models, {commits} commits in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        let median = median_check(&modelgate, &repo)?;
        println!(
            "  check, PR touching {TOUCHED} models: median {:.1} ms over {RUNS} runs",
            ms(median)
        );
        medians.push(median);
    }
    let ratio = medians[1].as_secs_f64() / medians[0].as_secs_f64();
    println!("20,000 vs 2,000 commits: {ratio:.2}x (1.00 = cost independent of history length)");
    Ok(())
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

fn median_check(modelgate: &Path, repo: &Path) -> anyhow::Result<Duration> {
    let mut times = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let started = Instant::now();
        let output = Command::new(modelgate)
            .args([
                "check", "--base", "main", "--head", "pr", "--format", "json", "--repo",
            ])
            .arg(repo)
            .output()?;
        times.push(started.elapsed());
        if output.status.code() != Some(0) && output.status.code() != Some(1) {
            bail!("check failed: {}", String::from_utf8_lossy(&output.stderr));
        }
        let report: serde_json::Value = serde_json::from_slice(&output.stdout)?;
        let touched = report["models"]
            .as_array()
            .map(Vec::len)
            .unwrap_or_default();
        if touched < TOUCHED {
            bail!("expected at least {TOUCHED} touched models, the report has {touched}");
        }
    }
    times.sort();
    Ok(times[RUNS / 2])
}

fn card(index: usize) -> String {
    // Every tenth model starts from the one before it, so lineage has edges to follow.
    let base_model = if index % 10 == 9 {
        format!("base_model: m{:04}\n", index - 1)
    } else {
        String::new()
    };
    let tier = ["low", "medium", "high"][index % 3];
    format!(
        "---\nversion: 1.0.0\nowners: [\"@acme/team-{team}\"]\nlicense: apache-2.0\n{base_model}datasets: {{train: data/d{dataset:03}.csv}}\ngovernance:\n  risk_tier: {tier}\n  task: binary_classification\n  metrics:\n    auc: {{max_drop: 0.01}}\n---\n# m{index:04}\n\n## Intended use\n\nScoring.\n\n## Limitations\n\nSome.\n\n## Ethical considerations\n\nReviewed.\n\n## Evaluation data\n\nHeld out.\n",
        team = index % 40,
        dataset = index % 100,
    )
}

fn metrics(index: usize, version: usize) -> String {
    let auc = 0.70 + ((index * 7 + version * 13) % 200) as f64 / 1000.0;
    format!(
        "{{\"auc\": {auc:.3}, \"log_loss\": 0.4{:02}}}\n",
        (index + version) % 100
    )
}

/// Writes `commits` commits on main (the first adds every model, each later one retrains a
/// model), then a branch `pr` that retrains `TOUCHED` models.
fn generate(repo: &Path, commits: usize) -> anyhow::Result<()> {
    let mut import = FastImport::start(repo)?;
    let mut initial: Vec<(String, String)> = Vec::with_capacity(MODELS * 2 + 100);
    for index in 0..MODELS {
        initial.push((format!("models/m{index:04}/card.md"), card(index)));
        initial.push((
            format!("models/m{index:04}/metrics.json"),
            metrics(index, 0),
        ));
    }
    for dataset in 0..100 {
        initial.push((
            format!("data/d{dataset:03}.csv"),
            format!("x,y\n{dataset},1\n"),
        ));
    }
    import.commit("main", None, "baseline", &initial)?;
    for version in 1..commits {
        let index = (version * 37) % MODELS;
        let files = [(
            format!("models/m{index:04}/metrics.json"),
            metrics(index, version),
        )];
        import.commit("main", None, &format!("retrain m{index:04}"), &files)?;
    }
    let pr_files: Vec<(String, String)> = (0..TOUCHED)
        .map(|k| {
            let index = k * 97 + 5;
            (
                format!("models/m{index:04}/metrics.json"),
                metrics(index, commits + 1),
            )
        })
        .collect();
    import.commit(
        "pr",
        Some("refs/heads/main"),
        "retrain ten models",
        &pr_files,
    )?;
    import.finish()
}
