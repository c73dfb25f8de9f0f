//! Building repositories and running the binary, so tests read like the product's story.

use std::process::Command;

use modelgate_core::scenario::{FileChange, RepoWriter};
use serde_json::Value;
use tempfile::TempDir;

pub struct TestRepo {
    dir: TempDir,
    writer: RepoWriter,
}

impl TestRepo {
    pub fn new() -> TestRepo {
        Self::init(false)
    }

    pub fn bare() -> TestRepo {
        Self::init(true)
    }

    fn init(bare: bool) -> TestRepo {
        let dir = tempfile::tempdir().expect("temporary folder");
        let writer = RepoWriter::init(&dir.path().join("repo"), bare).expect("new repository");
        TestRepo { dir, writer }
    }

    pub fn path(&self) -> std::path::PathBuf {
        self.dir.path().join("repo")
    }

    /// Commits on `branch`, which starts from `from` when new.
    pub fn commit(&mut self, branch: &str, from: Option<&str>, changes: &[FileChange]) -> String {
        self.writer
            .commit(branch, from, &format!("change on {branch}"), changes)
            .expect("commit")
            .to_string()
    }

    /// `modelgate check --format json` on this repository.
    pub fn check(&self, base: &str, head: &str) -> Outcome {
        let path = self.path();
        let repo = path.to_str().expect("utf-8 path");
        modelgate(&[
            "check", "--repo", repo, "--base", base, "--head", head, "--format", "json",
        ])
    }

    /// `modelgate check --format json --pr-facts` with `facts` written to a file.
    pub fn check_with_facts(&self, base: &str, head: &str, facts: &serde_json::Value) -> Outcome {
        let facts_file = self.dir.path().join("facts.json");
        std::fs::write(&facts_file, facts.to_string()).expect("write facts");
        let path = self.path();
        modelgate(&[
            "check",
            "--repo",
            path.to_str().expect("utf-8 path"),
            "--base",
            base,
            "--head",
            head,
            "--format",
            "json",
            "--pr-facts",
            facts_file.to_str().expect("utf-8 path"),
        ])
    }

    /// Pull request `n`: `branch` made from `main` with `changes`, approved by bob,
    /// evaluated with its facts (`check` must exit `expected_check_code`), merged onto
    /// `main` as a commit making the same changes, and recorded. Returns the merge commit.
    pub fn merge_and_record(
        &mut self,
        n: u64,
        branch: &str,
        changes: &[FileChange],
        expected_check_code: i32,
    ) -> String {
        let head = self.commit(branch, Some("main"), changes);
        let facts = self.scratch(&format!("facts{n}.json"));
        let facts_json = serde_json::json!({
            "number": n,
            "author": "ann",
            "head_sha": head,
            "reviews": [{"id": 100 + n, "user": {"login": "bob"}, "state": "APPROVED", "commit_id": head, "submitted_at": "2026-01-06T10:00:00Z"}],
        });
        std::fs::write(&facts, facts_json.to_string()).expect("facts");
        let report = self.scratch(&format!("report{n}.json"));
        let path = self.path();
        let repo_arg = path.to_str().expect("utf-8");
        let check = modelgate(&[
            "check",
            "--repo",
            repo_arg,
            "--base",
            "main",
            "--head",
            branch,
            "--format",
            "json",
            "--output",
            report.to_str().expect("utf-8"),
            "--pr-facts",
            facts.to_str().expect("utf-8"),
        ]);
        assert_eq!(check.code, expected_check_code, "{}", check.stderr);
        let merge = self.commit("main", None, changes);
        let recorded = modelgate(&[
            "audit",
            "record",
            "--repo",
            repo_arg,
            "--commit",
            &merge,
            "--report",
            report.to_str().expect("utf-8"),
            "--pr-facts",
            facts.to_str().expect("utf-8"),
        ]);
        assert_eq!(recorded.code, 0, "{}", recorded.stderr);
        assert!(
            recorded.stdout.starts_with("recorded #") && recorded.stdout.contains(&merge),
            "{}",
            recorded.stdout
        );
        merge
    }

