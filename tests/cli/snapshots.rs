//! Snapshots (insta) of every surface for the example's scripted pull requests: the CLI's
//! text, Markdown and JSON, the sticky comment, both check runs and the job summary, for
//! each pull request without facts (a local `check`) and at each review stage; and the main
//! pages of the example's governance site.
//!
//! The example repository is built from `fixtures/example/scenario.yml` as `modelgate demo`
//! builds it. Its commit ids are fixed (`RepoWriter` fixes the author and the clock), but
//! they change whenever a fixture changes, so they are redacted to a name per scripted
//! commit (`[sha main@1]`, `[short main@1]`), as are dates and the temporary folder.
//!
//! Review: `cargo insta review`, or `INSTA_UPDATE=always cargo test --release --test cli
//! snapshots` and `git diff tests/cli/snapshots/`. With `CI=true` a changed snapshot fails.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use modelgate_bot::comment::{self, CheckOutput};
use modelgate_core::approvals::PrFacts;
use modelgate_core::scenario::{Scenario, ScenarioFile, ScriptedPullRequest};
use modelgate_core::{Repo, Report, evaluate, render};

use crate::support::modelgate;

/// The example repository, built once for every test of this module.
struct Example {
    /// Holds the repository (`repo/`) and the site (`site/`). A static is never dropped,
    /// so this is one fixed folder under Cargo's temporary folder for tests, replaced by
    /// each run, rather than a new temporary folder left behind by every run.
    dir: PathBuf,
    scenario: Scenario,
    /// (commit id, name of the scripted commit), for redaction.
    commits: Vec<(String, String)>,
}

fn example() -> &'static Example {
    static EXAMPLE: OnceLock<Example> = OnceLock::new();
    EXAMPLE.get_or_init(build_example)
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/example")
}

fn build_example() -> Example {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("snapshots-example");
    if dir.exists() {
        std::fs::remove_dir_all(&dir).expect("removing the previous run's example");
    }
    std::fs::create_dir_all(&dir).expect("a folder for the example");
    let text = std::fs::read_to_string(fixtures().join("scenario.yml")).expect("scenario.yml");
    let scenario =
        Scenario::parse("fixtures/example/scenario.yml", &text).expect("the example's scenario");
    scenario
        .build(&dir.join("repo"), &|folder| {
            files_under(&fixtures().join(folder))
        })
        .expect("the example repository builds");
    let commits = commit_names(&dir.join("repo"), &scenario);
    Example {
        dir,
        scenario,
        commits,
    }
}

/// Files of a fixture folder, relative to it, as `Scenario::build` wants them.
fn files_under(folder: &Path) -> Option<Vec<ScenarioFile>> {
    fn walk(dir: &Path, root: &Path, files: &mut Vec<ScenarioFile>) -> std::io::Result<()> {
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            if path.is_dir() {
                walk(&path, root, files)?;
            } else if let Ok(relative) = path.strip_prefix(root) {
                let name = relative.to_string_lossy().replace('\\', "/");
                files.push((name, std::fs::read(&path)?));
            }
        }
        Ok(())
    }
    let mut files = Vec::new();
    walk(folder, folder, &mut files).ok()?;
    files.sort();
    Some(files)
}

/// Names each scripted commit `branch@n` (its n-th commit in the scenario) and finds its id
/// by its message, which is unique in the scenario.
fn commit_names(repo: &Path, scenario: &Scenario) -> Vec<(String, String)> {
    let mut per_branch: BTreeMap<&str, usize> = BTreeMap::new();
    let mut by_message: BTreeMap<&str, String> = BTreeMap::new();
    for commit in &scenario.commits {
        let n = per_branch.entry(commit.branch.as_str()).or_default();
        *n += 1;
        let previous = by_message.insert(&commit.message, format!("{}@{n}", commit.branch));
        assert!(previous.is_none(), "duplicate message {}", commit.message);
    }
    let repo = git2::Repository::open(repo).expect("the example repository");
    let mut walk = repo.revwalk().expect("revwalk");
    walk.push_glob("refs/heads/*").expect("branches");
    let mut commits = Vec::new();
    for oid in walk {
        let oid = oid.expect("a commit id");
        let commit = repo.find_commit(oid).expect("a commit");
        let message = commit.message().expect("a UTF-8 message");
        let name = by_message
            .get(message)
            .unwrap_or_else(|| panic!("commit {oid} is not in the scenario: {message}"));
        commits.push((oid.to_string(), name.clone()));
    }
    assert_eq!(
        commits.len(),
        scenario.commits.len(),
        "one commit per script entry"
    );
    commits
}

