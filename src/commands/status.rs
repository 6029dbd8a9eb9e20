//! `status [--watch]`: agents, steps (and the plan's counts), path reservations, mailboxes
//! and sessions on one screen, each section read concurrently from fresh listings plus the
//! documents they show, taken through the document cache (`cache.rs`), so a repeated call
//! fetches only what changed.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::StreamExt;
use serde_json::json;

use super::agents;
use super::claim::claim_json;
use crate::app::{App, FETCH_CONCURRENCY, decode};
use crate::cli::StatusArgs;
use crate::docs::Cursor;
use crate::keys;
use crate::outcome::{Outcome, UsageError};
use crate::steps;
use crate::time;

pub async fn run(app: &App, args: StatusArgs) -> anyhow::Result<Outcome> {
    if args.watch && app.printer.json {
        return Err(UsageError::new("--json cannot be combined with --watch").into());
    }
    if !(args.interval.is_finite() && args.interval > 0.0) {
        return Err(UsageError::new("--interval must be a positive number of seconds").into());
    }
    if !args.watch {
        let (human, json) = snapshot(app).await?;
        app.printer.result(human, &json);
        return Ok(Outcome::Success);
    }
    loop {
        let (human, _) = snapshot(app).await?;
        // Clear the screen and home the cursor, then redraw.
        app.printer
            .result(format!("\x1b[2J\x1b[H{human}"), &json!({}));
        tokio::select! {
            _ = tokio::signal::ctrl_c() => return Ok(Outcome::Success),
            _ = tokio::time::sleep(Duration::from_secs_f64(args.interval)) => {}
        }
    }
}

async fn snapshot(app: &App) -> anyhow::Result<(String, serde_json::Value)> {
    let reserved = async {
        let mut cache = app.doc_cache("reservations");
        let live = crate::reservations::Reservations::new(app.store.as_ref(), app.agent())
            .live_cached(&mut cache)
            .await;
        app.save_cache(&mut cache);
        live
    };
    // One listing of `steps/` serves the step views and the plan's specs.
    let steps_and_specs = async {
        let entries = app.store.list(keys::STEPS_DIR, None).await?;
        let (steps, specs) = tokio::join!(
            steps::read_all_of(app, &entries),
            crate::plan::read_plan_specs(app, &entries)
        );
        anyhow::Ok((steps?, specs))
    };
    let (agents, steps_and_specs, mailboxes, sessions, reserved) = tokio::join!(
        agents::presence_rows(app),
        steps_and_specs,
        mailbox_rows(app),
        session_summary(app),
        reserved,
    );
    let (steps, specs) = steps_and_specs?;
    let (mut agents, mailboxes, sessions) = (agents?, mailboxes?, sessions?);
    let reserved = reserved?;
    // The step views hold every claim already: the agent rows take theirs from there.
    agents::attach_claims(&mut agents, &steps);
    // The plan reuses the step views: only the specs are read on top.
    let plan = crate::plan::view_from(specs?, &steps);

    let mut out = vec![format!(
        "project {} · backend {} · {}",
        app.config.project,
        app.store.backend(),
        app.store.location()
    )];
    out.push(String::new());
    out.push(format!("AGENTS ({})", agents.len()));
    for a in &agents {
        out.push(format!(
            "  {:<24} {:<7} step {:<20} heartbeat {}{}",
            a.agent.id,
            a.live,
            a.agent.step.as_deref().unwrap_or("-"),
            a.age(),
            if a.claims.is_empty() {
                String::new()
            } else {
                format!(" · claims {}", a.claims_text())
            }
        ));
    }
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for s in &steps {
        *counts.entry(s.state()).or_default() += 1;
    }
    let tally: Vec<String> = counts.iter().map(|(k, n)| format!("{n} {k}")).collect();
    out.push(String::new());
    out.push(format!(
        "STEPS ({}){}",
        steps.len(),
        if tally.is_empty() {
            String::new()
        } else {
            format!(": {}", tally.join(" · "))
        }
    ));
    if !plan.is_empty() {
        out.push(format!(
            "PLAN ({}): {}",
            plan.counts.total(),
            plan.counts.tally()
        ));
    }
    for s in &steps {
        out.push(format!(
            "  {:<24} {:<12}{}{}",
            s.sid,
            s.state(),
            s.agent()
                .map(|a| format!(" (agent: {a})"))
                .unwrap_or_default(),
            s.claim
                .as_ref()
                .filter(|c| s.holder().is_some() && c.claim.lease.is_some())
                .map(|c| format!(" · gen {}, {}", c.claim.generation(), c.standing.describe()))
                .unwrap_or_default()
        ));
    }
    out.push(String::new());
    out.push(format!("RESERVATIONS ({})", reserved.len()));
    out.extend(reserved.iter().map(super::reservations::row));
    out.push(String::new());
    out.push(format!("MAILBOXES ({})", mailboxes.len()));
    for m in &mailboxes {
        out.push(format!(
            "  {:<24} {} message(s){}",
            m.0,
            m.1,
            match m.2 {
                Some(unread) => format!(" · {unread} unread"),
                None => " · no cursor".into(),
            }
        ));
    }
    out.push(String::new());
    out.push(format!(
        "SESSIONS: {} · {:.1} MB · last upload {}",
        sessions.0,
        sessions.1 as f64 / 1e6,
        sessions.2.as_deref().unwrap_or("never")
    ));

    // Built only when printed: at 10,000 steps the JSON tree is most of the memory.
    let json = if app.printer.json {
        json!({
            "project": app.config.project,
            "backend": app.store.backend(),
            "bucket": app.config.bucket,
            "generated_at": time::now_iso(),
            "agents": agents.iter().map(agents::AgentRow::to_json).collect::<Vec<_>>(),
            "plan": (!plan.is_empty()).then_some(plan.counts),
            "steps": steps.iter().map(|s| json!({
                "id": s.sid,
                "status": s.state(),
                "agent": s.agent(),
                "holder": s.holder(),
                "claim": s.claim.as_ref().map(|c| claim_json(&c.claim, Some(c.standing))),
            })).collect::<Vec<_>>(),
            "reservations": reserved.iter().map(super::reservations::live_json).collect::<Vec<_>>(),
            "mailboxes": mailboxes.iter().map(|(agent, total, unread)| json!({"agent": agent, "total": total, "unread": unread})).collect::<Vec<_>>(),
            "sessions": {"count": sessions.0, "total_uploaded_bytes": sessions.1, "last_uploaded_at": sessions.2},
        })
    } else {
        serde_json::Value::Null
    };
    Ok((out.join("\n"), json))
}

