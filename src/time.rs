//! Time as the wire format writes and reads it: ISO 8601 in UTC with a `+00:00` offset and
//! microseconds (what Python's `datetime.isoformat()` gives), read back from any valid ISO
//! 8601 form; and the 19-digit nanosecond stamps that order message and history keys.

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};

pub fn now() -> DateTime<Utc> {
    Utc::now()
}

/// `2026-11-21T10:28:42.017355+00:00`
pub fn format(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, false)
}

pub fn now_iso() -> String {
    format(now())
}

/// Parses any ISO 8601 timestamp the Python tool or a human may have written; a value with
/// no offset is taken as UTC.
pub fn parse(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    // RFC 3339 requires the `T` and an offset; ISO 8601 allows a space and none.
    let spaced = text.replacen(' ', "T", 1);
    if let Ok(t) = DateTime::parse_from_rfc3339(&spaced) {
        return Some(t.with_timezone(&Utc));
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(&spaced, fmt) {
            return Some(t.and_utc());
        }
    }
    let compact_offset = spaced.strip_suffix('Z').map(|s| format!("{s}+00:00"));
    compact_offset.and_then(|s| {
        DateTime::parse_from_rfc3339(&s)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    })
}

/// Nanoseconds since the epoch, zero-padded to 19 digits, so keys sort by time as strings.
pub fn ts_ns(t: DateTime<Utc>) -> String {
    format!("{:019}", t.timestamp_nanos_opt().unwrap_or(0).max(0))
}

/// A short human age: `12s`, `5m`, `3h`, `2d`.
pub fn age(from: DateTime<Utc>, to: DateTime<Utc>) -> String {
    age_secs((to - from).num_seconds())
}

pub fn age_secs(secs: i64) -> String {
    match secs.max(0) {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m", s / 60),
        s if s < 172_800 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_micros_with_explicit_offset() {
        let t = parse("2026-11-21T10:28:42.017355+00:00").unwrap();
        assert_eq!(format(t), "2026-11-21T10:28:42.017355+00:00");
    }

    #[test]
    fn reads_other_iso_forms() {
        let want = parse("2026-11-21T10:28:42+00:00").unwrap();
        for text in [
            "2026-11-21T10:28:42Z",
            "2026-11-21 10:28:42",
            "2026-11-21T10:28:42",
            "2026-11-21T11:28:42+01:00",
            "2026-11-21T10:28:42.000+00:00",
        ] {
            assert_eq!(parse(text), Some(want), "{text}");
        }
        assert_eq!(parse("yesterday"), None);
    }

    #[test]
    fn ns_stamps_have_19_digits() {
        let t = parse("2026-11-21T10:28:42.017355+00:00").unwrap();
        let s = ts_ns(t);
        assert_eq!(s.len(), 19);
        assert_eq!(s, "1795256922017355000");
    }
}
