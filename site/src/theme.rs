//! The site's templates and assets: built into the binary from `templates/`, each file
//! overridable by a file of the same relative path in a directory the user names (user
//! first). Nothing is ever read from the working directory.

use std::path::{Path, PathBuf};

use base64::Engine;
use include_dir::{Dir, DirEntry, include_dir};
use sha2::{Digest, Sha256};
use tera::Tera;

use crate::SiteError;

static BUILT_IN: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../templates");

/// The search script, inlined into the index page and allowed by its hash in the pages'
/// content security policy.
const SEARCH_SCRIPT: &str = "assets/search.js";

#[derive(Debug)]
pub struct Theme {
    pub tera: Tera,
    /// Files copied to the output as they are, by relative path.
    pub assets: Vec<(String, Vec<u8>)>,
    pub search_script: String,
    /// `'sha256-…'`, the content-security-policy source of the search script.
    pub search_script_hash: String,
}

impl Theme {
    pub fn load(overrides: Option<&Path>) -> Result<Theme, SiteError> {
        let mut files: Vec<(String, Vec<u8>)> = Vec::new();
        collect(&BUILT_IN, &mut files);
        if let Some(dir) = overrides {
            if !dir.is_dir() {
                return Err(SiteError::Templates {
                    path: dir.to_owned(),
                    reason: "not a directory".to_owned(),
                });
            }
            for (name, content) in &mut files {
                let candidate = dir.join(name.as_str());
                if candidate.is_file() {
                    tracing::info!(template = %name, "overridden by {}", candidate.display());
                    *content = std::fs::read(&candidate).map_err(|e| SiteError::Templates {
                        path: candidate.clone(),
                        reason: e.to_string(),
                    })?;
                }
            }
            // Extra templates of the user (partials, macros) sit beside the built-in ones.
            for extra in extra_templates(dir, &files)? {
                files.push(extra);
            }
        }
        let mut tera = Tera::default();
        let mut templates = Vec::new();
        let mut assets = Vec::new();
        let mut search_script = String::new();
        for (name, content) in files {
            if name.ends_with(".html") {
                let text = String::from_utf8(content).map_err(|_| SiteError::Template {
                    name: name.clone(),
                    reason: "not valid UTF-8".to_owned(),
                })?;
                templates.push((name, text));
            } else {
                if name == SEARCH_SCRIPT {
                    search_script = String::from_utf8_lossy(&content).into_owned();
                }
                assets.push((name, content));
            }
        }
        tera.add_raw_templates(templates)
            .map_err(|e| SiteError::template("(loading)", &e))?;
        tera.autoescape_on(vec![".html"]);
        let digest = Sha256::digest(search_script.as_bytes());
        let search_script_hash = format!(
            "'sha256-{}'",
            base64::engine::general_purpose::STANDARD.encode(digest)
        );
        Ok(Theme {
            tera,
            assets,
            search_script,
            search_script_hash,
        })
    }
}

fn collect(dir: &Dir<'_>, files: &mut Vec<(String, Vec<u8>)>) {
    for entry in dir.entries() {
        match entry {
            DirEntry::Dir(sub) => collect(sub, files),
            DirEntry::File(file) => files.push((
                file.path().to_string_lossy().replace('\\', "/"),
                file.contents().to_vec(),
            )),
        }
    }
    files.sort();
}

/// `.html` files at the top of the user's directory that are not built-in names.
fn extra_templates(
    dir: &Path,
    known: &[(String, Vec<u8>)],
) -> Result<Vec<(String, Vec<u8>)>, SiteError> {
    let failed = |path: PathBuf| {
        move |e: std::io::Error| SiteError::Templates {
            path,
            reason: e.to_string(),
        }
    };
    let mut extra = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(failed(dir.to_owned()))? {
        let entry = entry.map_err(failed(dir.to_owned()))?;
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        if name.ends_with(".html")
            && entry.path().is_file()
            && !known.iter().any(|(k, _)| *k == name)
        {
            extra.push((
                name,
                std::fs::read(entry.path()).map_err(failed(entry.path()))?,
            ));
        }
    }
    extra.sort();
    Ok(extra)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_templates_load() {
        let theme = Theme::load(None).expect("built-in templates are valid");
        assert!(theme.tera.get_template_names().any(|n| n == "index.html"));
        assert!(theme.assets.iter().any(|(n, _)| n == "assets/style.css"));
        assert!(!theme.search_script.is_empty());
    }
}
