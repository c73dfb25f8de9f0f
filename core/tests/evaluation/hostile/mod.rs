//! Hostile inputs: property tests of every parser of what arrives from a pull request or from
//! outside (cards, policies, `metrics.json`, data files, `--pr-facts`, audit notes,
//! `/modelgate` commands, LFS pointers, DVC files), plus targeted adversarial cases (alias
//! bombs, deep nesting, huge lines, Parquet with a lying footer). Each must end in a clear
//! error or a bounded, correct result: never a panic, a hang or an unbounded allocation.
//!
//! CI runs each property with a small number of cases; `PROPTEST_CASES=20000` runs a longer
//! campaign with the same tests.

mod audit_notes;
mod cards;
mod commands;
mod content;
mod json_inputs;
mod policies;
mod tables;
mod yaml_gen;

use std::path::PathBuf;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::Config;

/// The configuration of a property: `ci_cases` cases, or `PROPTEST_CASES` when it is set, so
/// that a longer campaign is only an environment variable. Failures are not persisted to
/// files: a failure found becomes a named regression test instead.
pub fn config(ci_cases: u32) -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(ci_cases);
    Config {
        cases,
        failure_persistence: None,
        max_shrink_iters: 2_000,
        ..Config::default()
    }
}

/// The time one adversarial input may take, generously: a sanity guard against a hang, far
/// above what the parsers need (milliseconds), so a slow CI machine never fails it.
pub const ADVERSARIAL_LIMIT: Duration = Duration::from_secs(20);

/// Runs `work` on its own thread and fails if it has not finished within `limit`, so a hang
/// fails the test instead of stalling the run. A panic in `work` fails the test too.
pub fn within<T: Send + 'static>(
    what: &str,
    limit: Duration,
    work: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (send, receive) = mpsc::channel();
    let started = Instant::now();
    let worker = std::thread::Builder::new()
        .name(what.to_owned())
        .spawn(move || {
            let _ = send.send(work());
        })
        .expect("a thread can be started");
    match receive.recv_timeout(limit) {
        Ok(value) => {
            let _ = worker.join();
            value
        }
        Err(mpsc::RecvTimeoutError::Timeout) => {
            panic!("{what}: still running after {:?}", started.elapsed())
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => match worker.join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(()) => panic!("{what}: finished without a result"),
        },
    }
}

/// The project's fixtures folder (the tests' own copy of every sample input).
pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures")
}

pub fn fixture_text(path: &str) -> String {
    std::fs::read_to_string(fixtures().join(path))
        .unwrap_or_else(|error| panic!("fixture {path}: {error}"))
}

/// Every file of a fixtures folder whose name ends in `suffix`, as (name, text).
pub fn fixture_texts(folder: &str, suffix: &str) -> Vec<(String, String)> {
    let mut found: Vec<(String, String)> = std::fs::read_dir(fixtures().join(folder))
        .unwrap_or_else(|error| panic!("fixtures/{folder}: {error}"))
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.to_string_lossy().ends_with(suffix))
        .map(|path| {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
            (name, text)
        })
        .collect();
    found.sort();
    assert!(!found.is_empty(), "no fixtures/{folder}/*{suffix}");
    found
}

/// One edit of a text, for mutating valid inputs: positions are fractions of the length, so
/// one generated edit applies to any text.
#[derive(Debug, Clone)]
pub enum Edit {
    Delete {
        at: f64,
        len: usize,
    },
    Insert {
        at: f64,
        text: String,
    },
    Duplicate {
        at: f64,
        len: usize,
    },
    Truncate {
        at: f64,
    },
    /// A line swapped with the next one.
    SwapLine {
        at: f64,
    },
    /// Every line from here on indented by `by` more spaces (or a tab).
    Indent {
        at: f64,
        by: usize,
        tab: bool,
    },
}

/// Fragments that matter to the formats under test: YAML and JSON punctuation, anchors and
/// aliases, tags, YAML 1.1 words, control and bidirectional characters, front matter fences.
pub fn fragment() -> impl Strategy<Value = String> {
    let tokens = prop::sample::select(vec![
        "---\n",
        "\n---\n",
        "...",
        ": ",
        "- ",
        "? ",
        "[",
        "]",
        "{",
        "}",
        ",",
        "\"",
        "'",
        "#",
        "&a ",
        "*a",
        "&b [*a, *a]",
        "!!str ",
        "!!binary ",
        "!custom ",
        "<<: *a",
        "|",
        ">-",
        "|2",
        "\t",
        "\r\n",
        "\r",
        "\n",
        "\u{feff}",
        "\u{85}",
        "\u{2028}",
        "\u{202e}",
        "\0",
        "\u{1b}[31m",
        "yes",
        "no",
        "on",
        "~",
        "null",
        ".nan",
        "-.inf",
        "0x1F",
        "0o17",
        "1_000",
        "2023-13-45",
        "2024-02-29",
        "12:30:45",
        "=",
        "%YAML 1.2\n",
        "%TAG ! tag:x:\n",
        "\\",
        "\\u0000",
        "\\ud800",
        "1e999",
        "-0",
        "é",
        "日本",
        "😀",
        "models/../x",
        "/modelgate ",
    ]);
    prop_oneof![
        4 => tokens.prop_map(str::to_owned),
        1 => "\\PC{0,12}",
        1 => any::<String>().prop_map(|s| s.chars().take(16).collect()),
    ]
}

