//! The audit ledger's notes (`refs/notes/modelgate`): anyone with push access can edit them,
//! so `audit verify` and `audit log` read any note text without a panic, report tampering,
//! and print nothing that forges a line.

use modelgate_core::Repo;
use modelgate_core::audit::{
    AUDIT_SCHEMA, AuditRecord, AuditedModel, AuditedRisk, NOTES_REF, audit, log, verify,
};
use modelgate_core::report::Approver;
use proptest::prelude::*;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::json_inputs::{json_value, replace_somewhere};
use super::{apply, config, edit, fragment, repository};

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn note_of(record: &AuditRecord) -> String {
    serde_json::to_string_pretty(record).expect("serializable") + "\n"
}

/// A valid chain of records on `commits`, as `audit record` writes it; text fields from
/// `texts` (which may hold anything a hand edit could put there).
fn chain(commits: &[git2::Oid], texts: &[String]) -> Vec<String> {
    let text = |index: usize| {
        texts
            .get(index % texts.len().max(1))
            .cloned()
            .unwrap_or_default()
    };
    let mut notes: Vec<String> = Vec::new();
    for (index, commit) in commits.iter().enumerate() {
        let mut record = AuditRecord {
            evidence: None,
            schema: AUDIT_SCHEMA.to_owned(),
            sequence: index as u64 + 1,
            commit: commit.to_string(),
            pr: Some(index as u64 + 10),
            base: "1".repeat(40),
            head: "2".repeat(40),
            models: vec![AuditedModel {
                id: text(index),
                change: "modified".to_owned(),
                version: Some(text(index + 1)),
            }],
            tier: Some(text(index + 2)),
            conclusion: text(index + 3),
            approvers: vec![Approver {
                login: text(index + 4),
                review_id: 1,
            }],
            accepted_risks: vec![AuditedRisk {
                by: text(index + 5),
                reason: text(index + 6),
                comment_id: 3,
                checks: vec![text(index + 7)],
            }],
            report_sha256: "a".repeat(64),
            policy_sha256: "b".repeat(64),
            previous: notes.last().map(|note| sha256_hex(note.as_bytes())),
            digest: String::new(),
        };
        record.digest = sha256_hex(note_of(&record).as_bytes());
        notes.push(note_of(&record));
    }
    notes
}

/// How a note is tampered with.
#[derive(Debug, Clone)]
enum Tamper {
    /// A field replaced by any JSON value.
    Field(Vec<usize>, Value),
    /// `sequence` set to a number.
    Sequence(u64),
    /// The note's text edited as text.
    Text(Vec<super::Edit>),
    /// The note replaced by bytes that may not be UTF-8.
    Bytes(Vec<u8>),
    Removed,
}

fn tamper() -> impl Strategy<Value = Tamper> {
    prop_oneof![
        (prop::collection::vec(any::<usize>(), 1..4), json_value())
            .prop_map(|(path, value)| Tamper::Field(path, value)),
        prop_oneof![
            Just(0u64),
            Just(u64::MAX),
            Just(u64::MAX - 1),
            any::<u64>(),
            1..6u64
        ]
        .prop_map(Tamper::Sequence),
        prop::collection::vec(edit(), 1..4).prop_map(Tamper::Text),
        prop::collection::vec(any::<u8>(), 0..64).prop_map(Tamper::Bytes),
        Just(Tamper::Removed),
    ]
}

fn tampered(note: &str, tamper: &Tamper) -> Option<Vec<u8>> {
    let field = |edit: &dyn Fn(&mut Value)| {
        let mut value: Value = serde_json::from_str(note).expect("our own note is JSON");
        edit(&mut value);
        serde_json::to_string_pretty(&value)
            .expect("serializable")
            .into_bytes()
    };
    Some(match tamper {
        Tamper::Field(path, replacement) => {
            field(&|value| replace_somewhere(value, path, replacement.clone()))
        }
        Tamper::Sequence(sequence) => field(&|value| value["sequence"] = Value::from(*sequence)),
        Tamper::Text(edits) => apply(note, edits).into_bytes(),
        Tamper::Bytes(bytes) => bytes.clone(),
        Tamper::Removed => return None,
    })
}

/// Lines of output: a value from a note never adds one.
fn lines(text: &str) -> usize {
    text.lines().count()
}

