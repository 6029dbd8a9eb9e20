//! Claude Code: `<config>/projects/<encoded cwd>/<session>.jsonl`, where `<config>` is
//! `CLAUDE_CONFIG_DIR` or `~/.claude`, and the encoded cwd is the absolute path with every
//! character that is not an ASCII letter or digit replaced by `-`. Older versions collapsed
//! each run of such characters into one `-`; both directories are searched.

use std::io;
use std::path::{Path, PathBuf};

use super::{Harness, SessionRef, env_dir, jsonl_files, stem};

pub struct ClaudeCode;

fn root() -> PathBuf {
    env_dir("CLAUDE_CONFIG_DIR")
        .unwrap_or_else(|| crate::config::home_dir().join(".claude"))
        .join("projects")
}

/// Every non-alphanumeric character becomes `-`.
pub fn encode_cwd(cwd: &Path) -> String {
    cwd.to_string_lossy()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

/// The older form: each run of non-alphanumeric characters becomes one `-`.
pub fn encode_cwd_collapsed(cwd: &Path) -> String {
    let mut out = String::new();
    for c in cwd.to_string_lossy().chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out
}

impl Harness for ClaudeCode {
    fn name(&self) -> &'static str {
        "claude-code"
    }

    fn discover(&self, cwd: &Path) -> io::Result<Vec<SessionRef>> {
        let root = root();
        let mut dirs = vec![encode_cwd(cwd)];
        let collapsed = encode_cwd_collapsed(cwd);
        if collapsed != dirs[0] {
            dirs.push(collapsed);
        }
        let mut out = Vec::new();
        for dir in dirs {
            for path in jsonl_files(&root.join(dir))? {
                let native_id = stem(&path);
                out.push(SessionRef::from_file(
                    native_id,
                    path,
                    Some(cwd.to_path_buf()),
                ));
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cwd_encodings() {
        let p = Path::new("/home/x/my_proj.v2");
        assert_eq!(encode_cwd(p), "-home-x-my-proj-v2");
        let p = Path::new("/home/x/a._b");
        assert_eq!(encode_cwd(p), "-home-x-a--b");
        assert_eq!(encode_cwd_collapsed(p), "-home-x-a-b");
    }
}
