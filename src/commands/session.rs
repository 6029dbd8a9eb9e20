//! `session`: mirror agent transcripts into the bucket (redacted), and list, show, stop
//! and compact mirrored sessions. The engine lives in [`crate::session`].

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use serde_json::json;

use crate::app::App;
use crate::events::{self, Event};
use crate::keys;
use crate::outcome::{Failure, Outcome, UsageError};
use crate::session::harness::{self, Harness, SessionRef};
use crate::session::meta::{Meta, Part, order_key, sum_counts};
use crate::session::mirror::{self, Options, Totals};
use crate::session::{redact, sanitize_id};
use crate::store::{PutMode, PutOptions, StoreError};
use crate::time;
use tokio::io::AsyncWriteExt;

#[derive(Debug, Subcommand)]
pub enum SessionCommand {
    /// Upload new complete lines of a session transcript.
    Mirror(MirrorArgs),
    /// List mirrored sessions.
    List {
        /// Only sessions of this harness.
        #[arg(long)]
        harness: Option<String>,
        #[arg(long, default_value_t = 20)]
        limit: usize,
        #[arg(long, value_enum, default_value_t = SortBy::Recent)]
        sort_by: SortBy,
    },
    /// Show one session's metadata and, with --tail, its last lines.
    Show {
        id: String,
        /// Also print the last N mirrored lines.
        #[arg(long, default_value_t = 0)]
        tail: usize,
        #[arg(long)]
        harness: Option<String>,
    },
    /// Clear the local mirror state of a session and mark it ended.
    Stop {
        id: String,
        #[arg(long)]
        harness: Option<String>,
    },
    /// Merge a session's parts into one new part.
    Compact {
        id: String,
        /// Leave the newest N parts as they are.
        #[arg(long, default_value_t = 0)]
        keep_tail: usize,
        #[arg(long)]
        harness: Option<String>,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SortBy {
    Recent,
    Size,
}

#[derive(Debug, Args)]
pub struct MirrorArgs {
    /// Which agent's transcripts to read.
    #[arg(long, default_value = harness::DEFAULT)]
    harness: String,
    /// The session to mirror (default: the most recently active one).
    #[arg(long)]
    session_id: Option<String>,
    /// The project directory the session ran in (default: the current directory).
    #[arg(long)]
    cwd: Option<PathBuf>,
    /// Upload without redaction (only for fully trusted buckets).
    #[arg(long)]
    no_redact: bool,
    /// Skip the upload when fewer new bytes are available.
    #[arg(long, default_value_t = 1)]
    min_bytes: u64,
    /// Keep mirroring until Ctrl-C, then mark the session ended.
    #[arg(short = 'f', long)]
    follow: bool,
    /// Seconds between polls with --follow.
    #[arg(long, default_value_t = 5.0)]
    interval: f64,
    /// Every session of the harness (for --cwd), not just the active one.
    #[arg(long)]
    all: bool,
}

pub async fn run(app: &App, cmd: SessionCommand) -> anyhow::Result<Outcome> {
    match cmd {
        SessionCommand::Mirror(args) => mirror_cmd(app, args).await,
        SessionCommand::List {
            harness,
            limit,
            sort_by,
        } => list(app, harness, limit, sort_by).await,
        SessionCommand::Show { id, tail, harness } => show(app, &id, tail, harness).await,
        SessionCommand::Stop { id, harness } => stop(app, &id, harness).await,
        SessionCommand::Compact {
            id,
            keep_tail,
            harness,
        } => compact(app, &id, keep_tail, harness).await,
    }
}

fn harness_named(name: &str) -> anyhow::Result<&'static dyn Harness> {
    harness::get(name).ok_or_else(|| {
        UsageError {
            message: format!("unknown harness '{name}'"),
            hint: Some(format!("known harnesses: {}", harness::names().join(", "))),
        }
        .into()
    })
}

// --- mirror ---------------------------------------------------------------------------

async fn mirror_cmd(app: &App, args: MirrorArgs) -> anyhow::Result<Outcome> {
    let h = harness_named(&args.harness)?;
    if !(args.interval.is_finite() && args.interval > 0.0) {
        return Err(UsageError::new("--interval must be a positive number of seconds").into());
    }
    if args.all && args.session_id.is_some() {
        return Err(UsageError::new("--all mirrors every session: drop --session-id").into());
    }
    let cwd = resolve_cwd(args.cwd.as_deref())?;
    let opts = Options::new(!args.no_redact, args.min_bytes);
    let mut totals = Totals::default();

    let pick = |h: &dyn Harness| -> anyhow::Result<Vec<SessionRef>> {
        let found = if args.all {
            h.discover(&cwd)?
        } else if let Some(raw) = &args.session_id {
            let want = sanitize_id(raw);
            h.discover(&cwd)?
                .into_iter()
                .filter(|s| s.id == want)
                .take(1)
                .collect()
        } else {
            h.active(&cwd)?.into_iter().collect()
        };
        Ok(found)
    };

    let sessions = pick(h).context("looking for sessions")?;
    if sessions.is_empty() && !(args.all && args.follow) {
        let what = match &args.session_id {
            Some(id) => format!("no {} session '{id}' found", h.name()),
            None => format!("no {} session found for {}", h.name(), cwd.display()),
        };
        return Err(Failure {
            message: what,
            hint: Some("pass --cwd with the directory the agent ran in, or --harness".into()),
        }
        .into());
    }

    if !args.follow {
        let mut first_err = None;
        for s in &sessions {
            if let Err(e) = mirror::mirror_once(app, h, s, &opts, false, &mut totals).await {
                if sessions.len() == 1 {
                    return Err(e);
                }
                app.printer.warn(format!("{e:#}"));
                first_err.get_or_insert(e);
            }
        }
        summary(app, &totals, sessions.len());
        return match first_err {
            Some(e) => Err(e),
            None => Ok(Outcome::Success),
        };
    }

    // --follow: poll until Ctrl-C, then mark every followed session ended.
    let stop = Arc::new(tokio::sync::Notify::new());
    {
        let stop = stop.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                stop.notify_one();
            }
        });
    }
    let interval = Duration::from_secs_f64(args.interval);
    let mut followed: Vec<String> = Vec::new();
    let fixed = sessions;
    app.printer.info(format!(
        "following {} session(s) of {} every {}s: Ctrl-C to stop",
        if args.all {
            "all".to_string()
        } else {
            fixed.len().to_string()
        },
        h.name(),
        args.interval
    ));
    let mut first = true;
    loop {
        let round = if args.all && !first {
            pick(h).unwrap_or_else(|e| {
                app.printer.warn(format!("looking for sessions: {e:#}"));
                Vec::new()
            })
        } else {
            fixed.clone()
        };
        for s in &round {
            if !followed.contains(&s.id) {
                followed.push(s.id.clone());
            }
            if let Err(e) = mirror::mirror_once(app, h, s, &opts, !first, &mut totals).await {
                app.printer.warn(format!("{e:#}"));
            }
        }
        first = false;
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = stop.notified() => break,
        }
    }
    for id in &followed {
        match mirror::mark_ended(app, h.name(), id).await {
            Ok(true) => app.printer.info(format!("marked session={id} ended")),
            Ok(false) => {}
            Err(e) => app.printer.warn(format!("marking {id} ended: {e:#}")),
        }
    }
    summary(app, &totals, followed.len());
    Ok(Outcome::Success)
}

