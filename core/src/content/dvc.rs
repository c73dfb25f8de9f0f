//! DVC: a path DVC tracks is not in git; git holds `<path>.dvc` or an output entry of
//! `dvc.lock`, recording the content's md5. The content is in the DVC cache of a checkout
//! (`.dvc/cache`) or in a local remote named in `.dvc/config`.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use md5::{Digest, Md5};
use serde::Deserialize;

/// One output (or dependency) as DVC records it.
#[derive(Debug, Clone, Deserialize)]
struct RecordedFile {
    path: String,
    #[serde(default)]
    md5: Option<String>,
    /// `md5` in files written by DVC 3; absent in DVC 2's, whose cache layout differs.
    #[serde(default)]
    hash: Option<String>,
}

#[derive(Debug, Deserialize)]
struct DvcFile {
    #[serde(default)]
    outs: Vec<RecordedFile>,
}

#[derive(Debug, Deserialize)]
struct DvcLockFile {
    #[serde(default)]
    stages: BTreeMap<String, LockedStage>,
}

#[derive(Debug, Deserialize)]
struct LockedStage {
    #[serde(default)]
    deps: Vec<RecordedFile>,
    #[serde(default)]
    outs: Vec<RecordedFile>,
}

/// Which cache layout an md5 is kept under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheLayout {
    /// DVC 3: `files/md5/aa/bbbb…`, md5 of the bytes as they are.
    Dvc3,
    /// DVC 2: `aa/bbbb…`, md5 of text files taken after turning CRLF into LF.
    Dvc2,
}

/// A path DVC tracks at one revision: the content's md5 and which file in git says so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DvcTracked {
    pub md5: String,
    pub layout: CacheLayout,
    /// `data/train.csv.dvc`, or `dvc.lock (stage train)`.
    pub recorded_in: String,
    /// For a file inside a folder DVC tracks as a whole (`md5` ends in `.dir`): its path
    /// inside that folder, found through the folder's manifest in the cache.
    pub inside: Option<String>,
}

impl fmt::Display for DvcTracked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "tracked by DVC in {}, md5 {}",
            self.recorded_in, self.md5
        )?;
        match &self.inside {
            Some(inside) => write!(f, " (a folder tracked as a whole, holding {inside})"),
            None => Ok(()),
        }
    }
}

/// A stage of `dvc.lock`: what it read and what it wrote, as repository paths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    pub name: String,
    pub deps: Vec<String>,
    pub outs: Vec<String>,
}

/// The root `dvc.lock`, parsed once per revision: its stages, and what it records of each
/// output.
#[derive(Debug, Default)]
pub(crate) struct DvcLock {
    pub stages: Vec<Stage>,
    outputs: Vec<(String, DvcTracked)>,
}

impl DvcLock {
    /// `text` of `file` (at the repository root), with paths made relative to it.
    pub(crate) fn parse(file: &str, text: &str) -> Result<DvcLock, crate::Diagnostic> {
        let lock: DvcLockFile = crate::yaml::parse(file, text, 0)?;
        let mut parsed = DvcLock::default();
        for (name, stage) in lock.stages {
            for out in &stage.outs {
                if let Some(tracked) = tracked(out, format!("{file} (stage {name})")) {
                    parsed.outputs.push((normalize(&out.path), tracked));
                }
            }
            parsed.stages.push(Stage {
                deps: stage.deps.iter().map(|d| normalize(&d.path)).collect(),
                outs: stage.outs.iter().map(|o| normalize(&o.path)).collect(),
                name,
            });
        }
        Ok(parsed)
    }

    /// What the lock records for `path` as some stage's output.
    pub(crate) fn output(&self, path: &str) -> Option<&DvcTracked> {
        self.outputs
            .iter()
            .find(|(out, _)| out == path)
            .map(|(_, tracked)| tracked)
    }
}

/// The md5 a `.dvc` file (at `file`, in folder `folder`) records for `path`.
pub(crate) fn dvc_file_output(
    file: &str,
    folder: &str,
    text: &str,
    path: &str,
) -> Result<Option<DvcTracked>, crate::Diagnostic> {
    let dvc: DvcFile = crate::yaml::parse(file, text, 0)?;
    for out in dvc.outs {
        let full = if folder.is_empty() {
            normalize(&out.path)
        } else {
            normalize(&format!("{folder}/{}", out.path))
        };
        if full == path {
            return Ok(tracked(&out, file.to_owned()));
        }
    }
    Ok(None)
}

