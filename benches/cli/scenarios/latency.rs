//! Scenarios 1 and 7: every command of `commands.rs` as a whole process of each tool,
//! alternating which tool goes first, interleaving the commands within a trial, and the
//! floor's requests right after each pair. Warm-up rounds run the same loop unrecorded
//! and check that each tool prints what it should, so a broken set-up fails loudly instead
//! of being measured.

use std::time::Instant;

use anyhow::{Context, ensure};

use super::{Ctx, Recorder, say};
use crate::commands::{COMMANDS, INBOX_MESSAGES, NO_ROOTS};
use crate::floor::Floor;
use crate::proc;
use crate::record::{Latency, Record};
use crate::tools::Tool;

const RS: &str = "bench-rs";
const PY: &str = "bench-py";
const FLOOR_AGENT: &str = "bench-floor";
/// Holds the 10 messages that `inbox` reads; both tools read it under this id.
const READER: &str = "reader";
/// Receives every `send`, so the reader's inbox never grows.
const SINK: &str = "sink";
const STATUS_STEP: &str = "lat-status";
const MEMORY_KEY: &str = "bench.notes";

fn agent(command: &str, tool: &str) -> &'static str {
    match (command, tool) {
        ("inbox", _) => READER,
        (_, "python") => PY,
        _ => RS,
    }
}

fn args(command: &str, tool: &str, label: &str) -> Vec<String> {
    let v: Vec<String> = match command {
        "step-status" => vec!["step-status".into(), STATUS_STEP.into()],
        "claim" => vec!["claim".into(), format!("lat-{tool}-{label}")],
        "send" => vec!["send".into(), SINK.into(), "build is green".into()],
        "inbox" => vec!["inbox".into()],
        "memory get" => vec!["memory".into(), "get".into(), MEMORY_KEY.into()],
        "--version" => vec!["--version".into()],
        other => unreachable!("unknown command {other}"),
    };
    v
}

/// What a successful run must print, checked in the warm-up.
fn check(command: &str, stdout: &str) -> anyhow::Result<()> {
    match command {
        "inbox" => {
            let lines = stdout.lines().filter(|l| l.starts_with('[')).count();
            ensure!(
                lines == INBOX_MESSAGES,
                "inbox showed {lines} messages, not {INBOX_MESSAGES}: {stdout}"
            );
        }
        "step-status" => ensure!(stdout.contains("in_progress"), "{stdout}"),
        "memory get" => ensure!(stdout.trim() == "kept in sync", "{stdout}"),
        _ => {}
    }
    Ok(())
}

fn floor_once(floor: &Floor, command: &str, label: &str) -> anyhow::Result<()> {
    match command {
        "step-status" => floor.step_status(STATUS_STEP),
        "claim" => floor.claim(&format!("lat-floor-{label}"), FLOOR_AGENT),
        "send" => floor.send(SINK, FLOOR_AGENT, "build is green"),
        "inbox" => {
            let n = floor.inbox(READER)?;
            ensure!(n == INBOX_MESSAGES, "floor read {n} messages");
            Ok(())
        }
        "memory get" => floor.memory_get(MEMORY_KEY),
        other => unreachable!("no floor for {other}"),
    }
}

pub fn run(ctx: &Ctx, rec: &mut Recorder) -> anyhow::Result<()> {
    let project = ctx.project("latency");
    say(format!(
        "scenario 1: per-command latency on project {project}"
    ));
    let ours = ctx.ours(ctx.s3_backend(), &project, RS)?;
    let py = ctx.python(&project, PY)?;
    let floor = ctx.floor(&project)?;
    ours.run(RS, &["claim", STATUS_STEP])?;
    ours.run(RS, &["memory", "set", MEMORY_KEY, "kept in sync"])?;
    for i in 0..INBOX_MESSAGES {
        ours.run(RS, &["send", READER, &format!("message {i}")])?;
    }
    let tools = [Tool::Ours(&ours), Tool::Python(&py)];
    let plan = &ctx.plan;
    for w in 0..plan.latency_warmup {
        round(&tools, &floor, &format!("w{w}"), w, None)?;
    }
    for t in 0..plan.latency_trials {
        round(&tools, &floor, &t.to_string(), t, Some(rec))?;
    }
    Ok(())
}

/// One trial: every command once per tool and once on the floor.
fn round(
    tools: &[Tool; 2],
    floor: &Floor,
    label: &str,
    trial: u32,
    mut rec: Option<&mut Recorder>,
) -> anyhow::Result<()> {
    let warmup = rec.is_none();
    let mut line = Vec::new();
    for c in COMMANDS {
        // Even trials run ours first, odd ones the Python tool first.
        let order: [&Tool; 2] = if trial.is_multiple_of(2) {
            [&tools[0], &tools[1]]
        } else {
            [&tools[1], &tools[0]]
        };
        for tool in order {
            let mut cmd = tool.cmd(agent(c.name, tool.name()));
            cmd.args(args(c.name, tool.name(), label));
            let done = proc::run(cmd, &tool.dir().join("latency"))?;
            if warmup {
                ensure!(
                    done.exit == 0,
                    "{} {} exited {}: {}",
                    tool.name(),
                    c.name,
                    done.exit,
                    done.stderr
                );
                check(c.name, &done.stdout)
                    .with_context(|| format!("{} {}", tool.name(), c.name))?;
            }
            if let Some(rec) = rec.as_deref_mut() {
                rec.push(Record::Latency(Latency {
                    command: c.name.into(),
                    tool: tool.name().into(),
                    trial,
                    wall_ms: done.wall_ms,
                    rss_kib: Some(done.rss_kib),
                    exit: done.exit,
                }))?;
            }
            line.push(format!("{} {} {:.0}", c.name, tool.name(), done.wall_ms));
        }
        if c.name == "step-status" {
            // Profiling showed the AWS SDK's HTTPS client parsing every system root
            // certificate at start-up, though the endpoint is plain http; the same command
            // with no roots to load shows what that costs.
            let mut cmd = tools[0].cmd(RS);
            cmd.env("SSL_CERT_FILE", "/dev/null")
                .env_remove("SSL_CERT_DIR")
                .args(args(c.name, "ours", label));
            let done = proc::run(cmd, &tools[0].dir().join("latency"))?;
            if warmup {
                ensure!(done.exit == 0, "step-status without roots: {}", done.stderr);
            }
            if let Some(rec) = rec.as_deref_mut() {
                rec.push(Record::Latency(Latency {
                    command: c.name.into(),
                    tool: NO_ROOTS.into(),
                    trial,
                    wall_ms: done.wall_ms,
                    rss_kib: Some(done.rss_kib),
                    exit: done.exit,
                }))?;
            }
        }
        if c.floor != "none" {
            let started = Instant::now();
            let result = floor_once(floor, c.name, label);
            let wall_ms = started.elapsed().as_secs_f64() * 1000.0;
            let exit = if result.is_ok() { 0 } else { 1 };
            if warmup {
                result.with_context(|| format!("floor {}", c.name))?;
            }
            if let Some(rec) = rec.as_deref_mut() {
                rec.push(Record::Latency(Latency {
                    command: c.name.into(),
                    tool: "floor".into(),
                    trial,
                    wall_ms,
                    rss_kib: None,
                    exit,
                }))?;
            }
        }
    }
    if warmup {
        say(format!("latency warm-up {label} ok"));
    } else {
        say(format!("latency trial {label}: {}", line.join(", ")));
    }
    Ok(())
}
