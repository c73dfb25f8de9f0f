//! Real Hugging Face Hub cards (fixtures/hub-cards): `modelgate lint` accepts and rejects
//! exactly the cards that huggingface_hub (and the Hub's license list) accept and reject.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::support::{TestRepo, modelgate, test_python, write};

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/hub-cards")
}

/// Each card of the corpus by file name, with the verdict recorded for it.
fn corpus() -> Vec<(String, Vec<u8>, String)> {
    let recorded: Value = serde_json::from_slice(
        &std::fs::read(corpus_dir().join("verdicts.json")).expect("verdicts.json"),
    )
    .expect("verdicts.json is JSON");
    let mut cards = Vec::new();
    for entry in std::fs::read_dir(corpus_dir()).expect("corpus folder") {
        let path = entry.expect("entry").path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .expect("utf-8 name")
            .to_owned();
        if !name.ends_with(".md") || name == "SOURCE.md" {
            continue;
        }
        let verdict = recorded["cards"][&name]["verdict"]
            .as_str()
            .unwrap_or_else(|| {
                panic!("{name} has no recorded verdict; run scripts/hub-card-verdicts.py")
            })
            .to_owned();
        cards.push((name, std::fs::read(&path).expect("card"), verdict));
    }
    cards.sort();
    cards
}

#[test]
fn lint_accepts_and_rejects_the_hub_corpus_as_huggingface_hub_does() {
    let cards = corpus();
    assert!(cards.len() >= 40, "only {} cards", cards.len());
    let mut repo = TestRepo::new();
    let files: Vec<_> = cards
        .iter()
        .map(|(name, bytes, _)| {
            write(
                &format!("models/{}/card.md", name.trim_end_matches(".md")),
                bytes,
            )
        })
        .collect();
    repo.commit("main", None, &files);
    let path = repo.path();
    let outcome = modelgate(&[
        "lint",
        "--repo",
        path.to_str().expect("utf-8 path"),
        "--rev",
        "main",
        "--format",
        "json",
    ]);
    let report = outcome.json();
    let mut errors: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for error in report["errors"].as_array().expect("errors") {
        let file = error["file"].as_str().expect("file").to_owned();
        assert!(
            error["line"].as_u64().is_some_and(|l| l > 0),
            "a rejection names its line: {error}"
        );
        let message = error["message"].as_str().expect("message");
        assert!(!message.contains("untagged enum"), "{message}");
        errors.entry(file).or_default().push(message.to_owned());
    }
    let mut disagreements = Vec::new();
    for (name, _, verdict) in &cards {
        let file = format!("models/{}/card.md", name.trim_end_matches(".md"));
        let ours = if errors.contains_key(&file) {
            "reject"
        } else {
            "accept"
        };
        if ours != verdict {
            disagreements.push(format!(
                "{name}: huggingface_hub {verdict}s, modelgate {ours}s {:?}",
                errors.get(&file)
            ));
        }
    }
    assert!(
        disagreements.is_empty(),
        "{} of {} cards disagree:\n{}",
        disagreements.len(),
        cards.len(),
        disagreements.join("\n")
    );
    let rejected = cards.iter().filter(|(_, _, v)| v == "reject").count();
    assert!(rejected >= 3, "the corpus holds cards the Hub rejects");
    eprintln!(
        "{} of {} Hub cards agree ({rejected} rejected)",
        cards.len(),
        cards.len()
    );
}

#[test]
fn huggingface_hub_still_gives_the_recorded_verdicts() {
    let Some(python) = test_python() else { return };
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/hub-card-verdicts.py");
    let output = Command::new(python)
        .arg(script)
        .arg("--check")
        .output()
        .expect("run the verdict script");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "huggingface_hub disagrees with verdicts.json:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("every recorded verdict holds"), "{stdout}");
}

#[test]
fn a_rejected_card_is_named_at_the_key_with_what_was_expected() {
    let mut repo = TestRepo::new();
    repo.commit(
        "main",
        None,
        &[
            write(
                "models/vit/card.md",
                std::fs::read(corpus_dir().join("trainer-vit-no-results.md")).expect("card"),
            ),
            write(
                "models/nb/card.md",
                "---\nlanguage:\n- en\n- no\nlicense:\n- apache-2.0\n- yes\n---\n# M\n",
            ),
        ],
    );
    let outcome = repo.lint("main");
    assert_eq!(outcome.code, 1, "{}", outcome.stdout);
    let errors: Vec<&str> = outcome.lines_starting("error: ");
    assert_eq!(
        errors,
        [
            "error: models/nb/card.md:7:3: license `yes` is not a Hugging Face Hub license id; expected one such as apache-2.0 or mit, or `other` with license_name and license_link",
            "error: models/vit/card.md:8:3: model-index: missing `results`; the Hub expects `name` and `results` in every entry",
        ],
        "{}",
        outcome.stdout
    );
}
