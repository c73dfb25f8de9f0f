//! Where pages live in the output and how they link to each other. Every link is relative
//! (from a page to the site's root, then down), so the site works under any path prefix on
//! GitHub Pages and straight from disk; folders are linked through their `index.html`,
//! which `file://` does not add by itself.

use modelgate_core::sha::Sha;
use sha2::{Digest, Sha256};

/// A file or folder name made from untrusted text (a model folder name, a dataset path):
/// kept as it is when it is plain, otherwise made plain and suffixed with a short hash of
/// the original, so distinct names stay distinct.
pub fn slug(name: &str) -> String {
    let plain = |part: &str| {
        !part.is_empty()
            && !part.starts_with('.')
            && part
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    };
    if plain(name) {
        return name.to_owned();
    }
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect();
    let digest = Sha256::digest(name.as_bytes());
    let hash: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
    format!("{}-{hash}", cleaned.trim_start_matches('.'))
}

/// A dataset's folder under `datasets/`: its repository path when every component is
/// plain (readable URLs), else one slug.
pub fn dataset_slug(path: &str) -> String {
    if path.split('/').all(|part| slug(part) == part) {
        path.to_owned()
    } else {
        slug(path)
    }
}

pub fn model_page(model_slug: &str) -> String {
    format!("models/{model_slug}/index.html")
}

pub fn version_dir(model_slug: &str, key: &str) -> String {
    format!("models/{model_slug}/{key}")
}

pub fn version_page(model_slug: &str, key: &str) -> String {
    format!("{}/index.html", version_dir(model_slug, key))
}

pub fn dataset_page(dataset_slug: &str) -> String {
    format!("datasets/{dataset_slug}/index.html")
}

/// The evidence page of the audit record with this sequence number.
pub fn record_page(sequence: u64) -> String {
    format!("audit/record-{sequence}.html")
}

pub const INDEX: &str = "index.html";
/// A version's EU AI Act Annex IV documentation, in its folder (and `.md` beside it).
pub const TECHNICAL_DOCUMENTATION: &str = "technical-documentation.html";
pub const LINEAGE: &str = "lineage.html";
pub const AUDIT: &str = "audit.html";

/// The relative path from a page at `page` (a path from the root) back to the root.
pub fn root_of(page: &str) -> String {
    "../".repeat(page.matches('/').count())
}

/// A version's key in URLs: the first 12 hex digits of its commit (a slug of the text
/// should it not be a sha).
pub fn version_key(commit: &str) -> String {
    match Sha::parse(commit) {
        Some(sha) => sha.abbreviated(12).to_owned(),
        None => slug(commit),
    }
}

/// `YYYY-MM-DD` in UTC, from seconds since the epoch.
pub fn date(seconds: i64) -> String {
    jiff::Timestamp::from_second(seconds)
        .map(|t| t.strftime("%Y-%m-%d").to_string())
        .unwrap_or_else(|_| "unknown date".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_names_are_kept_and_others_hashed() {
        assert_eq!(slug("credit-risk"), "credit-risk");
        let odd = slug("javascript:alert(1)");
        assert!(odd.starts_with("javascript-alert-1--"), "{odd}");
        assert_ne!(slug("a b"), slug("a-b"));
        assert!(!slug("..").starts_with('.'));
        assert_eq!(
            dataset_slug("data/credit/eval.parquet"),
            "data/credit/eval.parquet"
        );
        assert!(!dataset_slug("data/x y.csv").contains('/'));
    }

    #[test]
    fn roots_and_dates() {
        assert_eq!(root_of("index.html"), "");
        assert_eq!(root_of("models/a/b/index.html"), "../../../");
        assert_eq!(date(1_767_603_600), "2026-01-05");
    }
}
