//! The own-claims index: how `heartbeat` and `renew` find the caller's claims without
//! listing every step. It is a hint, never the truth; `steps/<sid>/claim.json` stays the
//! only word on who holds a step.
//!
//! Layout: one empty-ish entry per claimed step, `own/<agent>/claims/<sid>.json`, and one
//! marker `own/<agent>/_scanned-<ts_ns>.json` naming the time of the last full scan.
//! Finding the caller's claims costs one LIST of `own/<agent>/` (bounded by its own
//! claims) and one GET per indexed claim, whatever the size of the project.
//!
//! Why a claim the index misses cannot lapse silently:
//! - the entry is written *before* the claim (in [`super::Claims::acquire`]); if that write
//!   fails the claim is not attempted, so a claim made by this tool always has its entry
//!   first. Finishing or releasing a claim removes the entry after the claim changed, so
//!   the entry is never gone while the claim is still held by this tool's doing;
//! - every indexed claim is re-read and judged: an entry for a step the caller does not
//!   hold (a lost claim race, a takeover) is dropped once older than [`PRUNE_AFTER`] (a
//!   younger one may belong to a claim being written right now by another process of the
//!   same agent);
//! - what can still be missing (a claim made by the Python tool or an older version, an
//!   entry deleted by hand, an index write that landed nowhere) is found by a full scan:
//!   the whole `steps/` listing, with claims read through the document cache (so only
//!   claims changed since the last scan are fetched), which re-adds missing entries. A
//!   scan runs when the marker is missing or older than [`scan_every`] (at most ten
//!   minutes, at most half the project's default lease, at most half the shortest lease
//!   among the indexed claims), so a missed claim is renewed before its lease runs out,
//!   and an agent pays for a scan at most once per interval.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::StreamExt;

use super::{Claims, Current, Result};
use crate::app::{FETCH_CONCURRENCY, decode, encode};
use crate::cache::DocCache;
use crate::docs::Claim;
use crate::keys;
use crate::store::{PutMode, PutOptions, StoreError};
use crate::time;

/// An entry for a step the caller does not hold is kept this long before it is pruned.
pub const PRUNE_AFTER: Duration = Duration::from_secs(300);
/// The longest time between two full scans.
pub const SCAN_EVERY: Duration = Duration::from_secs(600);

/// How often the full scan runs: [`SCAN_EVERY`], or half the default lease if shorter.
pub fn scan_every(default_ttl: Option<Duration>) -> Duration {
    default_ttl.map_or(SCAN_EVERY, |ttl| SCAN_EVERY.min(ttl / 2))
}

/// What one listing of `own/<agent>/` says.
#[derive(Debug, Default)]
pub struct Listed {
    /// Indexed steps, with when their entry was written.
    pub steps: BTreeMap<String, Option<DateTime<Utc>>>,
    /// Scan marker keys, newest last.
    pub markers: Vec<String>,
    /// When the last full scan finished.
    pub scanned_at: Option<DateTime<Utc>>,
}

/// How the caller's claims were found.
#[derive(Debug, Default)]
pub struct Found {
    /// The claims the caller holds, by step id.
    pub held: Vec<(String, Current)>,
    /// A full scan ran (and with the cache fetched this many claims).
    pub scanned: Option<usize>,
}

