//! What harness hooks share (contract section 11): the payload Claude Code and Codex send
//! on standard input, the answers they read on standard output, and the local throttle
//! that lets `user-prompt-submit` and `post-tool-use` hooks fire on every prompt and tool
//! call while touching the store at most once per `--every`.
//!
//! The throttle is one small file per (config file, agent) under
//! `$XDG_STATE_HOME/tracecraft/hooks/` holding the time of the last run that went to the
//! store; reading it is the only thing a throttled call does after loading the config.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::cli::HookEvent;

/// The most bytes of standard input read: hook payloads are small JSON objects.
const MAX_PAYLOAD: u64 = 1024 * 1024;

/// The fields of a hook payload that tracecraft uses; anything else is ignored, and a
/// missing or unreadable payload is an empty one.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Payload {
    #[serde(default)]
    pub session_id: Option<String>,
    #[serde(default)]
    pub transcript_path: Option<PathBuf>,
    #[serde(default)]
    pub cwd: Option<PathBuf>,
    #[serde(default)]
    pub hook_event_name: Option<String>,
    #[serde(default)]
    pub stop_hook_active: Option<bool>,
}

impl Payload {
    /// Parses `bytes`, tolerating none or junk (an empty payload); a field of the wrong
    /// type spoils only itself.
    pub fn parse(bytes: &[u8]) -> Payload {
        let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(bytes) else {
            return Payload::default();
        };
        let text = |k: &str| map.get(k).and_then(Value::as_str).map(str::to_string);
        Payload {
            session_id: text("session_id"),
            transcript_path: text("transcript_path").map(PathBuf::from),
            cwd: text("cwd").map(PathBuf::from),
            hook_event_name: text("hook_event_name"),
            stop_hook_active: map.get("stop_hook_active").and_then(Value::as_bool),
        }
    }

    /// Reads standard input unless it is a terminal (a person running the hook by hand).
    pub fn from_stdin() -> Payload {
        use std::io::IsTerminal;
        let stdin = std::io::stdin();
        if stdin.is_terminal() {
            return Payload::default();
        }
        let mut bytes = Vec::new();
        let _ = stdin.lock().take(MAX_PAYLOAD).read_to_end(&mut bytes);
        Payload::parse(&bytes)
    }
}

/// The harness's name for an event: the `hookEventName` of an answer.
pub fn event_name(event: HookEvent) -> &'static str {
    match event {
        HookEvent::SessionStart => "SessionStart",
        HookEvent::UserPromptSubmit => "UserPromptSubmit",
        HookEvent::PostToolUse => "PostToolUse",
        HookEvent::Stop => "Stop",
        HookEvent::SessionEnd => "SessionEnd",
    }
}

/// Every event, in the order a session meets them.
pub const EVENTS: [HookEvent; 5] = [
    HookEvent::SessionStart,
    HookEvent::UserPromptSubmit,
    HookEvent::PostToolUse,
    HookEvent::Stop,
    HookEvent::SessionEnd,
];

/// The command-line word of an event (`hook EVENT`).
pub fn event_word(event: HookEvent) -> &'static str {
    match event {
        HookEvent::SessionStart => "session-start",
        HookEvent::UserPromptSubmit => "user-prompt-submit",
        HookEvent::PostToolUse => "post-tool-use",
        HookEvent::Stop => "stop",
        HookEvent::SessionEnd => "session-end",
    }
}

/// `{"hookSpecificOutput": {"hookEventName": E, "additionalContext": text}}`: text the
/// harness adds to the agent's context.
pub fn additional_context(event: HookEvent, text: &str) -> Value {
    json!({
        "hookSpecificOutput": {
            "hookEventName": event_name(event),
            "additionalContext": text,
        }
    })
}

/// `{"decision": "block", "reason": reason}`: a `Stop` answer that keeps the agent going.
pub fn block(reason: &str) -> Value {
    json!({"decision": "block", "reason": reason})
}

/// When the store was last visited by a throttled hook, kept in a local file.
pub struct Throttle {
    path: PathBuf,
}

