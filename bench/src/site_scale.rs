//! Benchmark of `modelgate site build` on a generated repository of 1,000 models with 20
//! versions each (19,001 commits on main), plus 100 datasets.
//!
//!     cargo build --release --workspace && target/release/site-scale
//!
//! The repository is written with `git fast-import` (git must be on PATH) into a temporary
//! folder (set MODELGATE_BENCH_DIR to keep it). The build runs in this process through the
//! site library, so the figures are its own: wall time, HTML pages per second, and the
//! process's peak resident memory (VmHWM from /proc/self/status, Linux only).

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::bail;

mod fast_import;

use fast_import::FastImport;

const MODELS: usize = 1_000;
const VERSIONS: usize = 20;
const DATASETS: usize = 100;
/// Pages per second this machine (2 cores) is expected to reach.
const TARGET_PAGES_PER_SECOND: f64 = 2_000.0;

fn main() -> anyhow::Result<()> {
    let work = tempfile::tempdir()?;
    let root = std::env::var_os("MODELGATE_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| work.path().to_owned());
    let repo = root.join("site-scale");
    let started = Instant::now();
    generate(&repo)?;
    println!(
        "generated {MODELS} models x {VERSIONS} versions ({} commits) in {:.1} s",
        1 + MODELS * (VERSIONS - 1),
        started.elapsed().as_secs_f64()
    );

    let out = root.join("site-scale-out");
    let started = Instant::now();
    let summary = modelgate_site::build(&modelgate_site::BuildOptions {
        repo: repo.clone(),
        out,
        rev: "main".to_owned(),
        base_url: None,
        templates: None,
    })?;
    let seconds = started.elapsed().as_secs_f64();
    let rate = summary.pages as f64 / seconds;
    println!(
        "site build: {} pages ({} files, {} versions) in {seconds:.2} s = {rate:.0} pages/s (target {TARGET_PAGES_PER_SECOND:.0})",
        summary.pages, summary.files, summary.versions
    );
    match peak_memory_kib() {
        Some(kib) => println!("peak memory (VmHWM): {:.0} MiB", kib as f64 / 1024.0),
        None => println!("peak memory: unknown (no /proc/self/status)"),
    }
    if summary.versions != MODELS * VERSIONS {
        bail!(
            "expected {} versions, the site has {}",
            MODELS * VERSIONS,
            summary.versions
        );
    }
    Ok(())
}

fn peak_memory_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn card(index: usize, version: usize) -> String {
    // Every tenth model starts from the one before it, so lineage has edges to draw.
    let base_model = if index % 10 == 9 {
        format!("base_model: m{:04}\n", index - 1)
    } else {
        String::new()
    };
    let tier = ["low", "medium", "high"][index % 3];
    format!(
        "---\nversion: 1.{version}.0\nowners: [\"@acme/team-{team}\"]\nlicense: apache-2.0\n{base_model}datasets: {{train: data/d{dataset:03}.csv}}\ngovernance:\n  risk_tier: {tier}\n  task: binary_classification\n  metrics:\n    auc: {{max_drop: 0.01}}\n---\n# m{index:04}\n\nScores applications for team {team}. Retrained {version} time(s).\n\n## Intended use\n\nScoring, with a person deciding every case.\n\n## Limitations\n\nNot validated outside the training population.\n\n## Ethical considerations\n\nReviewed by the model-risk team.\n\n## Evaluation data\n\nHeld out, version {version}.\n",
        team = index % 40,
        dataset = index % DATASETS,
    )
}

fn metrics(index: usize, version: usize) -> String {
    let auc = 0.70 + ((index * 7 + version * 13) % 200) as f64 / 1000.0;
    format!(
        "{{\"auc\": {auc:.3}, \"log_loss\": 0.4{:02}, \"accuracy\": 0.8{:02}}}\n",
        (index + version) % 100,
        (index * 3 + version) % 100
    )
}

/// One commit adding every model and dataset, then `VERSIONS - 1` rounds of retraining
/// every model, one model per commit; a dataset grows every 50 commits.
fn generate(repo: &Path) -> anyhow::Result<()> {
    let mut import = FastImport::start(repo)?;
    let dataset = |d: usize, rows: usize| {
        let mut text = String::from("x,y,group\n");
        for r in 0..rows {
            text.push_str(&format!("{},{},{}\n", d + r, r % 2, r % 3));
        }
        text
    };
    let mut initial: Vec<(String, String)> = Vec::with_capacity(MODELS * 2 + DATASETS);
    for index in 0..MODELS {
        initial.push((format!("models/m{index:04}/card.md"), card(index, 0)));
        initial.push((
            format!("models/m{index:04}/metrics.json"),
            metrics(index, 0),
        ));
    }
    for d in 0..DATASETS {
        initial.push((format!("data/d{d:03}.csv"), dataset(d, 10)));
    }
    import.commit("main", None, "baseline", &initial)?;
    let mut count = 0usize;
    for version in 1..VERSIONS {
        for index in 0..MODELS {
            count += 1;
            let mut files = vec![
                (format!("models/m{index:04}/card.md"), card(index, version)),
                (
                    format!("models/m{index:04}/metrics.json"),
                    metrics(index, version),
                ),
            ];
            if count.is_multiple_of(50) {
                let d = (count / 50) % DATASETS;
                files.push((format!("data/d{d:03}.csv"), dataset(d, 10 + count / 50)));
            }
            import.commit(
                "main",
                None,
                &format!("retrain m{index:04} (1.{version}.0)"),
                &files,
            )?;
        }
    }
    import.finish()
}
