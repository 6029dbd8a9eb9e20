//! `step-status STEP`: one line of state, read through the rules of `steps.rs`, with the
//! claim's holder, generation and lease.

use serde_json::json;

use super::claim::claim_json;
use crate::app::App;
use crate::cli::StepArgs;
use crate::ids;
use crate::outcome::Outcome;
use crate::steps;

pub async fn run(app: &App, args: StepArgs) -> anyhow::Result<Outcome> {
    let sid = ids::normalize_step(&args.step)?;
    let view = steps::read(app, &sid).await?;
    let state = view.state();
    let mut human = match view.agent() {
        Some(agent) => format!("{}: {state} (agent: {agent})", args.step),
        None => format!("{}: {state}", args.step),
    };
    // Only leases add to the line, so unleased claims read exactly as they always have.
    let leased = view.claim.as_ref().filter(|c| c.claim.lease.is_some());
    if let Some(c) = leased.filter(|_| view.holder().is_some()) {
        human.push_str(&format!(
            " · claim generation {}, {}",
            c.claim.generation(),
            c.standing.describe()
        ));
    }
    let status = view.status.as_ref().map(|s| &s.value);
    app.printer.result(
        human,
        &json!({
            "step": args.step,
            "id": sid,
            "status": state,
            "agent": view.agent(),
            "holder": view.holder(),
            "claimed_at": view.claim.as_ref().and_then(|c| c.claim.claimed_at.clone()),
            "started_at": status.and_then(|s| s.started_at.clone()),
            "completed_at": status.and_then(|s| s.completed_at.clone()),
            "claim": view.claim.as_ref().map(|c| claim_json(&c.claim, Some(c.standing))),
        }),
    );
    Ok(Outcome::Success)
}
