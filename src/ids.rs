//! Identifier rules of contract section 5. Everything a user types that ends up in a key
//! or a local path passes through here first; a violation is a usage error (exit 2)
//! raised before anything is written.

use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
#[error("invalid {what} '{value}': {reason}")]
pub struct InvalidId {
    pub what: &'static str,
    pub value: String,
    pub reason: &'static str,
}

fn invalid(what: &'static str, value: &str, reason: &'static str) -> InvalidId {
    InvalidId {
        what,
        value: value.to_string(),
        reason,
    }
}

/// 8 hex characters of a random uuid4: the suffix that keeps create-once keys written in
/// the same nanosecond apart.
pub fn uuid8() -> String {
    let mut hex = uuid::Uuid::new_v4().simple().to_string();
    hex.truncate(8);
    hex
}

/// Thread names: the characters of agent ids, up to 128 of them, so a message id
/// (`<ts_ns>_<sender>_<uuid8>`) is one too.
pub fn check_thread(value: &str) -> Result<(), InvalidId> {
    if value.len() > 128 {
        return Err(invalid("thread", value, "must be 1 to 128 characters"));
    }
    let probe = if value.len() > 64 {
        &value[..64]
    } else {
        value
    };
    check_name("thread", probe)?;
    if !value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        return Err(invalid("thread", value, "may only use A-Z a-z 0-9 . _ -"));
    }
    Ok(())
}

/// Agent ids, project names and recipients: 1 to 64 of `A-Z a-z 0-9 . _ -`, not starting
/// with `.` or `_`, not `.` or `..`.
pub fn check_name(what: &'static str, value: &str) -> Result<(), InvalidId> {
    if value.is_empty() || value.len() > 64 {
        return Err(invalid(what, value, "must be 1 to 64 characters"));
    }
    if !value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        return Err(invalid(what, value, "may only use A-Z a-z 0-9 . _ -"));
    }
    if value.starts_with('.') || value.starts_with('_') {
        return Err(invalid(what, value, "may not start with '.' or '_'"));
    }
    Ok(())
}

pub fn check_agent(value: &str) -> Result<(), InvalidId> {
    check_name("agent id", value)
}

pub fn check_project(value: &str) -> Result<(), InvalidId> {
    check_name("project name", value)
}

/// A recipient is an agent id or the one reserved name `_broadcast`.
pub fn check_recipient(value: &str) -> Result<(), InvalidId> {
    if value == "_broadcast" {
        return Ok(());
    }
    check_name("recipient", value)
}

/// Normalises a step id as typed into the form used in keys: trimmed, lower-cased, every
/// `.` replaced by `-`.
pub fn normalize_step(value: &str) -> Result<String, InvalidId> {
    let what = "step id";
    if value
        .chars()
        .any(|c| c == '/' || c == '\\' || c.is_control())
    {
        return Err(invalid(
            what,
            value,
            "may not contain '/', '\\' or control characters",
        ));
    }
    let trimmed = value.trim();
    if trimmed == ".." {
        return Err(invalid(what, value, "may not be '..'"));
    }
    if trimmed.starts_with('.') || trimmed.starts_with('_') {
        return Err(invalid(what, value, "may not start with '.' or '_'"));
    }
    let normalized = trimmed.to_lowercase().replace('.', "-");
    if normalized.is_empty() || normalized.chars().count() > 128 {
        return Err(invalid(what, value, "must be 1 to 128 characters"));
    }
    Ok(normalized)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_section_5() {
        for ok in ["a", "agent-1", "A.b_c", &"x".repeat(64)] {
            check_agent(ok).unwrap();
        }
        for bad in [
            "",
            ".",
            "..",
            ".hidden",
            "_x",
            "a/b",
            "a b",
            "é",
            &"x".repeat(65),
        ] {
            assert!(check_agent(bad).is_err(), "{bad:?}");
        }
        check_recipient("_broadcast").unwrap();
        assert!(check_recipient("_other").is_err());
    }

    #[test]
    fn step_ids_are_normalised() {
        assert_eq!(normalize_step(" Phase.One ").unwrap(), "phase-one");
        for bad in ["", "  ", "a/b", "a\\b", "..", ".x", "_x", "a\u{7}"] {
            assert!(normalize_step(bad).is_err(), "{bad:?}");
        }
        assert!(normalize_step(&"s".repeat(129)).is_err());
        assert_eq!(normalize_step(&"S".repeat(128)).unwrap(), "s".repeat(128));
    }
}
