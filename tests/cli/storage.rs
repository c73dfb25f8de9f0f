//! Data kept where ML teams keep it: Git LFS and DVC, driven by the real `git lfs` and
//! `dvc`; and what modelgate does when that content is not there.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::support::{
    FULL_BODY, Outcome, TestRepo, card, external_tool, modelgate, modelgate_with_env,
    program_on_path, test_python, write,
};

const POLICY: &str =
    "tiers:\n  low: {approvals: 0, block_on: []}\n  high: {approvals: 0, block_on: [drift]}\n";

/// A real git checkout driven by the git CLI, as a team's is.
struct Checkout {
    _dir: tempfile::TempDir,
    path: PathBuf,
    path_env: String,
}

impl Checkout {
    fn new(extra_path: Option<&Path>) -> Checkout {
        let dir = tempfile::tempdir().expect("temporary folder");
        let path = dir.path().join("repo");
        std::fs::create_dir_all(&path).expect("repo folder");
        let mut path_env = std::env::var("PATH").unwrap_or_default();
        if let Some(extra) = extra_path {
            path_env = format!("{}:{path_env}", extra.display());
        }
        let checkout = Checkout {
            _dir: dir,
            path,
            path_env,
        };
        checkout.run("git", &["init", "-q", "-b", "main"]);
        checkout
    }

