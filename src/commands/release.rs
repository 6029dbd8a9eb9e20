//! `release STEP`: the holder gives a step back. The claim document stays, marked released
//! (so the next `claim` is a takeover at the next generation and history is kept), and the
//! status reads `pending` again. Anyone else gets exit 3 and learns who holds it.

use serde_json::json;

use crate::app::App;
use crate::claims::Claims;
use crate::cli::StepArgs;
use crate::docs::{self, Status};
use crate::events::{self, Event};
use crate::ids;
use crate::keys;
use crate::outcome::Outcome;
use crate::store::PutMode;

pub async fn run(app: &App, args: StepArgs) -> anyhow::Result<Outcome> {
    let sid = ids::normalize_step(&args.step)?;
    let me = app.agent().to_string();
    let claims = Claims::new(app.store.as_ref(), &me);
    let released = match claims.release(&sid).await? {
        Ok(claim) => claim,
        Err(not_held) => {
            let who = match &not_held.holder {
                Some(h) => format!("held by {h}"),
                None => "not held by anyone".into(),
            };
            app.printer.refusal(
                format!("Step {} is {who}, not by {me}", args.step),
                Some("only the holder releases a step"),
                &json!({"released": false, "step": args.step, "id": sid, "holder": not_held.holder}),
            );
            return Ok(Outcome::Conflict);
        }
    };
    // The claim decides the state; this makes the step read `pending` to tools that only
    // read the status (a takeover racing this write still reads as in progress).
    let status = Status {
        status: docs::PENDING.into(),
        agent: None,
        started_at: None,
        completed_at: None,
        extra: Default::default(),
    };
    let status_key = keys::step_status(&sid);
    let event = Event::new("release")
        .step(Some(&args.step))
        .key(keys::step_claim(&sid))
        .with("generation", released.generation());
    let (written, (), _) = tokio::join!(
        app.write(&status_key, &status, PutMode::Overwrite),
        app.refresh_presence_leaving(&sid),
        events::record(app, event),
    );
    written?;
    app.printer.result(
        format!(
            "Released step {} (generation {})",
            args.step,
            released.generation()
        ),
        &json!({
            "released": true,
            "step": args.step,
            "id": sid,
            "agent": me,
            "generation": released.generation(),
            "released_at": released.released_at,
        }),
    );
    Ok(Outcome::Success)
}
