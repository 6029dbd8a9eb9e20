//! Session mirroring: harness adapters that find agent transcripts on this machine, the
//! redaction applied before bytes leave it, the stored `meta.json` document, the local
//! cursor state and the bucket keys of contract section 2.

pub mod harness;
pub mod meta;
pub mod mirror;
pub mod redact;
pub mod state;

/// Turns any name read from a harness (or typed by a user) into one safe key segment and
/// file name: 1 to 128 of `A-Z a-z 0-9 . _ -`, every other character replaced by `_`,
/// never starting with `.` (so never `.`/`..`) and never empty.
pub fn sanitize_id(raw: &str) -> String {
    let mut out: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .take(128)
        .collect();
    if out.starts_with('.') {
        out.replace_range(0..1, "_");
    }
    if out.is_empty() {
        out.push('_');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::sanitize_id;

    #[test]
    fn sanitised_ids_are_one_safe_segment() {
        assert_eq!(sanitize_id("abc-123_x.y"), "abc-123_x.y");
        assert_eq!(sanitize_id("../../etc/passwd"), "_._.._etc_passwd");
        assert_eq!(sanitize_id(".."), "_.");
        assert_eq!(sanitize_id("."), "_");
        assert_eq!(sanitize_id(""), "_");
        assert_eq!(sanitize_id("a\\b\nc"), "a_b_c");
        assert_eq!(sanitize_id(&"x".repeat(300)).len(), 128);
        for raw in ["..", ".", "../x", "a/b", "/", "\u{0}"] {
            let s = sanitize_id(raw);
            assert!(!s.contains('/') && s != "." && s != ".." && !s.starts_with('.'));
        }
    }
}
