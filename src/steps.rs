//! How a step's state is read: its claim and status documents together. A terminal status
//! (complete, blocked, needs review) stands; otherwise the claim decides: a live claim
//! (leased, unleased, or expired but not yet taken over) reads as `in_progress` by its
//! holder even before its status is written (the crash window of contract section 3), a
//! released claim as `pending`, a finished claim as the status it finished with.

use crate::app::{App, Doc};
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

    /// Who holds the claim now, if anyone (a released or finished claim has no holder).
    pub fn holder(&self) -> Option<&str> {
        self.claim
            .as_ref()
            .filter(|c| !matches!(c.standing, Standing::Released | Standing::Finished))
            .map(|c| c.claim.agent.as_str())
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
