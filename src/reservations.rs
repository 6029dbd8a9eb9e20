//! Path reservations (contract section 12): one document, `reservations/index.json`,
//! decides every reservation. Each change reads it, judges the live entries, and writes
//! the next version by compare-and-swap against the version read, so of any number of
//! agents reserving overlapping paths at once exactly one succeeds. Expired entries are
//! dropped on every write.
//!
//! Expiry follows the lease rules of `lease.rs`: an entry's `expires_at` is written on the
//! store's clock (the `Date` of the read the write is based on) and judged against the
//! store's clock of the reader's own read, so no agent's clock enters it; an entry stays
//! in force until it has been expired for more than the skew allowance. Backends without a
//! clock of their own (native Hugging Face) fall back to the hosts' clocks.
//!
//! A compare-and-swap whose response was lost may come back as a conflict although it
//! landed, so after a conflict the writer re-reads and looks for its own change (its new
//! entry's random id, its renewed expiry, the absence of what it released) before it
//! calls the write lost. Without conditional writes the same protocol runs as a checked
//! overwrite with a read-back: best-effort, and the commands say so.
//!
//! This is the API `reserve`, `reservations`, `unreserve`, `renew`, `heartbeat`, `status`,
//! `guard` (and `prime` and the MCP server) call.

use std::time::{Duration, Instant};

use serde_json::Map;

use crate::app::{CorruptDocument, decode};
use crate::cache::DocCache;
use crate::keys;
use crate::store::{Store, StoreError};
use crate::time;

mod index;
pub mod pattern;
mod protocol;
use index::Snapshot;
pub use index::{Index, Live, Reservation};
pub use pattern::Pattern;
use protocol::Plan;

/// The reservation TTL when neither `--ttl` nor `reserve_ttl` gives one.
pub const DEFAULT_TTL: Duration = Duration::from_secs(3600);
/// Rounds of read-and-write before an index that keeps changing under us is reported. Every
/// reservation in the project shares one document, so a round lost to an unrelated writer
/// is normal: this is generous, with a short random pause between rounds.
const ATTEMPTS: u32 = 40;

#[derive(Debug, thiserror::Error)]
pub enum ReservationError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Corrupt(#[from] CorruptDocument),
    #[error(
        "the reservation index kept changing while it was being written ({ATTEMPTS} rounds); try again"
    )]
    Unsettled,
}

type Result<T> = std::result::Result<T, ReservationError>;

/// What a reservation needs.
#[derive(Clone, Debug)]
pub struct Request {
    pub patterns: Vec<Pattern>,
    pub exclusive: bool,
    pub ttl: Duration,
    pub reason: Option<String>,
    pub step: Option<String>,
}

/// Another agent's reservation standing in the way, and the pair of patterns that meet.
#[derive(Clone, Debug)]
pub struct Blocker {
    pub holder: Live,
    /// Their pattern.
    pub pattern: String,
    /// The requested pattern (for `reserve`) or the path (for `check`).
    pub wanted: String,
}

#[derive(Clone, Debug)]
pub enum Reserve {
    /// All patterns granted; `renewed` when it refreshed the caller's identical
    /// reservation instead of adding one.
    Granted {
        /// Boxed: a reservation is much larger than a refusal's list.
        reservation: Box<Reservation>,
        renewed: bool,
    },
    /// Nothing written: these stand in the way.
    Refused(Vec<Blocker>),
}

/// What `unreserve` names.
#[derive(Clone, Debug)]
pub enum Selector {
    All,
    /// Reservation ids and patterns, as typed.
    Items(Vec<String>),
}

#[derive(Clone, Debug, Default)]
pub struct Release {
    /// Entries removed or trimmed, each with only the patterns released.
    pub released: Vec<Reservation>,
    /// `(item, holder)`: another agent's, and no `force`. Nothing was written.
    pub refused: Vec<(String, String)>,
    /// Items matching no live reservation. Nothing was written.
    pub unknown: Vec<String>,
}

pub struct Reservations<'a> {
    pub store: &'a dyn Store,
    pub agent: &'a str,
}

impl<'a> Reservations<'a> {
    pub fn new(store: &'a dyn Store, agent: &'a str) -> Self {
        Reservations { store, agent }
    }

    /// Conditional writes are honoured: reservations are exact, not best-effort.
    pub fn exact(&self) -> bool {
        let caps = self.store.capabilities();
        caps.atomic_create && caps.compare_and_swap
    }

    /// Every reservation in force, oldest first.
    pub async fn live(&self) -> Result<Vec<Live>> {
        Ok(self.read().await?.live())
    }