fn tracked(out: &RecordedFile, recorded_in: String) -> Option<DvcTracked> {
    let md5 = out.md5.clone()?;
    let layout = match out.hash.as_deref() {
        Some("md5") => CacheLayout::Dvc3,
        _ => CacheLayout::Dvc2,
    };
    Some(DvcTracked {
        md5,
        layout,
        recorded_in,
        inside: None,
    })
}

/// One entry of a `.dir` manifest, as DVC writes it into the cache.
#[derive(Debug, Deserialize)]
struct ManifestEntry {
    md5: String,
    relpath: String,
}

/// `./a/../b` and `a//b` as DVC would resolve them, `/`-separated.
fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split(['/', '\\']) {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    parts.join("/")
}

/// Where DVC content may be found: the checkout's cache, then local remotes.
#[derive(Debug, Clone, Default)]
pub(crate) struct DvcStores {
    /// Cache or remote folders, each `(folder, what it is)`.
    folders: Vec<(PathBuf, String)>,
    /// Remotes that are not local folders, named for the error message.
    elsewhere: Vec<String>,
}

impl DvcStores {
    /// From the revision's `.dvc/config`, then the checkout's `.dvc/config` and
    /// `.dvc/config.local` (DVC itself reads every revision with the checkout's settings), with
    /// the checkout at `workdir` when there is one (a bare repository has no DVC cache).
    pub(crate) fn new(workdir: Option<&Path>, config: Option<&str>) -> DvcStores {
        let dvc_dir = workdir.map(|w| w.join(".dvc"));
        let mut settings = parse_config(config.unwrap_or_default());
        for file in ["config", "config.local"] {
            if let Some(text) = dvc_dir
                .as_ref()
                .and_then(|d| std::fs::read_to_string(d.join(file)).ok())
            {
                settings.extend(parse_config(&text));
            }
        }
        // Relative folders in DVC's config are relative to the `.dvc` folder.
        let local_folder = |value: &str| -> Option<PathBuf> {
            let value = value.strip_prefix("file://").unwrap_or(value);
            if value.contains("://") {
                return None;
            }
            let path = Path::new(value);
            if path.is_absolute() {
                Some(path.to_owned())
            } else {
                dvc_dir.as_ref().map(|d| d.join(path))
            }
        };
        let mut stores = DvcStores::default();
        let cache = match settings.get(&("cache".to_owned(), "dir".to_owned())) {
            Some(dir) => local_folder(dir),
            None => dvc_dir.as_ref().map(|d| d.join("cache")),
        };
        if let Some(cache) = cache {
            stores.folders.push((cache, "the DVC cache".to_owned()));
        }
        let default_remote = settings
            .get(&("core".to_owned(), "remote".to_owned()))
            .cloned();
        let mut remotes: Vec<(String, String)> = settings
            .iter()
            .filter(|((_, key), _)| key == "url")
            .filter_map(|((section, _), url)| {
                let name = section.strip_prefix("remote \"")?.strip_suffix('"')?;
                Some((name.to_owned(), url.clone()))
            })
            .collect();
        remotes.sort_by_key(|(name, _)| Some(name) != default_remote.as_ref());
        for (name, url) in remotes {
            match local_folder(&url) {
                Some(folder) => stores.folders.push((folder, format!("DVC remote {name}"))),
                None => stores.elsewhere.push(format!("{name} ({url})")),
            }
        }
        stores
    }

    /// The record of the file itself: for a file inside a folder DVC tracks as a whole,
    /// its entry in the folder's manifest (read from a cache or remote).
    pub(crate) fn file_record(&self, tracked: &DvcTracked) -> Result<DvcTracked, String> {
        let Some(inside) = &tracked.inside else {
            return Ok(tracked.clone());
        };
        let manifest = self.read_object(tracked)?;
        let entries: Vec<ManifestEntry> = serde_json::from_slice(&manifest).map_err(|e| {
            format!(
                "the folder's manifest {} is not DVC's JSON: {e}",
                tracked.md5
            )
        })?;
        let entry = entries
            .into_iter()
            .find(|entry| normalize(&entry.relpath) == *inside)
            .ok_or_else(|| format!("the folder's manifest {} has no {inside}", tracked.md5))?;
        Ok(DvcTracked {
            md5: entry.md5,
            layout: tracked.layout,
            recorded_in: tracked.recorded_in.clone(),
            inside: None,
        })
    }

