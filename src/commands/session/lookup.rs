//! Finding mirrored sessions in the bucket (by id, across harnesses), and the subcommands
//! that work from that: `session list`, `session show` and `session stop`.

use anyhow::Context;
use serde_json::json;

use super::SortBy;
use crate::app::App;
use crate::events::{self, Event};
use crate::keys;
use crate::outcome::{Failure, Outcome, UsageError};
use crate::session::meta::Meta;
use crate::session::mirror;
use crate::session::sanitize_id;
use crate::store::StoreError;
use crate::time;

/// Every `(harness, session)` with a `meta.json` in the bucket.
async fn mirrored_sessions(app: &App) -> anyhow::Result<Vec<(String, String)>> {
    Ok(app
        .store
        .list(keys::SESSIONS_DIR, None)
        .await?
        .iter()
        .filter_map(|e| keys::meta_of(&e.key))
        .map(|(h, s)| (h.to_string(), s.to_string()))
        .collect())
}

/// The harness holding session `id` (sanitised); usage error when two do and no
/// `--harness` picks one, failure when none does.
pub(super) async fn find_session(
    app: &App,
    id: &str,
    harness: Option<&str>,
) -> anyhow::Result<(String, String, Meta, crate::store::Version)> {
    let id = sanitize_id(id);
    let found: Vec<String> = mirrored_sessions(app)
        .await?
        .into_iter()
        .filter(|(h, s)| *s == id && harness.is_none_or(|want| want == h))
        .map(|(h, _)| h)
        .collect();
    let h = match found.as_slice() {
        [] => {
            return Err(Failure {
                message: format!("unknown session '{id}'"),
                hint: Some("`tracecraft session list` shows the mirrored sessions".into()),
            }
            .into());
        }
        [one] => one.clone(),
        many => {
            return Err(UsageError {
                message: format!("session '{id}' exists under {}", many.join(", ")),
                hint: Some("pick one with --harness".into()),
            }
            .into());
        }
    };
    let key = keys::session_meta(&h, &id);
    let doc = app.read::<Meta>(&key).await?.ok_or_else(|| Failure {
        message: format!("unknown session '{id}' ({key} vanished)"),
        hint: None,
    })?;
    Ok((h, id, doc.value.clone(), doc.version().clone()))
}

pub(super) async fn list(
    app: &App,
    harness: Option<String>,
    limit: usize,
    sort_by: SortBy,
) -> anyhow::Result<Outcome> {
    let mut metas = Vec::new();
    for (h, s) in mirrored_sessions(app).await? {
        if harness.as_deref().is_some_and(|want| want != h) {
            continue;
        }
        let key = keys::session_meta(&h, &s);
        match app.read::<Meta>(&key).await {
            Ok(Some(doc)) => metas.push((h, s, doc.value)),
            Ok(None) => {}
            Err(e) => app.printer.warn(format!("{e:#}")),
        }
    }
    match sort_by {
        SortBy::Recent => metas.sort_by(|a, b| {
            let t = |m: &Meta| m.last_uploaded_at.as_deref().and_then(time::parse);
            t(&b.2).cmp(&t(&a.2))
        }),
        SortBy::Size => metas.sort_by_key(|m| std::cmp::Reverse(m.2.total_uploaded_bytes)),
    }
    metas.truncate(limit);
    let mut lines = Vec::new();
    if metas.is_empty() {
        lines.push("No sessions.".to_string());
    } else {
        lines.push(format!(
            "{:<12} {:<40} {:>12} {:>6}  {:<32} ENDED",
            "HARNESS", "SESSION", "BYTES", "PARTS", "LAST UPLOAD"
        ));
        for (h, s, m) in &metas {
            lines.push(format!(
                "{:<12} {:<40} {:>12} {:>6}  {:<32} {}",
                h,
                s,
                m.total_uploaded_bytes,
                m.parts.len(),
                m.last_uploaded_at.as_deref().unwrap_or("-"),
                if m.ended_at.is_some() { "yes" } else { "no" }
            ));
        }
    }
    let json = json!({
        "sessions": metas.iter().map(|(h, s, m)| json!({
            "harness": h,
            "session_id": s,
            "total_source_bytes": m.total_source_bytes,
            "total_uploaded_bytes": m.total_uploaded_bytes,
            "parts": m.parts.len(),
            "last_uploaded_at": m.last_uploaded_at,
            "ended_at": m.ended_at,
        })).collect::<Vec<_>>(),
    });
    app.printer.result(lines.join("\n"), &json);
    Ok(Outcome::Success)
}

pub(super) async fn show(
    app: &App,
    id: &str,
    tail: usize,
    harness: Option<String>,
) -> anyhow::Result<Outcome> {
    let (h, id, meta, _) = find_session(app, id, harness.as_deref()).await?;
    // The newest parts first, until enough lines are collected.
    let mut lines: Vec<String> = Vec::new();
    if tail > 0 {
        for part in meta.parts_in_order().into_iter().rev() {
            let key = keys::session_part(&h, &id, part.seq, &part.uuid);
            let obj = match app.store.get(&key).await {
                Ok(obj) => obj,
                Err(StoreError::NotFound { .. }) => {
                    app.printer.warn(format!("{key} is missing"));
                    continue;
                }
                Err(e) => return Err(e).with_context(|| format!("reading {key}")),
            };
            let text = String::from_utf8_lossy(&obj.body);
            let mut part_lines: Vec<String> = text.lines().map(str::to_string).collect();
            part_lines.append(&mut lines);
            lines = part_lines;
            if lines.len() >= tail {
                break;
            }
        }
        let skip = lines.len().saturating_sub(tail);
        lines.drain(..skip);
    }
    let meta_json = serde_json::to_value(&meta)?;
    let mut human = serde_json::to_string_pretty(&meta_json)?;
    if tail > 0 {
        human.push_str("\n--- tail ---");
        for line in &lines {
            human.push('\n');
            human.push_str(line);
        }
    }
    app.printer.result(
        human,
        &json!({"harness": h, "session_id": id, "meta": meta_json, "tail": lines}),
    );
    Ok(Outcome::Success)
}

pub(super) async fn stop(app: &App, id: &str, harness: Option<String>) -> anyhow::Result<Outcome> {
    let (h, id, _, _) = find_session(app, id, harness.as_deref()).await?;
    let state = mirror::state_file(app, &h, &id);
    // The state file's name is built from sanitised parts plus a hash: it is always a
    // plain name directly inside the state directory. Checked again before deleting.
    let inside = state.path().parent() == Some(crate::session::state::state_dir().as_path());
    let cleared = if inside {
        state
            .clear()
            .with_context(|| format!("removing {}", state.path().display()))?
    } else {
        false
    };
    let event = Event::new("session.stop")
        .key(keys::session_meta(&h, &id))
        .with("harness", &h)
        .with("session", &id);
    let marked = events::alongside(app, event, mirror::mark_ended(app, &h, &id)).await?;
    app.printer.result(
        format!("stopped session={id} harness={h} state_cleared={cleared} meta_marked_ended={marked}"),
        &json!({"harness": h, "session_id": id, "state_cleared": cleared, "meta_marked_ended": marked}),
    );
    Ok(Outcome::Success)
}
