//! The example repository with a governed history: the demo's scenario, then two of its
//! pull requests merged into main with their decisions recorded in the audit ledger and a
//! release tagged, as a team would over a few weeks.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use git2::{Oid, Repository, Signature, Time};
use modelgate_core::approvals::PrFacts;
use modelgate_core::audit::{self, RecordRequest};
use modelgate_core::scenario::{Scenario, ScenarioFile};
use modelgate_core::{Repo, evaluate};
use modelgate_site::{BuildOptions, BuildSummary};

pub fn example_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/example")
}

fn files_under(folder: &str) -> Option<Vec<ScenarioFile>> {
    let root = example_dir().join(folder);
    let mut files = Vec::new();
    let mut pending = vec![root.clone()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).ok()? {
            let path = entry.ok()?.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let relative = path
                    .strip_prefix(&root)
                    .ok()?
                    .to_string_lossy()
                    .replace('\\', "/");
                files.push((relative, std::fs::read(&path).ok()?));
            }
        }
    }
    files.sort();
    Some(files)
}

/// Builds the example repository at `path` and merges two pull requests into main:
/// `retrain-support-router` (approved) and `retrain-credit-risk` (risk accepted), each
/// recorded in the ledger; `credit-risk@v2.2.0` is tagged on its merge.
pub fn example_with_history(path: &Path) -> BTreeMap<String, Oid> {
    let text = std::fs::read_to_string(example_dir().join("scenario.yml")).expect("scenario");
    let scenario = Scenario::parse("scenario.yml", &text).expect("valid scenario");
    let mut tips = scenario
        .build(path, &files_under)
        .expect("example repository");
    let merges = [
        (4, "retrain-support-router", "facts/one-approval.json"),
        (1, "retrain-credit-risk", "facts/risk-accepted.json"),
    ];
    for (step, (number, branch, facts)) in merges.into_iter().enumerate() {
        let merge = merge_pull_request(path, branch, number, facts, step as i64);
        tips.insert(format!("merge-{branch}"), merge);
    }
    let git = Repository::open(path).expect("open");
    let target = git
        .find_object(tips["merge-retrain-credit-risk"], None)
        .expect("merge");
    git.tag(
        "credit-risk@v2.2.0",
        &target,
        &signature(10),
        "credit-risk 2.2.0",
        false,
    )
    .expect("tag");
    tips
}

fn signature(offset_hours: i64) -> Signature<'static> {
    // After the scenario's own commits, which advance one hour each from 2026-01-05.
    Signature::new(
        "Dana Reviewer",
        "dana@example.invalid",
        &Time::new(1_768_000_000 + offset_hours * 86_400, 0),
    )
    .expect("signature")
}

fn merge_pull_request(path: &Path, branch: &str, number: u64, facts_file: &str, step: i64) -> Oid {
    let repo = Repo::open(path).expect("open");
    let head = repo.resolve(branch).expect("branch");
    let facts_text = std::fs::read_to_string(example_dir().join(facts_file))
        .expect("facts")
        .replace("$HEAD", &head.to_string());
    let mut facts = PrFacts::from_json(facts_file, &facts_text).expect("facts");
    facts.number = Some(number);
    let report = evaluate(&repo, "main", branch)
        .and_then(|evaluation| evaluation.judge(&facts))
        .expect("evaluation");
    assert_eq!(report.conclusion.as_str(), "pass", "{branch} is mergeable");

    let git = repo.git();
    let main = git
        .find_branch("main", git2::BranchType::Local)
        .expect("main");
    let ours = main.get().peel_to_commit().expect("main tip");
    let theirs = git.find_commit(head).expect("head");
    let mut index = git.merge_commits(&ours, &theirs, None).expect("merge");
    assert!(!index.has_conflicts(), "{branch} merges cleanly");
    let tree = git
        .find_tree(index.write_tree_to(git).expect("tree"))
        .expect("tree");
    let message = format!("Merge pull request #{number} from {branch}");
    let merge = git
        .commit(
            Some("refs/heads/main"),
            &signature(step),
            &signature(step),
            &message,
            &tree,
            &[&ours, &theirs],
        )
        .expect("merge commit");

    let bytes = serde_json::to_vec(&report).expect("report json");
    let merge_sha = merge.to_string();
    audit::record(
        &repo,
        &RecordRequest {
            commit: &merge_sha,
            report: &bytes,
            report_file: "report.json",
            facts: Some(&facts),
        },
    )
    .expect("audit record");
    merge
}

pub fn build(repo: &Path, out: &Path, templates: Option<&Path>) -> BuildSummary {
    modelgate_site::build(&BuildOptions {
        repo: repo.to_owned(),
        out: out.to_owned(),
        rev: "main".to_owned(),
        base_url: None,
        templates: templates.map(Path::to_owned),
    })
    .expect("site builds")
}

/// Every file under `dir`, relative path to bytes.
pub fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(current) = pending.pop() {
        for entry in std::fs::read_dir(&current).expect("read dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let relative = path
                    .strip_prefix(dir)
                    .expect("inside")
                    .to_string_lossy()
                    .replace('\\', "/");
                files.insert(relative, std::fs::read(&path).expect("read"));
            }
        }
    }
    files
}

/// Every value of `attribute="…"` in `html`, with entities undone.
pub fn attribute_values(html: &str, attribute: &str) -> Vec<String> {
    let needle = format!(" {attribute}=\"");
    let mut values = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find(&needle) {
        let after = &rest[start + needle.len()..];
        let end = after.find('"').unwrap_or(after.len());
        values.push(
            after[..end]
                .replace("&#x2F;", "/")
                .replace("&#x27;", "'")
                .replace("&quot;", "\"")
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&amp;", "&"),
        );
        rest = &after[end..];
    }
    values
}

/// The raw tags of `html` (from `<` followed by a letter to the next `>`), lowercased, with
/// quoted attribute values emptied: what is left are element and attribute names, where an
/// injected handler (`onerror=`) or `style=` would show.
pub fn tags(html: &str) -> Vec<String> {
    let bytes = html.as_bytes();
    let mut tags = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'<' && bytes.get(i + 1).is_some_and(|b| b.is_ascii_alphabetic()) {
            let mut skeleton = String::new();
            let mut quote: Option<u8> = None;
            let mut j = i;
            while j < bytes.len() {
                let b = bytes[j];
                match quote {
                    Some(q) if b == q => {
                        quote = None;
                        skeleton.push(b as char);
                    }
                    Some(_) => {}
                    None if b == b'"' || b == b'\'' => {
                        quote = Some(b);
                        skeleton.push(b as char);
                    }
                    None if b == b'>' => {
                        skeleton.push('>');
                        j += 1;
                        break;
                    }
                    None => skeleton.push((b as char).to_ascii_lowercase()),
                }
                j += 1;
            }
            tags.push(skeleton);
            i = j;
        } else {
            i += 1;
        }
    }
    tags
}
