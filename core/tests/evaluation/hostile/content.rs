//! Where data lives outside git: Git LFS pointer files and DVC's records (`<path>.dvc`,
//! `dvc.lock`, `.dvc/config`), read from a pull request's tree.

use modelgate_core::Error;
use modelgate_core::Repo;
use modelgate_core::content::DataFile;
use modelgate_core::content::lfs::LfsPointer;
use modelgate_core::path::RepoPath;
use proptest::prelude::*;

use super::yaml_gen::{Yaml, entry, list_of, mapping, scalar, scalar_of};
use super::{ADVERSARIAL_LIMIT, apply, config, edit, line_count, repository, within};

const SPEC: &str = "version https://git-lfs.github.com/spec/v1\n";

fn hex64() -> impl Strategy<Value = String> {
    "[0-9a-f]{64}"
}

/// A pointer file as git-lfs writes it, with extension keys before `oid` (keys in order).
fn pointer_text() -> impl Strategy<Value = (String, String, u64)> {
    (
        hex64(),
        any::<u64>(),
        prop::collection::btree_set("ext-[0-9]-[a-z]{1,6}", 0..3),
    )
        .prop_map(|(oid, size, extensions)| {
            let mut text = SPEC.to_owned();
            for extension in extensions {
                text.push_str(&format!("{extension} sha256:{}\n", "0".repeat(64)));
            }
            text.push_str(&format!("oid sha256:{oid}\nsize {size}\n"));
            (text, oid, size)
        })
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn lfs_pointers_are_read_as_written((text, oid, size) in pointer_text()) {
        let pointer = LfsPointer::parse(text.as_bytes()).expect("a pointer by the spec");
        prop_assert_eq!(&pointer.oid, &oid);
        prop_assert_eq!(pointer.size, size);
        prop_assert!(pointer.to_string().contains(&size.to_string()));
    }

    #[test]
    fn mutated_lfs_pointers_are_pointers_or_content(
        (text, _, _) in pointer_text(),
        edits in prop::collection::vec(edit(), 1..4),
    ) {
        let mutated = apply(&text, &edits);
        if let Some(pointer) = LfsPointer::parse(mutated.as_bytes()) {
            prop_assert_eq!(pointer.oid.len(), 64);
            prop_assert!(pointer.oid.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
            // The size is the decimal of a `size` line (git-lfs takes leading zeros too).
            let sizes: Vec<u64> = mutated
                .lines()
                .filter_map(|line| line.strip_prefix("size ")?.parse().ok())
                .collect();
            prop_assert!(sizes.contains(&pointer.size), "{:?}", mutated);
            prop_assert!(mutated.starts_with("version "));
            // Shown without a panic, whatever the size.
            let _ = pointer.to_string();
        }
    }

    #[test]
    fn any_bytes_are_content_or_a_pointer(bytes in prop::collection::vec(any::<u8>(), 0..1100)) {
        if let Some(pointer) = LfsPointer::parse(&bytes) {
            prop_assert!(bytes.len() <= 1024);
            prop_assert_eq!(pointer.oid.len(), 64);
        }
    }
}

#[test]
fn large_or_overflowing_pointers_are_content() {
    let big_size = format!(
        "{SPEC}oid sha256:{}\nsize 18446744073709551616\n",
        "a".repeat(64)
    );
    assert_eq!(
        LfsPointer::parse(big_size.as_bytes()),
        None,
        "a size past u64"
    );
    let long = format!(
        "{SPEC}oid sha256:{}\nsize 1\nx-pad {}\n",
        "a".repeat(64),
        "p".repeat(2_000)
    );
    assert_eq!(
        LfsPointer::parse(long.as_bytes()),
        None,
        "past the pointer size limit"
    );
    let huge = vec![b'\n'; 64 << 20];
    assert_eq!(
        within("64 MB of newlines", ADVERSARIAL_LIMIT, move || {
            LfsPointer::parse(&huge)
        }),
        None
    );
}

fn md5() -> BoxedStrategy<Yaml> {
    prop_oneof![
        4 => "[0-9a-f]{32}(\\.dir)?".prop_map(|m| Yaml::Scalar(m, super::yaml_gen::Style::Plain)),
        1 => scalar(),
    ]
    .boxed()
}

fn recorded_file() -> BoxedStrategy<Yaml> {
    mapping(vec![
        entry(
            "path",
            scalar_of(&[
                "data/train.csv",
                "train.csv",
                "./data/../data/train.csv",
                "data",
                "../x",
                "data\\train.csv",
                "",
            ]),
        ),
        entry("md5", md5()),
        entry("hash", scalar_of(&["md5", "sha256", ""])),
        entry("size", scalar()),
    ])
}

fn dvc_file() -> BoxedStrategy<Yaml> {
    mapping(vec![entry(
        "outs",
        prop_oneof![4 => list_of(recorded_file()), 1 => scalar()].boxed(),
    )])
}

fn dvc_lock() -> BoxedStrategy<Yaml> {
    let stage = mapping(vec![
        entry("cmd", scalar()),
        entry("deps", list_of(recorded_file())),
        entry("outs", list_of(recorded_file())),
    ]);
    mapping(vec![
        entry("schema", scalar_of(&["'2.0'", "2.0", "3"])),
        entry("stages", prop_oneof![4 => mapping(vec![entry("train", stage.clone()), entry("prepare", stage)]), 1 => scalar()].boxed()),
    ])
}

fn dvc_config() -> impl Strategy<Value = String> {
    let line = prop_oneof![
        Just("[core]".to_owned()),
        Just("['remote \"storage\"']".to_owned()),
        Just("[cache]".to_owned()),
        Just("remote = storage".to_owned()),
        Just("url = /srv/dvc".to_owned()),
        Just("url = s3://bucket/x".to_owned()),
        Just("dir = ../../../../etc".to_owned()),
        "\\PC{0,30}",
    ];
    prop::collection::vec(line, 0..8).prop_map(|lines| lines.join("\n"))
}

/// The files of a tree with DVC records, the data file itself absent from git.
fn dvc_tree() -> impl Strategy<Value = Vec<(String, Vec<u8>)>> {
    (
        dvc_file(),
        dvc_lock(),
        dvc_config(),
        prop::collection::vec(edit(), 0..3),
        any::<bool>(),
    )
        .prop_map(|(dvc, lock, config, edits, edit_lock)| {
            let (dvc, lock) = (dvc.render(), lock.render());
            let (dvc, lock) = if edit_lock {
                (dvc, apply(&lock, &edits))
            } else {
                (apply(&dvc, &edits), lock)
            };
            vec![
                ("data/train.csv.dvc".to_owned(), dvc.into_bytes()),
                ("dvc.lock".to_owned(), lock.into_bytes()),
                (".dvc/config".to_owned(), config.into_bytes()),
            ]
        })
}

/// A DVC error names its file, at a line of it.
fn check_dvc_error(error: &Error, files: &[(String, Vec<u8>)]) {
    match error {
        Error::Invalid(diagnostics) => {
            for diagnostic in diagnostics {
                let (_, text) = files
                    .iter()
                    .find(|(path, _)| *path == diagnostic.file)
                    .unwrap_or_else(|| panic!("{diagnostic} names a file not in the tree"));
                let text = String::from_utf8_lossy(text);
                assert!(diagnostic.line <= line_count(&text) + 1, "{diagnostic}");
            }
        }
        other => panic!("a DVC record's problem is a diagnostic, got {other}"),
    }
}

proptest! {
    #![proptest_config(config(64))]

    #[test]
    fn dvc_records_are_read_or_refused_with_a_position(files in dvc_tree()) {
        let (folder, commits) = repository(std::slice::from_ref(&files));
        let repo = Repo::open(folder.path()).expect("open");
        let snapshot = repo.snapshot(commits[0]).expect("a snapshot");
        match snapshot.dvc_stages() {
            // A stage is a key of `stages`: at most one a line.
            Ok(stages) => {
                let lock = files.iter().find(|(path, _)| path == "dvc.lock").map(|(_, text)| text);
                let lines = lock.map_or(0, |text| text.split(|&b| b == b'\n').count());
                prop_assert!(stages.len() <= lines, "{} stages in {lines} lines", stages.len());
            }
            Err(error) => check_dvc_error(&error, &files),
        }
        for path in ["data/train.csv", "data/eval.csv", "models/m/x.csv"] {
            let path = RepoPath::parse(path).expect("a repository path");
            match snapshot.data_version(&path) {
                Ok(_) => {}
                Err(error) => check_dvc_error(&error, &files),
            }
            match snapshot.read_data(&path) {
                // Nothing is in a DVC cache here: tracked content is unavailable, never read.
                Ok(DataFile::Read(content)) => prop_assert!(false, "read {} bytes from nowhere", content.len()),
                Ok(DataFile::Absent | DataFile::Unavailable(_)) => {}
                Err(error) => check_dvc_error(&error, &files),
            }
        }
    }
}