impl Claims<'_> {
    /// Writes the index entry for `sid` (before claiming it).
    pub async fn index_add(&self, sid: &str) -> Result<()> {
        let key = keys::own_claim(self.agent, sid);
        let body = serde_json::json!({"step": sid, "indexed_at": time::now_iso()});
        self.store
            .put(&key, encode(&body), PutMode::Overwrite, &PutOptions::json())
            .await?;
        Ok(())
    }

    /// Drops the index entry for `sid`. Best-effort: a stale entry is pruned later.
    pub async fn index_remove(&self, sid: &str) {
        let _ = self.store.delete(&keys::own_claim(self.agent, sid)).await;
    }

    pub async fn index_list(&self) -> Result<Listed> {
        let entries = self.store.list(&keys::own_dir(self.agent), None).await?;
        let mut listed = Listed::default();
        for e in entries {
            if let Some(sid) = keys::own_claim_step_of(self.agent, &e.key) {
                listed.steps.insert(sid.to_string(), e.last_modified);
            } else if let Some(ts) = keys::own_scanned_at(self.agent, &e.key) {
                let at = ts.parse::<i64>().ok().map(DateTime::from_timestamp_nanos);
                listed.scanned_at = listed.scanned_at.max(at);
                listed.markers.push(e.key);
            }
        }
        Ok(listed)
    }

    /// Every claim the caller holds, found through the index (see the module docs); a
    /// full scan through `cache` when one is due: `every` has passed since the last one,
    /// or half the shortest lease among the indexed claims.
    pub async fn own(&self, cache: &mut DocCache, every: Duration) -> Result<Found> {
        let listed = self.index_list().await?;
        let now = time::now();
        let due = listed.scanned_at.is_none_or(|t| older_than(t, now, every));
        if due {
            return self.scan(cache, listed).await;
        }
        let read: Vec<_> = futures::stream::iter(listed.steps.iter())
            .map(|(sid, at)| async move { (sid, *at, self.read(sid).await) })
            .buffered(FETCH_CONCURRENCY)
            .collect()
            .await;
        let mut held: Vec<(String, Current)> = Vec::new();
        for (sid, indexed_at, cur) in read {
            match cur {
                Ok(Some(cur)) if self.holds(&cur) => held.push((sid.clone(), cur)),
                Ok(_) | Err(super::ClaimError::Corrupt(_)) => {
                    let old = indexed_at.is_none_or(|t| older_than(t, now, PRUNE_AFTER));
                    if old {
                        self.index_remove(sid).await;
                    }
                }
                Err(e) => return Err(e),
            }
        }
        // A claim the index missed is most likely leased like the ones it has: scan at
        // least twice per shortest lease seen, so a missed one is renewed in time.
        let shortest = held
            .iter()
            .filter_map(|(_, c)| c.claim.lease.as_ref())
            .map(|l| Duration::from_secs(l.ttl_s) / 2)
            .min();
        let every = shortest.map_or(every, |s| every.min(s));
        let due = listed.scanned_at.is_none_or(|t| older_than(t, now, every));
        if due {
            return self.scan(cache, listed).await;
        }
        Ok(Found {
            held,
            scanned: None,
        })
    }

    /// The full scan: every claim in the project, through the cache; the index is brought
    /// in line with what was found and the scan time recorded.
    async fn scan(&self, cache: &mut DocCache, listed: Listed) -> Result<Found> {
        let listing = self.store.list(keys::STEPS_DIR, None).await?;
        let objs = cache
            .read_listed(self.store, &listing, |k| keys::claim_step_of(k).is_some())
            .await?;
        let mut held = Vec::new();
        for obj in objs {
            let Some(sid) = keys::claim_step_of(&obj.meta.key).map(str::to_string) else {
                continue;
            };
            let Ok(claim) = decode::<Claim>(&obj.meta.key, &obj.body) else {
                continue;
            };
            if claim.agent != self.agent {
                continue;
            }
            // A held claim is about to be renewed with a compare-and-swap that reads it
            // afresh; this judgement only picks the candidates.
            let standing = self.judge(&claim, &obj.meta);
            let cur = Current {
                claim,
                meta: obj.meta,
                standing,
            };
            if self.holds(&cur) {
                held.push((sid, cur));
            }
        }
        let held_ids: BTreeSet<&str> = held.iter().map(|(s, _)| s.as_str()).collect();
        let missing = held_ids.iter().filter(|s| !listed.steps.contains_key(**s));
        for sid in missing {
            self.index_add(sid).await?;
        }
        let now = time::now();
        for (sid, at) in &listed.steps {
            let old = at.is_none_or(|t| older_than(t, now, PRUNE_AFTER));
            if old && !held_ids.contains(sid.as_str()) {
                self.index_remove(sid).await;
            }
        }
        let marker = keys::own_scanned(self.agent, &time::ts_ns(now));
        let body = serde_json::json!({"scanned_at": time::format(now), "claims": held.len()});
        self.store
            .put(
                &marker,
                encode(&body),
                PutMode::Overwrite,
                &PutOptions::json(),
            )
            .await?;
        for old in listed.markers.iter().filter(|m| **m != marker) {
            match self.store.delete(old).await {
                Ok(()) | Err(StoreError::NotFound { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(Found {
            held,
            scanned: Some(cache.fetched),
        })
    }
}

/// `t` lies at least `age` before `now` (a time in the future never does).
fn older_than(t: DateTime<Utc>, now: DateTime<Utc>, age: Duration) -> bool {
    (now - t).to_std().is_ok_and(|a| a >= age)
}
