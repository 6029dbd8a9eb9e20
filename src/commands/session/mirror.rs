//! `session mirror`: pick the sessions to mirror (the active one, one by id, or all of a
//! harness), upload them once or, with `--follow`, until Ctrl-C and then mark them ended,
//! and print the totals.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use serde_json::json;

use super::MirrorArgs;
use crate::app::App;
use crate::outcome::{Failure, Outcome, UsageError};
use crate::session::harness::{self, Harness, SessionRef};
use crate::session::mirror::{self, Options, Totals};
use crate::session::{redact, sanitize_id};

fn harness_named(name: &str) -> anyhow::Result<&'static dyn Harness> {
    harness::get(name).ok_or_else(|| {
        UsageError {
            message: format!("unknown harness '{name}'"),
            hint: Some(format!("known harnesses: {}", harness::names().join(", "))),
        }
        .into()
    })
}

pub(super) async fn mirror_cmd(app: &App, args: MirrorArgs) -> anyhow::Result<Outcome> {
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