    fn run(&self, program: &str, args: &[&str]) -> String {
        let output = Command::new(program)
            .args(args)
            .current_dir(&self.path)
            .env("PATH", &self.path_env)
            .env("GIT_AUTHOR_NAME", "Data Scientist")
            .env("GIT_AUTHOR_EMAIL", "ds@example.com")
            .env("GIT_COMMITTER_NAME", "Data Scientist")
            .env("GIT_COMMITTER_EMAIL", "ds@example.com")
            .env("DVC_NO_ANALYTICS", "1")
            .output()
            .unwrap_or_else(|e| panic!("run {program}: {e}"));
        assert!(
            output.status.success(),
            "{program} {args:?} failed:\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    fn write(&self, file: &str, content: &str) {
        let path = self.path.join(file);
        std::fs::create_dir_all(path.parent().expect("a folder")).expect("folders");
        std::fs::write(path, content).expect("write");
    }

    fn commit(&self, message: &str) -> String {
        self.run("git", &["add", "-A"]);
        self.run("git", &["commit", "-q", "-m", message]);
        self.run("git", &["rev-parse", "HEAD"]).trim().to_owned()
    }

    fn check(&self, base: &str, head: &str) -> Outcome {
        let repo = self.path.to_str().expect("utf-8 path");
        modelgate(&[
            "check", "--repo", repo, "--base", base, "--head", head, "--format", "json",
        ])
    }
}

/// 400 rows: a numeric column `income` moved by `shift`, and a categorical `segment`.
fn applications(shift: f64) -> String {
    let mut csv = String::from("income,segment\n");
    for row in 0..400 {
        let income = 30.0 + f64::from(row % 97) * 0.5 + shift;
        let segment = ["retail", "business", "student"][row as usize % 3];
        csv.push_str(&format!("{income:.1},{segment}\n"));
    }
    csv
}

fn drift_check(outcome: &Outcome, model: &str) -> Value {
    outcome.check(model, "drift")
}

fn tested_columns(check: &Value) -> Vec<(String, bool)> {
    check["datasets"][0]["columns"]
        .as_array()
        .map(|columns| {
            columns
                .iter()
                .map(|c| {
                    (
                        c["name"].as_str().unwrap_or_default().to_owned(),
                        c["drifted"].as_bool().unwrap_or_default(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn model_files(checkout: &Checkout, tier: &str) {
    checkout.write(".github/modelgate.yml", POLICY);
    checkout.write(
        "models/scorer/card.md",
        &card(tier, "datasets: [data/applications.csv]\n", FULL_BODY),
    );
}

/// A pull request shifting the incomes of `data/applications.csv`, tracked by Git LFS.
fn lfs_pull_request(tier: &str) -> (Checkout, String, String) {
    let checkout = Checkout::new(None);
    checkout.run("git", &["lfs", "install", "--local"]);
    checkout.run("git", &["lfs", "track", "data/*.csv"]);
    model_files(&checkout, tier);
    checkout.write("data/applications.csv", &applications(0.0));
    let base = checkout.commit("applications");
    checkout.run("git", &["checkout", "-q", "-b", "shift"]);
    checkout.write("data/applications.csv", &applications(40.0));
    let head = checkout.commit("incomes shift");
    (checkout, base, head)
}

#[test]
fn git_lfs_data_is_compared_by_its_content_and_missing_objects_are_never_a_pass() {
    if program_on_path("git-lfs", "apt-get install git-lfs").is_none() {
        return;
    }
    let (checkout, base, head) = lfs_pull_request("high");
    // What git holds is the pointer; the real client wrote the content to its store.
    let stored = checkout.run("git", &["show", &format!("{head}:data/applications.csv")]);
    assert!(
        stored.starts_with("version https://git-lfs.github.com/spec/v1"),
        "{stored}"
    );

    let outcome = checkout.check(&base, &head);
    let drift = drift_check(&outcome, "scorer");
    assert_eq!(
        tested_columns(&drift),
        [("income".to_owned(), true), ("segment".to_owned(), false)],
        "{drift}"
    );
    assert_eq!(drift["status"], "fail", "{drift}");

    // Without the objects: the high tier's drift check fails and says how to fetch them;
    // a low tier, which does not block on drift, warns. Nothing passes.
    std::fs::remove_dir_all(checkout.path.join(".git/lfs/objects")).expect("remove objects");
    let outcome = checkout.check(&base, &head);
    assert_eq!(outcome.code, 1, "{}{}", outcome.stdout, outcome.stderr);
    let scorer = drift_check(&outcome, "scorer");
    assert_eq!(scorer["status"], "fail", "{scorer}");
    assert_eq!(scorer["blocking"], true, "{scorer}");
    let finding = scorer["findings"][0].as_str().unwrap_or_default();
    assert!(
        finding.starts_with("data/applications.csv at ")
            && finding.contains("is a Git LFS object")
            && finding.contains("not in the local LFS store")
            && finding.contains(&format!("`git lfs fetch origin {base}`")),
        "{finding}"
    );
    // Both revisions are named: neither object is in the store.
    let head_finding = scorer["findings"][1].as_str().unwrap_or_default();
    assert!(
        head_finding.contains(&format!("`git lfs fetch origin {head}`")),
        "{scorer}"
    );
    assert_eq!(
        scorer["datasets"][0]["unavailable"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
    let (checkout, base, head) = lfs_pull_request("low");
    std::fs::remove_dir_all(checkout.path.join(".git/lfs/objects")).expect("remove objects");
    let outcome = checkout.check(&base, &head);
    let low = drift_check(&outcome, "scorer");
    assert_eq!(
        (low["status"].clone(), low["blocking"].clone()),
        ("warn".into(), false.into())
    );
    assert!(low["datasets"][0].get("columns").is_none(), "{low}");
    assert_eq!(outcome.json()["conclusion"], "pass", "{}", outcome.stdout);
}

/// The folder of the test venv's `dvc`, or `None` (skipped locally, a failure under CI).
fn dvc_bin() -> Option<PathBuf> {
    let bin = test_python()?.parent()?.to_owned();
    let dvc = Some(bin.join("dvc")).filter(|dvc| dvc.is_file());
    external_tool(dvc, "dvc", "pip install -r tests/python-requirements.txt")?;
    Some(bin)
}

#[test]
fn dvc_tracked_data_is_compared_by_its_content_and_a_cache_miss_is_never_a_pass() {
    let Some(bin) = dvc_bin() else { return };
    let checkout = Checkout::new(Some(&bin));
    checkout.run("dvc", &["init", "-q"]);
    model_files(&checkout, "high");
    checkout.write("data/applications.csv", &applications(0.0));
    checkout.run("dvc", &["add", "-q", "data/applications.csv"]);
    let base = checkout.commit("applications under DVC");
    checkout.run("git", &["checkout", "-q", "-b", "shift"]);
    checkout.write("data/applications.csv", &applications(40.0));
    checkout.run("dvc", &["add", "-q", "data/applications.csv"]);
    let head = checkout.commit("incomes shift");
    // Git holds only DVC's record; the change of the record is the change of the dataset.
    let tracked = checkout.run("git", &["ls-tree", "-r", "--name-only", &head]);
    assert!(
        tracked.contains("data/applications.csv.dvc")
            && !tracked.contains("data/applications.csv\n"),
        "{tracked}"
    );

    let outcome = checkout.check(&base, &head);
    let scorer = outcome.model("scorer");
    assert_eq!(
        scorer["reasons"][0], "dataset data/applications.csv changed",
        "{scorer}"
    );
    let drift = drift_check(&outcome, "scorer");
    assert_eq!(
        tested_columns(&drift),
        [("income".to_owned(), true), ("segment".to_owned(), false)],
        "{drift}"
    );

    // A cache miss: the record names content modelgate cannot read.
    std::fs::remove_dir_all(checkout.path.join(".dvc/cache")).expect("remove cache");
    let outcome = checkout.check(&base, &head);
    assert_eq!(outcome.code, 1, "{}{}", outcome.stdout, outcome.stderr);
    let scorer = drift_check(&outcome, "scorer");
    assert_eq!(
        (scorer["status"].clone(), scorer["blocking"].clone()),
        ("fail".into(), true.into())
    );
    let finding = scorer["findings"][0].as_str().unwrap_or_default();
    assert!(
        finding.contains("is tracked by DVC in data/applications.csv.dvc, md5 ")
            && finding.contains("dvc fetch"),
        "{finding}"
    );

    // A local remote, as `.dvc/config` names it, serves the content again.
    let remote = checkout
        .path
        .parent()
        .expect("temp folder")
        .join("dvc-remote");
    checkout.run(
        "dvc",
        &[
            "remote",
            "add",
            "-d",
            "storage",
            remote.to_str().expect("utf-8"),
        ],
    );
    checkout.run("git", &["checkout", "-q", &base]);
    checkout.write("data/applications.csv", &applications(0.0));
    checkout.run("dvc", &["add", "-q", "data/applications.csv"]);
    checkout.run("dvc", &["push", "-q"]);
    checkout.run("git", &["checkout", "-q", "shift"]);
    checkout.write("data/applications.csv", &applications(40.0));
    checkout.run("dvc", &["add", "-q", "data/applications.csv"]);
    checkout.run("dvc", &["push", "-q"]);
    let head = checkout.commit("the remote, in .dvc/config");
    std::fs::remove_dir_all(checkout.path.join(".dvc/cache")).expect("remove cache");
    let outcome = checkout.check(&base, &head);
    assert_eq!(drift_check(&outcome, "scorer")["status"], "fail");
    assert_eq!(
        tested_columns(&drift_check(&outcome, "scorer")).len(),
        2,
        "{}",
        outcome.stdout
    );
}

#[test]
fn a_dvc_stage_makes_its_inputs_part_of_the_model_it_writes() {
    let Some(bin) = dvc_bin() else { return };
    let checkout = Checkout::new(Some(&bin));
    checkout.run("dvc", &["init", "-q"]);
    checkout.write(".github/modelgate.yml", POLICY);
    // The card names no dataset: the stage that writes the model's weights does.
    checkout.write("models/scorer/card.md", &card("high", "", FULL_BODY));
    checkout.write("data/features.csv", &applications(0.0));
    checkout.write(
        "dvc.yaml",
        "stages:\n  train:\n    cmd: cp data/features.csv models/scorer/weights.bin\n    deps:\n    - data/features.csv\n    outs:\n    - models/scorer/weights.bin\n",
    );
    checkout.run("dvc", &["repro", "-q"]);
    let base = checkout.commit("train");
    checkout.run("git", &["checkout", "-q", "-b", "new-features"]);
    checkout.write("data/features.csv", &applications(40.0));
    checkout.run("dvc", &["repro", "-q"]);
    let head = checkout.commit("retrain on new features");

    let outcome = checkout.check(&base, &head);
    let scorer = outcome.model("scorer");
    assert_eq!(
        scorer["reasons"],
        serde_json::json!(["dataset data/features.csv changed (a dependency of DVC stage train)"]),
        "{scorer}"
    );
    assert_eq!(
        drift_check(&outcome, "scorer")["status"],
        "fail",
        "{}",
        outcome.stdout
    );
}

#[test]
fn a_broken_card_is_a_blocking_finding_and_the_other_models_are_still_evaluated() {
    let mut repo = TestRepo::new();
    let base = repo.commit(
        "main",
        None,
        &[
            write(".github/modelgate.yml", POLICY),
            write("models/good/card.md", card("low", "", FULL_BODY)),
            write("models/good/metrics.json", "{\"auc\": 0.8}"),
            write("models/broken/card.md", card("low", "", FULL_BODY)),
        ],
    );
    let head = repo.commit(
        "edit",
        Some("main"),
        &[
            write("models/good/metrics.json", "{\"auc\": 0.81}"),
            write(
                "models/broken/card.md",
                "---\nowners: [\"@acme/ml\"\ngovernance:\n  risk_tier: low\n---\n# Model\n",
            ),
        ],
    );
    let outcome = repo.check(&base, &head);
    assert_eq!(outcome.code, 1, "{}{}", outcome.stdout, outcome.stderr);
    let good = outcome.model("good");
    assert_eq!(good["checks"][0]["status"], "pass", "{good}");
    let card_check = outcome.check("broken", "card");
    assert_eq!(
        (card_check["status"].clone(), card_check["blocking"].clone()),
        ("fail".into(), true.into())
    );
    let finding = card_check["findings"][0].as_str().unwrap_or_default();
    assert!(finding.starts_with("models/broken/card.md:3:"), "{finding}");
    assert_eq!(outcome.json()["conclusion"], "fail");

    // The text a reviewer reads says the same, and the fixed card passes again.
    let text = modelgate(&[
        "check",
        "--repo",
        repo.path().to_str().expect("utf-8"),
        "--base",
        &base,
        "--head",
        &head,
    ]);
    assert!(
        text.stdout.contains("models/broken/card.md:3:"),
        "{}",
        text.stdout
    );
    let fixed = repo.commit(
        "edit",
        None,
        &[write("models/broken/card.md", card("low", "", FULL_BODY))],
    );
    assert_eq!(repo.check(&base, &fixed).code, 0);
}

/// A Git LFS server on loopback as the batch API spec describes it: `POST
/// <endpoint>/objects/batch` with the LFS media type and basic auth, answering a `download`
/// action whose `href` needs the header it names; unknown objects get a per-object 404.
async fn lfs_server(objects: &[&[u8]], token: &str) -> wiremock::MockServer {
    use base64::Engine;
    use sha2::{Digest, Sha256};
    use wiremock::matchers::{body_partial_json, header, method, path};
    use wiremock::{Mock, ResponseTemplate};

    let server = wiremock::MockServer::start().await;
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("x-access-token:{token}"));
    let known: Vec<(String, Vec<u8>)> = objects
        .iter()
        .map(|content| {
            let oid: String = Sha256::digest(content)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            (oid, content.to_vec())
        })
        .collect();
    let href_base = format!("{}/storage", server.uri());
    let answers = known.clone();
    Mock::given(method("POST"))
        .and(path("/acme/credit.git/info/lfs/objects/batch"))
        .and(header("accept", "application/vnd.git-lfs+json"))
        .and(header("content-type", "application/vnd.git-lfs+json"))
        .and(header("authorization", format!("Basic {auth}").as_str()))
        .and(body_partial_json(serde_json::json!({"operation": "download"})))
        .respond_with(move |request: &wiremock::Request| {
            let asked: Value = serde_json::from_slice(&request.body).unwrap_or_default();
            let objects: Vec<Value> = asked["objects"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|object| {
                    let oid = object["oid"].as_str().unwrap_or_default();
                    if answers.iter().any(|(known, _)| known == oid) {
                        serde_json::json!({"oid": oid, "size": object["size"], "authenticated": true,
                            "actions": {"download": {"href": format!("{href_base}/{oid}"),
                                "header": {"Authorization": "RemoteAuth signed-42"}, "expires_in": 3600}}})
                    } else {
                        serde_json::json!({"oid": oid, "size": object["size"],
                            "error": {"code": 404, "message": "Object does not exist"}})
                    }
                })
                .collect();
            ResponseTemplate::new(200)
                .insert_header("content-type", "application/vnd.git-lfs+json")
                .set_body_json(serde_json::json!({"transfer": "basic", "objects": objects, "hash_algo": "sha256"}))
        })
        .mount(&server)
        .await;
    // Without credentials, or with others, the server refuses as GitHub's does.
    Mock::given(method("POST"))
        .and(path("/acme/credit.git/info/lfs/objects/batch"))
        .respond_with(ResponseTemplate::new(401).set_body_json(serde_json::json!({
            "message": "Bad credentials",
            "documentation_url": "https://docs.github.com/rest"
        })))
        .with_priority(10)
        .mount(&server)
        .await;
    for (oid, content) in known {
        Mock::given(method("GET"))
            .and(path(format!("/storage/{oid}")))
            .and(header("authorization", "RemoteAuth signed-42"))
            .respond_with(ResponseTemplate::new(200).set_body_bytes(content))
            .mount(&server)
            .await;
    }
    server
}

fn check_with_lfs(checkout: &Checkout, base: &str, head: &str, url: &str, token: &str) -> Outcome {
    let repo = checkout.path.to_str().expect("utf-8 path");
    modelgate_with_env(
        &[
            "check",
            "--repo",
            repo,
            "--base",
            base,
            "--head",
            head,
            "--format",
            "json",
            "--lfs-url",
            url,
        ],
        &[("GITHUB_TOKEN", token)],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_lfs_objects_are_downloaded_through_the_batch_api() {
    if program_on_path("git-lfs", "apt-get install git-lfs").is_none() {
        return;
    }
    let (checkout, base, head) = lfs_pull_request("high");
    std::fs::remove_dir_all(checkout.path.join(".git/lfs/objects")).expect("remove objects");
    let (old, new) = (applications(0.0), applications(40.0));
    let server = lfs_server(&[old.as_bytes(), new.as_bytes()], "ghs_installation").await;
    let endpoint = format!("{}/acme/credit.git/info/lfs", server.uri());

    // A refused token: nothing is downloaded, and the check says why.
    let refused = check_with_lfs(&checkout, &base, &head, &endpoint, "ghs_wrong");
    let drift = drift_check(&refused, "scorer");
    let finding = drift["findings"][0].as_str().unwrap_or_default();
    assert!(
        drift["status"] == "fail" && finding.contains("answered 401 Unauthorized: Bad credentials"),
        "{drift}"
    );

    let outcome = check_with_lfs(&checkout, &base, &head, &endpoint, "ghs_installation");
    let drift = drift_check(&outcome, "scorer");
    assert_eq!(
        tested_columns(&drift),
        [("income".to_owned(), true), ("segment".to_owned(), false)],
        "{drift}"
    );
    // Kept, verified, in the local store: read again with no server.
    assert_eq!(
        tested_columns(&drift_check(&checkout.check(&base, &head), "scorer")).len(),
        2
    );

    // An object the server does not have is named with the server's answer.
    checkout.write("data/applications.csv", &applications(80.0));
    let lost = checkout.commit("new data, never pushed to LFS");
    std::fs::remove_dir_all(checkout.path.join(".git/lfs/objects")).expect("remove objects");
    let outcome = check_with_lfs(&checkout, &base, &lost, &endpoint, "ghs_installation");
    let drift = drift_check(&outcome, "scorer");
    assert!(
        drift["findings"][0]
            .as_str()
            .is_some_and(|f| f.contains("has no object") && f.contains("404 Object does not exist")),
        "{drift}"
    );
}

#[test]
fn a_pointer_file_on_disk_is_refused_as_data() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let pointer = dir.path().join("train.csv");
    std::fs::write(
        &pointer,
        "version https://git-lfs.github.com/spec/v1\noid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\nsize 12345\n",
    )
    .expect("write pointer");
    let data = dir.path().join("current.csv");
    std::fs::write(&data, applications(0.0)).expect("write data");
    let outcome = modelgate(&[
        "drift",
        "--reference",
        pointer.to_str().expect("utf-8"),
        "--current",
        data.to_str().expect("utf-8"),
    ]);
    assert_eq!(outcome.code, 2, "{}{}", outcome.stdout, outcome.stderr);
    assert!(
        outcome.stderr.contains(
            "train.csv is a Git LFS pointer, not data; fetch its content first (`git lfs pull`)"
        ),
        "{}",
        outcome.stderr
    );
}

#[test]
fn a_file_inside_a_folder_dvc_tracks_as_a_whole_is_read_through_its_manifest() {
    let Some(bin) = dvc_bin() else { return };
    let checkout = Checkout::new(Some(&bin));
    checkout.run("dvc", &["init", "-q"]);
    model_files(&checkout, "high");
    checkout.write("data/applications.csv", &applications(0.0));
    checkout.write("data/notes.txt", "unrelated\n");
    checkout.run("dvc", &["add", "-q", "data"]);
    let base = checkout.commit("the data folder under DVC");
    checkout.run("git", &["checkout", "-q", "-b", "notes-only"]);
    checkout.write("data/notes.txt", "still unrelated\n");
    checkout.run("dvc", &["add", "-q", "data"]);
    let notes_only = checkout.commit("notes change");
    checkout.run("git", &["checkout", "-q", "-b", "shift"]);
    checkout.write("data/applications.csv", &applications(40.0));
    checkout.run("dvc", &["add", "-q", "data"]);
    let head = checkout.commit("incomes shift");

    // Another file of the folder changed: the dataset's own md5 did not, so nothing is touched.
    let outcome = checkout.check(&base, &notes_only);
    assert_eq!(
        outcome.model_ids(),
        Vec::<String>::new(),
        "{}",
        outcome.stdout
    );
    let drift = drift_check(&checkout.check(&base, &head), "scorer");
    assert_eq!(
        tested_columns(&drift),
        [("income".to_owned(), true), ("segment".to_owned(), false)],
        "{drift}"
    );
    std::fs::remove_dir_all(checkout.path.join(".dvc/cache")).expect("remove cache");
    let drift = drift_check(&checkout.check(&base, &head), "scorer");
    let finding = drift["findings"][0].as_str().unwrap_or_default();
    assert!(
        drift["status"] == "fail"
            && finding.contains("tracked by DVC in data.dvc, md5 ")
            && finding.contains("(a folder tracked as a whole, holding applications.csv)"),
        "{drift}"
    );
}
