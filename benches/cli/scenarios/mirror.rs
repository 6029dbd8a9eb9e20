//! Scenario 6: the session mirror. A synthetic Claude Code transcript of exactly the
//! planned size is written once per size; each trial hard-links it under a new session id
//! (a fresh session to the mirror, no copy on disk) and runs `session mirror` as a whole
//! process on `fs` and on SeaweedFS, recording wall time and peak RSS. Redaction alone is
//! measured in process over the first transcript, as `benches/redact.rs` does.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use tracecraft::session::harness::claude_code::encode_cwd;
use tracecraft::session::redact::{Counts, redact_into};

use super::{Ctx, Recorder, say};
use crate::proc;
use crate::record::{Mirror, Record, Redact};
use crate::tools::Backend;

/// Every this-many lines carries a secret the redaction must find.
const SECRET_EVERY: usize = 50;

fn line(i: usize) -> String {
    let secret = if i.is_multiple_of(SECRET_EVERY) {
        " export AWS_ACCESS_KEY_ID=AKIAABCDEFGHIJKLMNOP"
    } else {
        ""
    };
    format!(
        "{{\"type\":\"assistant\",\"uuid\":\"{i:08x}-6f1e-4c1a-9d0b-2f3c4d5e6f70\",\"message\":{{\"role\":\"assistant\",\"content\":[{{\"type\":\"text\",\"text\":\"Running cargo test in /work/main; 58 passed, 0 failed. Next I will update the README and commit the change.{secret}\"}}]}},\"timestamp\":\"2026-11-21T10:28:42.017355Z\"}}\n"
    )
}

/// Writes a transcript of exactly `bytes` bytes of complete JSON lines.
fn write_transcript(path: &Path, bytes: u64) -> anyhow::Result<()> {
    let mut w = BufWriter::with_capacity(1 << 20, File::create(path)?);
    let mut written = 0u64;
    let mut i = 0;
    loop {
        let l = line(i);
        // Stop while the rest still fits one padded filler line.
        if written + 2 * l.len() as u64 > bytes {
            break;
        }
        w.write_all(l.as_bytes())?;
        written += l.len() as u64;
        i += 1;
    }
    let head = "{\"type\":\"summary\",\"text\":\"";
    let tail = "\"}\n";
    let pad = (bytes - written) as usize - head.len() - tail.len();
    write!(w, "{head}{}{tail}", "x".repeat(pad))?;
    w.flush()?;
    Ok(())
}

pub fn run(ctx: &Ctx, rec: &mut Recorder) -> anyhow::Result<()> {
    say("scenario 6: session mirror");
    let claude = ctx.dir("claude");
    let cwd = ctx.dir("mirror-cwd");
    let sessions = claude.join("projects").join(encode_cwd(&cwd));
    std::fs::create_dir_all(&sessions)?;
    std::fs::create_dir_all(&cwd)?;
    let backends = [ctx.fs_backend("mirror"), ctx.s3_backend()];
    let mut tools = Vec::new();
    for b in backends {
        let project = ctx.project(&format!("mirror-{}", b.name()));
        tools.push(ctx.ours(b, &project, "mirror-agent")?);
    }
    for (s, &bytes) in ctx.plan.mirror_sizes.iter().enumerate() {
        let source = ctx.dir(&format!("transcript-{bytes}.jsonl"));
        write_transcript(&source, bytes)?;
        if s == 0 {
            redaction(&source, bytes, ctx.plan.redact_rounds, rec)?;
        }
        for ours in &tools {
            for trial in 0..ctx.plan.mirror_trials {
                let id = format!("bench-{bytes}-{trial}");
                let link = sessions.join(format!("{id}.jsonl"));
                std::fs::hard_link(&source, &link)?;
                let mut cmd = ours.cmd("mirror-agent");
                cmd.env("CLAUDE_CONFIG_DIR", &claude).args([
                    "session",
                    "mirror",
                    "--harness",
                    "claude-code",
                    "--session-id",
                    &id,
                    "--cwd",
                ]);
                cmd.arg(&cwd);
                let done = proc::run(cmd, &ours.dir.join("mirror"))?;
                std::fs::remove_file(&link)?;
                if done.exit != 0 {
                    say(format!("  warning: mirror failed: {}", done.stderr));
                }
                say(format!(
                    "  {} {bytes} bytes trial {trial}: {:.2} s, {:.0} MB/s, peak RSS {:.1} MiB",
                    ours.backend.name(),
                    done.wall_ms / 1000.0,
                    bytes as f64 / 1e6 / (done.wall_ms / 1000.0),
                    done.rss_kib as f64 / 1024.0
                ));
                rec.push(Record::Mirror(Mirror {
                    backend: ours.backend.name().into(),
                    bytes,
                    trial,
                    wall_ms: done.wall_ms,
                    rss_kib: Some(done.rss_kib),
                    exit: done.exit,
                }))?;
                // The fs copy is only disk use from here on; the server's data goes with it.
                if let Backend::Fs { root } = &ours.backend {
                    remove_sessions(root, &ours.project)?;
                }
            }
        }
        std::fs::remove_file(&source)?;
    }
    Ok(())
}

fn remove_sessions(root: &Path, project: &str) -> anyhow::Result<()> {
    let dir: PathBuf = super::contention::fs_object(root, project, "sessions");
    if dir.exists() {
        std::fs::remove_dir_all(dir)?;
    }
    Ok(())
}

/// The mirror's redaction alone, in process, in the 4 MiB chunks the mirror uses.
fn redaction(source: &Path, bytes: u64, rounds: u32, rec: &mut Recorder) -> anyhow::Result<()> {
    let data = std::fs::read(source)?;
    let mut out = Vec::with_capacity(data.len() + data.len() / 8);
    for round in 0..rounds {
        out.clear();
        let mut counts = Counts::new();
        let started = Instant::now();
        for chunk in data.chunks(4 << 20) {
            redact_into(chunk, &mut out, &mut counts);
        }
        let secs = started.elapsed().as_secs_f64();
        let redactions: u64 = counts.values().sum();
        say(format!(
            "  redaction round {round}: {:.0} MB/s, {redactions} secrets",
            bytes as f64 / 1e6 / secs
        ));
        rec.push(Record::Redact(Redact {
            bytes,
            round,
            secs,
            redactions,
        }))?;
    }
    Ok(())
}
