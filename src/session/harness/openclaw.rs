//! OpenClaw: `<state>/agents/<agentId>/sessions/<sessionId>.jsonl`, where `<state>` is
//! `OPENCLAW_STATE_DIR`, else `OPENCLAW_HOME`, else `~/.openclaw`. `sessions.json` (the
//! index) and `*.tmp` files are skipped. Session ids are `<agentId>__<sessionId>`, since
//! OpenClaw's ids are unique only within one agent.

use std::io;
use std::path::{Path, PathBuf};

use super::{Harness, SessionRef, env_dir, jsonl_files, stem, subdirs};

pub struct OpenClaw;

fn state_dir() -> PathBuf {
    env_dir("OPENCLAW_STATE_DIR")
        .or_else(|| env_dir("OPENCLAW_HOME"))
        .unwrap_or_else(|| crate::config::home_dir().join(".openclaw"))
}

impl Harness for OpenClaw {
    fn name(&self) -> &'static str {
        "openclaw"
    }

    fn discover(&self, _cwd: &Path) -> io::Result<Vec<SessionRef>> {
        let mut out = Vec::new();
        for agent_dir in subdirs(&state_dir().join("agents"))? {
            let agent = agent_dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            // `jsonl_files` already leaves out `sessions.json` and `*.tmp`.
            for path in jsonl_files(&agent_dir.join("sessions"))? {
                let native_id = format!("{agent}__{}", stem(&path));
                out.push(SessionRef::from_file(native_id, path, None));
            }
        }
        Ok(out)
    }
}
