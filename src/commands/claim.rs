//! `claim STEP [--ttl D]`: take a step with the store's atomic create, or take over a claim
//! whose lease has expired (or that was released) with a compare-and-swap on the version
//! read, so of any number of simultaneous claimers exactly one wins; then record
//! `in_progress`. The protocol is in `claims.rs`; this file decides what to say.
//! `claim --next` claims the first ready step of the plan instead (`plan.rs`), with exit
//! codes 3 (nothing ready now), 4 (waited too long), 5 (nothing can become ready) and 6
//! (the plan is complete).

use serde_json::{Value, json};

use crate::app::App;
use crate::claims::{Acquire, Claims, TakenOver};
use crate::cli::ClaimArgs;
use crate::docs::Claim;
use crate::ids;
use crate::lease::{self, Standing};
use crate::outcome::{Outcome, UsageError};
use crate::plan;
use crate::steps;

pub async fn run(app: &App, args: ClaimArgs) -> anyhow::Result<Outcome> {
    let step = args.step.clone().unwrap_or_default();
    let sid = if args.next {
        String::new()
    } else {
        ids::normalize_step(&step)?
    };
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

    if args.next {
        return next(app, &args, ttl).await;
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
                    "Step {step} already claimed by {holder}{you} (generation {}, {}{wait})",
                    current.claim.generation(),
                    current.standing.describe()
                ),
                hint,
                &json!({
                    "claimed": false,
                    "step": step,
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
                    "Step {step} already claimed by {holder}: it is {status}, and a finished step is never taken over"
                ),
                None,
                &json!({"claimed": false, "step": step, "id": sid, "holder": holder, "status": status}),
            );
            return Ok(Outcome::Conflict);
        }
    };

    let event = steps::claim_event(&step, &sid, &claim, took_over.as_ref());
    steps::mark_started(app, &sid, claim.claimed_at.clone(), event).await?;
    announce(app, &step, &sid, &claim, took_over.as_ref(), None);
    Ok(Outcome::Success)
}

/// Prints `Claimed step STEP as A` (and the lease and takeover details); `next` carries
/// the plan's counts for `claim --next`.
fn announce(
    app: &App,
    step: &str,
    sid: &str,
    claim: &Claim,
    took_over: Option<&TakenOver>,
    next: Option<&plan::Counts>,
) {
    let me = app.agent();
    let mut line = format!("Claimed step {step} as {me}");
    if let Some(l) = &claim.lease {
        line.push_str(&format!(
            " (lease {}, renew before it runs out)",
            crate::time::age_secs(l.ttl_s as i64)
        ));
    }
    if let Some(t) = took_over {
        line.push_str(&format!("\n{}", took_over_line(t, claim.generation())));
    }
    let mut out = json!({
        "claimed": true,
        "step": step,
        "id": sid,
        "agent": me,
        "claimed_at": claim.claimed_at,
        "generation": claim.generation(),
        "token": claim.token,
        "lease": claim.lease,
        "took_over": took_over.map(|t| json!({
            "from": t.from,
            "generation": t.generation,
            "reason": t.standing.name(),
            "expired_ago_s": t.standing.left_s().map(|s| -s),
        })),
    });
    if let Some(counts) = next {
        out["next"] = json!(true);
        out["counts"] = json!(counts);
    }
    app.printer.result(line, &out);
}

/// `claim --next`: the first ready step of the plan this agent wins (contract section 10).
async fn next(
    app: &App,
    args: &ClaimArgs,
    ttl: Option<std::time::Duration>,
) -> anyhow::Result<Outcome> {
    if let Some(l) = &args.label {
        plan::spec::check_label(l)
            .map_err(|why| UsageError::new(format!("invalid label '{l}': {why}")))?;
    }
    let timeout = match args.timeout {
        None => None,
        Some(s) if s.is_finite() && s >= 0.0 => Some(std::time::Duration::from_secs_f64(s)),
        Some(s) => {
            return Err(UsageError::new(format!(
                "--timeout must be a number of seconds >= 0, not {s}"
            ))
            .into());
        }
    };
    let opts = plan::NextOptions {
        label: args.label.clone(),
        ttl,
        wait: args.wait,
        timeout,
    };
    let label = opts.label.as_deref();
    let scope = label
        .map(|l| format!(" with label {l}"))
        .unwrap_or_default();
    match plan::claim_next(app, &opts).await? {
        plan::Next::Claimed {
            sid,
            name,
            claim,
            took_over,
            view,
        } => {
            announce(
                app,
                &name,
                &sid,
                &claim,
                took_over.as_ref(),
                Some(&view.counts(label)),
            );
            Ok(Outcome::Success)
        }
        plan::Next::Complete { view } => {
            let counts = view.counts(label);
            let line = if counts.total() == 0 {
                format!("Nothing to do: the plan has no steps{scope}.")
            } else {
                format!(
                    "Plan complete: all {} steps{scope} are complete.",
                    counts.total()
                )
            };
            if app.printer.json {
                app.printer.result(
                    "",
                    &json!({"claimed": false, "next": true, "result": "complete", "counts": counts}),
                );
            } else {
                app.printer.info(line);
            }
            Ok(Outcome::PlanComplete)
        }
        plan::Next::Stuck { stuck_on, view } => {
            let counts = view.counts(label);
            app.printer.refusal(
                format!(
                    "Nothing can become ready{scope}: the remaining steps are blocked or wait on {} ({})",
                    stuck_on.join(", "),
                    counts.line()
                ),
                Some("resolve the blocked step (see `tracecraft handoff STEP`), then claim again"),
                &json!({"claimed": false, "next": true, "result": "blocked", "stuck_on": stuck_on, "counts": counts}),
            );
            Ok(Outcome::Blocked)
        }
        plan::Next::NothingReady { view } => {
            let counts = view.counts(label);
            let held: Vec<String> = view
                .scoped(label)
                .iter()
                .filter_map(|s| {
                    s.holder
                        .as_ref()
                        .map(|h| format!("{} ({h})", s.spec.display_name()))
                })
                .collect();
            app.printer.refusal(
                format!(
                    "No step is ready{scope}; in progress: {} ({})",
                    if held.is_empty() {
                        "-".to_string()
                    } else {
                        held.join(", ")
                    },
                    counts.line()
                ),
                Some("pass --wait to wait until one is"),
                &json!({"claimed": false, "next": true, "result": "none_ready", "counts": counts}),
            );
            Ok(Outcome::Conflict)
        }
        plan::Next::TimedOut { view } => {
            let counts = view.counts(label);
            app.printer.refusal(
                format!("Timed out; no step became ready{scope} ({})", counts.line()),
                None,
                &json!({"claimed": false, "next": true, "result": "timeout", "counts": counts}),
            );
            Ok(Outcome::TimedOut)
        }
    }
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
