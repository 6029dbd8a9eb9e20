//! How a step's state is read: its claim and status documents together, honouring the
//! crash window of contract section 3 (a claim with no status reads as `in_progress` by
//! the claimer; a step with neither is `pending`).

use crate::app::{App, Doc};
use crate::docs::{self, Claim, Status};
use crate::keys;

#[derive(Clone, Debug)]
pub struct StepView {
    pub sid: String,
    pub claim: Option<Doc<Claim>>,
    pub status: Option<Doc<Status>>,
}

impl StepView {
    /// `pending`, `in_progress`, `complete`, `blocked` or `needs_review`.
    pub fn state(&self) -> &str {
        match (&self.status, &self.claim) {
            (Some(s), _) => &s.value.status,
            (None, Some(_)) => docs::IN_PROGRESS,
            (None, None) => docs::PENDING,
        }
    }

    /// Who the state belongs to: the status's agent, else the claimer.
    pub fn agent(&self) -> Option<&str> {
        self.status
            .as_ref()
            .and_then(|s| s.value.agent.as_deref())
            .or_else(|| self.holder())
    }

    /// Who holds the claim, if anyone.
    pub fn holder(&self) -> Option<&str> {
        self.claim.as_ref().map(|c| c.value.agent.as_str())
    }
}

/// Reads a step's claim and status concurrently.
pub async fn read(app: &App, sid: &str) -> anyhow::Result<StepView> {
    let (claim_key, status_key) = (keys::step_claim(sid), keys::step_status(sid));
    let (claim, status) = tokio::join!(
        app.read::<Claim>(&claim_key),
        app.read::<Status>(&status_key),
    );
    Ok(StepView {
        sid: sid.to_string(),
        claim: claim?,
        status: status?,
    })
}
