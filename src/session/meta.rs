//! The session `meta.json` document (contract section 3). Unknown fields are kept, so a
//! document written by a newer tool or the Python tool survives our rewrites.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::redact::Counts;

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Meta {
    #[serde(default = "schema_version")]
    pub schema_version: u32,
    #[serde(default)]
    pub harness: String,
    #[serde(default)]
    pub session_id: String,
    #[serde(default)]
    pub source_path: String,
    #[serde(default)]
    pub cwd: Option<String>,
    #[serde(default)]
    pub agent_id: String,
    #[serde(default)]
    pub started_at: Option<String>,
    #[serde(default)]
    pub last_uploaded_at: Option<String>,
    #[serde(default)]
    pub ended_at: Option<String>,
    #[serde(default)]
    pub total_source_bytes: u64,
    #[serde(default)]
    pub total_uploaded_bytes: u64,
    #[serde(default)]
    pub redaction_counts: Counts,
    #[serde(default)]
    pub parts: Vec<Part>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn schema_version() -> u32 {
    1
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Part {
    pub seq: u64,
    #[serde(default)]
    pub uuid: String,
    /// `[from, to)` in the source's cursor (a byte offset for file harnesses).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor_range: Option<[u64; 2]>,
    #[serde(default)]
    pub source_bytes: u64,
    #[serde(default)]
    pub uploaded_bytes: u64,
    #[serde(default)]
    pub redactions: Counts,
    #[serde(default)]
    pub uploaded_at: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Meta {
    /// Where the mirrored data ends in the source: the highest `cursor_range` end.
    pub fn cursor_end(&self) -> u64 {
        self.parts
            .iter()
            .filter_map(|p| p.cursor_range.map(|r| r[1]))
            .max()
            .unwrap_or(0)
    }

    /// The parts in source order (by cursor start, then sequence number). An entry with no
    /// range (a part merged by the Python tool's compact, always seq 0) sorts first.
    pub fn parts_in_order(&self) -> Vec<&Part> {
        let mut parts: Vec<&Part> = self.parts.iter().collect();
        parts.sort_by_key(|p| order_key(p));
        parts
    }

    pub fn max_seq(&self) -> Option<u64> {
        self.parts.iter().map(|p| p.seq).max()
    }
}

/// Where a part sorts among a session's parts.
pub fn order_key(p: &Part) -> (u64, u64) {
    (p.cursor_range.map_or(0, |r| r[0]), p.seq)
}

/// Sums of one group of parts, e.g. when merging them.
pub fn sum_counts<'a>(parts: impl IntoIterator<Item = &'a Part>) -> BTreeMap<String, u64> {
    let mut out = Counts::new();
    for p in parts {
        super::redact::merge_counts(&mut out, &p.redactions);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_meta_round_trips_with_unknown_fields() {
        let text = r#"{"schema_version":1,"harness":"claude-code","session_id":"s","source_path":"/x",
            "cwd":null,"agent_id":"a","started_at":"t","last_uploaded_at":"t","ended_at":null,
            "total_source_bytes":3,"total_uploaded_bytes":3,"redaction_counts":{},
            "last_compacted_at":"t",
            "parts":[{"seq":0,"uuid":"0123abcd","compacted_from":2,"uploaded_bytes":3,"uploaded_at":"t"},
                     {"seq":1,"uuid":"0123abce","cursor_range":[3,9],"source_bytes":6,"uploaded_bytes":6,
                      "redactions":{"hf_token":1},"uploaded_at":"t"}]}"#;
        let meta: Meta = serde_json::from_str(text).unwrap();
        assert_eq!(meta.cursor_end(), 9);
        assert_eq!(meta.max_seq(), Some(1));
        let back = serde_json::to_value(&meta).unwrap();
        assert_eq!(back["last_compacted_at"], "t");
        assert_eq!(back["parts"][0]["compacted_from"], 2);
        assert!(back["parts"][0].get("cursor_range").is_none());
    }
}