fn resolve_cwd(given: Option<&std::path::Path>) -> anyhow::Result<PathBuf> {
    let here = std::env::current_dir().context("reading the current directory")?;
    let path = match given {
        Some(p) if p.is_absolute() => p.to_path_buf(),
        Some(p) => here.join(p),
        None => here,
    };
    Ok(std::fs::canonicalize(&path).unwrap_or(path))
}

fn summary(app: &App, totals: &Totals, sessions: usize) {
    app.printer.result(
        format!(
            "mirrored {} part(s) from {sessions} session(s): source={}B upload={}B redactions={}",
            totals.parts,
            totals.source_bytes,
            totals.uploaded_bytes,
            redact::describe(&totals.redactions)
        ),
        &json!({
            "event": "summary",
            "sessions": sessions,
            "parts": totals.parts,
            "source_bytes": totals.source_bytes,
            "uploaded_bytes": totals.uploaded_bytes,
            "redactions": totals.redactions,
        }),
    );
}

// --- list / show / stop / compact -------------------------------------------------------

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
async fn find_session(
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

async fn list(
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

async fn show(
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

async fn stop(app: &App, id: &str, harness: Option<String>) -> anyhow::Result<Outcome> {
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

async fn compact(
    app: &App,
    id: &str,
    keep_tail: usize,
    harness: Option<String>,
) -> anyhow::Result<Outcome> {
    let (h, id, meta, _) = find_session(app, id, harness.as_deref()).await?;
    let ordered: Vec<Part> = meta.parts_in_order().into_iter().cloned().collect();
    let split = ordered.len().saturating_sub(keep_tail);
    let (targets, kept) = ordered.split_at(split);
    if targets.len() < 2 {
        app.printer.result(
            format!(
                "nothing to compact: {} mergeable part(s) (kept newest {})",
                targets.len(),
                kept.len()
            ),
            &json!({"harness": h, "session_id": id, "merged": 0, "kept_tail": kept.len()}),
        );
        return Ok(Outcome::Success);
    }

    // 1. The merged part: the targets' bytes in order, copied one part at a time through a
    //    bounded pipe into the upload (never the whole session in memory).
    let mut target_keys = Vec::new();
    let mut len = 0u64;
    for p in targets {
        let key = keys::session_part(&h, &id, p.seq, &p.uuid);
        let head = app
            .store
            .head(&key)
            .await
            .with_context(|| format!("reading {key}"))?;
        len += head.size;
        target_keys.push(key);
    }
    let mut seq = 1 + app
        .store
        .list(&keys::session_dir(&h, &id), None)
        .await?
        .iter()
        .filter_map(|e| keys::part_of(&e.key).map(|(s, _)| s))
        .chain(meta.max_seq())
        .max()
        .unwrap_or(0);
    let uuid = uuid::Uuid::new_v4().simple().to_string()[..8].to_string();
    let opts = PutOptions {
        content_type: Some("application/x-ndjson".into()),
        metadata: Default::default(),
    };
    let merged_key = loop {
        let key = keys::session_part(&h, &id, seq, &uuid);
        match app.store.head(&key).await {
            Ok(_) => seq += 1,
            Err(StoreError::NotFound { .. }) => break key,
            Err(e) => return Err(e.into()),
        }
    };
    let (mut tx, rx) = tokio::io::duplex(64 * 1024);
    let upload = app
        .store
        .put_stream(&merged_key, Box::pin(rx), len, PutMode::Create, &opts);
    let sources = &target_keys;
    let copy = async move {
        for key in sources {
            let (_, mut part) = app
                .store
                .get_stream(key)
                .await
                .with_context(|| format!("reading {key}"))?;
            tokio::io::copy(&mut part, &mut tx)
                .await
                .with_context(|| format!("copying {key}"))?;
        }
        tx.shutdown().await.context("closing the merged part")?;
        anyhow::Ok(())
    };
    let event = Event::new("session.compact")
        .key(merged_key.clone())
        .with("harness", &h)
        .with("session", &id)
        .with("merged", target_keys.len());
    let (uploaded, copied, _) = tokio::join!(upload, copy, events::record(app, event));
    if let Err(e) = uploaded {
        return Err(e).with_context(|| format!("uploading {merged_key}"));
    }
    if let Err(e) = copied {
        let _ = app.store.delete(&merged_key).await;
        return Err(e);
    }

    // 2. meta.json: the targets replaced by one entry that keeps their ranges and counts.
    let ranges: Vec<[u64; 2]> = targets.iter().filter_map(|p| p.cursor_range).collect();
    let mut extra = serde_json::Map::new();
    extra.insert("compacted_from".into(), json!(targets.len()));
    extra.insert("merged_parts".into(), serde_json::to_value(targets)?);
    let merged = Part {
        seq,
        uuid: uuid.clone(),
        cursor_range: (ranges.len() == targets.len()).then(|| {
            [
                ranges.iter().map(|r| r[0]).min().unwrap_or(0),
                ranges.iter().map(|r| r[1]).max().unwrap_or(0),
            ]
        }),
        source_bytes: targets.iter().map(|p| p.source_bytes).sum(),
        uploaded_bytes: len,
        redactions: sum_counts(targets),
        uploaded_at: Some(time::now_iso()),
        extra,
    };
    let meta_key = keys::session_meta(&h, &id);
    loop {
        let Some(doc) = app.read::<Meta>(&meta_key).await? else {
            let _ = app.store.delete(&merged_key).await;
            anyhow::bail!("{meta_key} vanished while compacting");
        };
        let mut meta = doc.value.clone();
        let is_target = |p: &Part| targets.iter().any(|t| t.seq == p.seq && t.uuid == p.uuid);
        if meta.parts.iter().filter(|p| is_target(p)).count() != targets.len() {
            let _ = app.store.delete(&merged_key).await;
            return Err(Failure {
                message: format!("session {id} changed while compacting (another compact?)"),
                hint: Some("run the compact again".into()),
            }
            .into());
        }
        meta.parts.retain(|p| !is_target(p));
        meta.parts.push(merged.clone());
        meta.parts.sort_by_key(order_key);
        meta.extra
            .insert("last_compacted_at".into(), json!(time::now_iso()));
        match app
            .write(
                &meta_key,
                &meta,
                PutMode::UpdateIfVersion(doc.version().clone()),
            )
            .await
        {
            Ok(_) => break,
            Err(StoreError::PreconditionFailed { .. }) => continue,
            Err(e) => {
                let _ = app.store.delete(&merged_key).await;
                return Err(e).with_context(|| format!("updating {meta_key}"));
            }
        }
    }

    // 3. Only now the originals go.
    for key in &target_keys {
        app.store
            .delete(key)
            .await
            .with_context(|| format!("deleting {key}"))?;
    }
    let name = keys::part_name(seq, &uuid);
    app.printer.result(
        format!(
            "compacted session={id}: merged {} parts -> {} ({len}B) deleted={} kept_tail={}",
            targets.len(),
            name.trim_end_matches(".jsonl"),
            target_keys.len(),
            kept.len()
        ),
        &json!({
            "harness": h,
            "session_id": id,
            "merged": targets.len(),
            "key": merged_key,
            "bytes": len,
            "kept_tail": kept.len(),
        }),
    );
    Ok(Outcome::Success)
}
