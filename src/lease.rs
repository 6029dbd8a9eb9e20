//! What a claim's lease means, as pure functions of a claim document, the metadata it was
//! read with and the local clock: whether it is held, running, expired (and takeable),
//! released or finished. Also the TTL syntax (`30s`, `10m`, `2h`).
//!
//! The skew rule: a lease runs `ttl_s` seconds from the claim's last write. Where the store
//! reports both its own write time (`Last-Modified`) and its own time of answering (the
//! response's `Date`), the age is measured on the store's clock alone, so no agent's clock
//! enters it. Others may take the claim over only once it has been expired for more than
//! [`SKEW_ALLOWANCE`], which covers the one-second resolution of HTTP dates and a store
//! whose nodes disagree slightly. Where the store has no clock of its own (native Hugging
//! Face buckets) the writer's `expires_at` is compared with the reader's clock, with the
//! same allowance; there, hosts' clocks must agree to within it.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::docs::Claim;
use crate::outcome::UsageError;
use crate::store::ObjectMeta;
use crate::time;

/// How long past its end a lease is still honoured before anyone may take it over.
pub const SKEW_ALLOWANCE: Duration = Duration::from_secs(2);

/// A claim as the reader judges it now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Standing {
    /// Held without a lease: it never expires.
    Held,
    /// Held, with `left` to run.
    Leased { left: Duration },
    /// The lease ran out `ago`; the claim may be taken over once `ago` exceeds the skew
    /// allowance.
    Expired { ago: Duration },
    /// Given back by its holder: free to claim.
    Released,
    /// The step was completed (or blocked, or sent for review) under this claim.
    Finished,
}

impl Standing {
    /// Another agent may take this claim over now.
    pub fn is_takeable(self) -> bool {
        match self {
            Standing::Released => true,
            Standing::Expired { ago } => ago > SKEW_ALLOWANCE,
            _ => false,
        }
    }

    /// Seconds left on the lease (negative once expired); `None` without a lease.
    pub fn left_s(self) -> Option<i64> {
        match self {
            Standing::Leased { left } => Some(left.as_secs() as i64),
            Standing::Expired { ago } => Some(-(ago.as_secs() as i64)),
            _ => None,
        }
    }

    /// A few words for humans: `3m left`, `expired 12s ago`, `no lease`, `released`.
    pub fn describe(self) -> String {
        match self {
            Standing::Held => "no lease".into(),
            Standing::Leased { left } => format!("{} left", time::age_secs(rounded(left))),
            Standing::Expired { ago } => {
                format!("expired {} ago", time::age_secs(ago.as_secs() as i64))
            }
            Standing::Released => "released".into(),
            Standing::Finished => "finished".into(),
        }
    }

    /// The JSON word for this standing.
    pub fn name(self) -> &'static str {
        match self {
            Standing::Held => "held",
            Standing::Leased { .. } => "leased",
            Standing::Expired { .. } => "expired",
            Standing::Released => "released",
            Standing::Finished => "finished",
        }
    }
}

/// Time left to the nearest unit it is shown in, so a fresh `10m` lease reads `10m left`
/// rather than `9m left`.
fn rounded(left: Duration) -> i64 {
    let s = left.as_millis().div_ceil(1000) as i64;
    match s {
        s if s < 120 => s,
        s if s < 7200 => (s + 30) / 60 * 60,
        s => (s + 1800) / 3600 * 3600,
    }
}

/// Judges `claim`, read with `meta`, at the reader's `local_now`. `store_clock` says the
/// backend's `last_modified` comes from the store (see [`crate::store::Capabilities`]).
pub fn standing(
    claim: &Claim,
    meta: &ObjectMeta,
    store_clock: bool,
    local_now: DateTime<Utc>,
) -> Standing {
    if claim.finished_at.is_some() {
        return Standing::Finished;
    }
    if claim.released_at.is_some() {
        return Standing::Released;
    }
    let Some(lease) = &claim.lease else {
        return Standing::Held;
    };
    let left_ms = match (store_clock, meta.last_modified) {
        (true, Some(written)) => {
            let now = meta.server_time.unwrap_or(local_now);
            let age_ms = (now - written).num_milliseconds().max(0);
            lease.ttl_s.saturating_mul(1000) as i64 - age_ms
        }
        _ => match time::parse(&lease.expires_at) {
            Some(end) => (end - local_now).num_milliseconds(),
            // An unreadable end is read as expired just now: held for the allowance only.
            None => 0,
        },
    };
    if left_ms > 0 {
        Standing::Leased {
            left: Duration::from_millis(left_ms as u64),
        }
    } else {
        Standing::Expired {
            ago: Duration::from_millis(left_ms.unsigned_abs()),
        }
    }
}

/// Parses a TTL: `90`, `30s`, `10m`, `2h`, `1d`, or a sum such as `1h30m`. Must be at
/// least one second.
pub fn parse_ttl(text: &str) -> Result<Duration, UsageError> {
    let bad = || {
        let mut e = UsageError::new(format!("'{text}' is not a duration"));
        e.hint = Some("write it like 30s, 10m, 2h or 1h30m".into());
        e
    };
    let text = text.trim();
    if text.is_empty() {
        return Err(bad());
    }
    if let Ok(secs) = text.parse::<u64>() {
        return positive(Duration::from_secs(secs), text);
    }
    let mut total: u64 = 0;
    let mut digits = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => return Err(bad()),
        };
        let n: u64 = digits.parse().map_err(|_| bad())?;
        digits.clear();
        total = n
            .checked_mul(unit)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(bad)?;
    }
    if !digits.is_empty() {
        return Err(bad());
    }
    positive(Duration::from_secs(total), text)
}

