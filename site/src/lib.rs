//! modelgate's governance site: static pages of every model at every version, metric
//! history, lineage, datasets and the audit trail, rendered from git history alone.
//!
//! One function per command: [`build`] writes the site into a folder, [`serve`] previews
//! it on the loopback interface and rebuilds when the repository's refs change.

mod collect;
mod documentation;
mod evidence;
mod export;
mod links;
mod markdown;
mod pages;
mod serve;
mod svg;
mod theme;

use std::path::{Path, PathBuf};

pub use serve::{ServeOptions, serve};

/// Marks a folder as a site this crate wrote, so a rebuild may clear it.
const MARKER: &str = ".modelgate-site";

#[derive(Debug, thiserror::Error)]
pub enum SiteError {
    #[error(transparent)]
    Core(#[from] modelgate_core::Error),

    #[error("template {name}: {reason}")]
    Template { name: String, reason: String },

    #[error("templates directory {}: {reason}", .path.display())]
    Templates { path: PathBuf, reason: String },

    #[error("writing {}: {source}", .path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error(
        "{} is not empty and is not a site built by modelgate; expected a new or empty folder, or an earlier site build to replace",
        .0.display()
    )]
    OutputOccupied(PathBuf),

    #[error("--base-url `{0}`: expected an absolute http:// or https:// URL")]
    BaseUrl(String),

    #[error("export: {0}")]
    Export(String),

    #[error("serving on {addr}: {source}")]
    Serve {
        addr: String,
        source: std::io::Error,
    },
}

impl SiteError {
    /// Tera's errors nest their cause (the line and the missing variable); keep all of it.
    fn template(name: &str, error: &tera::Error) -> SiteError {
        let mut reason = error.to_string();
        let mut source = std::error::Error::source(error);
        while let Some(cause) = source {
            reason.push_str(": ");
            reason.push_str(&cause.to_string());
            source = cause.source();
        }
        SiteError::Template {
            name: name.to_owned(),
            reason,
        }
    }
}

/// What `modelgate site build` needs.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    pub repo: PathBuf,
    pub out: PathBuf,
    /// The branch (or any revision) whose history is shown.
    pub rev: String,
    /// Where the site will be published, for canonical links and absolute URLs in exports.
    pub base_url: Option<String>,
    /// A folder whose files override the built-in templates of the same name.
    pub templates: Option<PathBuf>,
}

/// What a build wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuildSummary {
    /// HTML pages.
    pub pages: usize,
    /// Every file, pages included.
    pub files: usize,
    pub models: usize,
    pub versions: usize,
    pub datasets: usize,
}

impl BuildSummary {
    /// What `modelgate site build` prints once the site is written to `out`.
    pub fn text(&self, out: &std::path::Path) -> String {
        format!(
            "Wrote {} pages ({} files) for {} models, {} versions and {} datasets to {}\n",
            self.pages,
            self.files,
            self.models,
            self.versions,
            self.datasets,
            out.display()
        )
    }
}

/// Builds the site of `options.repo` at `options.rev` into `options.out`. The folder must
/// be new, empty, or an earlier build (which is replaced whole, so nothing stale remains).
pub fn build(options: &BuildOptions) -> Result<BuildSummary, SiteError> {
    let base_url = options
        .base_url
        .as_deref()
        .map(normalize_base_url)
        .transpose()?;
    let theme = theme::Theme::load(options.templates.as_deref())?;
    let repo = modelgate_core::Repo::open(&options.repo)?;
    let site = collect::collect(&repo, &options.rev)?;
    prepare_output(&options.out)?;
    let summary = pages::render(&site, &theme, &options.out, base_url.as_deref())?;
    write_file(&options.out.join(MARKER), b"modelgate site\n")?;
    tracing::info!(pages = summary.pages, files = summary.files, "site built");
    Ok(summary)
}

fn normalize_base_url(url: &str) -> Result<String, SiteError> {
    let lower = url.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"));
    if rest.is_none_or(|r| r.is_empty() || r.starts_with('/')) || url.contains(['"', '<', '>', ' '])
    {
        return Err(SiteError::BaseUrl(url.to_owned()));
    }
    Ok(if url.ends_with('/') {
        url.to_owned()
    } else {
        format!("{url}/")
    })
}

fn prepare_output(out: &Path) -> Result<(), SiteError> {
    let failed = |source| SiteError::Write {
        path: out.to_owned(),
        source,
    };
    if out.exists() {
        let mut entries = std::fs::read_dir(out).map_err(failed)?;
        let empty = entries.next().is_none();
        if !empty {
            if !out.join(MARKER).is_file() {
                return Err(SiteError::OutputOccupied(out.to_owned()));
            }
            for entry in std::fs::read_dir(out).map_err(failed)? {
                let path = entry.map_err(failed)?.path();
                let removed = if path.is_dir() && !path.is_symlink() {
                    std::fs::remove_dir_all(&path)
                } else {
                    std::fs::remove_file(&path)
                };
                removed.map_err(|source| SiteError::Write { path, source })?;
            }
        }
    }
    std::fs::create_dir_all(out).map_err(failed)
}

fn write_file(path: &Path, content: &[u8]) -> Result<(), SiteError> {
    std::fs::write(path, content).map_err(|source| SiteError::Write {
        path: path.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls() {
        assert_eq!(
            normalize_base_url("https://acme.github.io/models").expect("valid"),
            "https://acme.github.io/models/"
        );
        assert!(normalize_base_url("javascript:alert(1)").is_err());
        assert!(normalize_base_url("https://").is_err());
        assert!(normalize_base_url("https://a\"b").is_err());
    }
}