    /// The verified content of `tracked`, or why it could not be had.
    pub(crate) fn read(&self, tracked: &DvcTracked) -> Result<Vec<u8>, String> {
        let file = self.file_record(tracked)?;
        if file.md5.ends_with(".dir") {
            return Err("it is a folder DVC tracks as a whole, not a file".to_owned());
        }
        self.read_object(&file)
    }

    /// A cache object by its md5 (a file, or a folder's `.dir` manifest).
    fn read_object(&self, tracked: &DvcTracked) -> Result<Vec<u8>, String> {
        let digest = tracked.md5.strip_suffix(".dir").unwrap_or(&tracked.md5);
        if digest.len() != 32 || !digest.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!("`{}` is not an md5", tracked.md5));
        }
        let (head, rest) = tracked.md5.split_at(2);
        let mut looked = Vec::new();
        for (folder, what) in &self.folders {
            // DVC 3 reads DVC 2's records from the legacy layout, and the other way round
            // after `dvc cache migrate`; both are tried, the record's own first.
            let layouts = match tracked.layout {
                CacheLayout::Dvc3 => [CacheLayout::Dvc3, CacheLayout::Dvc2],
                CacheLayout::Dvc2 => [CacheLayout::Dvc2, CacheLayout::Dvc3],
            };
            for layout in layouts {
                let file = match layout {
                    CacheLayout::Dvc3 => folder.join("files/md5").join(head).join(rest),
                    CacheLayout::Dvc2 => folder.join(head).join(rest),
                };
                let Ok(content) = std::fs::read(&file) else {
                    continue;
                };
                // A manifest is DVC's own JSON, named by the md5 of its serialization; the
                // files it lists are verified one by one.
                if tracked.md5.ends_with(".dir")
                    || matches_md5(&content, &tracked.md5, tracked.layout)
                {
                    return Ok(content);
                }
                return Err(format!(
                    "{} in {what} does not have md5 {}: the copy is damaged",
                    file.display(),
                    tracked.md5
                ));
            }
            looked.push(what.clone());
        }
        let mut problem = if looked.is_empty() {
            "there is no DVC cache here (a bare repository) and no local DVC remote".to_owned()
        } else {
            format!("it is not in {}", looked.join(" nor in "))
        };
        if !self.elsewhere.is_empty() {
            problem.push_str(&format!(
                "; remote {} is not a local folder, so modelgate does not read it",
                self.elsewhere.join(", ")
            ));
        }
        Err(problem)
    }
}

/// DVC 2 hashed text files after turning CRLF into LF; DVC 3 hashes the bytes.
fn matches_md5(content: &[u8], md5: &str, layout: CacheLayout) -> bool {
    let hex = |digest: &[u8]| -> String { digest.iter().map(|b| format!("{b:02x}")).collect() };
    if hex(&Md5::digest(content)) == md5 {
        return true;
    }
    layout == CacheLayout::Dvc2 && !content.contains(&0) && {
        let mut unix = Vec::with_capacity(content.len());
        let mut bytes = content.iter().peekable();
        while let Some(&byte) = bytes.next() {
            if byte == b'\r' && bytes.peek() == Some(&&b'\n') {
                continue;
            }
            unix.push(byte);
        }
        hex(&Md5::digest(&unix)) == md5
    }
}