    /// Every reservation in force, read through the document cache (for `status`): one
    /// listing of `reservations/`, the index fetched only when it changed since the last
    /// call. Judged on the local clock, as cached claims are; every decision (reserve,
    /// renew, release) reads the index from the store.
    pub async fn live_cached(&self, cache: &mut DocCache) -> Result<Vec<Live>> {
        let key = keys::reservations_index();
        let listing = self.store.list(keys::RESERVATIONS_DIR, None).await?;
        let objs = cache
            .read_listed(self.store, &listing, |k| k == key)
            .await?;
        let (index, version) = match objs.into_iter().next() {
            Some(obj) => (decode(&key, &obj.body)?, Some(obj.meta.version)),
            None => (index::Index::default(), None),
        };
        let snap = Snapshot {
            index,
            version,
            store_now: time::now(),
            read_at: Instant::now(),
        };
        Ok(snap.live())
    }

    /// Live reservations covering the repository-relative `path`.
    pub async fn covering(&self, path: &str) -> Result<Vec<Live>> {
        let path = pattern::normalize_path(path);
        let mut live = self.live().await?;
        live.retain(|l| l.reservation.covering(&path).is_some());
        Ok(live)
    }

    /// Other agents' exclusive reservations covering any of `paths` (repository-relative):
    /// one blocker per path and reservation.
    pub async fn check(&self, paths: &[String]) -> Result<Vec<Blocker>> {
        let live = self.live().await?;
        let mut hits = Vec::new();
        for path in paths {
            let path = pattern::normalize_path(path);
            for l in &live {
                if l.reservation.agent == self.agent || !l.reservation.exclusive {
                    continue;
                }
                if let Some(pattern) = l.reservation.covering(&path) {
                    hits.push(Blocker {
                        holder: l.clone(),
                        pattern,
                        wanted: path.clone(),
                    });
                }
            }
        }
        Ok(hits)
    }

    /// Grants all of `req.patterns` or none.
    pub async fn reserve(&self, req: &Request) -> Result<Reserve> {
        let id = new_id();
        let wanted: Vec<String> = req.patterns.iter().map(|p| p.to_string()).collect();
        self.update(|snap| {
            let blockers = blockers(snap, self.agent, req);
            if !blockers.is_empty() {
                return Plan::Done(Reserve::Refused(blockers));
            }
            let mut next = snap.pruned();
            let now = snap.now();
            let expires = time::format(now + chrono_ttl(req.ttl));
            let same = next.reservations.iter_mut().find(|r| {
                r.agent == self.agent
                    && r.exclusive == req.exclusive
                    && same_set(&r.patterns, &wanted)
            });
            let (reservation, renewed) = match same {
                Some(r) => {
                    r.expires_at = expires;
                    r.ttl_s = req.ttl.as_secs();
                    r.reason = req.reason.clone().or(r.reason.take());
                    r.step = req.step.clone().or(r.step.take());
                    r.extra
                        .insert("renewed_at".into(), time::format(now).into());
                    (r.clone(), true)
                }
                None => {
                    let r = Reservation {
                        id: id.clone(),
                        agent: self.agent.to_string(),
                        patterns: wanted.clone(),
                        exclusive: req.exclusive,
                        reason: req.reason.clone(),
                        step: req.step.clone(),
                        created_at: time::format(now),
                        expires_at: expires,
                        ttl_s: req.ttl.as_secs(),
                        extra: Map::new(),
                    };
                    next.reservations.push(r.clone());
                    (r, false)
                }
            };
            snap.stamp(&mut next);
            let mine = reservation.clone();
            Plan::Write {
                next,
                result: Reserve::Granted {
                    reservation: Box::new(reservation),
                    renewed,
                },
                landed: Box::new(move |index| index.reservations.contains(&mine)),
            }
        })
        .await
    }

