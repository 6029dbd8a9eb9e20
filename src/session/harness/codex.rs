//! Codex: `<home>/sessions/YYYY/MM/DD/rollout-<YYYY-MM-DDThh-mm-ss>-<id>.jsonl`, where
//! `<home>` is `CODEX_HOME` or `~/.codex`. Codex does not shard by directory, so every
//! rollout is a candidate; the newest across all days is the active one.

use std::io;
use std::path::{Path, PathBuf};

use super::{Harness, SessionRef, env_dir, jsonl_files, stem, subdirs};

pub struct Codex;

fn root() -> PathBuf {
    env_dir("CODEX_HOME")
        .unwrap_or_else(|| crate::config::home_dir().join(".codex"))
        .join("sessions")
}

/// The `<id>` of `rollout-<YYYY-MM-DDThh-mm-ss>-<id>`, or the whole stem.
pub fn session_id_of(stem: &str) -> &str {
    let Some(rest) = stem.strip_prefix("rollout-") else {
        return stem;
    };
    // `YYYY-MM-DDThh-mm-ss` is 19 characters, then `-`.
    let b = rest.as_bytes();
    let stamp_ok = b.len() > 20
        && b[19] == b'-'
        && b[..19].iter().enumerate().all(|(i, &c)| match i {
            4 | 7 | 13 | 16 => c == b'-',
            10 => c == b'T',
            _ => c.is_ascii_digit(),
        });
    if stamp_ok { &rest[20..] } else { stem }
}

impl Harness for Codex {
    fn name(&self) -> &'static str {
        "codex"
    }

    fn discover(&self, _cwd: &Path) -> io::Result<Vec<SessionRef>> {
        let mut out = Vec::new();
        for year in subdirs(&root())? {
            for month in subdirs(&year)? {
                for day in subdirs(&month)? {
                    for path in jsonl_files(&day)? {
                        let stem = stem(&path);
                        if !stem.starts_with("rollout-") {
                            continue;
                        }
                        let native_id = session_id_of(&stem).to_string();
                        out.push(SessionRef::from_file(native_id, path, None));
                    }
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rollout_ids() {
        assert_eq!(
            session_id_of("rollout-2026-11-21T10-28-42-0199a1b2-c3d4"),
            "0199a1b2-c3d4"
        );
        assert_eq!(session_id_of("rollout-bad"), "rollout-bad");
        assert_eq!(session_id_of("other"), "other");
    }
}
