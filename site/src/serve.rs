//! `modelgate site serve`: a local preview on 127.0.0.1. The site is built into a temporary
//! folder and served from there; a watcher polls the repository's refs and rebuilds when
//! they change (a commit, a new tag, an audit note), then swaps the served folder. Plain
//! std::net: the preview serves static files to one person, so no framework is needed.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::{BuildOptions, SiteError, build};

#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub repo: PathBuf,
    pub rev: String,
    /// 0 picks a free port.
    pub port: u16,
    pub templates: Option<PathBuf>,
}

const POLL: Duration = Duration::from_secs(1);

/// Builds, serves and rebuilds until the process is stopped.
pub fn serve(options: &ServeOptions) -> Result<(), SiteError> {
    let scratch = tempfile::Builder::new()
        .prefix("modelgate-site-")
        .tempdir()
        .map_err(|source| SiteError::Write {
            path: std::env::temp_dir(),
            source,
        })?;
    let mut generation = 0u64;
    let build_into = |generation: u64| -> Result<PathBuf, SiteError> {
        let out = scratch.path().join(format!("build-{generation}"));
        build(&BuildOptions {
            repo: options.repo.clone(),
            out: out.clone(),
            rev: options.rev.clone(),
            base_url: None,
            templates: options.templates.clone(),
        })?;
        Ok(out)
    };
    let mut fingerprint = refs_fingerprint(&options.repo);
    let served = Arc::new(RwLock::new(build_into(generation)?));

    let addr = format!("127.0.0.1:{}", options.port);
    let listener = TcpListener::bind(&addr).map_err(|source| SiteError::Serve {
        addr: addr.clone(),
        source,
    })?;
    let local = listener
        .local_addr()
        .map_err(|source| SiteError::Serve { addr, source })?;
    println!(
        "Serving the site of {} at http://{local}/ (rebuilt when its refs change; Ctrl-C to stop)",
        options.repo.display()
    );

    let accepting = served.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let root = accepting.read().map(|r| r.clone()).unwrap_or_default();
            std::thread::spawn(move || {
                if let Err(error) = answer(stream, &root) {
                    tracing::debug!(%error, "request failed");
                }
            });
        }
    });

    loop {
        std::thread::sleep(POLL);
        let now = refs_fingerprint(&options.repo);
        if now == fingerprint {
            continue;
        }
        fingerprint = now;
        generation += 1;
        match build_into(generation) {
            Ok(fresh) => {
                let old = served
                    .write()
                    .map(|mut current| std::mem::replace(&mut *current, fresh))
                    .ok();
                println!("Refs changed: rebuilt the site");
                if let Some(old) = old {
                    // Requests already answering from the old folder may lose a file; a
                    // reload fixes that, and the preview keeps no pile of old builds.
                    let _ = std::fs::remove_dir_all(old);
                }
            }
            Err(error) => eprintln!(
                "Refs changed, but the rebuild failed (still serving the previous build): {error}"
            ),
        }
    }
}

/// A digest of every ref and HEAD: changes when anything is committed, tagged or noted.
fn refs_fingerprint(repo: &Path) -> Option<Vec<u8>> {
    let git = git2::Repository::open(repo).ok()?;
    let mut refs: Vec<String> = git
        .references()
        .ok()?
        .flatten()
        .map(|r| {
            format!(
                "{} {}",
                String::from_utf8_lossy(r.name_bytes()),
                r.target()
                    .map(|t| t.to_string())
                    .or_else(|| r.symbolic_target().map(str::to_owned))
                    .unwrap_or_default()
            )
        })
        .collect();
    refs.sort();
    if let Ok(head) = git.head() {
        refs.push(format!("HEAD {:?}", head.target()));
    }
    Some(Sha256::digest(refs.join("\n").as_bytes()).to_vec())
}

fn answer(stream: TcpStream, root: &Path) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    // Drain the headers; a preview needs none of them.
    let mut header = String::new();
    for _ in 0..100 {
        header.clear();
        if reader.read_line(&mut header)? == 0 || header.trim().is_empty() {
            break;
        }
    }
    let mut parts = request_line.split_whitespace();
    let (method, target) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or("/"),
    );
    let mut stream = stream;
    if method != "GET" && method != "HEAD" {
        return respond(
            &mut stream,
            "405 Method Not Allowed",
            "text/plain",
            b"GET only\n",
            true,
        );
    }
    match file_for(root, target) {
        Some(path) => match std::fs::read(&path) {
            Ok(body) => respond(
                &mut stream,
                "200 OK",
                content_type(&path),
                &body,
                method == "GET",
            ),
            Err(_) => respond(
                &mut stream,
                "404 Not Found",
                "text/plain",
                b"not found\n",
                true,
            ),
        },
        None => respond(
            &mut stream,
            "404 Not Found",
            "text/plain",
            b"not found\n",
            true,
        ),
    }
}

fn respond(
    stream: &mut TcpStream,
    status: &str,
    content_type: &str,
    body: &[u8],
    with_body: bool,
) -> std::io::Result<()> {
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    if with_body {
        stream.write_all(body)?;
    }
    stream.flush()
}

/// The file a request path names inside `root`, or `None` for anything that could leave
/// it (`..`, backslashes, absolute components).
fn file_for(root: &Path, target: &str) -> Option<PathBuf> {
    let path = target.split(['?', '#']).next().unwrap_or_default();
    let mut file = root.to_owned();
    for part in path.split('/').filter(|p| !p.is_empty()) {
        if part == "." || part == ".." || part.contains(['\\', '\0', ':']) {
            return None;
        }
        file.push(part);
    }
    if file.is_dir() {
        file.push("index.html");
    }
    file.is_file().then_some(file)
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("json") => "application/json",
        Some("md") => "text/markdown; charset=utf-8",
        Some("svg") => "image/svg+xml",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_stay_inside_the_site() {
        let dir = tempfile::tempdir().expect("temp");
        std::fs::create_dir_all(dir.path().join("models/a")).expect("dir");
        std::fs::write(dir.path().join("index.html"), "x").expect("write");
        std::fs::write(dir.path().join("models/a/index.html"), "x").expect("write");
        assert_eq!(
            file_for(dir.path(), "/"),
            Some(dir.path().join("index.html"))
        );
        assert_eq!(
            file_for(dir.path(), "/models/a/?q=1"),
            Some(dir.path().join("models/a/index.html"))
        );
        assert_eq!(file_for(dir.path(), "/../etc/passwd"), None);
        assert_eq!(file_for(dir.path(), "/models/%2e%2e/x"), None);
    }
}