    /// `modelgate site build` of this repository into a new folder `site` of the test's
    /// temporary folder, with `extra` arguments; the build must succeed.
    pub fn build_site(&self, extra: &[&str]) -> std::path::PathBuf {
        let out = self.scratch("site");
        let path = self.path();
        let mut args = vec![
            "site",
            "build",
            "--repo",
            path.to_str().expect("utf-8 path"),
            "--out",
            out.to_str().expect("utf-8 path"),
        ];
        args.extend_from_slice(extra);
        let outcome = modelgate(&args);
        assert_eq!(outcome.code, 0, "site build: {}", outcome.stderr);
        out
    }

    /// A file in the test's temporary folder (outside the repository).
    pub fn scratch(&self, name: &str) -> std::path::PathBuf {
        self.dir.path().join(name)
    }

    pub fn lint(&self, rev: &str) -> Outcome {
        let path = self.path();
        modelgate(&[
            "lint",
            "--repo",
            path.to_str().expect("utf-8 path"),
            "--rev",
            rev,
        ])
    }
}

#[derive(Debug)]
pub struct Outcome {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Outcome {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }

    /// The report's entry for one model.
    pub fn model(&self, id: &str) -> Value {
        let report = self.json();
        report["models"]
            .as_array()
            .and_then(|models| models.iter().find(|m| m["id"] == id).cloned())
            .unwrap_or_else(|| panic!("model {id} not in the report:\n{}", self.stdout))
    }

    /// The lines of stdout that start with `prefix` (`error: `, `warning: `).
    pub fn lines_starting(&self, prefix: &str) -> Vec<&str> {
        self.stdout
            .lines()
            .filter(|line| line.starts_with(prefix))
            .collect()
    }

    /// The check of `kind` (`regression`, `drift`, `fairness`, `card`) of one model.
    pub fn check(&self, model: &str, kind: &str) -> Value {
        self.model(model)["checks"]
            .as_array()
            .and_then(|checks| checks.iter().find(|c| c["kind"] == kind).cloned())
            .unwrap_or_else(|| panic!("model {model} has no {kind} check:\n{}", self.stdout))
    }