    /// Releases the caller's reservations named by `sel` (another agent's only with
    /// `force`). A pattern trims it from each matching reservation, dropping reservations
    /// left empty; an id drops the whole reservation. All or nothing.
    pub async fn release(&self, sel: &Selector, force: bool) -> Result<Release> {
        self.update(|snap| {
            let mut next = snap.pruned();
            let mut report = Release::default();
            let mut touched: Vec<Reservation> = Vec::new();
            let note = |r: &Reservation, touched: &mut Vec<Reservation>| {
                if !touched.iter().any(|t| t.id == r.id) {
                    touched.push(r.clone());
                }
            };
            match sel {
                Selector::All => {
                    for r in next.reservations.iter().filter(|r| r.agent == self.agent) {
                        note(r, &mut touched);
                    }
                    next.reservations.retain(|r| r.agent != self.agent);
                }
                Selector::Items(items) => {
                    for item in items {
                        let by_id = next.reservations.iter().position(|r| r.id == *item);
                        let normal = Pattern::parse(item).map(|p| p.to_string());
                        let text = normal.as_deref().unwrap_or(item);
                        let mut hits: Vec<usize> = match by_id {
                            Some(i) => vec![i],
                            None => (0..next.reservations.len())
                                .filter(|&i| {
                                    next.reservations[i].patterns.iter().any(|p| p == text)
                                })
                                .collect(),
                        };
                        // A pattern names the caller's own reservations first.
                        if by_id.is_none()
                            && hits
                                .iter()
                                .any(|&i| next.reservations[i].agent == self.agent)
                        {
                            hits.retain(|&i| next.reservations[i].agent == self.agent);
                        }
                        if hits.is_empty() {
                            report.unknown.push(item.clone());
                            continue;
                        }
                        for i in hits {
                            let r = &mut next.reservations[i];
                            if r.agent != self.agent && !force {
                                report.refused.push((item.clone(), r.agent.clone()));
                                continue;
                            }
                            let before = r.clone();
                            if by_id.is_some() {
                                r.patterns.clear();
                            } else {
                                r.patterns.retain(|p| p != text);
                            }
                            note(&before, &mut touched);
                        }
                    }
                    next.reservations.retain(|r| !r.patterns.is_empty());
                }
            }
            if !report.refused.is_empty() || !report.unknown.is_empty() || touched.is_empty() {
                return Plan::Done(report);
            }
            // Each entry as it was, with only the patterns released.
            report.released = touched
                .into_iter()
                .map(|mut before| {
                    let kept = next.reservations.iter().find(|r| r.id == before.id);
                    before
                        .patterns
                        .retain(|p| kept.is_none_or(|k| !k.patterns.contains(p)));
                    before
                })
                .collect();
            snap.stamp(&mut next);
            let after = next.reservations.clone();
            let gone: Vec<Reservation> = report.released.clone();
            Plan::Write {
                next,
                result: report,
                // Landed when no released entry survives as it was before.
                landed: Box::new(move |index| {
                    gone.iter().all(|g| {
                        let now = index.reservations.iter().find(|r| r.id == g.id);
                        let wrote = after.iter().find(|r| r.id == g.id);
                        now.is_none_or(|r| Some(r) == wrote)
                    })
                }),
            }
        })
        .await
    }

    /// Extends every reservation the caller holds by its own TTL; returns them renewed.
    /// One read, and one write only when the caller holds any.
    pub async fn renew_mine(&self) -> Result<Vec<Reservation>> {
        self.update(|snap| {
            let mut next = snap.pruned();
            let now = snap.now();
            let mut renewed = Vec::new();
            for r in next
                .reservations
                .iter_mut()
                .filter(|r| r.agent == self.agent)
            {
                let mut end = now + chrono::Duration::seconds(r.ttl_s as i64);
                // The store's clock is read to the second (an HTTP `Date`), so two renewals
                // within one second could compute an earlier end: never move it back. And
                // the body must change, so the version does: never write the same bytes.
                if let Some(old) = time::parse(&r.expires_at) {
                    end = end.max(old + chrono::Duration::microseconds(1));
                }
                r.expires_at = time::format(end);
                r.extra
                    .insert("renewed_at".into(), time::format(now).into());
                renewed.push(r.clone());
            }
            if renewed.is_empty() {
                return Plan::Done(renewed);
            }
            snap.stamp(&mut next);
            let wrote = renewed.clone();
            Plan::Write {
                next,
                result: renewed,
                landed: Box::new(move |index| wrote.iter().all(|w| index.reservations.contains(w))),
            }
        })
        .await
    }
}

/// Other agents' reservations in force that overlap `req`: an exclusive request meets any
/// of them, a shared one only exclusive ones.
fn blockers(snap: &Snapshot, agent: &str, req: &Request) -> Vec<Blocker> {
    let mut found = Vec::new();
    for live in snap.live() {
        let r = &live.reservation;
        if r.agent == agent || !(req.exclusive || r.exclusive) {
            continue;
        }
        let theirs = r.parsed();
        for mine in &req.patterns {
            let hit = theirs
                .iter()
                .find(|(_, p)| p.as_ref().is_none_or(|p| p.conflicts(mine)));
            if let Some((text, _)) = hit {
                found.push(Blocker {
                    holder: live.clone(),
                    pattern: text.clone(),
                    wanted: mine.to_string(),
                });
            }
        }
    }
    found
}

fn same_set(a: &[String], b: &[String]) -> bool {
    let mut a = a.to_vec();
    let mut b = b.to_vec();
    a.sort();
    a.dedup();
    b.sort();
    b.dedup();
    a == b
}

fn chrono_ttl(ttl: Duration) -> chrono::Duration {
    chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::MAX)
}

/// 8 lower-case hex characters of a random uuid4.
fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..8].to_string()
}

#[cfg(test)]
#[path = "reservations/tests.rs"]
mod tests;