#[derive(serde::Serialize, Deserialize)]
struct ThrottleState {
    /// Unix time in milliseconds.
    last_ms: i64,
}

impl Throttle {
    /// The throttle of `agent` using the config at `config_path`.
    pub fn new(config_path: &Path, agent: &str) -> Throttle {
        Throttle::in_dir(&hooks_state_dir(), config_path, agent)
    }

    pub fn in_dir(dir: &Path, config_path: &Path, agent: &str) -> Throttle {
        let mut hasher = Sha256::new();
        hasher.update(config_path.to_string_lossy().as_bytes());
        hasher.update([0]);
        hasher.update(agent.as_bytes());
        let hash = hex::encode(&hasher.finalize()[..8]);
        let readable: String = crate::session::sanitize_id(agent)
            .chars()
            .take(64)
            .collect();
        Throttle {
            path: dir.join(format!("{readable}-{hash}.json")),
        }
    }

    /// Whether a run is due at `now_ms`: none recorded, or the last one `every` ago (or
    /// in the future: a clock that went back does not silence the hooks).
    pub fn due(&self, every: Duration, now_ms: i64) -> bool {
        let Some(last) = std::fs::read(&self.path)
            .ok()
            .and_then(|b| serde_json::from_slice::<ThrottleState>(&b).ok())
            .map(|s| s.last_ms)
        else {
            return true;
        };
        let every_ms = i64::try_from(every.as_millis()).unwrap_or(i64::MAX);
        now_ms < last || now_ms - last >= every_ms
    }

    /// Records a run at `now_ms` (before going to the store: a store that does not answer
    /// is then tried once per period, not on every call). Written atomically.
    pub fn record(&self, now_ms: i64) -> std::io::Result<()> {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)?;
        let tmp = dir.join(format!(".throttle-{}.tmp", uuid::Uuid::new_v4().simple()));
        let body = serde_json::to_vec(&ThrottleState { last_ms: now_ms })?;
        std::fs::write(&tmp, body)?;
        std::fs::rename(&tmp, &self.path).inspect_err(|_| {
            let _ = std::fs::remove_file(&tmp);
        })
    }
}

/// `$XDG_STATE_HOME/tracecraft/hooks` (else `~/.local/state/tracecraft/hooks`).
pub fn hooks_state_dir() -> PathBuf {
    let sessions = crate::session::state::state_dir();
    sessions
        .parent()
        .map(|p| p.join("hooks"))
        .unwrap_or_else(|| PathBuf::from("hooks"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_tolerate_none_junk_and_wrong_types() {
        assert!(Payload::parse(b"").session_id.is_none());
        assert!(Payload::parse(b"not json {").session_id.is_none());
        assert!(Payload::parse(b"[1,2]").session_id.is_none());
        let p = Payload::parse(
            br#"{"session_id":"abc","transcript_path":"/t.jsonl","stop_hook_active":"yes","cwd":7}"#,
        );
        assert_eq!(p.session_id.as_deref(), Some("abc"));
        assert_eq!(p.transcript_path, Some(PathBuf::from("/t.jsonl")));
        assert_eq!(p.stop_hook_active, None);
        assert_eq!(p.cwd, None);
    }

    #[test]
    fn the_throttle_lets_one_run_through_per_period() {
        let dir = tempfile::tempdir().unwrap();
        let t = Throttle::in_dir(dir.path(), Path::new("/p/.tracecraft.json"), "bob");
        let every = Duration::from_secs(30);
        assert!(t.due(every, 1_000_000));
        t.record(1_000_000).unwrap();
        assert!(!t.due(every, 1_000_000 + 29_999));
        assert!(t.due(every, 1_000_000 + 30_000));
        // A clock that went back runs rather than staying silent.
        assert!(t.due(every, 999_000));
        // Another agent on the same config has its own throttle.
        let other = Throttle::in_dir(dir.path(), Path::new("/p/.tracecraft.json"), "eve");
        assert!(other.due(every, 1_000_000));
    }
}
