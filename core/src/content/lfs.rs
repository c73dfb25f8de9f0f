//! Git LFS: a file in git that is a pointer (the Git LFS spec, v1) stands for an object kept
//! outside git, in the repository's LFS store (`<git dir>/lfs/objects/aa/bb/<oid>`) or on
//! the LFS server.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// Pointer files are small by the spec; anything larger is content, never a pointer.
const MAX_POINTER_BYTES: usize = 1024;

/// The object a pointer file names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LfsPointer {
    /// Lower-case hex sha256 of the content.
    pub oid: String,
    pub size: u64,
}

impl LfsPointer {
    /// The pointer in `bytes`, or `None` when they are not a pointer file. Follows the spec:
    /// a `version` line first, then `key value` lines in key order, each ending in `\n`,
    /// with `oid sha256:<64 hex>` and `size <decimal>` among them.
    pub fn parse(bytes: &[u8]) -> Option<LfsPointer> {
        if bytes.len() > MAX_POINTER_BYTES || !bytes.ends_with(b"\n") {
            return None;
        }
        let text = std::str::from_utf8(bytes).ok()?;
        let mut lines = text.lines();
        let version = lines.next()?.strip_prefix("version ")?;
        // The pre-release name of the spec is still accepted by git-lfs.
        if version != "https://git-lfs.github.com/spec/v1"
            && version != "https://hawser.github.com/spec/v1"
        {
            return None;
        }
        let (mut oid, mut size, mut previous_key) = (None, None, "");
        for line in lines {
            let (key, value) = line.split_once(' ')?;
            if key <= previous_key || key.is_empty() {
                return None;
            }
            previous_key = key;
            match key {
                "oid" => {
                    let hex = value.strip_prefix("sha256:")?;
                    if hex.len() != 64
                        || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
                    {
                        return None;
                    }
                    oid = Some(hex.to_owned());
                }
                "size" => {
                    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
                        return None;
                    }
                    size = Some(value.parse().ok()?);
                }
                _ => {}
            }
        }
        Some(LfsPointer {
            oid: oid?,
            size: size?,
        })
    }

    /// Where git-lfs keeps this object under a git dir.
    pub fn store_path(&self, git_dir: &Path) -> PathBuf {
        git_dir
            .join("lfs/objects")
            .join(&self.oid[..2])
            .join(&self.oid[2..4])
            .join(&self.oid)
    }
}

impl fmt::Display for LfsPointer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256 {}, {} bytes", &self.oid[..12], self.size)
    }
}

/// Downloads LFS objects from the repository's LFS server (the bot and the Action provide
/// one, with the credentials they already hold). Core stays free of network I/O.
pub trait LfsDownload: Send + Sync + fmt::Debug {
    /// Writes the object's content to `out`. The caller verifies size and sha256 and never
    /// keeps a partial or wrong object; the error says why the server did not give it.
    fn download(&self, pointer: &LfsPointer, out: &mut dyn Write) -> Result<(), String>;
}

/// The content of `pointer` from the local stores under `git_dirs`, else from `remote`
/// (kept in the first store afterwards, so each object is downloaded once). `Err` says why
/// none gave the verified content.
pub(crate) fn resolve(
    pointer: &LfsPointer,
    git_dirs: &[PathBuf],
    remote: Option<&dyn LfsDownload>,
) -> Result<Vec<u8>, String> {
    let mut local = "the object is not in the local LFS store".to_owned();
    for git_dir in git_dirs {
        if let Ok(content) = std::fs::read(pointer.store_path(git_dir)) {
            match verify(pointer, &content) {
                Ok(()) => return Ok(content),
                Err(problem) => {
                    local = format!("the local LFS store's copy is damaged ({problem})")
                }
            }
        }
    }
    let Some(git_dir) = git_dirs.first() else {
        return Err(local);
    };
    let stored = pointer.store_path(git_dir);
    let Some(remote) = remote else {
        return Err(format!("{local}, and no LFS server is configured"));
    };
    download_into_store(pointer, &stored, remote)
        .map_err(|problem| format!("{local}, and the LFS server did not give it: {problem}"))?;
    std::fs::read(&stored).map_err(|e| format!("reading {}: {e}", stored.display()))
}

fn verify(pointer: &LfsPointer, content: &[u8]) -> Result<(), String> {
    if content.len() as u64 != pointer.size {
        return Err(format!(
            "{} bytes where the pointer says {}",
            content.len(),
            pointer.size
        ));
    }
    let digest = hex(&Sha256::digest(content));
    if digest != pointer.oid {
        return Err(format!(
            "sha256 {digest} where the pointer says {}",
            pointer.oid
        ));
    }
    Ok(())
}

