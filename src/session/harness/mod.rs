//! Harness adapters: each knows where one coding agent keeps its session transcripts.
//! Adding a harness is one file in this directory plus one line in [`REGISTRY`].
//!
//! File-backed adapters use the default `position`/`read`: a session is an append-only
//! JSONL file whose cursor is a byte offset. Others (Hermes: SQLite rows) override them.
//! Names read from a harness are sanitised ([`super::sanitize_id`]) before they become
//! session ids.

use std::io;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

pub mod claude_code;
pub mod codex;
pub mod hermes;
pub mod openclaw;

/// One transcript found on this machine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRef {
    /// Sanitised: safe as a key segment and a file name.
    pub id: String,
    /// The harness's own name for it, unsanitised (what its files or tables use).
    pub native_id: String,
    pub path: PathBuf,
    /// The project directory the session ran in, when the harness knows it.
    pub cwd: Option<PathBuf>,
}

impl SessionRef {
    /// A session read from a file, its id sanitised from the harness's own name.
    pub fn from_file(native_id: String, path: PathBuf, cwd: Option<PathBuf>) -> SessionRef {
        SessionRef {
            id: crate::session::sanitize_id(&native_id),
            native_id,
            path,
            cwd,
        }
    }
}

pub trait Harness: Send + Sync {
    /// The name used in `--harness` and in keys.
    fn name(&self) -> &'static str;

    /// Every session this harness has for `cwd` (harnesses that do not shard by directory
    /// return all of theirs). Cheap: no file contents are read.
    fn discover(&self, cwd: &Path) -> io::Result<Vec<SessionRef>>;

    /// Where the source ends now (a file's size, a database's highest row id) and which
    /// file it is, so a shrunk or replaced source is noticed. Default: the file's metadata.
    fn position(&self, session: &SessionRef) -> io::Result<Position> {
        let meta = std::fs::metadata(&session.path)?;
        Ok(Position {
            end: meta.len(),
            identity: identity(&meta),
        })
    }

    /// Complete JSONL records after `cursor`, about `limit` bytes of them, and the cursor
    /// they end at. Empty when nothing complete is new. Default: the file's complete lines
    /// from byte offset `cursor`.
    fn read(&self, session: &SessionRef, cursor: u64, limit: usize) -> io::Result<(Vec<u8>, u64)> {
        let lines = read_complete_lines(&session.path, cursor, limit)?;
        let end = cursor + lines.len() as u64;
        Ok((lines, end))
    }

    /// The most recently active session: by default the most recently modified file.
    fn active(&self, cwd: &Path) -> io::Result<Option<SessionRef>> {
        let mut best: Option<(SystemTime, SessionRef)> = None;
        for s in self.discover(cwd)? {
            let Ok(modified) = std::fs::metadata(&s.path).and_then(|m| m.modified()) else {
                continue;
            };
            if best.as_ref().is_none_or(|(t, _)| modified > *t) {
                best = Some((modified, s));
            }
        }
        Ok(best.map(|(_, s)| s))
    }
}

/// Where a source ends, in its harness's cursor unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Position {
    pub end: u64,
    /// `[dev, inode]` of the source file, where there is one.
    pub identity: Option<[u64; 2]>,
}

/// `[dev, inode]` of a file.
pub fn identity(meta: &std::fs::Metadata) -> Option<[u64; 2]> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        Some([meta.dev(), meta.ino()])
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        None
    }
}

/// Bytes read from a source per `read` call.
const READ_CHUNK: usize = 64 * 1024;

/// The complete lines from `from`, about `limit` bytes of them: every whole line that
/// ends within `limit` bytes, or else the first line however long. Empty when no line is
/// complete yet (a partial last line waits). Reads in chunks of at most 64 KiB.
pub fn read_complete_lines(path: &Path, from: u64, limit: usize) -> io::Result<Vec<u8>> {
    use std::io::{Read, Seek, SeekFrom};
    let limit = limit.max(1);
    let mut file = std::fs::File::open(path)?;
    file.seek(SeekFrom::Start(from))?;
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; READ_CHUNK.min(limit)];
    let mut has_newline = false;
    while !(has_newline && buf.len() >= limit) {
        let n = file.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        has_newline |= chunk[..n].contains(&b'\n');
        buf.extend_from_slice(&chunk[..n]);
    }
    let last_in = |slice: &[u8]| slice.iter().rposition(|b| *b == b'\n').map(|i| i + 1);
    let cut = last_in(&buf[..buf.len().min(limit)])
        .or_else(|| {
            buf.iter()
                .skip(limit)
                .position(|b| *b == b'\n')
                .map(|i| limit + i + 1)
        })
        .unwrap_or(0);
    buf.truncate(cut);
    Ok(buf)
}

/// Every harness, the default (`claude-code`) first.
pub const REGISTRY: &[&dyn Harness] = &[
    &claude_code::ClaudeCode,
    &codex::Codex,
    &openclaw::OpenClaw,
    &hermes::Hermes,
];

pub const DEFAULT: &str = "claude-code";

pub fn get(name: &str) -> Option<&'static dyn Harness> {
    REGISTRY.iter().copied().find(|h| h.name() == name)
}

pub fn names() -> Vec<&'static str> {
    REGISTRY.iter().map(|h| h.name()).collect()
}

/// A directory from an environment variable, when set and not empty.
pub(crate) fn env_dir(var: &str) -> Option<PathBuf> {
    std::env::var_os(var)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// The entries of `dir`; none when it is missing or not a directory.
fn entries_of(dir: &Path) -> io::Result<Vec<std::fs::DirEntry>> {
    match std::fs::read_dir(dir) {
        Ok(entries) => entries.collect(),
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
            ) =>
        {
            Ok(Vec::new())
        }
        Err(e) => Err(e),
    }
}

/// The `*.jsonl` regular files directly in `dir` (none when `dir` is missing).
pub(crate) fn jsonl_files(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for entry in entries_of(dir)? {
        let path = entry.path();
        let is_jsonl = path.extension().is_some_and(|e| e == "jsonl");
        if is_jsonl && entry.file_type()?.is_file() {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}

/// The sub-directories of `dir`, sorted (none when `dir` is missing).
pub(crate) fn subdirs(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for entry in entries_of(dir)? {
        if entry.file_type()?.is_dir() {
            out.push(entry.path());
        }
    }
    out.sort();
    Ok(out)
}

/// The file name without `.jsonl`.
pub(crate) fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_names_are_unique_and_default_first() {
        let names = names();
        assert_eq!(names[0], DEFAULT);
        let mut sorted = names.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), names.len());
        assert!(get("codex").is_some() && get("nope").is_none());
    }

    #[test]
    fn only_complete_lines_are_read_in_bounded_parts() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.jsonl");
        std::fs::write(&path, b"aaa\nbbbb\ncc").unwrap();
        assert_eq!(read_complete_lines(&path, 0, 1024).unwrap(), b"aaa\nbbbb\n");
        assert_eq!(read_complete_lines(&path, 4, 1024).unwrap(), b"bbbb\n");
        assert_eq!(read_complete_lines(&path, 9, 1024).unwrap(), b"");
        // A limit smaller than a line still yields that whole line.
        assert_eq!(read_complete_lines(&path, 0, 2).unwrap(), b"aaa\n");
        assert_eq!(read_complete_lines(&path, 0, 6).unwrap(), b"aaa\n");
        assert_eq!(read_complete_lines(&path, 0, 9).unwrap(), b"aaa\nbbbb\n");
        assert_eq!(read_complete_lines(&path, 5, 1).unwrap(), b"bbb\n");
    }
}
