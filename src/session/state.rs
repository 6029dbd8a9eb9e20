//! Local mirror state: one small JSON file per mirrored session under
//! `$XDG_STATE_HOME/tracecraft/sessions/` (else `~/.local/state/tracecraft/sessions/`),
//! keyed by backend, location, bucket, project, harness and session. The bucket's
//! `meta.json` stays the authority on what was mirrored; this file remembers which source
//! file (device and inode) the cursor belongs to, so a replaced source is noticed.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::sanitize_id;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct State {
    pub harness: String,
    pub session_id: String,
    pub source_path: String,
    pub cursor: u64,
    /// `[dev, inode]` of the source file the cursor belongs to.
    #[serde(default)]
    pub identity: Option<[u64; 2]>,
    #[serde(default)]
    pub updated_at: Option<String>,
}

/// Where one session's state is kept.
pub struct StateFile {
    path: PathBuf,
}

pub fn state_dir() -> PathBuf {
    let base = std::env::var_os("XDG_STATE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::config::home_dir().join(".local/state"));
    base.join("tracecraft").join("sessions")
}

/// Who the state belongs to: everything that tells two mirrors of "the same" id apart.
pub struct Scope<'a> {
    pub backend: &'a str,
    pub location: &'a str,
    pub bucket: &'a str,
    pub project: &'a str,
    pub harness: &'a str,
    pub session: &'a str,
}

impl StateFile {
    pub fn new(scope: &Scope) -> StateFile {
        StateFile::in_dir(&state_dir(), scope)
    }

    /// The file name is sanitised (readable part) plus a hash of the full scope, so it is
    /// always one plain name inside `dir` and two scopes never share it.
    pub fn in_dir(dir: &Path, scope: &Scope) -> StateFile {
        let mut hasher = Sha256::new();
        for part in [
            scope.backend,
            scope.location,
            scope.bucket,
            scope.project,
            scope.harness,
            scope.session,
        ] {
            hasher.update(part.as_bytes());
            hasher.update([0]);
        }
        let hash = hex::encode(&hasher.finalize()[..6]);
        let readable: String = sanitize_id(&format!(
            "{}_{}_{}_{}",
            scope.project, scope.harness, scope.session, scope.backend
        ))
        .chars()
        .take(96)
        .collect();
        StateFile {
            path: dir.join(format!("{readable}-{hash}.json")),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The saved state; `None` when missing or unreadable (the bucket is the authority).
    pub fn load(&self) -> Option<State> {
        let bytes = std::fs::read(&self.path).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Writes atomically (a temporary file renamed over the old one).
    pub fn save(&self, state: &State) -> std::io::Result<()> {
        let dir = self.path.parent().expect("state files live in a directory");
        std::fs::create_dir_all(dir)?;
        let tmp = self
            .path
            .with_extension(format!("tmp-{}", std::process::id()));
        std::fs::write(
            &tmp,
            serde_json::to_vec_pretty(state).expect("state serialises"),
        )?;
        std::fs::rename(&tmp, &self.path)
    }

    /// Removes the file; `Ok(false)` when there was none.
    pub fn clear(&self) -> std::io::Result<bool> {
        match std::fs::remove_file(&self.path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_files_stay_in_their_directory() {
        let dir = tempfile::tempdir().unwrap();
        for session in ["../../etc/passwd", "..", "/abs", "a/b", "ok"] {
            let f = StateFile::in_dir(
                dir.path(),
                &Scope {
                    backend: "fs",
                    location: "/x",
                    bucket: "b/../c",
                    project: "p",
                    harness: "claude-code",
                    session,
                },
            );
            assert_eq!(f.path().parent(), Some(dir.path()), "{session}");
            let state = State {
                cursor: 5,
                ..State::default()
            };
            f.save(&state).unwrap();
            assert_eq!(f.load(), Some(state));
            assert!(f.clear().unwrap());
            assert!(!f.clear().unwrap());
        }
    }
}
