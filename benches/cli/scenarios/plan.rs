//! Scenario 8: the work graph at scale. A plan of N steps in 20 parallel chains is applied
//! to a fresh project on the SeaweedFS server; `ready` is timed on the whole plan; then A
//! agents, released together, each loop `claim --next --wait` and `complete` until
//! `claim --next` exits 6. The record counts the claims, the steps claimed twice (must be
//! 0) and the steps complete at the end (must be N).

use std::collections::BTreeMap;
use std::sync::Barrier;
use std::thread;
use std::time::Instant;

use anyhow::Context;
use serde_json::{Value, json};

use super::{Ctx, Recorder, brief, say};
use crate::proc;
use crate::record::{PlanDrain, PlanReady, Record};
use crate::tools::Ours;

const LEAD: &str = "planner";
/// Step i comes after step i − CHAINS: that many steps can run at once.
const CHAINS: u32 = 20;

pub fn run(ctx: &Ctx, rec: &mut Recorder) -> anyhow::Result<()> {
    let (n, agents) = (ctx.plan.plan_steps, ctx.plan.plan_agents);
    for trial in 0..ctx.plan.plan_trials {
        let project = ctx.project(&format!("plan-{trial}"));
        say(format!(
            "scenario 8: plan of {n} steps, {agents} agents draining it on s3 (project {project})"
        ));
        let ours = ctx.ours(ctx.s3_backend(), &project, LEAD)?;
        let steps: Vec<Value> = (0..n)
            .map(|i| {
                let after: Vec<String> = (i >= CHAINS)
                    .then(|| format!("s{:05}", i - CHAINS))
                    .into_iter()
                    .collect();
                json!({"id": format!("s{i:05}"), "title": format!("step {i}"), "after": after})
            })
            .collect();
        let file = ours.dir.join("plan.json");
        std::fs::write(&file, json!({ "steps": steps }).to_string())?;
        ours.run(LEAD, &["plan", "apply", &file.to_string_lossy()])?;

        let mut walls = Vec::new();
        for r in 0..ctx.plan.plan_ready_trials {
            let mut cmd = ours.cmd(LEAD);
            cmd.args(["--json", "ready"]);
            let out = proc::run(cmd, &ours.dir.join("ready"))?;
            let listed = serde_json::from_str::<Value>(&out.stdout)
                .ok()
                .and_then(|v| v["ready"].as_array().map(|a| a.len() as u64))
                .unwrap_or(0);
            if out.exit == 0 {
                walls.push(out.wall_ms);
            }
            rec.push(Record::PlanReady(PlanReady {
                backend: ours.backend.name().into(),
                steps: n,
                trial: r,
                wall_ms: out.wall_ms,
                exit: out.exit,
                listed,
            }))?;
        }
        say(format!("  ready on {n} steps: {}", brief(walls)));

        let d = drain(&ours, n, agents, trial)?;
        say(format!(
            "  drain: {} claims in {:.1} s ({:.1} claims/s), {} double claims, {} of {n} complete, errors: {:?}",
            d.claims,
            d.wall_ms / 1000.0,
            d.claims as f64 / (d.wall_ms / 1000.0),
            d.double_claims,
            d.complete,
            d.errors
        ));
        rec.push(Record::PlanDrain(d))?;
    }
    Ok(())
}

/// What one agent's loop did: the steps it claimed, how it ended, failed completes.
type Loop = (Vec<String>, i32, Vec<String>);

fn drain(ours: &Ours, n: u32, agents: u32, trial: u32) -> anyhow::Result<PlanDrain> {
    let barrier = Barrier::new(agents as usize + 1);
    let (started, loops) = thread::scope(|scope| {
        let handles: Vec<_> = (0..agents)
            .map(|a| {
                let barrier = &barrier;
                scope.spawn(move || -> anyhow::Result<Loop> {
                    let agent = format!("drainer-{a:02}");
                    let base = ours.dir.join(format!("drain-{a}"));
                    let (mut claimed, mut failures) = (Vec::new(), Vec::new());
                    barrier.wait();
                    loop {
                        let mut claim = ours.cmd(&agent);
                        claim.args(["--json", "claim", "--next", "--wait", "--timeout", "600"]);
                        let out = proc::run(claim, &base)?;
                        if out.exit != 0 {
                            return Ok((claimed, out.exit, failures));
                        }
                        let v: Value = serde_json::from_str(&out.stdout)
                            .context("claim --next --json is not JSON")?;
                        let step = v["id"].as_str().context("no id")?.to_string();
                        let mut complete = ours.cmd(&agent);
                        complete.args(["complete", &step]);
                        let done = proc::run(complete, &base)?;
                        if done.exit != 0 {
                            failures.push(format!("{agent}: complete {step} exit {}", done.exit));
                        }
                        claimed.push(step);
                    }
                })
            })
            .collect();
        barrier.wait();
        let started = Instant::now();
        let loops: Vec<_> = handles
            .into_iter()
            .map(|h| h.join().expect("agent thread"))
            .collect();
        (started, loops)
    });
    let wall_ms = started.elapsed().as_secs_f64() * 1000.0;
    let mut times: BTreeMap<String, u64> = BTreeMap::new();
    let mut errors = Vec::new();
    let mut claims = 0;
    for (a, l) in loops.into_iter().enumerate() {
        let (claimed, exit, failures) = l?;
        claims += claimed.len() as u64;
        for s in claimed {
            *times.entry(s).or_default() += 1;
        }
        if exit != 6 {
            errors.push(format!("drainer-{a:02} ended with exit {exit}"));
        }
        errors.extend(failures);
    }
    let double_claims = times.values().filter(|&&c| c > 1).count() as u64;
    let mut show = ours.cmd(LEAD);
    show.args(["--json", "plan"]);
    let out = proc::must(show, &ours.dir.join("plan-show"))?;
    let v: Value = serde_json::from_str(&out.stdout).context("plan --json is not JSON")?;
    Ok(PlanDrain {
        backend: ours.backend.name().into(),
        steps: n,
        agents,
        trial,
        wall_ms,
        claims,
        double_claims,
        complete: v["counts"]["complete"].as_u64().unwrap_or(0),
        errors,
    })
}
