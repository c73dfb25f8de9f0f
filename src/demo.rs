//! `modelgate demo`: the bundled example repository, built for real and evaluated.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use include_dir::{Dir, include_dir};
use modelgate_core::scenario::Scenario;
use modelgate_core::{Repo, evaluate};

use crate::{Format, render_report};

static EXAMPLE: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/fixtures/example");

pub fn run(out: Option<PathBuf>, format: Format) -> anyhow::Result<ExitCode> {
    let target = match out {
        Some(dir) => {
            let occupied = dir.exists()
                && dir
                    .read_dir()
                    .map(|mut d| d.next().is_some())
                    .unwrap_or(true);
            if occupied {
                bail!(
                    "{} already exists and is not empty; expected a new or empty folder for the example repository",
                    dir.display()
                );
            }
            dir
        }
        None => tempfile::Builder::new()
            .prefix("modelgate-demo-")
            .tempdir()
            .context("creating a temporary folder")?
            .keep(),
    };
    let scenario_text = EXAMPLE
        .get_file("scenario.yml")
        .and_then(|f| f.contents_utf8())
        .context("the example's scenario.yml is missing from this build")?;
    let scenario = Scenario::parse("fixtures/example/scenario.yml", scenario_text)?;
    scenario.build(&target, &|folder| files_under(folder))?;

    let repo = Repo::open(&target)?;
    let mut outcomes = Vec::new();
    let mut json_reports = Vec::new();
    for pr in &scenario.pull_requests {
        let report = evaluate(&repo, &pr.base, &pr.head)?;
        match format {
            Format::Json => json_reports.push(serde_json::json!({
                "title": pr.title,
                "base": pr.base,
                "head": pr.head,
                "story": pr.story,
                "report": report,
            })),
            Format::Text | Format::Markdown => {
                let heading = format!("Pull request: {} ({} → {})", pr.title, pr.head, pr.base);
                if format == Format::Text {
                    println!("━━ {heading}\n   {}\n", pr.story);
                } else {
                    println!("## {heading}\n\n{}\n", pr.story);
                }
                println!("{}", render_report(&report, format)?);
            }
        }
        outcomes.push((pr, report.conclusion.as_str()));
    }
    if format == Format::Json {
        let document = serde_json::json!({
            "repository": target.display().to_string(),
            "pull_requests": json_reports,
        });
        println!("{}", serde_json::to_string_pretty(&document)?);
    }

    let surprises: Vec<String> = outcomes
        .iter()
        .filter(|(pr, conclusion)| pr.expect != *conclusion)
        .map(|(pr, conclusion)| format!("{}: expected {}, got {conclusion}", pr.title, pr.expect))
        .collect();
    if format == Format::Text {
        print_summary(&target, &outcomes);
    }
    if !surprises.is_empty() {
        bail!(
            "the example's pull requests did not conclude as scripted: {}",
            surprises.join("; ")
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn print_summary(
    target: &Path,
    outcomes: &[(&modelgate_core::scenario::ScriptedPullRequest, &str)],
) {
    println!("━━ Summary");
    for (pr, conclusion) in outcomes {
        println!("   {:<5} {}", conclusion.to_uppercase(), pr.title);
    }
    println!("\nThe example repository is at {}", target.display());
    if let Some((first, _)) = outcomes.first() {
        println!("Try it yourself:");
        println!(
            "   modelgate check --repo {} --base {} --head {} --format markdown",
            target.display(),
            first.base,
            first.head
        );
        println!("   modelgate lint --repo {}", target.display());
    }
}

/// Files of a folder of the embedded example, relative to that folder.
fn files_under(folder: &str) -> Option<Vec<(String, Vec<u8>)>> {
    let dir = EXAMPLE.get_dir(folder)?;
    let mut files = Vec::new();
    collect(dir, Path::new(folder), &mut files);
    Some(files)
}

fn collect(dir: &Dir<'_>, root: &Path, files: &mut Vec<(String, Vec<u8>)>) {
    for file in dir.files() {
        if let Ok(relative) = file.path().strip_prefix(root) {
            files.push((
                relative.to_string_lossy().replace('\\', "/"),
                file.contents().to_vec(),
            ));
        }
    }
    for sub in dir.dirs() {
        collect(sub, root, files);
    }
}
