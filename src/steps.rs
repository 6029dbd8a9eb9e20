//! How a step's state is read: its claim and status documents together. A terminal status
//! (complete, blocked, needs review) stands; otherwise the claim decides: a live claim
//! (leased, unleased, or expired but not yet taken over) reads as `in_progress` by its
//! holder even before its status is written (the crash window of contract section 3), a
//! released claim as `pending`, a finished claim as the status it finished with.

use std::collections::BTreeMap;

use futures::{StreamExt, TryStreamExt};

use crate::app::{App, Doc, decode};
use crate::cache::DocCache;
use crate::claims::{Claims, Current};
use crate::docs::{self, Claim, Status};
use crate::keys;
use crate::lease::Standing;
use crate::store::{ListEntry, Object};

#[derive(Clone, Debug)]
pub struct StepView {
    pub sid: String,
    pub claim: Option<Current>,
    pub status: Option<Doc<Status>>,
}

fn is_terminal(status: &str) -> bool {
    matches!(status, docs::COMPLETE | docs::BLOCKED | docs::NEEDS_REVIEW)
}

impl StepView {
    /// `pending`, `in_progress`, `complete`, `blocked` or `needs_review`.
    pub fn state(&self) -> &str {
        let status = self.status.as_ref().map(|s| s.value.status.as_str());
        if let Some(s) = status.filter(|s| is_terminal(s)) {
            return s;
        }
        match self.claim.as_ref().map(|c| (c.standing, &c.claim)) {
            Some((Standing::Finished, c)) => c.finished_status.as_deref().unwrap_or(docs::COMPLETE),
            Some((Standing::Released, _)) => docs::PENDING,
            Some(_) => docs::IN_PROGRESS,
            None => status.unwrap_or(docs::PENDING),
        }
    }

    /// Who the state belongs to: the live claim's holder, else the status's agent, else
    /// the claimer.
    pub fn agent(&self) -> Option<&str> {
        if let Some(holder) = self.holder() {
            return Some(holder);
        }
        if self.state() == docs::PENDING {
            return None;
        }
        self.status
            .as_ref()
            .and_then(|s| s.value.agent.as_deref())
            .or_else(|| self.claim.as_ref().map(|c| c.claim.agent.as_str()))
    }

    /// Who holds the claim now, if anyone: a released or finished claim, or one on a step
    /// whose status is final (a plain claim stays behind after `complete`), has no holder.
    pub fn holder(&self) -> Option<&str> {
        let settled = self
            .status
            .as_ref()
            .is_some_and(|s| is_terminal(&s.value.status));
        self.claim
            .as_ref()
            .filter(|c| !settled && !matches!(c.standing, Standing::Released | Standing::Finished))
            .map(|c| c.claim.agent.as_str())
    }
}

/// Every step that has any document, in step-id order: one fresh listing, and the claim
/// and status documents it shows read through the document cache, so a repeated call
/// fetches only what changed. Claims taken from the cache are judged on the local clock
/// against the store's write time (no store was asked for its time).
pub async fn read_all(app: &App) -> anyhow::Result<Vec<StepView>> {
    let listing = app.store.list(keys::STEPS_DIR, None).await?;
    read_all_of(app, &listing).await
}

/// [`read_all`] on a listing of `steps/` the caller took (`status` shares one with the
/// plan's specs).
pub async fn read_all_of(app: &App, listing: &[ListEntry]) -> anyhow::Result<Vec<StepView>> {
    let mut cache = app.doc_cache("steps");
    let views = read_listed(app, listing, &mut cache, |_| true, Settled::ReadClaim).await?;
    app.save_cache(&mut cache);
    Ok(views)
}

/// Whether [`read_listed`] reads the claim of a step whose status is final.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    /// Read claims and statuses in one pass (the claim shows who finished it).
    ReadClaim,
    /// Read statuses first, and claims only of steps they leave open: a complete step
    /// costs one request on a cold cache.
    SkipClaim,
}

