//! The claim protocol on the store: take a step (fresh, or over an expired or released
//! claim), renew a lease, give a step back, finish it under the claim, and fence writes by
//! an agent whose claim was taken over. Every change of `claim.json` is a conditional write
//! against the version just read, so the store, not timing, decides every race.
//!
//! A conditional write whose response was lost may come back as a conflict although it
//! landed; each writer therefore re-reads after a conflict and compares the stored document
//! with its own (the holding's random `token` and the write's microsecond stamps make every
//! document unique) before it calls the write lost.
//!
//! Stores without conditional writes (native Hugging Face buckets) get the same protocol
//! as check-then-write with a read-back: best-effort, and the commands say so.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::app::{CorruptDocument, decode, encode};
use crate::docs::{self, Agent, Claim, Lease, Status};
use crate::keys;
use crate::lease::{self, Standing};
use crate::store::{ObjectMeta, PutMode, PutOptions, Store, StoreError};
use crate::time;

/// Rounds of read-and-write before a claim that keeps changing under us is reported.
const ATTEMPTS: usize = 5;

#[derive(Debug, thiserror::Error)]
pub enum ClaimError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Corrupt(#[from] CorruptDocument),
    #[error("the claim at '{key}' kept changing while it was being written; try again")]
    Unsettled { key: String },
}

type Result<T> = std::result::Result<T, ClaimError>;

/// A claim document as read, with its metadata and how it stands now.
#[derive(Clone, Debug)]
pub struct Current {
    pub claim: Claim,
    pub meta: ObjectMeta,
    pub standing: Standing,
}

/// Who took a step over from whom.
#[derive(Clone, Debug)]
pub struct TakenOver {
    pub from: String,
    pub generation: u64,
    /// `Released`, or `Expired { ago }`.
    pub standing: Standing,
}

#[derive(Clone, Debug)]
pub enum Acquire {
    Won {
        claim: Claim,
        took_over: Option<TakenOver>,
    },
    /// Someone holds the step (perhaps the caller: compare `holder`).
    Held { holder: String, current: Current },
    /// The step is complete (or finished under a claim with `status`) and is never taken
    /// over.
    Finished { holder: String, status: String },
}

/// The caller does not hold the step: `holder` is who does, if anyone.
#[derive(Clone, Debug)]
pub struct NotHeld {
    pub holder: Option<String>,
    pub current: Option<Current>,
}

#[derive(Clone, Debug)]
pub enum Renew {
    Renewed(Claim),
    NotHeld(NotHeld),
    /// Held without a lease and no TTL given: nothing to renew.
    NoLease,
}

#[derive(Clone, Debug)]
pub enum Finish {
    Finished {
        /// The claim as marked finished; `None` when it was left alone (no claim, or a
        /// plain one).
        claim: Option<Claim>,
        /// The holder the step was taken from with `--force`.
        forced_from: Option<String>,
    },
    NotHeld(NotHeld),
}

pub struct Claims<'a> {
    pub store: &'a dyn Store,
    pub agent: &'a str,
}

impl<'a> Claims<'a> {
    pub fn new(store: &'a dyn Store, agent: &'a str) -> Self {
        Claims { store, agent }
    }

    /// Conditional writes are honoured: claims are exact, not best-effort.
    pub fn exact(&self) -> bool {
        let caps = self.store.capabilities();
        caps.atomic_create && caps.compare_and_swap
    }

    /// How a claim read with `meta` stands now.
    pub fn judge(&self, claim: &Claim, meta: &ObjectMeta) -> Standing {
        let store_clock = self.store.capabilities().server_last_modified;
        lease::standing(claim, meta, store_clock, time::now())
    }