/// Insta settings that redact commit ids (full and short), dates and the example's folder.
fn settings(description: &str) -> insta::Settings {
    let example = example();
    let mut filters: Vec<(String, String)> = Vec::new();
    let folder = example
        .dir
        .canonicalize()
        .unwrap_or_else(|_| example.dir.clone());
    for path in [&folder, &example.dir] {
        filters.push((regex_literal(&path.display().to_string()), "[tmp]".into()));
    }
    for (id, name) in &example.commits {
        filters.push((format!(r"\b{id}\b"), format!("[sha {name}]")));
        filters.push((
            format!(r"\b{}[0-9a-f]{{0,33}}\b", &id[..7]),
            format!("[short {name}]"),
        ));
    }
    filters.push((r"\b[0-9a-f]{40}\b".into(), "[sha]".into()));
    filters.push((
        r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?".into(),
        "[datetime]".into(),
    ));
    filters.push((r"\b\d{4}-\d{2}-\d{2}\b".into(), "[date]".into()));

    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.set_description(description);
    settings.set_filters(
        filters
            .iter()
            .map(|(regex, replacement)| (regex.as_str(), replacement.as_str())),
    );
    settings
}

/// `text` as a regular expression that matches it literally.
fn regex_literal(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if r"\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn pull_request(head: &str) -> &'static ScriptedPullRequest {
    example()
        .scenario
        .pull_requests
        .iter()
        .find(|pr| pr.head == head)
        .unwrap_or_else(|| panic!("no scripted pull request from {head}"))
}

/// A review stage's facts, with `$HEAD` standing for the pull request's head commit, and
/// their text.
fn stage_facts(file: &str, head: &str) -> (PrFacts, String) {
    let text = std::fs::read_to_string(fixtures().join(file))
        .expect("the stage's facts")
        .replace("$HEAD", head);
    let facts = PrFacts::from_json(&format!("fixtures/example/{file}"), &text)
        .expect("the stage's facts parse");
    (facts, text)
}

/// The report's JSON as snapshotted: what `modelgate check --format json` prints.
fn report_json(report: &Report) -> String {
    serde_json::to_string_pretty(report).expect("the report serializes") + "\n"
}

/// The JSON snapshot is the binary's output byte for byte: `modelgate check --format json`
/// (with `--pr-facts` at a review stage) prints exactly `report_json`.
fn assert_cli_json(pr: &ScriptedPullRequest, facts: Option<&Path>, report: &Report) {
    let repo = example().dir.join("repo");
    let mut args = vec![
        "check",
        "--repo",
        repo.to_str().expect("a UTF-8 path"),
        "--base",
        &pr.base,
        "--head",
        &pr.head,
        "--format",
        "json",
    ];
    if let Some(facts) = facts {
        args.extend(["--pr-facts", facts.to_str().expect("a UTF-8 path")]);
    }
    let outcome = modelgate(&args);
    assert!(
        outcome.stdout == report_json(report),
        "`modelgate {}` printed another JSON than the snapshotted one (exit {}):\n{}\n{}",
        args.join(" "),
        outcome.code,
        outcome.stdout,
        outcome.stderr
    );
}

/// Snapshots every surface of the pull request from `head`, without facts and at each
/// review stage, and checks each conclusion against the scenario.
fn snapshot_pull_request(head: &str) {
    let pr = pull_request(head);
    let repo = Repo::open(&example().dir.join("repo")).expect("the example repository");
    // One evaluation; each review stage judges its approvals on it, as the bot does.
    let evaluation = evaluate(&repo, &pr.base, &pr.head).expect("evaluation");
    let local = evaluation.report().clone();
    assert_eq!(local.conclusion.as_str(), pr.expect, "{}", pr.title);
    let heading = format!("{} ({} → {})", pr.title, pr.head, pr.base);
    assert_cli_json(pr, None, &local);
    snapshot_surfaces(
        &format!("{head}__local"),
        &format!("{heading}, without facts: {}", pr.story),
        &local,
    );
    for review in &pr.reviews {
        let (facts, facts_text) = stage_facts(&review.facts, &local.head);
        let staged = evaluation.judge(&facts).expect("judged approvals");
        assert_eq!(
            staged.conclusion.as_str(),
            review.expect,
            "{}, {}",
            pr.title,
            review.stage
        );
        let stage = Path::new(&review.facts)
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("a facts file name");
        let facts_file = example().dir.join(format!("{head}-{stage}.json"));
        std::fs::write(&facts_file, facts_text).expect("writing the stage's facts");
        assert_cli_json(pr, Some(&facts_file), &staged);
        snapshot_surfaces(
            &format!("{head}__{stage}"),
            &format!("{heading}, {}: {}", review.stage, pr.story),
            &staged,
        );
    }
}

