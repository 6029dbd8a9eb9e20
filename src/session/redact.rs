//! Redaction of contract section 8: one regex with a named group per pattern, applied in a
//! single pass over the data; each match becomes `[REDACTED:<name>]` and is counted.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::bytes::Regex;

/// `(name, pattern)` in priority order: where two could match at one position the first
/// listed wins.
pub const PATTERNS: [(&str, &str); 8] = [
    ("aws_access_key", r"AKIA[0-9A-Z]{16}"),
    ("aws_session_token", r"ASIA[0-9A-Z]{16}"),
    ("anthropic_key", r"sk-ant-[A-Za-z0-9_-]{20,}"),
    ("openai_key", r"sk-(?:proj-|svcacct-)?[A-Za-z0-9]{20,}"),
    ("hf_token", r"hf_[A-Za-z0-9]{30,}"),
    ("github_pat", r"gh[pousr]_[A-Za-z0-9]{30,}"),
    ("slack_token", r"xox[abprs]-[A-Za-z0-9-]{10,}"),
    ("bearer_token", r"Bearer\s+[A-Za-z0-9_.\-]{20,}"),
];

static ALL: LazyLock<Regex> = LazyLock::new(|| {
    let alternation: Vec<String> = PATTERNS
        .iter()
        .map(|(name, pattern)| format!("(?P<{name}>{pattern})"))
        .collect();
    // `(?-u)`: match bytes, so invalid UTF-8 in a transcript never stops redaction.
    Regex::new(&format!("(?-u){}", alternation.join("|"))).expect("redaction patterns compile")
});

/// Redaction counts per pattern name; names with no match are absent.
pub type Counts = BTreeMap<String, u64>;

/// Appends `input` to `out` with every secret replaced, adding to `counts`.
pub fn redact_into(input: &[u8], out: &mut Vec<u8>, counts: &mut Counts) {
    let re = &*ALL;
    let mut last = 0;
    for caps in re.captures_iter(input) {
        let Some(whole) = caps.get(0) else { continue };
        let name = PATTERNS
            .iter()
            .map(|(name, _)| *name)
            .find(|name| caps.name(name).is_some())
            .unwrap_or("secret");
        out.extend_from_slice(&input[last..whole.start()]);
        out.extend_from_slice(format!("[REDACTED:{name}]").as_bytes());
        *counts.entry(name.to_string()).or_default() += 1;
        last = whole.end();
    }
    out.extend_from_slice(&input[last..]);
}

/// Adds `more` into `into`.
pub fn merge_counts(into: &mut Counts, more: &Counts) {
    for (name, n) in more {
        *into.entry(name.clone()).or_default() += n;
    }
}

/// `aws_access_key:1,hf_token:2`, or `none`.
pub fn describe(counts: &Counts) -> String {
    if counts.is_empty() {
        return "none".into();
    }
    counts
        .iter()
        .map(|(name, n)| format!("{name}:{n}"))
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redact(input: &str) -> (String, Counts) {
        let mut out = Vec::new();
        let mut counts = Counts::new();
        redact_into(input.as_bytes(), &mut out, &mut counts);
        (String::from_utf8(out).unwrap(), counts)
    }

    fn one(input: &str, name: &str) {
        let (out, counts) = redact(&format!("x {input} y"));
        assert_eq!(out, format!("x [REDACTED:{name}] y"), "{input}");
        assert_eq!(counts.get(name), Some(&1), "{input}");
        assert_eq!(counts.len(), 1, "{input}: {counts:?}");
    }

    #[test]
    fn aws_access_key() {
        one("AKIAABCDEFGHIJKLMNOP", "aws_access_key");
        assert_eq!(redact("AKIAabcdefghijklmnop").1.len(), 0);
    }

    #[test]
    fn aws_session_token() {
        one("ASIA0123456789ABCDEF", "aws_session_token");
    }

    #[test]
    fn anthropic_key() {
        one("sk-ant-api03-abcdefghij_KLMNOPQRST-uvw", "anthropic_key");
    }

    #[test]
    fn openai_key() {
        one("sk-abcdefghijklmnopqrstuvwxyz012345", "openai_key");
        one("sk-proj-abcdefghijklmnopqrstuvwxyz", "openai_key");
        one("sk-svcacct-abcdefghijklmnopqrstuvwxyz", "openai_key");
        assert!(redact("sk-short").1.is_empty());
    }

    #[test]
    fn hf_token() {
        one("hf_abcdefghijklmnopqrstuvwxyzABCDEF", "hf_token");
        assert!(redact("hf_tooshort").1.is_empty());
    }

    #[test]
    fn github_pat() {
        one("ghp_abcdefghijklmnopqrstuvwxyz0123456789", "github_pat");
        one("ghs_abcdefghijklmnopqrstuvwxyz0123456789", "github_pat");
    }

    #[test]
    fn slack_token() {
        one("xoxb-1234567890-abcdef", "slack_token");
    }

    #[test]
    fn bearer_token() {
        one("Bearer abc.def-ghi_jkl.mno.pqrstu", "bearer_token");
        assert!(redact("Bearer short").1.is_empty());
    }

    #[test]
    fn every_match_is_counted_in_one_pass() {
        let (out, counts) = redact(
            "a AKIAABCDEFGHIJKLMNOP b AKIAABCDEFGHIJKLMNOQ c hf_abcdefghijklmnopqrstuvwxyzABCDEF",
        );
        assert_eq!(
            out,
            "a [REDACTED:aws_access_key] b [REDACTED:aws_access_key] c [REDACTED:hf_token]"
        );
        assert_eq!(counts["aws_access_key"], 2);
        assert_eq!(counts["hf_token"], 1);
        assert_eq!(describe(&counts), "aws_access_key:2,hf_token:1");
        assert_eq!(redact("nothing here").0, "nothing here");
    }

    #[test]
    fn invalid_utf8_is_kept_and_still_redacted() {
        let mut out = Vec::new();
        let mut counts = Counts::new();
        redact_into(b"\xff AKIAABCDEFGHIJKLMNOP \xfe", &mut out, &mut counts);
        assert_eq!(out, b"\xff [REDACTED:aws_access_key] \xfe");
    }
}
