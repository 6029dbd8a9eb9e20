//! `claim STEP [--ttl D]`: take a step with the store's atomic create, or take over a claim
//! whose lease has expired (or that was released) with a compare-and-swap on the version
//! read, so of any number of simultaneous claimers exactly one wins; then record
//! `in_progress`. The protocol is in `claims.rs`; this file decides what to say.

use serde_json::{Value, json};

use crate::app::App;
use crate::claims::{Acquire, Claims, TakenOver};
use crate::cli::ClaimArgs;
use crate::docs::{self, Claim, Status};
use crate::events::{self, Event};
use crate::ids;
use crate::keys;
use crate::lease::{self, Standing};
use crate::outcome::Outcome;
use crate::store::PutMode;

pub async fn run(app: &App, args: ClaimArgs) -> anyhow::Result<Outcome> {
    let sid = ids::normalize_step(&args.step)?;
    let ttl = match &args.ttl {
        Some(text) => Some(lease::parse_ttl(text)?),
        None => app.config.claim_ttl()?,
    };
    let me = app.agent().to_string();
    let claims = Claims::new(app.store.as_ref(), &me);
    if !claims.exact() {
        app.printer.warn(format!(
            "the {} backend has no conditional writes, so this claim (and any takeover) is \
             best-effort: two agents claiming at the same moment could both succeed. Use an \
             S3-compatible backend or the Hugging Face S3 gateway (init --access-key/--secret-key) \
             for exact claims.",
            app.store.backend()
        ));
    }

    let (claim, took_over) = match claims.acquire(&sid, ttl).await? {
        Acquire::Won { claim, took_over } => (claim, took_over),
        Acquire::Held { holder, current } => {
            let you = if holder == me { " (you)" } else { "" };
            let hint = (holder == me && current.standing != Standing::Held)
                .then_some("you hold it already: `tracecraft renew` extends your lease");
            let wait = match current.standing {
                Standing::Expired { ago } => format!(
                    "; it may be taken over in {}s",
                    (lease::SKEW_ALLOWANCE.saturating_sub(ago)).as_secs() + 1
                ),
                _ => String::new(),
            };
            app.printer.refusal(
                format!(
                    "Step {} already claimed by {holder}{you} (generation {}, {}{wait})",
                    args.step,
                    current.claim.generation(),
                    current.standing.describe()
                ),
                hint,
                &json!({
                    "claimed": false,
                    "step": args.step,
                    "id": sid,
                    "holder": holder,
                    "claim": claim_json(&current.claim, Some(current.standing)),
                }),
            );
            return Ok(Outcome::Conflict);
        }
        Acquire::Finished { holder, status } => {
            app.printer.refusal(
                format!(
                    "Step {} is already {status} (claimed by {holder}); a finished step is never taken over",
                    args.step
                ),
                None,
                &json!({"claimed": false, "step": args.step, "id": sid, "holder": holder, "status": status}),
            );
            return Ok(Outcome::Conflict);
        }
    };

    let now = claim.claimed_at.clone();
    let status = Status {
        status: docs::IN_PROGRESS.into(),
        agent: Some(me.clone()),
        started_at: now.clone(),
        completed_at: None,
        extra: Default::default(),
    };
    let status_key = keys::step_status(&sid);
    let event = Event::new(if took_over.is_some() {
        "takeover"
    } else {
        "claim"
    })
    .step(Some(&args.step))
    .key(keys::step_claim(&sid))
    .with("generation", claim.generation())
    .with("ttl_s", claim.lease.as_ref().map(|l| l.ttl_s))
    .with("from", took_over.as_ref().map(|t| &t.from));
    let (written, (), _) = tokio::join!(
        app.write(&status_key, &status, PutMode::Overwrite),
        app.refresh_presence(Some(Some(sid.clone())), None),
        events::record(app, event),
    );
    written?;

    let mut line = format!("Claimed step {} as {me}", args.step);
    if let Some(l) = &claim.lease {
        line.push_str(&format!(
            " (lease {}, renew before it runs out)",
            crate::time::age_secs(l.ttl_s as i64)
        ));
    }
    if let Some(t) = &took_over {
        line.push_str(&format!("\n{}", took_over_line(t, claim.generation())));
    }
    app.printer.result(
        line,
        &json!({
            "claimed": true,
            "step": args.step,
            "id": sid,
            "agent": me,
            "claimed_at": now,
            "generation": claim.generation(),
            "token": claim.token,
            "lease": claim.lease,
            "took_over": took_over.as_ref().map(|t| json!({
                "from": t.from,
                "generation": t.generation,
                "reason": t.standing.name(),
                "expired_ago_s": t.standing.left_s().map(|s| -s),
            })),
        }),
    );
    Ok(Outcome::Success)
}

fn took_over_line(t: &TakenOver, generation: u64) -> String {
    let why = match t.standing {
        Standing::Expired { ago } => format!(
            "its lease expired {} ago",
            crate::time::age_secs(ago.as_secs() as i64)
        ),
        _ => "they had released it".into(),
    };
    format!(
        "Took over from {} (generation {} → {generation}): {why}",
        t.from, t.generation
    )
}

/// A claim as `claim`, `renew`, `step-status` and `status` print it in JSON.
pub fn claim_json(claim: &Claim, standing: Option<Standing>) -> Value {
    json!({
        "holder": claim.agent,
        "generation": claim.generation(),
        "claimed_at": claim.claimed_at,
        "lease": claim.lease,
        "state": standing.map(Standing::name),
        "lease_left_s": standing.and_then(Standing::left_s),
        "previous_holder": claim.previous_holder,
    })
}