fn snapshot_surfaces(prefix: &str, description: &str, report: &Report) {
    let json = report_json(report);
    settings(description).bind(|| {
        insta::assert_snapshot!(format!("{prefix}__text"), render::text(report));
        insta::assert_snapshot!(format!("{prefix}__markdown"), render::markdown(report));
        insta::assert_snapshot!(format!("{prefix}__json"), json);
        insta::assert_snapshot!(format!("{prefix}__comment"), comment::comment(report));
        insta::assert_snapshot!(
            format!("{prefix}__check_evaluation"),
            check_run(&comment::evaluation_output(report))
        );
        insta::assert_snapshot!(
            format!("{prefix}__check_approvals"),
            check_run(&comment::approvals_output(report))
        );
        insta::assert_snapshot!(
            format!("{prefix}__job_summary"),
            comment::job_summary(report, &[])
        );
    });
}

/// A check run's output as GitHub shows it: title and conclusion, then summary and text.
fn check_run(output: &CheckOutput) -> String {
    format!(
        "title: {}\nconclusion: {}\n\n──── summary ────\n{}\n\n──── text ────\n{}",
        output.title, output.conclusion, output.summary, output.text
    )
}

#[test]
fn every_scripted_pull_request_has_snapshots() {
    let covered = [
        "retrain-credit-risk",
        "refresh-tickets",
        "applications-2026",
        "lower-credit-risk-tier",
        "retrain-support-router",
    ];
    let scripted: Vec<&str> = example()
        .scenario
        .pull_requests
        .iter()
        .map(|pr| pr.head.as_str())
        .collect();
    assert_eq!(
        scripted, covered,
        "add a snapshot test for each new pull request"
    );
}

#[test]
fn retrain_credit_risk() {
    snapshot_pull_request("retrain-credit-risk");
}

#[test]
fn refresh_tickets() {
    snapshot_pull_request("refresh-tickets");
}

#[test]
fn applications_2026() {
    snapshot_pull_request("applications-2026");
}

#[test]
fn lower_credit_risk_tier() {
    snapshot_pull_request("lower-credit-risk-tier");
}

#[test]
fn retrain_support_router() {
    snapshot_pull_request("retrain-support-router");
}

/// The `<main>` element of a built page: the page's own content, without the shared head,
/// navigation, footer and assets.
fn main_region(site: &Path, page: &str) -> String {
    let html = std::fs::read_to_string(site.join(page))
        .unwrap_or_else(|e| panic!("{page} was not written: {e}"));
    let start = html
        .find("<main")
        .unwrap_or_else(|| panic!("{page} has no <main>"));
    let end = html[start..]
        .find("</main>")
        .map(|at| start + at + "</main>".len())
        .unwrap_or_else(|| panic!("{page} does not close <main>"));
    html[start..end].to_owned()
}

#[test]
fn site_pages() {
    let example = example();
    let site = example.dir.join("site");
    modelgate_site::build(&modelgate_site::BuildOptions {
        repo: example.dir.join("repo"),
        out: site.clone(),
        rev: "main".to_owned(),
        base_url: None,
        templates: None,
    })
    .expect("the example's site builds");
    // The credit-risk model's only version on main, named by its commit.
    let versions: Vec<String> = std::fs::read_dir(site.join("models/credit-risk"))
        .expect("the model's folder")
        .filter_map(|entry| entry.ok())
        .filter(|entry| entry.path().join("index.html").exists())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    let [version] = versions.as_slice() else {
        panic!("expected one version of credit-risk on main, found {versions:?}");
    };
    let pages = [
        ("site__index", "index.html".to_owned()),
        ("site__model", "models/credit-risk/index.html".to_owned()),
        (
            "site__model_version",
            format!("models/credit-risk/{version}/index.html"),
        ),
        (
            "site__dataset",
            "datasets/data/credit/applications.csv/index.html".to_owned(),
        ),
        ("site__audit", "audit.html".to_owned()),
    ];
    for (name, page) in pages {
        let shown = page.replace(version.as_str(), "<version>");
        settings(&format!("<main> of {shown} in the example's site at main")).bind(|| {
            insta::assert_snapshot!(name, main_region(&site, &page));
        });
    }
}