/// The views of the steps that `wanted` picks (by step id) in a fresh `listing`, their
/// documents read through `cache`, in step-id order.
pub async fn read_listed(
    app: &App,
    listing: &[ListEntry],
    cache: &mut DocCache,
    wanted: impl Fn(&str) -> bool,
    settled: Settled,
) -> anyhow::Result<Vec<StepView>> {
    let store = app.store.as_ref();
    let mut views: BTreeMap<String, StepView> = BTreeMap::new();
    for e in listing {
        if let Some(sid) = keys::step_of(&e.key).filter(|sid| wanted(sid)) {
            views.entry(sid.to_string()).or_insert_with(|| StepView {
                sid: sid.to_string(),
                claim: None,
                status: None,
            });
        }
    }
    let claims = Claims::new(store, app.agent());
    let place = |views: &mut BTreeMap<String, StepView>, obj: Object| -> anyhow::Result<()> {
        let key = &obj.meta.key;
        if let Some(sid) = keys::claim_step_of(key) {
            let claim: Claim = decode(key, &obj.body)?;
            let standing = claims.judge(&claim, &obj.meta);
            if let Some(v) = views.get_mut(sid) {
                v.claim = Some(Current {
                    claim,
                    meta: obj.meta,
                    standing,
                });
            }
        } else if let Some(sid) = keys::status_step_of(key) {
            let value: Status = decode(key, &obj.body)?;
            if let Some(v) = views.get_mut(sid) {
                v.status = Some(Doc {
                    value,
                    meta: obj.meta,
                });
            }
        }
        Ok(())
    };
    let first = cache
        .read_listed(store, listing, |k| match settled {
            Settled::ReadClaim => keys::claim_step_of(k)
                .or_else(|| keys::status_step_of(k))
                .is_some_and(|sid| views.contains_key(sid)),
            Settled::SkipClaim => {
                keys::status_step_of(k).is_some_and(|sid| views.contains_key(sid))
            }
        })
        .await?;
    for obj in first {
        place(&mut views, obj)?;
    }
    if settled == Settled::SkipClaim {
        let open: std::collections::HashSet<String> = views
            .values()
            .filter(|v| {
                !v.status
                    .as_ref()
                    .is_some_and(|s| is_terminal(&s.value.status))
            })
            .map(|v| v.sid.clone())
            .collect();
        let cached = cache
            .read_listed(store, listing, |k| {
                keys::claim_step_of(k).is_some_and(|sid| open.contains(sid))
            })
            .await?;
        for obj in cached {
            place(&mut views, obj)?;
        }
        // The plan decides on open steps' claims (an expired lease is ready), and a cached
        // claim is judged on the local clock against a write time the store may round down
        // to the second. Far from its end that cannot change the verdict; a claim the
        // cached copy puts near or past its end is read again from the store, with its
        // clock, so only leases about to lapse (or lapsed) cost a request on a warm cache.
        let uncertain: Vec<String> = views
            .values()
            .filter(|v| v.claim.as_ref().is_some_and(|c| near_end(&c.standing)))
            .map(|v| v.sid.clone())
            .collect();
        let read: Vec<(String, Option<Current>)> = futures::stream::iter(uncertain)
            .map(|sid| {
                let claims = &claims;
                async move { Ok::<_, anyhow::Error>((sid.clone(), claims.read(&sid).await?)) }
            })
            .buffered(crate::app::FETCH_CONCURRENCY)
            .try_collect()
            .await?;
        for (sid, current) in read {
            if let Some(v) = views.get_mut(&sid) {
                v.claim = current;
            }
        }
    }
    Ok(views.into_values().collect())
}

/// How close to its end a lease judged on the local clock must be for the judgement to
/// need the store's clock. The store may round a write time down by a second and hosts'
/// clocks differ by up to the skew allowance; the margin is far wider, since a re-read
/// costs one request and only leases about to lapse pay it.
const NEAR_END: std::time::Duration = std::time::Duration::from_secs(30);

/// Whether a claim judged from a cached copy is near enough to (or past) its end that the
/// store must judge it again.
fn near_end(standing: &Standing) -> bool {
    match standing {
        Standing::Leased { left } => *left < NEAR_END,
        Standing::Expired { .. } => true,
        _ => false,
    }
}

/// Reads a step's claim and status concurrently.
pub async fn read(app: &App, sid: &str) -> anyhow::Result<StepView> {
    let claims = Claims::new(app.store.as_ref(), app.agent());
    let status_key = keys::step_status(sid);
    let (claim, status) = tokio::join!(claims.read(sid), app.read::<Status>(&status_key));
    Ok(StepView {
        sid: sid.to_string(),
        claim: claim?,
        status: status?,
    })
}

/// Records that the caller started `sid` after winning its claim: the status
/// `in_progress`, and the presence record naming the step (the presence refresh never
/// fails the call), with its event `claim` or `takeover` written alongside.
pub async fn mark_started(
    app: &App,
    sid: &str,
    started_at: Option<String>,
    event: crate::events::Event,
) -> anyhow::Result<()> {
    let status = Status {
        status: docs::IN_PROGRESS.into(),
        agent: Some(app.agent().to_string()),
        started_at,
        completed_at: None,
        extra: Default::default(),
    };
    let status_key = keys::step_status(sid);
    let (written, (), _) = tokio::join!(
        app.write(&status_key, &status, crate::store::PutMode::Overwrite),
        app.refresh_presence(Some(Some(sid.to_string())), None),
        crate::events::record(app, event),
    );
    written?;
    Ok(())
}

/// The event of winning a claim: `claim`, or `takeover` when it took an expired or
/// released claim over (contract section 13).
pub fn claim_event(
    step: &str,
    sid: &str,
    claim: &crate::docs::Claim,
    took_over: Option<&crate::claims::TakenOver>,
) -> crate::events::Event {
    crate::events::Event::new(if took_over.is_some() {
        "takeover"
    } else {
        "claim"
    })
    .step(Some(step))
    .key(keys::step_claim(sid))
    .with("generation", claim.generation())
    .with("ttl_s", claim.lease.as_ref().map(|l| l.ttl_s))
    .with("from", took_over.map(|t| &t.from))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn only_leases_near_or_past_their_end_need_the_store_clock() {
        let leased = |s: u64| Standing::Leased {
            left: Duration::from_secs(s),
        };
        assert!(near_end(&leased(0)));
        assert!(near_end(&leased(29)));
        assert!(!near_end(&leased(30)));
        assert!(!near_end(&leased(3600)));
        assert!(near_end(&Standing::Expired {
            ago: Duration::from_millis(1)
        }));
        assert!(!near_end(&Standing::Held));
        assert!(!near_end(&Standing::Released));
        assert!(!near_end(&Standing::Finished));
    }
}
