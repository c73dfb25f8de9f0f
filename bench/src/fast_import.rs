//! Generated repositories for the benchmarks: a bare repository fed by `git fast-import`
//! (git must be on PATH), one commit a minute, packed at the end as a long-lived repository
//! would be.

use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};

use anyhow::{Context, bail};

pub struct FastImport {
    child: Child,
    stream: BufWriter<ChildStdin>,
    time: u64,
    repo: std::path::PathBuf,
}

impl FastImport {
    /// Creates the bare repository (branch `main`) and starts the import into it.
    pub fn start(repo: &Path) -> anyhow::Result<FastImport> {
        run(Command::new("git")
            .args(["init", "-q", "--bare", "-b", "main"])
            .arg(repo))?;
        FastImport::append(repo, 1_700_000_000)
    }

    /// Starts an import into an existing repository, its commits timed from `time` on.
    pub fn append(repo: &Path, time: u64) -> anyhow::Result<FastImport> {
        let mut child = Command::new("git")
            .args(["fast-import", "--quiet"])
            .current_dir(repo)
            .stdin(Stdio::piped())
            .spawn()
            .context("running git fast-import")?;
        let stdin = child.stdin.take().context("fast-import stdin")?;
        Ok(FastImport {
            child,
            stream: BufWriter::new(stdin),
            time,
            repo: repo.to_owned(),
        })
    }

    /// A commit on `branch` (started from `from` when given) writing `files` (path, content).
    pub fn commit(
        &mut self,
        branch: &str,
        from: Option<&str>,
        message: &str,
        files: &[(String, String)],
    ) -> std::io::Result<()> {
        self.time += 60;
        let stream = &mut self.stream;
        writeln!(stream, "commit refs/heads/{branch}")?;
        writeln!(
            stream,
            "committer Bench <bench@modelgate.invalid> {} +0000",
            self.time
        )?;
        writeln!(stream, "data {}\n{message}", message.len())?;
        if let Some(from) = from {
            writeln!(stream, "from {from}")?;
        }
        for (path, content) in files {
            writeln!(
                stream,
                "M 100644 inline {path}\ndata {}\n{content}",
                content.len()
            )?;
        }
        writeln!(stream)
    }

    /// Ends the import and packs the repository.
    pub fn finish(self) -> anyhow::Result<()> {
        let repo = self.close()?;
        run(Command::new("git").args(["gc", "-q"]).current_dir(repo))
    }

    /// Ends the import without packing; returns the repository.
    pub fn close(mut self) -> anyhow::Result<std::path::PathBuf> {
        self.stream.flush()?;
        drop(self.stream);
        if !self.child.wait()?.success() {
            bail!("git fast-import failed");
        }
        Ok(self.repo)
    }
}

pub fn run(command: &mut Command) -> anyhow::Result<()> {
    let status = command
        .status()
        .with_context(|| format!("running {command:?}"))?;
    if !status.success() {
        bail!("{command:?} failed");
    }
    Ok(())
}