    pub async fn read(&self, sid: &str) -> Result<Option<Current>> {
        let key = keys::step_claim(sid);
        match self.store.get_timed(&key).await {
            Ok(obj) => {
                let claim: Claim = decode(&key, &obj.body)?;
                let standing = self.judge(&claim, &obj.meta);
                Ok(Some(Current {
                    claim,
                    meta: obj.meta,
                    standing,
                }))
            }
            Err(StoreError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// A new holding by the caller.
    /// A fresh claim without a TTL is exactly the Python tool's `{agent, claimed_at}`;
    /// leases, takeovers and re-claims carry the lease fields.
    fn holding(&self, now: DateTime<Utc>, ttl: Option<Duration>, generation: u64) -> Claim {
        let plain = ttl.is_none() && generation == 1;
        Claim {
            agent: self.agent.to_string(),
            claimed_at: Some(time::format(now)),
            lease: ttl.map(|ttl| lease_from(now, ttl, None)),
            generation: (!plain).then_some(generation),
            token: (!plain).then(new_token),
            ..Default::default()
        }
    }

    /// Claims `sid`: a fresh claim, or a takeover of an expired or released one. The
    /// caller's index entry is written first (see [`index`]), and dropped again when the
    /// step turns out to be someone else's.
    pub async fn acquire(&self, sid: &str, ttl: Option<Duration>) -> Result<Acquire> {
        self.index_add(sid).await?;
        let result = self.acquire_indexed(sid, ttl).await;
        let mine = match &result {
            Ok(Acquire::Won { .. }) => true,
            Ok(Acquire::Held { holder, .. }) => holder == self.agent,
            Ok(Acquire::Finished { .. }) => false,
            // Unknown: keep the entry, the next heartbeat judges it.
            Err(_) => true,
        };
        if !mine {
            self.index_remove(sid).await;
        }
        result
    }

    async fn acquire_indexed(&self, sid: &str, ttl: Option<Duration>) -> Result<Acquire> {
        let key = keys::step_claim(sid);
        let now = time::now();
        let fresh = self.holding(now, ttl, 1);
        let won = || Acquire::Won {
            claim: fresh.clone(),
            took_over: None,
        };
        let mut seen = None;
        for _ in 0..ATTEMPTS {
            let (current, complete) = match seen.take() {
                Some(current) => (current, None),
                None => match self.put(sid, &fresh, PutMode::Create).await? {
                    Put::Landed => return Ok(won()),
                    Put::Taken(current) => (*current, None),
                    // Losers read the claim and the status at once: one round trip.
                    Put::Check => {
                        let (read, complete) =
                            tokio::join!(self.read(sid), self.step_complete(sid));
                        let read = read?;
                        if is_ours(&fresh, &read) {
                            return Ok(won());
                        }
                        match read {
                            Some(current) => (current, Some(complete?)),
                            // Deleted since the conflict: create again.
                            None => continue,
                        }
                    }
                },
            };
            let holder = current.claim.agent.clone();
            if current.standing == Standing::Finished {
                let status = current.claim.finished_status.clone();
                let status = status.unwrap_or_else(|| docs::COMPLETE.into());
                return Ok(Acquire::Finished { holder, status });
            }
            // A step completed under a claim left alone (a plain claim, or the Python
            // tool's) is never taken over either, and is reported as complete.
            let complete = match complete {
                Some(complete) => complete,
                None => self.step_complete(sid).await?,
            };
            if complete {
                let status = docs::COMPLETE.into();
                return Ok(Acquire::Finished { holder, status });
            }
            if !current.standing.is_takeable() {
                return Ok(Acquire::Held { holder, current });
            }
            let mut next = self.holding(now, ttl, current.claim.generation() + 1);
            next.previous_holder = Some(holder.clone());
            let base = current.meta.version.clone();
            match self
                .write(sid, &next, PutMode::UpdateIfVersion(base))
                .await?
            {
                Ok(()) => {
                    return Ok(Acquire::Won {
                        claim: next,
                        took_over: Some(TakenOver {
                            from: holder,
                            generation: current.claim.generation(),
                            standing: current.standing,
                        }),
                    });
                }
                Err(None) => continue,
                // Another taker won; judge what it wrote (normally: held by the winner).
                Err(Some(now_current)) => seen = Some(now_current),
            }
        }
        Err(ClaimError::Unsettled { key })
    }

    /// Extends the caller's lease on `sid` by `ttl` (else its own TTL, else `default_ttl`).
    pub async fn renew(
        &self,
        sid: &str,
        ttl: Option<Duration>,
        default_ttl: Option<Duration>,
    ) -> Result<Renew> {
        let current = self.read(sid).await?;
        self.renew_from(sid, current, ttl, default_ttl).await
    }

    /// [`Self::renew`] starting from a claim just read.
    pub async fn renew_from(
        &self,
        sid: &str,
        mut current: Option<Current>,
        ttl: Option<Duration>,
        default_ttl: Option<Duration>,
    ) -> Result<Renew> {
        let key = keys::step_claim(sid);
        for _ in 0..ATTEMPTS {
            let Some(cur) = current.take() else {
                return Ok(Renew::NotHeld(NotHeld {
                    holder: None,
                    current: None,
                }));
            };
            if !self.holds(&cur) {
                return Ok(Renew::NotHeld(not_held(cur)));
            }
            let ttl = ttl
                .or(cur
                    .claim
                    .lease
                    .as_ref()
                    .map(|l| Duration::from_secs(l.ttl_s)))
                .or(default_ttl);
            let Some(ttl) = ttl else {
                return Ok(Renew::NoLease);
            };
            let mut next = cur.claim.clone();
            next.generation.get_or_insert(1);
            next.token.get_or_insert_with(new_token);
            let mut now = time::now();
            next.lease = Some(lease_from(now, ttl, Some(now)));
            // The version must change, so the body must: never write the same bytes twice.
            while next == cur.claim {
                now += chrono::Duration::microseconds(1);
                next.lease = Some(lease_from(now, ttl, Some(now)));
            }
            let base = PutMode::UpdateIfVersion(cur.meta.version.clone());
            match self.write(sid, &next, base).await? {
                Ok(()) => return Ok(Renew::Renewed(next)),
                // Our own concurrent write (a heartbeat, say) changed it: go again.
                Err(now_current) => current = now_current,
            }
        }
        Err(ClaimError::Unsettled { key })
    }

    /// Gives `sid` back: the claim stays, marked released, so the next claim is a takeover
    /// with a higher generation. Returns the released claim.
    pub async fn release(&self, sid: &str) -> Result<std::result::Result<Claim, NotHeld>> {
        let key = keys::step_claim(sid);
        let mut current = self.read(sid).await?;
        for _ in 0..ATTEMPTS {
            let Some(cur) = current.take() else {
                return Ok(Err(NotHeld {
                    holder: None,
                    current: None,
                }));
            };
            if !self.holds(&cur) {
                return Ok(Err(not_held(cur)));
            }
            let mut next = cur.claim.clone();
            next.released_at = Some(time::now_iso());
            next.lease = None;
            let base = PutMode::UpdateIfVersion(cur.meta.version.clone());
            match self.write(sid, &next, base).await? {
                Ok(()) => {
                    self.index_remove(sid).await;
                    return Ok(Ok(next));
                }
                Err(now_current) => current = now_current,
            }
        }
        Err(ClaimError::Unsettled { key })
    }

    /// Marks the claim on `sid` finished with `status`, by compare-and-swap against the
    /// version `read` saw: a takeover that races the completion is decided by the store.
    pub async fn finish(
        &self,
        sid: &str,
        read: Option<Current>,
        status: &str,
        force: bool,
    ) -> Result<Finish> {
        let result = self.finish_claim(sid, read, status, force).await;
        if let Ok(Finish::Finished { .. }) = result {
            self.index_remove(sid).await;
        }
        result
    }

    async fn finish_claim(
        &self,
        sid: &str,
        read: Option<Current>,
        status: &str,
        force: bool,
    ) -> Result<Finish> {
        let key = keys::step_claim(sid);
        let mut current = read;
        for _ in 0..ATTEMPTS {
            let now = time::now_iso();
            let (mut next, mode, forced_from) = match current.take() {
                // No claim, or a plain one (no lease, never taken over): nothing can take
                // it over, so it is left exactly as the Python tool leaves it.
                None => {
                    return Ok(Finish::Finished {
                        claim: None,
                        forced_from: None,
                    });
                }
                Some(cur) if cur.claim.is_plain() => {
                    let holder = cur.claim.agent.clone();
                    if holder != self.agent && !force {
                        return Ok(Finish::NotHeld(not_held(cur)));
                    }
                    return Ok(Finish::Finished {
                        claim: None,
                        forced_from: (holder != self.agent).then_some(holder),
                    });
                }
                Some(cur) => {
                    let holder = cur.claim.agent.clone();
                    let vacant = cur.standing == Standing::Released;
                    if holder != self.agent && !vacant && !force {
                        return Ok(Finish::NotHeld(not_held(cur)));
                    }
                    let mut next = cur.claim.clone();
                    if holder != self.agent {
                        next = self.holding(time::now(), None, cur.claim.generation() + 1);
                        next.previous_holder = Some(holder.clone());
                    }
                    let forced = (holder != self.agent && !vacant).then_some(holder);
                    let mode = PutMode::UpdateIfVersion(cur.meta.version.clone());
                    (next, mode, forced)
                }
            };
            next.lease = None;
            next.released_at = None;
            next.finished_at = Some(now);
            next.finished_status = Some(status.to_string());
            match self.write(sid, &next, mode).await? {
                Ok(()) => {
                    return Ok(Finish::Finished {
                        claim: Some(next),
                        forced_from,
                    });
                }
                // Changed under us: judge the new state (a heartbeat's renewal by the
                // caller just goes round again; a takeover is refused above).
                Err(now_current) => current = now_current,
            }
        }
        Err(ClaimError::Unsettled { key })
    }

    /// `Some(holder)` when the caller's claim on `sid` was taken over: it held the step
    /// (it is the previous holder, or its presence record still names the step) and
    /// someone else holds it now. Writes about the step must then change nothing.
    pub async fn fenced(&self, sid: &str) -> Result<Option<String>> {
        let agent_key = keys::agent(self.agent);
        let (claim, me) = tokio::join!(self.read(sid), self.store.get(&agent_key));
        let Some(cur) = claim? else {
            return Ok(None);
        };
        if cur.claim.agent == self.agent {
            return Ok(None);
        }
        let was_mine = cur.claim.previous_holder.as_deref() == Some(self.agent)
            || match me {
                Ok(obj) => decode::<Agent>(&agent_key, &obj.body)
                    .is_ok_and(|a| a.step.as_deref() == Some(sid)),
                Err(StoreError::NotFound { .. }) => false,
                Err(e) => return Err(e.into()),
            };
        Ok(was_mine.then_some(cur.claim.agent))
    }

    /// The caller holds `cur` (an expired lease included: until someone takes it over,
    /// the compare-and-swap of the caller's next write decides).
    pub fn holds(&self, cur: &Current) -> bool {
        cur.claim.agent == self.agent
            && !matches!(cur.standing, Standing::Released | Standing::Finished)
    }

    async fn step_complete(&self, sid: &str) -> Result<bool> {
        let key = keys::step_status(sid);
        match self.store.get(&key).await {
            Ok(obj) => {
                Ok(decode::<Status>(&key, &obj.body).is_ok_and(|s| s.status == docs::COMPLETE))
            }
            Err(StoreError::NotFound { .. }) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Writes `doc` as the claim on `sid`; `Ok(Err(current))` when the write lost, with
    /// what the store holds now (`None`: nothing).
    async fn write(
        &self,
        sid: &str,
        doc: &Claim,
        mode: PutMode,
    ) -> Result<std::result::Result<(), Option<Current>>> {
        match self.put(sid, doc, mode).await? {
            Put::Landed => Ok(Ok(())),
            Put::Taken(current) => Ok(Err(Some(*current))),
            Put::Check => {
                let read = self.read(sid).await?;
                Ok(if is_ours(doc, &read) {
                    Ok(())
                } else {
                    Err(read)
                })
            }
        }
    }

    /// Puts `doc` as the claim on `sid`. Without conditional writes the check was the
    /// caller's read (and, for a create, one more here), and the write is an overwrite that
    /// must be confirmed by reading it back.
    async fn put(&self, sid: &str, doc: &Claim, mode: PutMode) -> Result<Put> {
        let key = keys::step_claim(sid);
        let mode = if self.exact() {
            mode
        } else {
            if mode == PutMode::Create
                && let Some(existing) = self.read(sid).await?
            {
                return Ok(Put::Taken(Box::new(existing)));
            }
            PutMode::Overwrite
        };
        let best_effort = mode == PutMode::Overwrite;
        match self
            .store
            .put(&key, encode(doc), mode, &PutOptions::json())
            .await
        {
            Ok(_) if !best_effort => Ok(Put::Landed),
            Ok(_) => Ok(Put::Check),
            // A conflict: the stored document says who won (perhaps this very write).
            Err(e) if e.is_conflict() => Ok(Put::Check),
            Err(e) => Err(e.into()),
        }
    }
}

/// What a claim write came to before any read-back.
enum Put {
    Landed,
    /// Someone else's claim was found before writing (no conditional writes).
    Taken(Box<Current>),
    /// A conflict, or a best-effort write: read back and see [`is_ours`].
    Check,
}

/// Whether the claim read back after a write is the one written.
fn is_ours(doc: &Claim, read: &Option<Current>) -> bool {
    read.as_ref().is_some_and(|current| current.claim == *doc)
}

fn not_held(cur: Current) -> NotHeld {
    NotHeld {
        holder: (cur.standing != Standing::Released).then(|| cur.claim.agent.clone()),
        current: Some(cur),
    }
}

fn lease_from(now: DateTime<Utc>, ttl: Duration, renewed: Option<DateTime<Utc>>) -> Lease {
    let end = now + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::MAX);
    Lease {
        ttl_s: ttl.as_secs(),
        expires_at: time::format(end),
        renewed_at: renewed.map(time::format),
        extra: Default::default(),
    }
}

/// 32 hex characters of a random uuid4.
fn new_token() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

pub mod index;

#[cfg(test)]
#[path = "claims/tests.rs"]
mod tests;
