//! `step-status STEP`: one line of state, read through the crash-window rule.

use serde_json::json;

use crate::app::App;
use crate::cli::StepArgs;
use crate::ids;
use crate::outcome::Outcome;
use crate::steps;

pub async fn run(app: &App, args: StepArgs) -> anyhow::Result<Outcome> {
    let sid = ids::normalize_step(&args.step)?;
    let view = steps::read(app, &sid).await?;
    let state = view.state();
    let human = match view.agent() {
        Some(agent) => format!("{}: {state} (agent: {agent})", args.step),
        None => format!("{}: {state}", args.step),
    };
    let status = view.status.as_ref().map(|s| &s.value);
    app.printer.result(
        human,
        &json!({
            "step": args.step,
            "id": sid,
            "status": state,
            "agent": view.agent(),
            "holder": view.holder(),
            "claimed_at": view.claim.as_ref().and_then(|c| c.value.claimed_at.clone()),
            "started_at": status.and_then(|s| s.started_at.clone()),
            "completed_at": status.and_then(|s| s.completed_at.clone()),
        }),
    );
    Ok(Outcome::Success)
}