    pub fn model_ids(&self) -> Vec<String> {
        self.json()["models"]
            .as_array()
            .map(|models| {
                models
                    .iter()
                    .filter_map(|m| m["id"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }
}

pub fn modelgate(args: &[&str]) -> Outcome {
    modelgate_with_env(args, &[])
}

/// `modelgate` with these environment variables set as well.
pub fn modelgate_with_env(args: &[&str], env: &[(&str, &str)]) -> Outcome {
    let output = Command::new(env!("CARGO_BIN_EXE_modelgate"))
        .args(args)
        .env("MODELGATE_LOG", "off")
        .envs(env.iter().copied())
        .output()
        .expect("run modelgate");
    Outcome {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// A card with the given tier, extra front-matter lines and body.
pub fn card(tier: &str, extra: &str, body: &str) -> String {
    format!("---\nowners: [\"@acme/ml\"]\n{extra}governance:\n  risk_tier: {tier}\n---\n{body}")
}

pub const FULL_BODY: &str = "# Model\n\n## Intended use\n\nScoring.\n\n## Limitations\n\nSome.\n\n## Ethical considerations\n\nReviewed.\n\n## Evaluation data\n\nHeld out.\n";

pub fn write(path: &str, content: impl AsRef<[u8]>) -> FileChange {
    FileChange::write(path, content)
}

/// A bare repository (as a server's is: libgit2 pushes only to bare ones) with a high-tier
/// model `m` at AUC 0.80 on `main` under a policy of two approvals voided by a push, and
/// `branch` changing the AUC to `head_auc`. Returns it with the two commits.
pub fn high_tier_pull_request(branch: &str, head_auc: &str) -> (TestRepo, String, String) {
    const POLICY: &str = "tiers:\n  low: {approvals: 1}\n  high: {approvals: 2, invalidate_on_push: true, block_on: [regression, card]}\n";
    let mut repo = TestRepo::bare();
    let main_sha = repo.commit(
        "main",
        None,
        &[
            write(".github/modelgate.yml", POLICY),
            write("models/m/card.md", card("high", "", FULL_BODY)),
            write("models/m/metrics.json", "{\"auc\": 0.80}"),
        ],
    );
    let head_sha = repo.commit(
        branch,
        Some("main"),
        &[write(
            "models/m/metrics.json",
            format!("{{\"auc\": {head_auc}}}"),
        )],
    );
    (repo, main_sha, head_sha)
}

/// An external tool a test needs (git-lfs, dvc, a Python package). Locally a missing tool
/// skips the test with a message saying what to install; under `CI` it fails the test,
/// because `.ci/run` installs every such tool.
pub fn external_tool(
    found: Option<std::path::PathBuf>,
    what: &str,
    install: &str,
) -> Option<std::path::PathBuf> {
    match found {
        Some(path) => Some(path),
        None if std::env::var_os("CI").is_some() => {
            panic!("{what} is needed under CI and was not found; .ci/run installs it ({install})")
        }
        None => {
            eprintln!("skipped: {what} not found; install it with: {install}");
            None
        }
    }
}

/// The Python of the test venv (`MODELGATE_TEST_PYTHON`, else `~/.cache/modelgate/venv-tests`)
/// with `tests/python-requirements.txt` installed, or `None` as [`external_tool`] decides.
pub fn test_python() -> Option<std::path::PathBuf> {
    let path = std::env::var_os("MODELGATE_TEST_PYTHON")
        .map(std::path::PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|home| {
                std::path::Path::new(&home).join(".cache/modelgate/venv-tests/bin/python")
            })
        })
        .filter(|path| path.is_file());
    external_tool(
        path,
        "the test venv's Python",
        "python3 -m venv ~/.cache/modelgate/venv-tests && ~/.cache/modelgate/venv-tests/bin/pip install -r tests/python-requirements.txt",
    )
}

/// A program on `PATH`, or `None` as [`external_tool`] decides.
// Kept for the tests of external programs (git-lfs, dvc) while none of them is on this branch.
#[allow(dead_code)]
pub fn program_on_path(name: &str, install: &str) -> Option<std::path::PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    });
    external_tool(found, name, install)
}

/// A new, empty database on the PostgreSQL server `MODELGATE_TEST_POSTGRES_URL` names
/// (`scripts/test-postgres.sh start DIR` prints one; `.ci/run` starts it), for the tests of
/// replicas sharing a queue; `None` as [`external_tool`] decides when the variable is unset.
pub async fn postgres_database() -> Option<String> {
    use sqlx::Connection;
    use sqlx::Executor;
    let admin = std::env::var("MODELGATE_TEST_POSTGRES_URL").ok();
    external_tool(
        admin.as_ref().map(std::path::PathBuf::from),
        "PostgreSQL (MODELGATE_TEST_POSTGRES_URL)",
        "apt-get install postgresql, then export MODELGATE_TEST_POSTGRES_URL=$(scripts/test-postgres.sh start /tmp/pg)",
    )?;
    let admin = admin?;
    sqlx::any::install_default_drivers();
    // Unique across the test binary's threads and across runs on one server.
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let name = format!(
        "modelgate_cli_{}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0)
    );
    let mut connection = sqlx::AnyConnection::connect(&admin)
        .await
        .expect("PostgreSQL at MODELGATE_TEST_POSTGRES_URL");
    connection
        .execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .expect("create database");
    let base = admin
        .rsplit_once('/')
        .map_or(admin.as_str(), |(base, _)| base);
    Some(format!("{base}/{name}"))
}
