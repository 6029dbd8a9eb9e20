//! Scenario 11 (issue 11): what a `hook post-tool-use` costs the agent it runs inside. An
//! agent holding one leased claim runs, interleaved in every trial and with a recorded
//! Claude Code `PostToolUse` payload on standard input: `--version` (process start alone,
//! the floor a throttled call should approach), the hook inside its `--every` window
//! (throttled: it must make no request and print nothing), the hook with `--every 0` and
//! nothing new (a heartbeat and a look at the mailboxes), and the hook with `--every 0`
//! right after another agent sent it a message (which it must print). Each run is a whole
//! process with `-v`, so its `requests:` line is recorded with the wall time and peak
//! memory; on fs and on SeaweedFS.

use anyhow::ensure;
use serde_json::json;

use super::scale::requests;
use super::{Ctx, Recorder, brief, say};
use crate::commands::HOOK_VARIANTS as VARIANTS;
use crate::proc;
use crate::record::{Hook, Record};
use crate::tools::Ours;

const ME: &str = "hooked";
const PEER: &str = "peer";

pub fn run(ctx: &Ctx, rec: &mut Recorder) -> anyhow::Result<()> {
    for backend in [ctx.fs_backend("hooks"), ctx.s3_backend()] {
        let project = ctx.project(&format!("hooks-{}", backend.name()));
        say(format!(
            "scenario 11: hook post-tool-use on {} (project {project})",
            backend.name()
        ));
        let ours = ctx.ours(backend, &project, ME)?;
        ours.run(ME, &["claim", "hook-step", "--ttl", "2h"])?;
        ours.run(PEER, &["claim", "peer-step", "--ttl", "2h"])?;
        let payload = write_payload(&ours)?;
        // The session starts as under the installed hooks: its first heartbeat scans for
        // the agent's claims and starts the throttle's window; the cursor catches up.
        ours.run(ME, &["hook", "session-start"])?;
        ours.run(ME, &["inbox", "--new"])?;
        let mut walls: Vec<Vec<f64>> = vec![Vec::new(); VARIANTS.len()];
        for trial in 0..ctx.plan.hook_trials {
            for (i, &(name, args, send_first)) in VARIANTS.iter().enumerate() {
                if send_first {
                    let text = format!("note {trial} for the hooked agent");
                    ours.run(PEER, &["send", ME, &text])?;
                }
                let r = measure(&ours, &payload, name, args, trial)?;
                check(&r, send_first)?;
                walls[i].push(r.wall_ms);
                rec.push(Record::Hook(r))?;
            }
        }
        for ((name, ..), w) in VARIANTS.iter().zip(walls) {
            say(format!("  {} {name}: {}", ours.backend.name(), brief(w)));
        }
    }
    Ok(())
}

/// A Claude Code `PostToolUse` payload as the harness sends it after a shell command.
fn write_payload(ours: &Ours) -> anyhow::Result<std::path::PathBuf> {
    let transcript = ours.dir.join("transcript.jsonl");
    std::fs::write(&transcript, "")?;
    let payload = json!({
        "session_id": "0b6a7e4e-2f7c-4d7e-9c52-5d0f3f1a9b11",
        "transcript_path": transcript,
        "cwd": ours.dir,
        "permission_mode": "default",
        "hook_event_name": "PostToolUse",
        "tool_name": "Bash",
        "tool_input": {"command": "cargo test --lib", "description": "Run the unit tests"},
        "tool_response": {"stdout": "test result: ok. 139 passed; 0 failed", "stderr": "",
            "interrupted": false, "isImage": false},
    });
    let path = ours.dir.join("post-tool-use.json");
    std::fs::write(&path, payload.to_string())?;
    Ok(path)
}

fn measure(
    ours: &Ours,
    payload: &std::path::Path,
    name: &str,
    args: &[&str],
    trial: u32,
) -> anyhow::Result<Hook> {
    let mut cmd = ours.cmd(ME);
    if args[0] != "--version" {
        cmd.arg("-v");
    }
    cmd.args(args);
    let f = proc::run_reading(cmd, &ours.dir.join("hook"), payload)?;
    let counted = if args[0] == "--version" {
        None
    } else {
        Some(requests(&f.stderr)?)
    };
    Ok(Hook {
        backend: ours.backend.name().into(),
        variant: name.into(),
        trial,
        wall_ms: f.wall_ms,
        rss_kib: Some(f.rss_kib),
        exit: f.exit,
        requests: counted,
        stdout_bytes: f.stdout.len() as u64,
        printed_message: f.stdout.contains("for the hooked agent"),
    })
}

/// A run that did not do what its variant is: the numbers would describe something else.
fn check(r: &Hook, send_first: bool) -> anyhow::Result<()> {
    ensure!(r.exit == 0, "{} exited {}", r.variant, r.exit);
    if r.variant == "throttled" {
        let total: u64 = r.requests.unwrap_or_default().iter().sum();
        ensure!(
            total == 0 && r.stdout_bytes == 0,
            "a throttled hook made {total} requests and printed {} bytes",
            r.stdout_bytes
        );
    }
    if send_first {
        ensure!(
            r.printed_message,
            "the un-throttled hook did not print the new message"
        );
    }
    Ok(())
}
