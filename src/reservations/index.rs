//! The reservation index as stored (`reservations/index.json`, contract section 12) and
//! as judged at one read: each entry's standing on the store's clock of that read, which
//! entries are still in force (the skew allowance included), and the base of the next
//! version with the expired ones dropped.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::Pattern;
use crate::lease::Standing;
use crate::store::Version;
use crate::time;

/// `reservations/index.json`
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Index {
    #[serde(default)]
    pub reservations: Vec<Reservation>,
    #[serde(default)]
    pub updated_at: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One entry of the index.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Reservation {
    /// 8 lower-case hex characters.
    pub id: String,
    pub agent: String,
    pub patterns: Vec<String>,
    pub exclusive: bool,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub step: Option<String>,
    pub created_at: String,
    pub expires_at: String,
    pub ttl_s: u64,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Reservation {
    pub fn mode(&self) -> &'static str {
        if self.exclusive {
            "exclusive"
        } else {
            "shared"
        }
    }

    /// The stored patterns, parsed; one that does not parse (written by another tool)
    /// is kept as `None` and treated as overlapping everything.
    pub(super) fn parsed(&self) -> Vec<(String, Option<Pattern>)> {
        self.patterns
            .iter()
            .map(|p| (p.clone(), Pattern::parse(p).ok()))
            .collect()
    }

    /// The first of this reservation's patterns covering `path`.
    pub fn covering(&self, path: &str) -> Option<String> {
        self.parsed()
            .into_iter()
            .find(|(_, p)| p.as_ref().is_none_or(|p| p.covers(path)))
            .map(|(text, _)| text)
    }
}

/// A reservation as judged now.
#[derive(Clone, Debug)]
pub struct Live {
    pub reservation: Reservation,
    /// `Leased { left }`, or `Expired { ago }` within the skew allowance.
    pub standing: Standing,
}

/// The index as read, with the store's clock at the read.
pub(super) struct Snapshot {
    pub(super) index: Index,
    pub(super) version: Option<Version>,
    pub(super) store_now: DateTime<Utc>,
    pub(super) read_at: Instant,
}

impl Snapshot {
    /// The store's clock now, as well as the reader can tell.
    pub(super) fn now(&self) -> DateTime<Utc> {
        let elapsed = chrono::Duration::from_std(self.read_at.elapsed()).unwrap_or_default();
        self.store_now + elapsed
    }

    pub(super) fn standing(&self, r: &Reservation) -> Standing {
        // An unreadable end is read as expired just now: honoured for the allowance only.
        let left_ms = time::parse(&r.expires_at)
            .map(|end| (end - self.now()).num_milliseconds())
            .unwrap_or(0);
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

    pub(super) fn in_force(&self, r: &Reservation) -> bool {
        !self.standing(r).is_takeable()
    }

    pub(super) fn live(&self) -> Vec<Live> {
        self.index
            .reservations
            .iter()
            .filter(|r| self.in_force(r))
            .map(|r| Live {
                reservation: r.clone(),
                standing: self.standing(r),
            })
            .collect()
    }

    /// The entries still in force, as the base of the next version.
    pub(super) fn pruned(&self) -> Index {
        let mut next = self.index.clone();
        next.reservations.retain(|r| self.in_force(r));
        next
    }

    pub(super) fn stamp(&self, next: &mut Index) {
        next.updated_at = Some(time::format(self.now()));
    }
}
