//! `modelgate demo`: the bundled example repository, built for real and evaluated.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use include_dir::{Dir, include_dir};
use modelgate_core::approvals::PrFacts;
use modelgate_core::scenario::Scenario;
use modelgate_core::{Repo, evaluate, render};

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
    let mut outcomes: Vec<Outcome> = Vec::new();
    let mut json_reports = Vec::new();
    for pr in &scenario.pull_requests {
        // One evaluation per pull request; each review stage only judges its approvals.
        let evaluation = evaluate(&repo, &pr.base, &pr.head)?;
        let report = evaluation.report();
        let heading = format!("Pull request: {} ({} → {})", pr.title, pr.head, pr.base);
        match format {
            Format::Text => println!(
                "━━ {heading}\n   {}\n\n{}",
                pr.story,
                render_report(report, format)?
            ),
            Format::Markdown => println!(
                "## {heading}\n\n{}\n\n{}",
                pr.story,
                render_report(report, format)?
            ),
            Format::Json => {}
        }
        outcomes.push(Outcome {
            title: pr.title.clone(),
            expected: pr.expect.clone(),
            got: report.conclusion.as_str(),
        });
        let mut stages = Vec::new();
        for review in &pr.reviews {
            let facts = stage_facts(&review.facts, &report.head)?;
            let staged = evaluation.judge(&facts)?;
            match format {
                Format::Text => println!(
                    "   ▸ with reviews, {}:\n{}",
                    review.stage,
                    indent(&render::approvals_text(&staged))
                ),
                Format::Markdown => println!(
                    "### With reviews: {}\n\n{}",
                    review.stage,
                    render::markdown(&staged)
                ),
                Format::Json => {
                    stages.push(serde_json::json!({"stage": review.stage, "report": staged}))
                }
            }
            outcomes.push(Outcome {
                title: format!("{}, {}", pr.title, review.stage),
                expected: review.expect.clone(),
                got: staged.conclusion.as_str(),
            });
        }
        if format == Format::Json {
            json_reports.push(serde_json::json!({
                "title": pr.title,
                "base": pr.base,
                "head": pr.head,
                "story": pr.story,
                "report": report,
                "review_stages": stages,
            }));
        }
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
        .filter(|o| o.expected != o.got)
        .map(|o| format!("{}: expected {}, got {}", o.title, o.expected, o.got))
        .collect();
    if format == Format::Text {
        print_summary(&target, &scenario, &outcomes);
    }
    if !surprises.is_empty() {
        bail!(
            "the example's pull requests did not conclude as scripted: {}",
            surprises.join("; ")
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// One scripted evaluation and how it concluded.
struct Outcome {
    title: String,
    expected: String,
    got: &'static str,
}

/// A review stage's facts, with `$HEAD` standing for the pull request's head commit.
fn stage_facts(file: &str, head: &str) -> anyhow::Result<PrFacts> {
    let text = EXAMPLE
        .get_file(file)
        .and_then(|f| f.contents_utf8())
        .with_context(|| format!("the example's {file} is missing from this build"))?;
    Ok(PrFacts::from_json(
        &format!("fixtures/example/{file}"),
        &text.replace("$HEAD", head),
    )?)
}

fn indent(text: &str) -> String {
    text.lines().map(|line| format!("     {line}\n")).collect()
}

fn print_summary(target: &Path, scenario: &Scenario, outcomes: &[Outcome]) {
    println!("━━ Summary");
    for outcome in outcomes {
        println!("   {:<16} {}", outcome.got.to_uppercase(), outcome.title);
    }
    println!("\nThe example repository is at {}", target.display());
    if let Some(first) = scenario.pull_requests.first() {
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
