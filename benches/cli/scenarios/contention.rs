//! Scenario 2: N `claim` processes for one fresh step, released together, on `fs` and on
//! SeaweedFS. Each child is spawned ahead and its measuring shim sleeps until a shared
//! start time before it starts the claim, and reports the claim's exit time itself. A
//! fresh reader then fetches the stored claim and `judge` gives the verdict. On SeaweedFS
//! the same race is also run from one warm in-process client, to isolate the server.

use std::path::Path;
use std::time::{Duration, Instant};

use super::{Ctx, Recorder, brief, say};
use crate::judge::{judge, split_latencies};
use crate::proc;
use crate::record::{ClaimTrial, Claimer, Record};
use crate::tools::{Backend, Ours};

/// Head start for spawning: every child must be forked and waiting before the release.
pub fn head_start(n: u32) -> Duration {
    Duration::from_millis(300 + 15 * u64::from(n))
}

pub fn run(ctx: &Ctx, rec: &mut Recorder) -> anyhow::Result<()> {
    for backend in [ctx.fs_backend("contention"), ctx.s3_backend()] {
        let project = ctx.project(&format!("contention-{}", backend.name()));
        say(format!(
            "scenario 2: claim contention on {} (project {project})",
            backend.name()
        ));
        let ours = ctx.ours(backend, &project, "referee")?;
        for &n in &ctx.plan.contention_ns {
            let mut all = Vec::new();
            let mut violations = 0;
            for trial in 0..ctx.plan.contention_trials {
                let (claimers, verdict) = trial_once(ctx, &ours, n, trial)?;
                violations += keep(rec, &mut all, claimers, verdict, "")?;
            }
            let (won, lost) = split_latencies(&all);
            say(format!(
                "  {} n={n}: {} trials, {violations} violations/errors; winners {}; losers {}",
                ours.backend.name(),
                ctx.plan.contention_trials,
                brief(won),
                brief(lost)
            ));
            if matches!(ours.backend, Backend::S3 { .. }) {
                server_only(ctx, &ours.project, n, rec)?;
            }
        }
    }
    Ok(())
}

/// Records one trial's claimers and verdict, adds the claimers to `all`, says every
/// violation and error, and returns how many there were.
fn keep(
    rec: &mut Recorder,
    all: &mut Vec<Claimer>,
    claimers: Vec<Claimer>,
    verdict: ClaimTrial,
    label: &str,
) -> anyhow::Result<usize> {
    let (n, trial) = (verdict.n, verdict.trial);
    for v in verdict.violations.iter().chain(&verdict.errors) {
        say(format!("  VIOLATION/ERROR{label} n={n} trial={trial}: {v}"));
    }
    let count = verdict.violations.len() + verdict.errors.len();
    all.extend(claimers.iter().cloned());
    for c in claimers {
        rec.push(Record::Claimer(c))?;
    }
    rec.push(Record::ClaimTrial(verdict))?;
    Ok(count)
}

/// The same race from one warm in-process client: N conditional creates sent at once,
/// no process start, so the latencies are the server's arbitration and round trip alone.
fn server_only(ctx: &Ctx, project: &str, n: u32, rec: &mut Recorder) -> anyhow::Result<()> {
    let floor = ctx.floor(project)?;
    let mut all = Vec::new();
    for trial in 0..ctx.plan.contention_trials {
        let sid = format!("race-floor-{n}-{trial}");
        let claimers: Vec<Claimer> = floor
            .race(&sid, n)
            .into_iter()
            .map(|(agent, exit, wall_ms)| Claimer {
                backend: IN_PROCESS.into(),
                n,
                trial,
                agent,
                exit,
                wall_ms,
                told_holder: None,
            })
            .collect();
        let holder = ctx.floor(project)?.claim_holder(&sid)?;
        let verdict = judge(IN_PROCESS, n, trial, &claimers, holder.as_deref());
        keep(rec, &mut all, claimers, verdict, " (in process)")?;
    }
    let (won, lost) = split_latencies(&all);
    say(format!(
        "  {IN_PROCESS} n={n}: winners {}; losers {}",
        brief(won),
        brief(lost)
    ));
    Ok(())
}

/// The backend label of the in-process race on SeaweedFS.
pub const IN_PROCESS: &str = "s3, in-process client";

fn trial_once(
    ctx: &Ctx,
    ours: &Ours,
    n: u32,
    trial: u32,
) -> anyhow::Result<(Vec<Claimer>, crate::record::ClaimTrial)> {
    let backend = ours.backend.name();
    let sid = format!("race-{n}-{trial}");
    let start = Instant::now() + head_start(n);
    let mut spawned = Vec::new();
    for i in 0..n {
        let agent = format!("racer-{i:02}");
        let mut cmd = ours.cmd(&agent);
        cmd.args(["--json", "claim", &sid]);
        let base = ours.dir.join(format!("claim-{i}"));
        spawned.push((agent, proc::spawn(cmd, &base, Some(start))?));
    }
    if Instant::now() > start {
        say(format!(
            "  warning: spawning {n} claimers took longer than the head start"
        ));
    }
    // The shims report exit times themselves, so reaping in order loses nothing.
    let finished: Vec<(String, std::io::Result<proc::Finished>)> = spawned
        .into_iter()
        .map(|(agent, child)| (agent, child.wait()))
        .collect();
    let mut claimers = Vec::new();
    for (agent, done) in finished {
        let done = done?;
        let told_holder = serde_json::from_str::<serde_json::Value>(done.stdout.trim())
            .ok()
            .and_then(|v| v["holder"].as_str().map(str::to_string));
        claimers.push(Claimer {
            backend: backend.into(),
            n,
            trial,
            agent,
            exit: done.exit,
            wall_ms: done.wall_ms,
            told_holder,
        });
    }
    let holder = fresh_holder(ctx, ours, &sid)?;
    let verdict = judge(backend, n, trial, &claimers, holder.as_deref());
    Ok((claimers, verdict))
}

/// The claim's holder as a reader that shares nothing with the claimers sees it: a new S3
/// client, or the file itself on fs.
fn fresh_holder(ctx: &Ctx, ours: &Ours, sid: &str) -> anyhow::Result<Option<String>> {
    match &ours.backend {
        Backend::S3 { .. } => ctx.floor(&ours.project)?.claim_holder(sid),
        Backend::Fs { root } => {
            let path = fs_object(root, &ours.project, &tracecraft::keys::step_claim(sid));
            match std::fs::read(&path) {
                Ok(bytes) => {
                    let doc: serde_json::Value = serde_json::from_slice(&bytes)?;
                    Ok(doc["agent"].as_str().map(str::to_string))
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(e.into()),
            }
        }
    }
}

/// Where the fs backend keeps an object: `<root>/<bucket>/<project>/<key>`, with the
/// default bucket name.
pub fn fs_object(root: &Path, project: &str, key: &str) -> std::path::PathBuf {
    root.join("tracecraft").join(project).join(key)
}