pub fn edit() -> impl Strategy<Value = Edit> {
    let at = 0.0..=1.0f64;
    prop_oneof![
        1 => (at.clone(), 0..40usize).prop_map(|(at, len)| Edit::Delete { at, len }),
        3 => (at.clone(), fragment()).prop_map(|(at, text)| Edit::Insert { at, text }),
        1 => (at.clone(), 0..80usize).prop_map(|(at, len)| Edit::Duplicate { at, len }),
        1 => at.clone().prop_map(|at| Edit::Truncate { at }),
        1 => at.clone().prop_map(|at| Edit::SwapLine { at }),
        1 => (at, 1..4usize, any::<bool>()).prop_map(|(at, by, tab)| Edit::Indent { at, by, tab }),
    ]
}

/// The char boundary nearest below `at` of the text's length.
fn boundary(text: &str, at: f64) -> usize {
    let mut index = ((text.len() as f64) * at) as usize;
    index = index.min(text.len());
    while !text.is_char_boundary(index) {
        index -= 1;
    }
    index
}

fn end_of(text: &str, start: usize, len: usize) -> usize {
    let mut end = (start + len).min(text.len());
    while !text.is_char_boundary(end) {
        end += 1;
    }
    end
}

pub fn apply(text: &str, edits: &[Edit]) -> String {
    let mut text = text.to_owned();
    for edit in edits {
        match edit {
            Edit::Delete { at, len } => {
                let start = boundary(&text, *at);
                let end = end_of(&text, start, *len);
                text.replace_range(start..end, "");
            }
            Edit::Insert { at, text: inserted } => {
                let at = boundary(&text, *at);
                text.insert_str(at, inserted);
            }
            Edit::Duplicate { at, len } => {
                let start = boundary(&text, *at);
                let end = end_of(&text, start, *len);
                let copy = text[start..end].to_owned();
                text.insert_str(end, &copy);
            }
            Edit::Truncate { at } => {
                let at = boundary(&text, *at);
                text.truncate(at);
            }
            Edit::SwapLine { at } => {
                let mut lines: Vec<&str> = text.split_inclusive('\n').collect();
                if lines.len() > 1 {
                    let index = ((lines.len() - 1) as f64 * at) as usize;
                    let index = index.min(lines.len() - 2);
                    lines.swap(index, index + 1);
                }
                text = lines.concat();
            }
            Edit::Indent { at, by, tab } => {
                let from = boundary(&text, *at);
                let line_start = text[..from].rfind('\n').map_or(0, |i| i + 1);
                let indent = if *tab {
                    "\t".to_owned()
                } else {
                    " ".repeat(*by)
                };
                let (head, tail) = text.split_at(line_start);
                let tail: String = tail
                    .split_inclusive('\n')
                    .map(|line| format!("{indent}{line}"))
                    .collect();
                text = format!("{head}{tail}");
            }
        }
    }
    text
}

/// Lines a text has, for checking that a diagnostic points inside it.
pub fn line_count(text: &str) -> u64 {
    text.split('\n').count() as u64
}

/// A repository in a temporary folder with one commit per entry of `commits`, each holding
/// the given files (path, content); returns the folder and the commit ids, oldest first.
pub fn repository(commits: &[Vec<(String, Vec<u8>)>]) -> (tempfile::TempDir, Vec<git2::Oid>) {
    let folder = tempfile::tempdir().expect("a temporary folder");
    let git = git2::Repository::init(folder.path()).expect("git init");
    let signature = git2::Signature::now("hostile", "hostile@localhost").expect("a signature");
    let mut ids = Vec::new();
    for (index, files) in commits.iter().enumerate() {
        let tree = tree_of(&git, files);
        let parents: Vec<git2::Commit<'_>> = ids
            .last()
            .map(|&id| git.find_commit(id).expect("the previous commit"))
            .into_iter()
            .collect();
        let parents: Vec<&git2::Commit<'_>> = parents.iter().collect();
        let id = git
            .commit(
                Some("HEAD"),
                &signature,
                &signature,
                &format!("commit {index}"),
                &tree,
                &parents,
            )
            .expect("a commit");
        ids.push(id);
    }
    (folder, ids)
}

/// The tree of `files`, folders made as their paths need.
fn tree_of<'r>(git: &'r git2::Repository, files: &[(String, Vec<u8>)]) -> git2::Tree<'r> {
    use std::collections::BTreeMap;
    #[derive(Default)]
    struct Folder {
        files: BTreeMap<String, git2::Oid>,
        folders: BTreeMap<String, Folder>,
    }
    fn write(git: &git2::Repository, folder: &Folder) -> git2::Oid {
        let mut builder = git.treebuilder(None).expect("a tree builder");
        for (name, oid) in &folder.files {
            builder.insert(name, *oid, 0o100644).expect("a file entry");
        }
        for (name, sub) in &folder.folders {
            builder
                .insert(name, write(git, sub), 0o040000)
                .expect("a folder entry");
        }
        builder.write().expect("a tree")
    }
    let mut root = Folder::default();
    for (path, content) in files {
        let blob = git.blob(content).expect("a blob");
        let mut parts: Vec<&str> = path.split('/').collect();
        let name = parts.pop().expect("a file name");
        let mut folder = &mut root;
        for part in parts {
            folder = folder.folders.entry(part.to_owned()).or_default();
        }
        folder.files.insert(name.to_owned(), blob);
    }
    let id = write(git, &root);
    git.find_tree(id).expect("the tree")
}
