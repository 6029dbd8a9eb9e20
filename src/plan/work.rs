//! Working from the plan: `claim --next` (claim the first ready step this agent wins,
//! waiting for one if asked) and `wait-for --plan` (wait until every step is complete).
//!
//! Every claim goes through `claims.rs`, so the store decides each race: of any number of
//! agents claiming at once, each ready step goes to exactly one. An agent that loses a step
//! moves on to the next ready one, and when it has lost every step of its view it reads
//! the plan again rather than give up while a ready step may be left: it only reports
//! "nothing ready" from a view in which nothing is.
//!
//! Waiting polls the `steps/` listing alone (one request per 1,000 documents) and reads
//! the plan again only when the listing changed, or every few seconds so that leases
//! running out are noticed.

use std::time::Duration;

use tokio::time::Instant;

use super::{Outlook, PlanView, load};
use crate::app::App;
use crate::claims::{Acquire, Claims, TakenOver};
use crate::docs::Claim;
use crate::steps;

const FIRST_POLL: Duration = Duration::from_millis(100);
const MAX_POLL: Duration = Duration::from_secs(1);
/// A waiting agent reads the plan at least this often even when no document changed: a
/// lease may have run out meanwhile.
const REREAD_EVERY: Duration = Duration::from_secs(5);
/// Rounds of "every ready step in the view was lost": each lost round means other agents
/// won steps, so this only bounds a pathological churn.
const MAX_LOST_ROUNDS: usize = 64;

#[derive(Clone, Debug, Default)]
pub struct NextOptions {
    pub label: Option<String>,
    pub ttl: Option<Duration>,
    pub wait: bool,
    /// With `wait`: give up after this long (`None`: wait forever).
    pub timeout: Option<Duration>,
}

/// How `claim --next` ended.
// One value per call, moved once: boxing the claimed variant would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
pub enum Next {
    /// Exit 0: the caller now holds the step (its status reads `in_progress`).
    Claimed {
        sid: String,
        /// The step's name as typed in the plan.
        name: String,
        claim: Claim,
        took_over: Option<TakenOver>,
        view: PlanView,
    },
    /// Exit 3: nothing ready now; steps held (or in review) may still unblock work.
    NothingReady { view: PlanView },
    /// Exit 4: waited past the timeout.
    TimedOut { view: PlanView },
    /// Exit 5: nothing can become ready; `stuck_on` names the blocked (or unknown) steps.
    Stuck {
        stuck_on: Vec<String>,
        view: PlanView,
    },
    /// Exit 6: every step of the plan (with the label) is complete.
    Complete { view: PlanView },
}

/// A polling schedule growing by half from [`FIRST_POLL`] to [`MAX_POLL`].
struct Poll {
    next: Duration,
}

impl Poll {
    fn new() -> Self {
        Poll { next: FIRST_POLL }
    }

    fn delay(&mut self) -> Duration {
        let d = self.next;
        self.next = (self.next * 3 / 2).min(MAX_POLL);
        d
    }
}

/// Waits until the `steps/` listing differs from `seen` (or [`REREAD_EVERY`] passed);
/// `false` when `deadline` came first.
async fn wait_for_change(app: &App, seen: u64, deadline: Option<Instant>) -> anyhow::Result<bool> {
    let started = Instant::now();
    let mut poll = Poll::new();
    loop {
        let mut delay = poll.delay();
        if let Some(deadline) = deadline {
            let now = Instant::now();
            if now >= deadline {
                return Ok(false);
            }
            delay = delay.min(deadline - now);
        }
        tokio::time::sleep(delay).await;
        if started.elapsed() >= REREAD_EVERY || super::fingerprint(app).await? != seen {
            return Ok(true);
        }
    }
}

/// Claims the first ready step (with `opts.label`) the caller wins, and records it
/// started; see [`Next`] for the other endings.
pub async fn claim_next(app: &App, opts: &NextOptions) -> anyhow::Result<Next> {
    let claims = Claims::new(app.store.as_ref(), app.agent());
    let label = opts.label.as_deref();
    let deadline = opts.timeout.map(|t| Instant::now() + t);
    let mut lost_rounds = 0;
    loop {
        let view = load(app).await?;
        let ready: Vec<(String, String)> = view
            .ready(label)
            .iter()
            .map(|s| (s.spec.id.clone(), s.spec.display_name().to_string()))
            .collect();
        for (sid, name) in &ready {
            match claims.acquire(sid, opts.ttl).await? {
                Acquire::Won { claim, took_over } => {
                    let event = steps::claim_event(name, sid, &claim, took_over.as_ref())
                        .with("next", true);
                    steps::mark_started(app, sid, claim.claimed_at.clone(), event).await?;
                    return Ok(Next::Claimed {
                        sid: sid.clone(),
                        name: name.clone(),
                        claim,
                        took_over,
                        view,
                    });
                }
                // Someone else won it (or finished it meanwhile): on to the next.
                Acquire::Held { .. } | Acquire::Finished { .. } => {}
            }
        }
        if !ready.is_empty() && lost_rounds < MAX_LOST_ROUNDS {
            // Every ready step of this view went to others; others may have become ready.
            lost_rounds += 1;
            continue;
        }
        match view.outlook(label) {
            Outlook::Complete => return Ok(Next::Complete { view }),
            Outlook::Stuck { stuck_on } => return Ok(Next::Stuck { stuck_on, view }),
            Outlook::Ready | Outlook::Later if !opts.wait => {
                return Ok(Next::NothingReady { view });
            }
            Outlook::Ready | Outlook::Later => {
                lost_rounds = 0;
                if !wait_for_change(app, view.fingerprint, deadline).await? {
                    return Ok(Next::TimedOut { view });
                }
            }
        }
    }
}

/// How `wait-for --plan` ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlanEnd {
    Complete,
    /// A step is blocked (or the rest can never become ready).
    Blocked,
    TimedOut,
}

/// Waits until every step of the plan (with `label`) is complete, a step is blocked, or
/// `timeout` passes. `progress` sees every view read while waiting.
pub async fn wait_complete(
    app: &App,
    label: Option<&str>,
    timeout: Option<Duration>,
    mut progress: impl FnMut(&PlanView),
) -> anyhow::Result<(PlanEnd, PlanView)> {
    let deadline = timeout.map(|t| Instant::now() + t);
    loop {
        let view = load(app).await?;
        let counts = view.counts(label);
        if counts.blocked > 0 || matches!(view.outlook(label), Outlook::Stuck { .. }) {
            return Ok((PlanEnd::Blocked, view));
        }
        if counts.total() == counts.complete {
            return Ok((PlanEnd::Complete, view));
        }
        progress(&view);
        if !wait_for_change(app, view.fingerprint, deadline).await? {
            return Ok((PlanEnd::TimedOut, view));
        }
    }
}