/// `(mailbox, messages, unread)`, one row per mailbox holding messages or with a read
/// cursor. Unread is what `inbox --new` would show that agent (unseen direct messages plus
/// unseen broadcasts from others), as the Python tool counts it; `None` without a cursor.
async fn mailbox_rows(app: &App) -> anyhow::Result<Vec<(String, usize, Option<usize>)>> {
    let entries = app.store.list("messages/", None).await?;
    let mut boxes: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for e in &entries {
        if let Some(m) = keys::parse_message(&e.key) {
            boxes
                .entry(m.mailbox.to_string())
                .or_default()
                .push(e.key.clone());
        } else if let Some(agent) = keys::cursor_owner(&e.key) {
            boxes.entry(agent.to_string()).or_default();
        }
    }
    // The read cursors, through the document cache: unchanged ones are not fetched again.
    let mut cache = app.doc_cache("cursors");
    let cursors = cache
        .read_listed(app.store.as_ref(), &entries, |k| {
            keys::cursor_owner(k).is_some()
        })
        .await?;
    app.save_cache(&mut cache);
    let mut cursor_of: BTreeMap<String, Cursor> = BTreeMap::new();
    for obj in cursors {
        if let Some(agent) = keys::cursor_owner(&obj.meta.key) {
            cursor_of.insert(agent.to_string(), decode(&obj.meta.key, &obj.body)?);
        }
    }
    let broadcasts = boxes.get(keys::BROADCAST).cloned().unwrap_or_default();
    let broadcasts = &broadcasts;
    let cursor_of = &cursor_of;
    let rows: Vec<_> = futures::stream::iter(boxes)
        .map(|(mailbox, keys_in)| async move {
            if mailbox == keys::BROADCAST {
                return Ok::<_, anyhow::Error>((mailbox, keys_in.len(), None));
            }
            let cursor = cursor_of.get(&mailbox);
            let unseen = |part: &crate::docs::CursorPart, k: &String| {
                part.watermark.as_deref().is_none_or(|w| k.as_str() > w) && !part.seen.contains(k)
            };
            let unread = cursor.map(|c| {
                let direct = keys_in.iter().filter(|k| unseen(&c.direct, k)).count();
                let from_others = broadcasts
                    .iter()
                    .filter(|k| keys::parse_message(k).is_some_and(|m| m.sender != mailbox))
                    .filter(|k| unseen(&c.broadcast, k))
                    .count();
                direct + from_others
            });
            Ok((mailbox, keys_in.len(), unread))
        })
        .buffered(FETCH_CONCURRENCY)
        .collect()
        .await;
    rows.into_iter().collect()
}

/// `(sessions, uploaded bytes, newest upload)` from the session parts' listing.
async fn session_summary(app: &App) -> anyhow::Result<(usize, u64, Option<String>)> {
    let entries = app.store.list(keys::SESSIONS_DIR, None).await?;
    let mut sessions = std::collections::BTreeSet::new();
    let mut bytes = 0;
    let mut newest = None;
    for e in &entries {
        let rest = &e.key[keys::SESSIONS_DIR.len()..];
        let mut parts = rest.splitn(3, '/');
        if let (Some(h), Some(s), Some(name)) = (parts.next(), parts.next(), parts.next()) {
            sessions.insert((h.to_string(), s.to_string()));
            if name.ends_with(".jsonl") {
                bytes += e.size;
                newest = newest.max(e.last_modified);
            }
        }
    }
    Ok((sessions.len(), bytes, newest.map(time::format)))
}
