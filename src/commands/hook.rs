//! `hook EVENT`: the one entry point harness hooks call (contract section 11). It reads
//! the hook's JSON on stdin, answers in the harness's hook format on stdout, and never
//! fails the harness: any error is one line on stderr and exit 0, and the whole call is
//! bounded by `--timeout`. `user-prompt-submit` and `post-tool-use` are throttled by
//! `--every` in local state: a throttled call loads the config, reads one local file and
//! returns, without opening the store. The protocol pieces live in [`crate::hooks`], the
//! bootstrap block in [`crate::prime`], the read cursor in [`crate::mailbox`]; commands
//! that print (`heartbeat`, the session mirror) run with their output captured.

use std::time::Duration;

use serde_json::Value;

use super::heartbeat;
use crate::app::App;
use crate::cli::{HeartbeatArgs, HookArgs, HookEvent};
use crate::config::Config;
use crate::hooks::{self, Payload, Throttle};
use crate::mailbox::{self, Kind, Query, Read};
use crate::outcome::Outcome;
use crate::output::{self, Printer};
use crate::prime;
use crate::session::harness::{self, SessionRef};
use crate::session::mirror::{self, Options, Totals};
use crate::time;

/// New messages injected per hook call (newest first); the rest wait for the next one.
const HOOK_MESSAGES: usize = 10;
/// How long the hook waits for the harness to finish writing the payload.
const STDIN_WAIT: Duration = Duration::from_secs(2);

pub async fn run(args: HookArgs, printer: &Printer) -> Outcome {
    let event = args.event;
    let word = hooks::event_word(event);
    let deadline = Duration::from_secs_f64(if args.timeout.is_finite() && args.timeout > 0.0 {
        args.timeout
    } else {
        5.0
    });
    let payload = read_payload();
    match tokio::time::timeout(deadline, handle(&args, &payload, printer)).await {
        Ok(Ok(Some(answer))) => printer.result(answer.to_string(), &answer),
        Ok(Ok(None)) => {}
        Ok(Err(e)) => {
            let message = format!("{e:#}").replace('\n', " ");
            printer.error(format!("tracecraft hook {word}: {message}"), None);
        }
        Err(_) => printer.error(
            format!(
                "tracecraft hook {word}: the store did not answer within {}s; skipped",
                deadline.as_secs_f64()
            ),
            None,
        ),
    }
    Outcome::Success
}

/// The payload, read on a thread so a harness that never closes stdin cannot stall us.
fn read_payload() -> Payload {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(Payload::from_stdin());
    });
    rx.recv_timeout(STDIN_WAIT).unwrap_or_default()
}

async fn handle(
    args: &HookArgs,
    payload: &Payload,
    printer: &Printer,
) -> anyhow::Result<Option<Value>> {
    let loaded = Config::load()?;
    let event = args.event;
    let throttled = matches!(event, HookEvent::UserPromptSubmit | HookEvent::PostToolUse);
    if throttled || event == HookEvent::SessionStart {
        let throttle = Throttle::new(&loaded.path, &loaded.config.agent_id);
        let now_ms = time::now().timestamp_millis();
        let every = Duration::try_from_secs_f64(args.every.max(0.0)).unwrap_or(Duration::MAX);
        if throttled && !throttle.due(every, now_ms) {
            printer.debug("throttled: nothing to do");
            return Ok(None);
        }
        if let Err(e) = throttle.record(now_ms) {
            printer.debug(format!("hook throttle not recorded: {e}"));
        }
    }
    // Results of the commands run inside stay off stdout, which is the harness's.
    let quiet = Printer {
        json: true,
        quiet: true,
        verbose: printer.verbose,
    };
    let app = App::open(&quiet).await?;
    match event {
        HookEvent::SessionStart => session_start(&app).await,
        HookEvent::UserPromptSubmit | HookEvent::PostToolUse => news(&app, event).await,
        HookEvent::Stop => stop(&app, args, payload).await,
        HookEvent::SessionEnd => session_end(&app, args, payload).await,
    }
}

/// Presence refreshed, leases renewed; returns what the agent must hear (a lost lease).
async fn heartbeat(app: &App) -> anyhow::Result<Vec<String>> {
    let (result, captured) =
        output::capture(heartbeat::run(app, HeartbeatArgs { summary: None })).await;
    result?;
    Ok(captured
        .stderr
        .iter()
        .filter_map(|l| l.strip_prefix("Error: "))
        .map(|l| format!("tracecraft: {l}"))
        .collect())
}