/// Streams the download into a temporary file beside the store's place, counting and
/// hashing as it goes, and renames it into place only when size and sha256 match.
fn download_into_store(
    pointer: &LfsPointer,
    stored: &Path,
    remote: &dyn LfsDownload,
) -> Result<(), String> {
    let folder = stored
        .parent()
        .ok_or_else(|| format!("{} has no folder", stored.display()))?;
    std::fs::create_dir_all(folder).map_err(|e| format!("creating {}: {e}", folder.display()))?;
    let temporary = folder.join(format!("{}.partial-{}", pointer.oid, std::process::id()));
    let file = std::fs::File::create(&temporary)
        .map_err(|e| format!("creating {}: {e}", temporary.display()))?;
    let mut writer = VerifyingWriter {
        file,
        hasher: Sha256::new(),
        written: 0,
        limit: pointer.size,
    };
    let result = remote.download(pointer, &mut writer).and_then(|()| {
        writer
            .file
            .sync_all()
            .map_err(|e| format!("writing {}: {e}", temporary.display()))?;
        if writer.written != pointer.size {
            return Err(format!(
                "the server sent {} bytes where the pointer says {}",
                writer.written, pointer.size
            ));
        }
        let digest = hex(&writer.hasher.clone().finalize());
        if digest != pointer.oid {
            return Err(format!(
                "the server sent content with sha256 {digest} where the pointer says {}",
                pointer.oid
            ));
        }
        Ok(())
    });
    match result {
        Ok(()) => std::fs::rename(&temporary, stored)
            .map_err(|e| format!("storing {}: {e}", stored.display())),
        Err(problem) => {
            let _ = std::fs::remove_file(&temporary);
            Err(problem)
        }
    }
}

/// Refuses to write past the pointer's size, so a server cannot fill the disk.
struct VerifyingWriter {
    file: std::fs::File,
    hasher: Sha256,
    written: u64,
    limit: u64,
}

impl Write for VerifyingWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.written + buf.len() as u64 > self.limit {
            return Err(std::io::Error::other(format!(
                "the server sent more than the pointer's {} bytes",
                self.limit
            )));
        }
        let written = self.file.write(buf)?;
        self.hasher.update(&buf[..written]);
        self.written += written as u64;
        Ok(written)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const POINTER: &str = "version https://git-lfs.github.com/spec/v1\noid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\nsize 12345\n";

    #[test]
    fn pointers_are_read_by_the_spec() {
        let pointer = LfsPointer::parse(POINTER.as_bytes()).expect("a pointer");
        assert_eq!(pointer.size, 12345);
        assert!(pointer.oid.starts_with("4d7a2146"));
        // Not pointers: content that merely mentions one, keys out of order, no newline.
        assert!(LfsPointer::parse(b"a,b\n1,2\n").is_none());
        assert!(LfsPointer::parse(POINTER.trim_end().as_bytes()).is_none());
        let swapped = "version https://git-lfs.github.com/spec/v1\nsize 1\noid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\n";
        assert!(LfsPointer::parse(swapped.as_bytes()).is_none());
        let upper = POINTER.replace("4d7a", "4D7A");
        assert!(LfsPointer::parse(upper.as_bytes()).is_none());
    }

    #[derive(Debug)]
    struct Serves(Vec<u8>);

    impl LfsDownload for Serves {
        fn download(&self, _: &LfsPointer, out: &mut dyn Write) -> Result<(), String> {
            out.write_all(&self.0).map_err(|e| e.to_string())
        }
    }

    #[test]
    fn downloads_are_verified_before_they_are_kept() {
        let git_dir = tempfile::tempdir().expect("temporary folder");
        let content = b"a,b\n1,2\n".to_vec();
        let pointer = LfsPointer {
            oid: hex(&Sha256::digest(&content)),
            size: content.len() as u64,
        };
        let wrong = Serves(b"a,b\n9,9\n".to_vec());
        let problem = resolve(&pointer, &[git_dir.path().to_owned()], Some(&wrong))
            .expect_err("wrong content");
        assert!(problem.contains("sha256"), "{problem}");
        assert!(!pointer.store_path(git_dir.path()).exists());
        let long = Serves(b"a,b\n1,2\n3,4\n".to_vec());
        let problem =
            resolve(&pointer, &[git_dir.path().to_owned()], Some(&long)).expect_err("too long");
        assert!(
            problem.contains("more than the pointer's 8 bytes"),
            "{problem}"
        );

        let served = resolve(
            &pointer,
            &[git_dir.path().to_owned()],
            Some(&Serves(content.clone())),
        );
        assert_eq!(served.as_deref(), Ok(&content[..]));
        // Kept in the store: read again with no server at all.
        assert_eq!(
            resolve(&pointer, &[git_dir.path().to_owned()], None).as_deref(),
            Ok(&content[..])
        );
    }
}