fn positive(d: Duration, text: &str) -> Result<Duration, UsageError> {
    if d.is_zero() {
        return Err(UsageError::new(format!(
            "a lease of '{text}' would expire at once; give at least 1s"
        )));
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docs::Lease;
    use crate::store::Version;

    fn at(s: &str) -> DateTime<Utc> {
        time::parse(s).unwrap()
    }

    fn leased(ttl_s: u64, expires_at: &str) -> Claim {
        Claim {
            agent: "a".into(),
            lease: Some(Lease {
                ttl_s,
                expires_at: expires_at.into(),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn meta(written: Option<&str>, server_now: Option<&str>) -> ObjectMeta {
        ObjectMeta {
            key: "steps/x/claim.json".into(),
            size: 0,
            last_modified: written.map(at),
            version: Version::new("v"),
            metadata: Default::default(),
            server_time: server_now.map(at),
            list_version: None,
        }
    }

    #[test]
    fn the_store_clock_decides_whatever_the_local_clock_says() {
        let claim = leased(30, "2000-01-01T00:00:00+00:00");
        let m = meta(Some("2026-11-21T10:00:00Z"), Some("2026-11-21T10:00:20Z"));
        // The reader's clock is an hour ahead, then a day behind: no difference.
        for local in ["2026-11-21T11:00:00Z", "2026-11-20T10:00:00Z"] {
            assert_eq!(
                standing(&claim, &m, true, at(local)),
                Standing::Leased {
                    left: Duration::from_secs(10)
                }
            );
        }
    }

    #[test]
    fn takeover_waits_out_the_skew_allowance() {
        let claim = leased(30, "2000-01-01T00:00:00+00:00");
        let now = at("2026-11-21T12:00:00Z");
        let judge = |server_now: &str| {
            standing(
                &claim,
                &meta(Some("2026-11-21T10:00:00Z"), Some(server_now)),
                true,
                now,
            )
        };
        let just_expired = judge("2026-11-21T10:00:31Z");
        assert_eq!(
            just_expired,
            Standing::Expired {
                ago: Duration::from_secs(1)
            }
        );
        assert!(!just_expired.is_takeable());
        let at_allowance = judge("2026-11-21T10:00:32Z");
        assert!(!at_allowance.is_takeable());
        let past = judge("2026-11-21T10:00:33Z");
        assert!(past.is_takeable());
        assert_eq!(past.describe(), "expired 3s ago");
        let fresh = Standing::Leased {
            left: Duration::from_millis(599_100),
        };
        assert_eq!(fresh.describe(), "10m left");
        let short = Standing::Leased {
            left: Duration::from_millis(4_200),
        };
        assert_eq!(short.describe(), "5s left");
    }

    #[test]
    fn without_a_response_date_the_local_clock_measures_from_the_store_write() {
        let claim = leased(10, "2000-01-01T00:00:00+00:00");
        let m = meta(Some("2026-11-21T10:00:00Z"), None);
        assert_eq!(
            standing(&claim, &m, true, at("2026-11-21T10:00:04Z")).left_s(),
            Some(6)
        );
    }

    #[test]
    fn without_a_store_clock_the_writers_expiry_is_compared_with_ours() {
        let claim = leased(10, "2026-11-21T10:00:10+00:00");
        let m = meta(Some("1999-01-01T00:00:00Z"), Some("1999-01-01T00:00:00Z"));
        assert_eq!(
            standing(&claim, &m, false, at("2026-11-21T10:00:04Z")).left_s(),
            Some(6)
        );
        assert!(standing(&claim, &m, false, at("2026-11-21T10:00:13Z")).is_takeable());
        let unreadable = leased(10, "soon");
        assert!(!standing(&unreadable, &m, false, at("2026-11-21T10:00:13Z")).is_takeable());
    }

    #[test]
    fn claims_without_a_lease_never_expire_and_markers_win() {
        let m = meta(Some("2000-01-01T00:00:00Z"), Some("2026-11-21T10:00:00Z"));
        let now = at("2026-11-21T10:00:00Z");
        let plain = Claim {
            agent: "a".into(),
            ..Default::default()
        };
        assert_eq!(standing(&plain, &m, true, now), Standing::Held);
        let released = Claim {
            released_at: Some("x".into()),
            ..leased(10, "")
        };
        assert_eq!(standing(&released, &m, true, now), Standing::Released);
        assert!(Standing::Released.is_takeable());
        let finished = Claim {
            finished_at: Some("x".into()),
            released_at: Some("x".into()),
            ..leased(10, "")
        };
        let s = standing(&finished, &m, true, now);
        assert_eq!(s, Standing::Finished);
        assert!(!s.is_takeable());
    }

    #[test]
    fn ttl_syntax() {
        for (text, secs) in [
            ("90", 90),
            ("30s", 30),
            ("10m", 600),
            ("2h", 7200),
            ("1d", 86_400),
            ("1h30m", 5400),
            (" 5s ", 5),
        ] {
            assert_eq!(parse_ttl(text).unwrap().as_secs(), secs, "{text}");
        }
        for text in [
            "",
            "0",
            "0s",
            "m",
            "10x",
            "5m3",
            "-5s",
            "1.5h",
            "99999999999999999999d",
        ] {
            assert!(parse_ttl(text).is_err(), "{text}");
        }
    }
}
