//! `modelgate action` end to end: a real origin repository, a workspace checked out from it
//! with the git CLI as actions/checkout does (the test merge commit, full or shallow),
//! GitHub's example payloads adapted to it, and the fake GitHub API on loopback.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

use crate::fake_github::{APP_SLUG, FakeGitHub, REPO, WORKFLOW_TOKEN};
use crate::support::{FULL_BODY, Outcome, TestRepo, card, high_tier_pull_request, write};

struct Workflow {
    origin: TestRepo,
    github: FakeGitHub,
    /// GITHUB_WORKSPACE's parent; the checkout is `workspace/repo`.
    workspace: tempfile::TempDir,
    /// RUNNER_TEMP, and the runner's files: event, summary, outputs.
    runner: tempfile::TempDir,
    main_sha: String,
    head_sha: String,
    /// The test merge commit GitHub checks out for a pull request (GITHUB_SHA).
    merge_sha: String,
    /// The step's `GITHUB_TOKEN`: the workflow's own, unless a test gives an App's.
    token: String,
}

fn git(args: &[&str], dir: &Path) {
    let output = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_TERMINAL_PROMPT", "0")
        .output()
        .expect("run git");
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

impl Workflow {
    /// An origin with a high-tier model on main and pull request #1 that changes its AUC
    /// to `head_auc`, with the refs GitHub keeps for a pull request.
    async fn new(head_auc: &str) -> Workflow {
        let (origin, main_sha, head_sha) = high_tier_pull_request("feature", head_auc);
        Workflow::of(origin, main_sha, head_sha).await
    }

    /// Pull request #1 from `head_sha` on branch `feature` into `main_sha` of `origin`.
    async fn of(origin: TestRepo, main_sha: String, head_sha: String) -> Workflow {
        let merge_sha = {
            let repo = git2::Repository::open_bare(origin.path()).expect("origin");
            let head = repo
                .find_commit(git2::Oid::from_str(&head_sha).expect("sha"))
                .expect("head");
            let base = repo
                .find_commit(git2::Oid::from_str(&main_sha).expect("sha"))
                .expect("base");
            let signature = git2::Signature::now("GitHub", "noreply@github.com").expect("sig");
            let merge = repo
                .commit(
                    None,
                    &signature,
                    &signature,
                    "Merge feature into main",
                    &head.tree().expect("tree"),
                    &[&base, &head],
                )
                .expect("merge commit");
            repo.reference("refs/pull/1/head", head.id(), true, "pull request head")
                .expect("ref");
            repo.reference("refs/pull/1/merge", merge, true, "test merge")
                .expect("ref");
            merge.to_string()
        };
        let github = FakeGitHub::start(origin.path().to_str().expect("utf-8")).await;
        github.grant_write(&["bob", "carol"]);
        github.open_pull(1, "ann", ("main", &main_sha), ("feature", &head_sha));
        Workflow {
            token: WORKFLOW_TOKEN.to_owned(),
            origin,
            github,
            workspace: tempfile::tempdir().expect("workspace"),
            runner: tempfile::tempdir().expect("runner"),
            main_sha,
            head_sha,
            merge_sha,
        }
    }

    fn origin_url(&self) -> String {
        format!("file://{}", self.origin.path().display())
    }

    fn checkout(&self) -> PathBuf {
        self.workspace.path().join("repo")
    }

    /// What actions/checkout does on a pull request: the test merge commit, detached;
    /// `shallow` is its default `fetch-depth: 1`.
    fn check_out_merge(&self, shallow: bool) {
        let url = self.origin_url();
        let checkout = self.checkout();
        let dir = checkout.to_str().expect("utf-8");
        if shallow {
            git(&["clone", "--depth", "1", &url, dir], self.workspace.path());
            git(
                &["fetch", "--depth", "1", "origin", "refs/pull/1/merge"],
                &checkout,
            );
        } else {
            git(&["clone", &url, dir], self.workspace.path());
            git(&["fetch", "origin", "refs/pull/1/merge"], &checkout);
        }
        git(&["checkout", "--detach", "FETCH_HEAD"], &checkout);
    }

    /// What actions/checkout does on a push: the pushed commit, depth 1.
    fn check_out_main_shallow(&self) {
        let url = self.origin_url();
        let dir = self.checkout();
        git(
            &[
                "clone",
                "--depth",
                "1",
                "--branch",
                "main",
                &url,
                dir.to_str().expect("utf-8"),
            ],
            self.workspace.path(),
        );
    }

    /// A GitHub example payload adapted to this repository.
    fn payload(&self, file: &str) -> Value {
        let text = std::fs::read_to_string(format!(
            "{}/fixtures/github/payloads/{file}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .expect("payload");
        let mut payload: Value = serde_json::from_str(&text).expect("json");
        payload["repository"]["full_name"] = json!(REPO);
        payload["repository"]["name"] = json!("models");
        payload["repository"]["default_branch"] = json!("main");
        if payload.get("pull_request").is_some() {
            let pr = &mut payload["pull_request"];
            pr["number"] = json!(1);
            pr["head"]["sha"] = json!(self.head_sha);
            pr["head"]["ref"] = json!("feature");
            pr["head"]["repo"]["full_name"] = json!(REPO);
            pr["base"]["sha"] = json!(self.main_sha);
            pr["base"]["ref"] = json!("main");
            pr["base"]["repo"]["full_name"] = json!(REPO);
            pr["merge_commit_sha"] = json!(self.merge_sha);
            payload["number"] = json!(1);
        }
        payload
    }

    /// `modelgate action` with the variables the runner sets, and nothing else from the
    /// test's own environment (CI may run these tests inside a workflow).
    fn run(&self, event_name: &str, payload: &Value, args: &[&str]) -> Outcome {
        let event = self.runner.path().join("event.json");
        std::fs::write(&event, payload.to_string()).expect("event");
        let output = Command::new(env!("CARGO_BIN_EXE_modelgate"))
            .arg("action")
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_TOKEN", &self.token)
            .env("GITHUB_EVENT_NAME", event_name)
            .env("GITHUB_EVENT_PATH", &event)
            .env("GITHUB_REPOSITORY", REPO)
            .env("GITHUB_API_URL", self.github.url())
            .env("GITHUB_SERVER_URL", "https://github.com")
            .env("GITHUB_RUN_ID", "4242")
            .env("GITHUB_SHA", &self.merge_sha)
            .env("GITHUB_WORKSPACE", self.checkout())
            .env("GITHUB_STEP_SUMMARY", self.summary_path())
            .env("GITHUB_OUTPUT", self.runner.path().join("output.txt"))
            .env("RUNNER_TEMP", self.runner.path())
            .env("MODELGATE_LOG", "warn")
            .output()
            .expect("run modelgate action");
        Outcome {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    fn summary_path(&self) -> PathBuf {
        self.runner.path().join("summary.md")
    }

    fn summary(&self) -> String {
        std::fs::read_to_string(self.summary_path()).unwrap_or_default()
    }

    /// The step's outputs, read as the runner reads `$GITHUB_OUTPUT`.
    fn outputs(&self) -> BTreeMap<String, String> {
        let text =
            std::fs::read_to_string(self.runner.path().join("output.txt")).unwrap_or_default();
        parse_github_output(&text)
    }

    /// The conclusion of the check run `name` on the pull request's head.
    fn conclusion_on_head(&self, name: &str) -> Option<String> {
        self.check_runs_on(&self.head_sha)
            .into_iter()
            .find(|(run, _)| run == name)
            .and_then(|(_, conclusion)| conclusion)
    }

    fn check_runs_on(&self, sha: &str) -> Vec<(String, Option<String>)> {
        self.github.with(|s| {
            s.check_runs
                .iter()
                .filter(|r| r.head_sha == sha)
                .map(|r| (r.name.clone(), r.conclusion.clone()))
                .collect()
        })
    }
}

/// GitHub's documented `$GITHUB_OUTPUT` syntax: `name=value` lines, and `name<<DELIMITER`
/// followed by the value's lines and the delimiter alone on a line. Panics on anything else.
fn parse_github_output(text: &str) -> BTreeMap<String, String> {
    let mut outputs = BTreeMap::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if let Some((name, delimiter)) = line.split_once("<<") {
            assert!(!delimiter.is_empty() && !name.contains('='), "{line}");
            let mut value = Vec::new();
            loop {
                let next = lines
                    .next()
                    .unwrap_or_else(|| panic!("no closing {delimiter} in:\n{text}"));
                if next == delimiter {
                    break;
                }
                value.push(next);
            }
            outputs.insert(name.to_owned(), value.join("\n"));
        } else if let Some((name, value)) = line.split_once('=') {
            outputs.insert(name.to_owned(), value.to_owned());
        } else {
            panic!("not an output line: {line:?}");
        }
    }
    outputs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pull_request_is_evaluated_and_posted_on_its_head_commit() {
    let w = Workflow::new("0.81").await;
    w.check_out_merge(false);
    let opened = w.payload("pull_request/opened.payload.json");

    let run = w.run("pull_request", &opened, &["--mode", "check"]);
    assert_eq!(
        run.code, 0,
        "missing approvals do not fail the step: {run:?}"
    );

    // The comment and the checks are about the pull request's head, not the merge commit.
    let comments = w.github.with(|s| s.comments.clone());
    assert_eq!(comments.len(), 1);
    assert!(
        comments[0]
            .body
            .starts_with("<!-- modelgate:report -->\n### 🟡 modelgate: ACTION REQUIRED"),
        "{}",
        comments[0].body
    );
    let mut runs = w.check_runs_on(&w.head_sha);
    runs.sort();
    assert_eq!(
        runs,
        [
            (
                "modelgate / approvals".to_owned(),
                Some("action_required".to_owned())
            ),
            (
                "modelgate / evaluation".to_owned(),
                Some("success".to_owned())
            ),
        ]
    );
    assert!(w.check_runs_on(&w.merge_sha).is_empty());

    // The job summary is the report in Markdown.
    let summary = w.summary();
    assert!(
        summary.starts_with("### 🟡 modelgate: ACTION REQUIRED"),
        "{summary}"
    );
    assert!(summary.contains("| `m` |"), "{summary}");

    // The outputs, in GitHub's format; the multi-line one is fenced by a random delimiter.
    let outputs = w.outputs();
    assert_eq!(outputs["conclusion"], "action_required");
    let report: Value = serde_json::from_str(
        &std::fs::read_to_string(&outputs["report"]).expect("the report file"),
    )
    .expect("JSON report");
    assert_eq!(report["schema"], "modelgate.report/v1");
    assert_eq!(report["head"], json!(w.head_sha));
    assert_eq!(report["base"], json!(w.main_sha));
    assert!(outputs["summary"].lines().count() > 1, "{outputs:?}");
    assert!(outputs["summary"].contains("ACTION REQUIRED"));
    let raw = std::fs::read_to_string(w.runner.path().join("output.txt")).expect("outputs");
    assert!(raw.contains("summary<<ghadelimiter_"), "{raw}");
    assert!(
        run.stdout
            .starts_with("ACTION REQUIRED: missing 2 approving review(s)"),
        "the log shows the report: {}",
        run.stdout
    );

    // A rerun edits nothing: the same comment, the same two check runs.
    let again = w.run("pull_request", &opened, &["--mode", "check"]);
    assert_eq!(again.code, 0, "{again:?}");
    assert_eq!(w.github.with(|s| s.comments.len()), 1);
    assert_eq!(w.check_runs_on(&w.head_sha).len(), 2);
    w.github.assert_no_problems();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shallow_checkout_is_completed_from_origin() {
    let w = Workflow::new("0.81").await;
    w.check_out_merge(true);
    assert!(
        w.checkout().join(".git/shallow").exists(),
        "the checkout is shallow"
    );
    let run = w.run(
        "pull_request",
        &w.payload("pull_request/synchronize.payload.json"),
        &["--mode", "check"],
    );
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        w.runner
            .path()
            .join("modelgate/mirror/acme/models.git")
            .is_dir(),
        "the history was fetched into a mirror beside the shallow checkout"
    );
    assert_eq!(w.check_runs_on(&w.head_sha).len(), 2);
    assert_eq!(w.outputs()["conclusion"], "action_required");
    w.github.assert_no_problems();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_origin_is_a_clear_error() {
    let w = Workflow::new("0.81").await;
    w.check_out_merge(true);
    git(
        &[
            "remote",
            "set-url",
            "origin",
            "file:///nonexistent/origin.git",
        ],
        &w.checkout(),
    );
    let run = w.run(
        "pull_request",
        &w.payload("pull_request/opened.payload.json"),
        &["--mode", "check"],
    );
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr
            .contains("is shallow and fetching from origin failed")
            && run.stderr.contains("fetch-depth: 0"),
        "{}",
        run.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fork_pull_request_reports_in_the_job_summary() {
    let w = Workflow::new("0.81").await;
    w.check_out_merge(true);
    w.github.with(|s| s.read_only = true);
    let mut opened = w.payload("pull_request/opened.payload.json");
    opened["pull_request"]["head"]["repo"]["full_name"] = json!("contributor/models");

    let run = w.run("pull_request", &opened, &["--mode", "check"]);
    assert_eq!(run.code, 0, "a read-only token is not a failure: {run:?}");
    w.github.with(|s| {
        assert!(s.comments.is_empty() && s.check_runs.is_empty() && s.statuses.is_empty());
        assert!(
            s.requests
                .iter()
                .any(|r| r == "POST /repos/acme/models/issues/1/comments"),
            "it tried: {:?}",
            s.requests
        );
    });
    let summary = w.summary();
    assert!(
        summary.starts_with("> [!NOTE]\n> This pull request comes from the fork `contributor/models`, so the workflow's token is read-only"),
        "{summary}"
    );
    assert!(
        summary.contains("### 🟡 modelgate: ACTION REQUIRED"),
        "{summary}"
    );
    assert!(
        run.stdout
            .contains("::warning title=modelgate::This pull request comes from the fork"),
        "{}",
        run.stdout
    );
    assert_eq!(w.outputs()["conclusion"], "action_required");
    w.github.assert_no_problems();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_check_runs_fall_back_to_commit_statuses() {
    let w = Workflow::new("0.81").await;
    w.check_out_merge(false);
    w.github.with(|s| s.checks_forbidden = true);
    let run = w.run(
        "pull_request",
        &w.payload("pull_request/opened.payload.json"),
        &["--mode", "check"],
    );
    assert_eq!(run.code, 0, "{run:?}");
    let mut statuses: Vec<(String, String, String, String)> = w.github.with(|s| {
        s.statuses
            .iter()
            .map(|st| {
                (
                    st.sha.clone(),
                    st.context.clone(),
                    st.state.clone(),
                    st.description.clone(),
                )
            })
            .collect()
    });
    statuses.sort();
    assert_eq!(statuses.len(), 2, "{statuses:?}");
    assert_eq!(
        (
            &statuses[0].0,
            statuses[0].1.as_str(),
            statuses[0].2.as_str()
        ),
        (&w.head_sha, "modelgate / approvals", "failure")
    );
    assert!(
        statuses[0]
            .3
            .starts_with("Action required: 1 requirement(s) missing"),
        "{statuses:?}"
    );
    assert_eq!(
        (statuses[1].1.as_str(), statuses[1].2.as_str()),
        ("modelgate / evaluation", "success")
    );
    assert_eq!(w.github.with(|s| s.comments.len()), 1);
    assert!(w.summary().contains("posted as commit statuses"));
    w.github.assert_no_problems();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_evaluation_fails_the_step_unless_fail_on_never() {
    let w = Workflow::new("0.70").await;
    w.check_out_merge(false);
    let opened = w.payload("pull_request/opened.payload.json");
    let run = w.run("pull_request", &opened, &["--mode", "check"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(
        w.conclusion_on_head("modelgate / evaluation").as_deref(),
        Some("failure")
    );
    let run = w.run(
        "pull_request",
        &opened,
        &["--mode", "check", "--fail-on", "never"],
    );
    assert_eq!(run.code, 0, "{run:?}");

    // The same default from a committed settings file; the flag still wins.
    let settings = w.runner.path().join("modelgate-action.toml");
    std::fs::write(&settings, "fail_on = \"never\"\n").expect("settings");
    let config = settings.to_str().expect("utf-8");
    let run = w.run(
        "pull_request",
        &opened,
        &["--mode", "check", "--config", config],
    );
    assert_eq!(run.code, 0, "{run:?}");
    let run = w.run(
        "pull_request",
        &opened,
        &["--mode", "check", "--config", config, "--fail-on", "fail"],
    );
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(w.outputs()["conclusion"], "fail");
    w.github.assert_no_problems();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn record_on_push_then_audit_verify() {
    let mut w = Workflow::new("0.81").await;
    let head = w.head_sha.clone();
    w.github.with(|s| {
        s.reviews.insert(
            1,
            vec![
                json!({"id": 21, "user": {"login": "bob"}, "state": "APPROVED", "commit_id": head, "submitted_at": "2026-03-01T10:00:00Z"}),
                json!({"id": 22, "user": {"login": "carol"}, "state": "APPROVED", "commit_id": head, "submitted_at": "2026-03-01T11:00:00Z"}),
            ],
        );
    });
    // The pull request is squash-merged onto main.
    let merged = w.origin.commit(
        "main",
        None,
        &[write("models/m/metrics.json", "{\"auc\": 0.81}")],
    );
    w.github.with(|s| {
        if let Some(pull) = s.pulls.get_mut(&1) {
            pull["state"] = json!("closed");
            pull["merged_at"] = json!("2026-03-01T12:00:00Z");
            pull["merge_commit_sha"] = json!(merged);
        }
    });
    w.merge_sha = merged.clone();
    w.check_out_main_shallow();
    let mut push = w.payload("push/with-new-branch.payload.json");
    push["ref"] = json!("refs/heads/main");
    push["before"] = json!(w.main_sha);
    push["after"] = json!(merged);

    let run = w.run("push", &push, &["--mode", "record"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        w.summary()
            .starts_with("> [!NOTE]\n> Recorded decision #1 in the audit ledger"),
        "{}",
        w.summary()
    );
    assert_eq!(w.outputs()["conclusion"], "pass");

    let origin = w.origin.path();
    let origin = origin.to_str().expect("utf-8");
    let log = crate::support::modelgate(&["audit", "log", "--repo", origin, "--format", "json"]);
    let records: Value = serde_json::from_str(&log.stdout).expect("records");
    assert_eq!(records.as_array().map(Vec::len), Some(1), "{}", log.stdout);
    assert_eq!(records[0]["commit"], json!(merged));
    assert_eq!(records[0]["pr"], 1);
    assert_eq!(records[0]["approvers"].as_array().map(Vec::len), Some(2));
    let verify = crate::support::modelgate(&["audit", "verify", "--repo", origin]);
    assert_eq!(verify.code, 0, "{}", verify.stdout);

    // A rerun of the workflow records nothing new.
    let again = w.run("push", &push, &["--mode", "record"]);
    assert_eq!(again.code, 0, "{again:?}");
    let verify = crate::support::modelgate(&["audit", "verify", "--repo", origin]);
    assert!(
        verify.stdout.contains("1 record(s); the ledger is intact"),
        "{}",
        verify.stdout
    );

    // A tag push is not a merge to record.
    let tag = w.payload("push/payload.json");
    let run = w.run("push", &tag, &["--mode", "record"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("::notice title=modelgate::Nothing recorded: `refs/tags/simple-tag` is not the default branch `main`."), "{}", run.stdout);
    w.github.assert_no_problems();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_events_are_clear_errors_and_site_mode_builds() {
    let w = Workflow::new("0.81").await;
    w.check_out_merge(false);
    let run = w.run(
        "push",
        &w.payload("push/with-new-branch.payload.json"),
        &["--mode", "check"],
    );
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr.contains(
            "mode `check` runs on pull_request or pull_request_review events, not on `push`"
        ),
        "{}",
        run.stderr
    );
    // Site mode builds the governance site from the checkout's history into --site-dir.
    let site_dir = w.runner.path().join("site");
    let run = w.run(
        "push",
        &w.payload("push/with-new-branch.payload.json"),
        &[
            "--mode",
            "site",
            "--site-dir",
            site_dir.to_str().expect("utf-8"),
        ],
    );
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        site_dir.join("index.html").exists(),
        "the site was built: {run:?}"
    );
    assert!(site_dir.join("models.json").exists());
}

fn repository_file(path: &str) -> String {
    std::fs::read_to_string(format!("{}/{path}", env!("CARGO_MANIFEST_DIR")))
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

const EXAMPLE_WORKFLOWS: [&str; 2] = [
    "fixtures/workflows/modelgate-pull-request.yml",
    "fixtures/workflows/modelgate-default-branch.yml",
];

#[test]
fn the_readme_shows_the_checked_workflows() {
    let readme = repository_file("README.md");
    for path in EXAMPLE_WORKFLOWS {
        let workflow = repository_file(path);
        assert!(
            readme.contains(&format!("```yaml\n{workflow}```")),
            "the README's copy of {path} differs from the file .ci/run checks"
        );
    }
}

#[test]
fn third_party_actions_are_pinned_to_a_commit_with_its_tag() {
    for path in EXAMPLE_WORKFLOWS
        .into_iter()
        .chain([".github/workflows/release.yml"])
    {
        for line in repository_file(path).lines() {
            let Some(spec) = line.trim().trim_start_matches("- ").strip_prefix("uses: ") else {
                continue;
            };
            let (action, rest) = spec.split_once('@').expect("action@ref");
            // modelgate's own action names its release tag until a release exists to pin
            // (see .github/zizmor.yml).
            if action == "modelgate/modelgate" {
                continue;
            }
            let (sha, tag) = rest.split_once(" # ").unwrap_or((rest, ""));
            assert!(
                sha.len() == 40 && sha.bytes().all(|b| b.is_ascii_hexdigit()),
                "{path}: {action} is not pinned to a full commit sha: {line}"
            );
            assert!(
                tag.starts_with('v'),
                "{path}: {action}'s sha has no tag comment"
            );
        }
    }
}

/// With an App's installation token in the workflow (which may not read `GET /user`), the
/// sticky comment is found by its marker and its bot author and kept, not posted again on
/// every run; a person's comment quoting the marker is left alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_token_keeps_one_sticky_comment() {
    let mut w = Workflow::new("0.81").await;
    w.token = "ghs_app-installation-token".to_owned();
    let token = w.token.clone();
    w.github.with(|s| {
        s.tokens
            .insert(token, crate::fake_github::TokenKind::Installation { id: 1 });
        s.add_person_comment(9000, "ann", "Quoting the bot: <!-- modelgate:report -->");
    });
    w.check_out_merge(false);
    let opened = w.payload("pull_request/opened.payload.json");
    for _ in 0..2 {
        let run = w.run("pull_request", &opened, &["--mode", "check"]);
        assert_eq!(run.code, 0, "{run:?}");
    }
    let comments = w.github.with(|s| s.comments.clone());
    assert_eq!(comments.len(), 2, "{comments:#?}");
    assert_eq!(comments[1].user, format!("{APP_SLUG}[bot]"));
    assert_eq!(
        comments[0].body, "Quoting the bot: <!-- modelgate:report -->",
        "a person's comment is never edited"
    );
    w.github.assert_no_problems();
}

/// A pull request that cannot be evaluated (a lineage cycle) fails the step, and its
/// comment, check run and job summary say what to fix.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pull_request_that_cannot_be_evaluated_is_told_what_to_fix() {
    let (mut origin, main_sha, _) = high_tier_pull_request("feature", "0.81");
    let head_sha = origin.commit(
        "feature",
        None,
        &[
            write(
                "models/m/card.md",
                card("high", "base_model: n\n", FULL_BODY),
            ),
            write(
                "models/n/card.md",
                card("high", "base_model: m\n", FULL_BODY),
            ),
        ],
    );
    let w = Workflow::of(origin, main_sha, head_sha).await;
    w.check_out_merge(false);
    let opened = w.payload("pull_request/opened.payload.json");
    let run = w.run("pull_request", &opened, &["--mode", "check"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr.contains("lineage cycle through base_model"),
        "{run:?}"
    );
    assert_eq!(
        w.conclusion_on_head("modelgate / evaluation").as_deref(),
        Some("failure")
    );
    let comments = w.github.with(|s| s.comments.clone());
    assert_eq!(comments.len(), 1);
    assert!(
        comments[0].body.contains("modelgate: NOT EVALUATED"),
        "{}",
        comments[0].body
    );
    assert!(
        w.summary().contains("lineage cycle through base_model"),
        "{}",
        w.summary()
    );
    w.github.assert_no_problems();
}

/// A warehouse job profiles the pull request's data and passes the profile on as an
/// artifact: the `data` input reads it as the head's version of the dataset the card names,
/// against the base's profile in the repository.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_profile_artifact_is_checked_as_the_heads_dataset() {
    use crate::profiles::{profile_of_csv, scores_csv};

    let card = card(
        "high",
        "datasets: {train: data/train.profile.json}\n",
        FULL_BODY,
    );
    let mut origin = TestRepo::bare();
    let main_sha = origin.commit(
        "main",
        None,
        &[
            write("models/scorer/card.md", card),
            write("models/scorer/metrics.json", "{\"auc\": 0.80}"),
            write(
                "data/train.profile.json",
                profile_of_csv(&scores_csv(20_000, 0.0)),
            ),
        ],
    );
    let head_sha = origin.commit(
        "feature",
        Some("main"),
        &[write("models/scorer/metrics.json", "{\"auc\": 0.80}\n")],
    );
    let w = Workflow::of(origin, main_sha, head_sha).await;
    w.check_out_merge(false);
    let artifacts = w.checkout().join("artifacts");
    std::fs::create_dir_all(&artifacts).expect("artifacts folder");
    std::fs::write(
        artifacts.join("train.profile.json"),
        profile_of_csv(&scores_csv(20_000, 0.3)),
    )
    .expect("artifact");
    let opened = w.payload("pull_request/opened.payload.json");

    let run = w.run(
        "pull_request",
        &opened,
        &[
            "--mode",
            "check",
            "--data",
            "data/train.profile.json=artifacts/train.profile.json",
        ],
    );
    assert_eq!(run.code, 1, "the artifact's drift fails the step: {run:?}");
    assert_eq!(
        w.conclusion_on_head("modelgate / evaluation").as_deref(),
        Some("failure")
    );
    let comments = w.github.with(|s| s.comments.clone());
    assert!(
        comments[0]
            .body
            .contains("dataset drift in data/train.profile.json"),
        "{}",
        comments[0].body
    );

    // Given for a dataset no card names, an artifact is refused, not silently unread.
    let refused = w.run(
        "pull_request",
        &opened,
        &[
            "--mode",
            "check",
            "--data",
            "data/other.profile.json=artifacts/train.profile.json",
        ],
    );
    assert_ne!(refused.code, 0, "{refused:?}");
    assert!(
        refused.stderr.contains("data/other.profile.json")
            && refused.stderr.contains("no model card names this dataset"),
        "{refused:?}"
    );
    // A missing artifact file is named.
    let missing = w.run(
        "pull_request",
        &opened,
        &[
            "--mode",
            "check",
            "--data",
            "data/train.profile.json=nowhere.json",
        ],
    );
    assert_ne!(missing.code, 0, "{missing:?}");
    assert!(missing.stderr.contains("nowhere.json"), "{missing:?}");
}