proptest! {
    #![proptest_config(config(64))]

    #[test]
    fn tampered_ledgers_are_verified_without_a_panic(
        commits in 1..5usize,
        texts in prop::collection::vec(fragment(), 1..8),
        tampers in prop::collection::vec((any::<prop::sample::Index>(), tamper()), 0..3),
    ) {
        let files: Vec<Vec<(String, Vec<u8>)>> =
            (0..commits).map(|i| vec![("file".to_owned(), format!("{i}").into_bytes())]).collect();
        let (folder, ids) = repository(&files);
        let notes = chain(&ids, &texts);
        let mut written: Vec<Option<Vec<u8>>> = notes.iter().map(|n| Some(n.clone().into_bytes())).collect();
        for (index, how) in &tampers {
            let at = index.index(written.len());
            written[at] = tampered(&notes[at], how);
        }
        let git = git2::Repository::open(folder.path()).expect("the repository");
        let signature = git2::Signature::now("hostile", "hostile@localhost").expect("a signature");
        for (commit, note) in ids.iter().zip(&written) {
            if let Some(note) = note {
                // libgit2 takes a note as text: bytes that are not UTF-8, or hold a NUL, go in as a blob.
                match std::str::from_utf8(note) {
                    Ok(text) if !text.contains('\0') => {
                        git.note(&signature, &signature, Some(NOTES_REF), *commit, text, true).expect("a note");
                    }
                    _ => {
                        let blob = git.blob(note).expect("a blob");
                        let notes_commit = git.refname_to_id(NOTES_REF).ok();
                        write_raw_note(&git, notes_commit, *commit, blob);
                    }
                }
            }
        }
        let repo = Repo::open(folder.path()).expect("open");
        let verification = verify(&repo).expect("a readable ledger");
        if tampers.is_empty() {
            prop_assert!(verification.problems.is_empty(), "{:?}", verification.problems);
            prop_assert_eq!(verification.records.len(), commits);
        }
        let unchanged = written.iter().zip(&notes).all(|(w, n)| w.as_deref() == Some(n.as_bytes()));
        if unchanged {
            prop_assert!(verification.problems.is_empty(), "{:?}", verification.problems);
        }
        // What goes unnoticed (the last note reformatted or removed) changes no record.
        if verification.problems.is_empty() {
            let originals: Vec<AuditRecord> =
                notes.iter().map(|n| serde_json::from_str(n).expect("our own note")).collect();
            prop_assert!(verification.records.len() <= originals.len());
            prop_assert_eq!(&verification.records[..], &originals[..verification.records.len()]);
        }
        // `audit verify` prints a line per problem and per control exception, then the verdict.
        let audited = audit(&repo, "HEAD").expect("an audit");
        prop_assert_eq!(
            lines(&audited.text()),
            audited.problems.len() + audited.controls.exceptions.len() + 1
        );
        let risks: usize = verification.records.iter().map(|r| r.accepted_risks.len()).sum();
        let log_text = log(&repo, None).expect("a log").log_text();
        let not_intact = usize::from(!verification.problems.is_empty());
        prop_assert_eq!(lines(&log_text), verification.records.len() + risks + not_intact, "{}", log_text);
    }
}

/// Adds `blob` as the note of `commit` to the notes tree (libgit2's API takes text only).
fn write_raw_note(
    git: &git2::Repository,
    notes_commit: Option<git2::Oid>,
    commit: git2::Oid,
    blob: git2::Oid,
) {
    let parent = notes_commit.map(|id| git.find_commit(id).expect("the notes commit"));
    let base = parent.as_ref().map(|c| c.tree().expect("its tree"));
    let mut builder = git.treebuilder(base.as_ref()).expect("a tree builder");
    builder
        .insert(commit.to_string(), blob, 0o100644)
        .expect("an entry");
    let tree = git
        .find_tree(builder.write().expect("a tree"))
        .expect("the tree");
    let signature = git2::Signature::now("hostile", "hostile@localhost").expect("a signature");
    let parents: Vec<&git2::Commit<'_>> = parent.iter().collect();
    git.commit(
        Some(NOTES_REF),
        &signature,
        &signature,
        "note",
        &tree,
        &parents,
    )
    .expect("a notes commit");
}

#[test]
fn a_record_numbered_zero_or_last_is_reported_not_a_panic() {
    for sequence in [0, u64::MAX] {
        let (folder, ids) = repository(&[
            vec![("f".to_owned(), b"1".to_vec())],
            vec![("f".to_owned(), b"2".to_vec())],
        ]);
        let notes = chain(&ids, &["m".to_owned()]);
        let git = git2::Repository::open(folder.path()).expect("the repository");
        let signature = git2::Signature::now("hostile", "hostile@localhost").expect("a signature");
        let mut second: Value = serde_json::from_str(&notes[1]).expect("JSON");
        second["sequence"] = Value::from(sequence);
        let second = serde_json::to_string_pretty(&second).expect("serializable");
        for (commit, note) in ids.iter().zip([&notes[0], &second]) {
            git.note(&signature, &signature, Some(NOTES_REF), *commit, note, true)
                .expect("a note");
        }
        let repo = Repo::open(folder.path()).expect("open");
        let verification = verify(&repo).expect("a readable ledger");
        let expected = if sequence == 0 {
            "numbered 0; records are numbered from 1"
        } else {
            "#2 to #18446744073709551614 are missing"
        };
        assert!(
            verification.problems.iter().any(|p| p.contains(expected)),
            "sequence {sequence}: {:?}",
            verification.problems
        );
        assert!(
            verification
                .problems
                .iter()
                .all(|p| p.ends_with("altered") || p.ends_with("removed")),
            "{:?}",
            verification.problems
        );
    }
}
