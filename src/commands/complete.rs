//! `complete STEP`: the holder (or anyone with `--force`) marks its claim finished by
//! compare-and-swap, then records the step's final status and a schema-2 handoff for
//! whoever picks up next (with `--to A`, also a direct `handoff` message in A's inbox). A holder whose claim was taken over is refused (exit 3) before
//! anything is written.

use anyhow::Context;
use serde_json::json;

use crate::app::App;
use crate::claims::{Claims, Finish};
use crate::cli::CompleteArgs;
use crate::docs::{self, Handoff, Status};
use crate::events::{self, Event};
use crate::ids;
use crate::keys;
use crate::messaging::outbox;
use crate::outcome::Outcome;
use crate::steps;
use crate::store::PutMode;
use crate::time;

pub async fn run(app: &App, args: CompleteArgs) -> anyhow::Result<Outcome> {
    let sid = ids::normalize_step(&args.step)?;
    if let Some(to) = &args.to {
        ids::check_agent(to)?;
    }
    let me = app.agent().to_string();
    // Read the step and the changed files at the same time: both are waits.
    let changed = async {
        if args.changed_files_from_git {
            let cwd = std::env::current_dir()?;
            tokio::task::spawn_blocking(move || changed_files(&cwd))
                .await
                .map(Some)
                .map_err(anyhow::Error::from)
        } else {
            Ok(None)
        }
    };
    let (view, changed) = tokio::join!(steps::read(app, &sid), changed);
    let (view, changed_files) = (view?, changed?);

    let state = if args.blocked {
        docs::BLOCKED
    } else if args.needs_review {
        docs::NEEDS_REVIEW
    } else {
        docs::COMPLETE
    };
    // The claim is marked finished first, by compare-and-swap against the version just
    // read: a takeover racing this completion is decided here, before anything is written.
    let claims = Claims::new(app.store.as_ref(), &me);
    let started_from_claim = view.claim.as_ref().and_then(|c| c.claim.claimed_at.clone());
    let forced_from = match claims
        .finish(&sid, view.claim.clone(), state, args.force)
        .await?
    {
        Finish::Finished { forced_from, .. } => forced_from,
        Finish::NotHeld(not_held) => {
            let holder = not_held.holder.unwrap_or_else(|| "nobody".into());
            let standing = not_held.current.as_ref().map(|c| c.standing);
            let taken = not_held
                .current
                .as_ref()
                .is_some_and(|c| c.claim.previous_holder.as_deref() == Some(me.as_str()));
            app.printer.refusal(
                format!(
                    "Step {} is claimed by {holder}{}, not by {me}{}",
                    args.step,
                    standing
                        .map(|s| format!(" ({})", s.describe()))
                        .unwrap_or_default(),
                    if taken { ": your claim was taken over" } else { "" }
                ),
                Some("only the holder completes a step; nothing was written. Pass --force to complete it anyway (e.g. if the holder crashed)"),
                &json!({"completed": false, "step": args.step, "id": sid, "holder": holder}),
            );
            return Ok(Outcome::Conflict);
        }
    };

    let now = time::now_iso();
    let started_at = view
        .status
        .as_ref()
        .and_then(|s| s.value.started_at.clone())
        .or(started_from_claim)
        .or_else(|| Some(now.clone()));
    let status = Status {
        status: state.into(),
        agent: Some(me.clone()),
        started_at,
        completed_at: (state == docs::COMPLETE).then(|| now.clone()),
        extra: Default::default(),
    };
    let mut handoff = Handoff {
        schema: 2,
        from_agent: me.clone(),
        from_step: args.step.clone(),
        next_agent: args.to.clone(),
        state: state.into(),
        next_action: args.next_action.clone(),
        note: args.note.clone().unwrap_or_default(),
        created_at: Some(now.clone()),
        changed_files: changed_files.clone(),
        extra: Default::default(),
    };
    if let Some(previous) = &forced_from {
        handoff.extra.insert("forced".into(), json!(true));
        handoff
            .extra
            .insert("previous_holder".into(), json!(previous));
    }
    let (status_key, handoff_key) = (keys::step_status(&sid), keys::step_handoff(&sid));
    let event = Event::new("complete")
        .step(Some(&args.step))
        .key(status_key.clone())
        .with("status", state)
        .with("to", &args.to)
        .with("forced_from", &forced_from)
        .with("changed_files", changed_files.as_ref().map(Vec::len));
    let (s, h, (), _) = tokio::join!(
        app.write(&status_key, &status, PutMode::Overwrite),
        app.write(&handoff_key, &handoff, PutMode::Overwrite),
        app.refresh_presence_leaving(&sid),
        events::record(app, event),
    );
    s?;
    h?;
    let delivered = match &args.to {
        Some(to) => Some(
            deliver_handoff(app, to, &args, state)
                .await
                .with_context(|| {
                    format!(
                        "step {} is {state}, but the handoff message to {to} was not delivered",
                        args.step
                    )
                })?,
        ),
        None => None,
    };

    let mut line = match state {
        docs::BLOCKED => format!("Blocked step {}", args.step),
        docs::NEEDS_REVIEW => format!("Needs review on step {}", args.step),
        _ => format!("Completed step {}", args.step),
    };
    if let Some(to) = &args.to {
        line.push_str(&format!(" → handed off to {to}"));
    }
    if let Some(files) = &changed_files {
        line.push_str(&format!(" ({} changed file(s))", files.len()));
    }
    if let Some(previous) = &forced_from {
        app.printer.warn(format!(
            "completed with --force; the claim was held by {previous}"
        ));
    }
    app.printer.result(
        line,
        &json!({
            "step": args.step,
            "id": sid,
            "status": state,
            "agent": me,
            "next_agent": args.to,
            "next_action": args.next_action,
            "changed_files": changed_files,
            "forced": forced_from.is_some(),
            "message_key": delivered,
        }),
    );
    Ok(Outcome::Success)
}

/// `complete STEP --to A` also puts a direct message in A's inbox (contract section 10):
/// `"kind": "handoff"`, the step, and the note and next action in the text. Returns its key.
async fn deliver_handoff(
    app: &App,
    to: &str,
    args: &CompleteArgs,
    state: &str,
) -> anyhow::Result<String> {
    let mut text = format!("Handoff: step {} is {state}", args.step);
    if let Some(note) = args.note.as_deref().filter(|n| !n.is_empty()) {
        text.push_str(&format!(". Note: {note}"));
    }
    if let Some(next) = args.next_action.as_deref().filter(|n| !n.is_empty()) {
        text.push_str(&format!(". Next: {next}"));
    }
    let sent = outbox::send(
        app,
        outbox::Outgoing {
            to: to.to_string(),
            message: text,
            step: Some(args.step.clone()),
            kind: Some("handoff".into()),
            ..Default::default()
        },
    )
    .await?;
    Ok(sent.key)
}

/// Paths changed in the repository around `dir`, staged or not, against HEAD; an empty
/// list outside a repository.
fn changed_files(dir: &std::path::Path) -> Vec<String> {
    let Ok(repo) = git2::Repository::discover(dir) else {
        return vec![];
    };
    let mut opts = git2::StatusOptions::new();
    opts.include_untracked(false)
        .include_ignored(false)
        .renames_head_to_index(true);
    let Ok(statuses) = repo.statuses(Some(&mut opts)) else {
        return vec![];
    };
    let mut files: Vec<String> = statuses
        .iter()
        .filter(|e| e.status() != git2::Status::CURRENT)
        .filter_map(|e| e.path().map(str::to_string))
        .collect();
    files.sort();
    files.dedup();
    files
}