async fn session_start(app: &App) -> anyhow::Result<Option<Value>> {
    let (notes, block) = tokio::join!(heartbeat(app), prime::gather(app));
    let block = block?;
    let mut text = block.text(prime::MAX_CHARS);
    for note in notes? {
        text.push('\n');
        text.push_str(&note);
    }
    // What the block showed counts as read: the next hook does not repeat it.
    if let Err(e) = block.unread.mark_shown_read(app).await {
        app.printer
            .debug(format!("messages shown not marked read: {e:#}"));
    }
    Ok(Some(hooks::additional_context(
        HookEvent::SessionStart,
        &text,
    )))
}

/// New messages, marked read before they are injected: a cursor that could not be saved
/// leaves them for the next call instead of showing them twice.
async fn news(app: &App, event: HookEvent) -> anyhow::Result<Option<Value>> {
    let (notes, read) = tokio::join!(heartbeat(app), read_new(app));
    let (notes, read) = (notes?, read?);
    let mut parts = Vec::new();
    if !read.messages.is_empty() {
        let text = messages_text(app, &read);
        match read.mark_shown_read(app).await {
            Ok(()) => parts.push(text),
            Err(e) => app
                .printer
                .debug(format!("new messages held back, cursor not saved: {e:#}")),
        }
    }
    parts.extend(notes);
    Ok((!parts.is_empty()).then(|| hooks::additional_context(event, &parts.join("\n"))))
}

async fn read_new(app: &App) -> anyhow::Result<Read> {
    mailbox::read(
        app,
        Query {
            new: true,
            limit: Some(HOOK_MESSAGES),
        },
    )
    .await
}

fn messages_text(app: &App, read: &Read) -> String {
    let mut lines = vec![format!(
        "tracecraft: {} new message(s) for {}{}:",
        read.total,
        app.agent(),
        if read.messages.len() < read.total {
            format!(
                " (newest {} here; `tracecraft inbox --new` for the rest)",
                read.messages.len()
            )
        } else {
            String::new()
        }
    )];
    lines.extend(read.messages.iter().map(|m| m.line(false)));
    lines.join("\n")
}

async fn stop(app: &App, args: &HookArgs, payload: &Payload) -> anyhow::Result<Option<Value>> {
    let (notes, mirrored) = tokio::join!(heartbeat(app), mirror(app, args, payload));
    notes?;
    mirrored?;
    // Claude Code and Codex set stop_hook_active when the agent is already continuing
    // because of a stop hook: blocking again could loop forever.
    if !args.block_on_unread || payload.stop_hook_active == Some(true) {
        return Ok(None);
    }
    let read = read_new(app).await?;
    if !read.messages.iter().any(|m| m.kind == Kind::Direct) {
        return Ok(None);
    }
    let reason = format!(
        "{}\nRead them and act on them (or answer with `tracecraft send`) before stopping.",
        messages_text(app, &read)
    );
    read.mark_shown_read(app).await?;
    Ok(Some(hooks::block(&reason)))
}

async fn session_end(
    app: &App,
    args: &HookArgs,
    payload: &Payload,
) -> anyhow::Result<Option<Value>> {
    mirror(app, args, payload).await?;
    let existing = app.presence().await?;
    app.put_presence(existing, None, Some("session ended".into()))
        .await?;
    Ok(None)
}

/// Mirrors the transcript the payload names, when `--mirror` or the config's
/// `mirror_sessions` asks for it; its report stays off stdout.
async fn mirror(app: &App, args: &HookArgs, payload: &Payload) -> anyhow::Result<()> {
    if !(args.mirror || app.config.mirror_sessions == Some(true)) {
        return Ok(());
    }
    let Some(path) = payload.transcript_path.clone() else {
        app.printer
            .debug("no transcript_path in the payload: nothing to mirror");
        return Ok(());
    };
    let h = harness::get(&args.harness).ok_or_else(|| {
        anyhow::anyhow!(
            "unknown harness '{}' (known: {})",
            args.harness,
            harness::names().join(", ")
        )
    })?;
    let native = payload.session_id.clone().unwrap_or_else(|| {
        path.file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "session".into())
    });
    let session = SessionRef::from_file(native, path, payload.cwd.clone());
    let options = Options::new(true, 1);
    let mut totals = Totals::default();
    let (result, _) = output::capture(mirror::mirror_once(
        app,
        h,
        &session,
        &options,
        false,
        &mut totals,
    ))
    .await;
    result
}