/// DVC's config (configobj, INI-like): `[section]` or `['remote "name"']` headers and
/// `key = value` lines. Keys as `(section, key)`.
fn parse_config(text: &str) -> BTreeMap<(String, String), String> {
    let mut settings = BTreeMap::new();
    let mut section = String::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(header) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = header.trim().trim_matches('\'').to_owned();
        } else if let Some((key, value)) = line.split_once('=') {
            settings.insert(
                (section.clone(), key.trim().to_owned()),
                value.trim().trim_matches(['\'', '"']).to_owned(),
            );
        }
    }
    settings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_and_config_are_read_as_dvc_writes_them() {
        let dvc = "outs:\n- md5: 0cc175b9c0f1b6a831c399e269772661\n  size: 1\n  hash: md5\n  path: train.csv\n";
        let tracked = dvc_file_output("data/train.csv.dvc", "data", dvc, "data/train.csv")
            .expect("valid")
            .expect("tracked");
        assert_eq!(tracked.layout, CacheLayout::Dvc3);
        assert_eq!(tracked.recorded_in, "data/train.csv.dvc");
        let lock = "schema: '2.0'\nstages:\n  train:\n    cmd: python train.py\n    deps:\n    - path: data/train.csv\n      md5: 0cc175b9c0f1b6a831c399e269772661\n    outs:\n    - path: models/a/model.pkl\n      md5: 92eb5ffee6ae2fec3ad71c777531578f\n";
        let lock = DvcLock::parse("dvc.lock", lock).expect("valid");
        assert_eq!(lock.stages[0].deps, ["data/train.csv"]);
        let out = lock.output("models/a/model.pkl").cloned();
        assert_eq!(
            out.map(|o| (o.recorded_in, o.layout)),
            Some(("dvc.lock (stage train)".to_owned(), CacheLayout::Dvc2))
        );
        let config = "[core]\n    remote = storage\n['remote \"storage\"']\n    url = /srv/dvc\n['remote \"s3\"']\n    url = s3://bucket/x\n";
        let stores = DvcStores::new(None, Some(config));
        assert_eq!(
            stores.folders,
            [(PathBuf::from("/srv/dvc"), "DVC remote storage".to_owned())]
        );
        assert_eq!(stores.elsewhere, ["s3 (s3://bucket/x)"]);
    }

    #[test]
    fn dvc2_text_hashes_ignore_crlf() {
        let unix = b"a,b\n1,2\n";
        let hex: String = Md5::digest(unix)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert!(matches_md5(b"a,b\r\n1,2\r\n", &hex, CacheLayout::Dvc2));
        assert!(!matches_md5(b"a,b\r\n1,2\r\n", &hex, CacheLayout::Dvc3));
    }

    #[test]
    fn both_cache_layouts_are_read_and_damaged_copies_refused() {
        let checkout = tempfile::tempdir().expect("temporary folder");
        let content = b"a,b\r\n1,2\r\n";
        let unix_md5: String = Md5::digest(b"a,b\n1,2\n")
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let raw_md5: String = Md5::digest(content)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let cache = checkout.path().join(".dvc/cache");
        // DVC 2 kept text under the md5 of its LF form; DVC 3 under the bytes' md5.
        let legacy = cache.join(&unix_md5[..2]).join(&unix_md5[2..]);
        let current = cache
            .join("files/md5")
            .join(&raw_md5[..2])
            .join(&raw_md5[2..]);
        for file in [&legacy, &current] {
            std::fs::create_dir_all(file.parent().expect("folder")).expect("folders");
            std::fs::write(file, content).expect("write");
        }
        let stores = DvcStores::new(Some(checkout.path()), None);
        let record = |md5: &str, layout| DvcTracked {
            md5: md5.to_owned(),
            layout,
            recorded_in: "data/x.csv.dvc".to_owned(),
            inside: None,
        };
        assert_eq!(
            stores
                .read(&record(&unix_md5, CacheLayout::Dvc2))
                .as_deref(),
            Ok(&content[..])
        );
        assert_eq!(
            stores.read(&record(&raw_md5, CacheLayout::Dvc3)).as_deref(),
            Ok(&content[..])
        );
        std::fs::write(&current, b"tampered").expect("write");
        let problem = stores
            .read(&record(&raw_md5, CacheLayout::Dvc3))
            .expect_err("damaged");
        assert!(problem.contains("the copy is damaged"), "{problem}");
        let missing = stores
            .read(&record(&"0".repeat(32), CacheLayout::Dvc3))
            .expect_err("absent");
        assert_eq!(missing, "it is not in the DVC cache");
    }
}
