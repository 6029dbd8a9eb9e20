//! The JSON documents of contract section 3, a wire format shared with the Python tool:
//! fields may be added, never renamed or removed. Readers tolerate unknown fields (kept in
//! `extra` where we rewrite a document, so another tool's additions survive) and missing
//! optional ones.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub type Extra = Map<String, Value>;

/// `agents/<agent>.json`: presence.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Agent {
    pub id: String,
    #[serde(default = "active")]
    pub status: String,
    #[serde(default)]
    pub step: Option<String>,
    #[serde(default)]
    pub started_at: Option<String>,
    #[serde(default)]
    pub heartbeat: Option<String>,
    #[serde(default)]
    pub summary: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

fn active() -> String {
    "active".into()
}

/// `memory/<a>/<b>.json`; history snapshots add `key` (dotted).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MemoryValue {
    pub value: String,
    #[serde(default)]
    pub set_by: Option<String>,
    #[serde(default)]
    pub set_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `messages/<recipient>/<ts_ns>_<sender>_<uuid8>.json`
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Message {
    pub from: String,
    #[serde(default)]
    pub to: String,
    pub message: String,
    #[serde(default)]
    pub sent_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// The conversation this message belongs to (section 13).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread: Option<String>,
    /// The id of the message this one answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<String>,
    /// The sender asked for an acknowledgement (`ack ID`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ack_required: bool,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `steps/<sid>/claim.json`. Only `agent` and `claimed_at` are known to the Python tool,
/// which treats any claim document as held; the lease fields are additions that older
/// readers ignore (see `lease.rs` for what they mean).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Claim {
    pub agent: String,
    #[serde(default)]
    pub claimed_at: Option<String>,
    /// Absent: the claim never expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease: Option<Lease>,
    /// 1 for a fresh claim, one more at every takeover; absent on older claims (read as 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generation: Option<u64>,
    /// A random id unique to this holding: how a writer recognises its own write.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// Who held the step before a takeover.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_holder: Option<String>,
    /// Set by `release`: the step is free again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub released_at: Option<String>,
    /// Set by `complete`: the holding ended with this status; never taken over.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_status: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Claim {
    pub fn generation(&self) -> u64 {
        self.generation.unwrap_or(1)
    }

    /// The Python tool's claim: none of the lease fields, so it never expires and is never
    /// taken over.
    pub fn is_plain(&self) -> bool {
        self.lease.is_none()
            && self.generation.is_none()
            && self.token.is_none()
            && self.released_at.is_none()
            && self.finished_at.is_none()
    }
}

/// A claim's lease: `ttl_s` seconds from the claim's last write, by the store's clock.
/// `expires_at` is the writer's own estimate, for humans and for stores without a clock.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Lease {
    pub ttl_s: u64,
    pub expires_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renewed_at: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

pub const IN_PROGRESS: &str = "in_progress";
pub const COMPLETE: &str = "complete";
pub const BLOCKED: &str = "blocked";
pub const NEEDS_REVIEW: &str = "needs_review";
pub const PENDING: &str = "pending";

/// `steps/<sid>/status.json`
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Status {
    pub status: String,
    #[serde(default)]
    pub agent: Option<String>,
    #[serde(default)]
    pub started_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `steps/<sid>/handoff.json`, schema 2.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Handoff {
    #[serde(default = "schema_2")]
    pub schema: u32,
    pub from_agent: String,
    pub from_step: String,
    #[serde(default)]
    pub next_agent: Option<String>,
    #[serde(default)]
    pub state: String,
    #[serde(default)]
    pub next_action: Option<String>,
    #[serde(default)]
    pub note: String,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed_files: Option<Vec<String>>,
    #[serde(flatten)]
    pub extra: Extra,
}

fn schema_2() -> u32 {
    2
}

/// One half of the read cursor. An older form stored a bare string: the watermark.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(from = "CursorPartWire")]
pub struct CursorPart {
    pub watermark: Option<String>,
    #[serde(default)]
    pub seen: Vec<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum CursorPartWire {
    Bare(Option<String>),
    Full {
        #[serde(default)]
        watermark: Option<String>,
        #[serde(default)]
        seen: Vec<String>,
    },
}

impl From<CursorPartWire> for CursorPart {
    fn from(w: CursorPartWire) -> Self {
        match w {
            CursorPartWire::Bare(watermark) => CursorPart {
                watermark,
                seen: vec![],
            },
            CursorPartWire::Full { watermark, seen } => CursorPart { watermark, seen },
        }
    }
}

/// `messages/<agent>/_cursor.json`
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Cursor {
    #[serde(default)]
    pub direct: CursorPart,
    #[serde(default)]
    pub broadcast: CursorPart,
    #[serde(default)]
    pub updated_at: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readers_tolerate_missing_optional_and_unknown_fields() {
        let s: Status = serde_json::from_str(r#"{"status":"complete","future":[1]}"#).unwrap();
        assert_eq!(s.status, COMPLETE);
        assert!(s.agent.is_none());
        assert_eq!(
            serde_json::to_value(&s).unwrap()["future"],
            serde_json::json!([1])
        );
        let c: Claim = serde_json::from_str(r#"{"agent":"a"}"#).unwrap();
        assert_eq!(c.agent, "a");
    }

    #[test]
    fn cursor_accepts_the_older_bare_string_form() {
        let c: Cursor = serde_json::from_str(
            r#"{"direct":"messages/a/1795256922017355000","broadcast":{"watermark":null,"seen":["k"]}}"#,
        )
        .unwrap();
        assert_eq!(
            c.direct.watermark.as_deref(),
            Some("messages/a/1795256922017355000")
        );
        assert!(c.direct.seen.is_empty());
        assert_eq!(c.broadcast.seen, ["k"]);
    }

    #[test]
    fn handoff_writes_schema_2_and_optional_changed_files() {
        let h = Handoff {
            schema: 2,
            from_agent: "a".into(),
            from_step: "Phase.One".into(),
            next_agent: None,
            state: "complete".into(),
            next_action: None,
            note: String::new(),
            created_at: None,
            changed_files: None,
            extra: Extra::new(),
        };
        let v = serde_json::to_value(&h).unwrap();
        assert_eq!(v["schema"], 2);
        assert!(v.get("changed_files").is_none());
        assert!(v["next_agent"].is_null());
    }
}
