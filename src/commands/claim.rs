//! `claim STEP`: take a step with the store's atomic create, so of any number of
//! simultaneous claimers exactly one wins; then record `in_progress`. On a backend without
//! atomic create the claim is a check-then-write, and says so.

use serde_json::json;

use crate::app::App;
use crate::cli::ClaimArgs;
use crate::docs::{self, Claim, Status};
use crate::ids;
use crate::keys;
use crate::outcome::Outcome;
use crate::store::PutMode;
use crate::time;

pub async fn run(app: &App, args: ClaimArgs) -> anyhow::Result<Outcome> {
    let sid = ids::normalize_step(&args.step)?;
    let me = app.agent().to_string();
    let now = time::now_iso();
    let claim_key = keys::step_claim(&sid);
    let claim = Claim {
        agent: me.clone(),
        claimed_at: Some(now.clone()),
        extra: Default::default(),
    };

    let atomic = app.store.capabilities().atomic_create;
    let won = if atomic {
        match app.write(&claim_key, &claim, PutMode::Create).await {
            Ok(_) => true,
            Err(e) if e.is_conflict() => false,
            Err(e) => return Err(e.into()),
        }
    } else {
        app.printer.warn(format!(
            "the {} backend has no conditional writes, so this claim is best-effort: two agents \
             claiming at the same moment could both succeed. Use an S3-compatible backend or the \
             Hugging Face S3 gateway (init --access-key/--secret-key) for atomic claims.",
            app.store.backend()
        ));
        match app.read::<Claim>(&claim_key).await? {
            Some(_) => false,
            None => {
                app.write(&claim_key, &claim, PutMode::Overwrite).await?;
                true
            }
        }
    };

    if !won {
        let holder = app
            .read::<Claim>(&claim_key)
            .await?
            .map(|d| d.value.agent)
            .unwrap_or_else(|| "another agent".into());
        let mine = holder == me;
        app.printer.refusal(
            format!(
                "Step {} already claimed by {holder}{}",
                args.step,
                if mine { " (you)" } else { "" }
            ),
            None,
            &json!({"claimed": false, "step": args.step, "id": sid, "holder": holder}),
        );
        return Ok(Outcome::Conflict);
    }

    let status = Status {
        status: docs::IN_PROGRESS.into(),
        agent: Some(me.clone()),
        started_at: Some(now.clone()),
        completed_at: None,
        extra: Default::default(),
    };
    let status_key = keys::step_status(&sid);
    let (written, ()) = tokio::join!(
        app.write(&status_key, &status, PutMode::Overwrite),
        app.refresh_presence(Some(Some(sid.clone())), None),
    );
    written?;
    app.printer.result(
        format!("Claimed step {} as {me}", args.step),
        &json!({"claimed": true, "step": args.step, "id": sid, "agent": me, "claimed_at": now}),
    );
    Ok(Outcome::Success)
}
