//! How a step's state is read: its claim and status documents together. A terminal status
//! (complete, blocked, needs review) stands; otherwise the claim decides: a live claim
//! (leased, unleased, or expired but not yet taken over) reads as `in_progress` by its
//! holder even before its status is written (the crash window of contract section 3), a
//! released claim as `pending`, a finished claim as the status it finished with.

use futures::StreamExt;

use crate::app::{App, Doc, FETCH_CONCURRENCY};
use crate::claims::{Claims, Current};
use crate::docs::{self, Status};
use crate::keys;
use crate::lease::Standing;

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

/// Every step that has any document, read concurrently, in step-id order.
pub async fn read_all(app: &App) -> anyhow::Result<Vec<StepView>> {
    let entries = app.store.list(keys::STEPS_DIR, None).await?;
    let mut sids: Vec<String> = entries
        .iter()
        .filter_map(|e| keys::step_of(&e.key))
        .map(str::to_string)
        .collect();
    sids.dedup();
    futures::stream::iter(sids)
        .map(|sid| async move { read(app, &sid).await })
        .buffered(FETCH_CONCURRENCY)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect()
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
