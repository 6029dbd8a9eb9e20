//! Scenario 12 (issue 12): reservation contention. In each round N `reserve` processes,
//! released together, ask for exclusive patterns that all cover one path of that round
//! (a literal, globs, `**`, a character class, the bare directory), so every pair
//! conflicts and exactly one may be granted. Every reservation is decided by
//! compare-and-swap on one index document, so a lost swap re-reads and tries again: the
//! latencies show what that queue costs. After each round a fresh `reservations --json`
//! gives the round's holder, judged like a claim trial (one winner, the index names it,
//! every refused process was told that holder); rounds accumulate in the index, so the
//! last read must hold exactly the winners of every round. On fs and on SeaweedFS.

use std::time::Instant;

use anyhow::Context;
use serde_json::Value;

use super::contention::head_start;
use super::{Ctx, Recorder, brief, say};
use crate::judge::{judge, split_latencies};
use crate::proc;
use crate::record::{Claimer, Record};
use crate::tools::Ours;

/// Patterns that all cover `round-R/src/api.rs`; agent i asks for the i-th (cycling).
const SHAPES: &[&str] = &[
    "round-{r}/src/api.rs",
    "round-{r}/src/*.rs",
    "round-{r}/**",
    "round-{r}/src",
    "round-{r}/src/a*.rs",
    "round-{r}/src/api.*",
    "round-{r}/*/api.rs",
    "round-{r}/src/[a-c]pi.rs",
    "round-{r}/**/*.rs",
    "round-{r}/src/**",
];

pub fn run(ctx: &Ctx, rec: &mut Recorder) -> anyhow::Result<()> {
    for backend in [ctx.fs_backend("reserve"), ctx.s3_backend()] {
        let project = ctx.project(&format!("reserve-{}", backend.name()));
        say(format!(
            "scenario 12: reservation contention on {} (project {project})",
            backend.name()
        ));
        let ours = ctx.ours(backend, &project, "referee")?;
        let mut winners_so_far: Vec<(String, String)> = Vec::new();
        for &n in &ctx.plan.reserve_ns {
            let mut all = Vec::new();
            let mut bad = 0;
            for round in 0..ctx.plan.reserve_rounds {
                let label = format!("{n}-{round}");
                let claimers = round_once(&ours, n, round, &label)?;
                let index = index(&ours)?;
                let holders: Vec<&str> = index
                    .iter()
                    .filter(|(_, pats)| pats.iter().any(|p| p.starts_with(&round_dir(&label))))
                    .map(|(agent, _)| agent.as_str())
                    .collect();
                let mut verdict = judge(
                    ours.backend.name(),
                    n,
                    round,
                    &claimers,
                    holders.first().copied(),
                );
                if holders.len() > 1 {
                    verdict.violations.push(format!(
                        "the index holds {} reservations of the round: {}",
                        holders.len(),
                        holders.join(", ")
                    ));
                }
                if let [w] = verdict.winners.as_slice() {
                    winners_so_far.push((w.clone(), round_dir(&label)));
                }
                // The index must hold exactly the winners of every round so far.
                let expected = winners_so_far.len();
                let kept = winners_so_far
                    .iter()
                    .filter(|(w, dir)| {
                        index
                            .iter()
                            .any(|(a, pats)| a == w && pats.iter().any(|p| p.starts_with(dir)))
                    })
                    .count();
                if kept != expected || index.len() != expected {
                    verdict.violations.push(format!(
                        "after the round the index holds {} reservations, {kept} of the {expected} winners so far",
                        index.len()
                    ));
                }
                for v in verdict.violations.iter().chain(&verdict.errors) {
                    say(format!("  VIOLATION/ERROR n={n} round={round}: {v}"));
                }
                bad += verdict.violations.len() + verdict.errors.len();
                all.extend(claimers.iter().cloned());
                for c in claimers {
                    rec.push(Record::Reserver(c))?;
                }
                rec.push(Record::ReserveRound(verdict))?;
            }
            let (won, lost) = split_latencies(&all);
            say(format!(
                "  {} n={n}: {} rounds, {bad} violations/errors; granted {}; refused {}",
                ours.backend.name(),
                ctx.plan.reserve_rounds,
                brief(won),
                brief(lost)
            ));
        }
    }
    Ok(())
}

/// The directory every pattern of one round lies under: `round-<n>-<round>/`.
fn round_dir(label: &str) -> String {
    format!("round-{label}/")
}

fn round_once(ours: &Ours, n: u32, round: u32, label: &str) -> anyhow::Result<Vec<Claimer>> {
    let start = Instant::now() + head_start(n);
    let mut spawned = Vec::new();
    for i in 0..n {
        let agent = format!("reserver-{i:02}");
        let pattern = SHAPES[i as usize % SHAPES.len()].replace("{r}", label);
        let mut cmd = ours.cmd(&agent);
        cmd.args(["--json", "reserve", &pattern, "--ttl", "2h"]);
        let base = ours.dir.join(format!("reserve-{i}"));
        spawned.push((agent, proc::spawn(cmd, &base, Some(start))?));
    }
    if Instant::now() > start {
        say(format!(
            "  warning: spawning {n} reservers took longer than the head start"
        ));
    }
    let mut out = Vec::new();
    for (agent, child) in spawned {
        let done = child.wait()?;
        let told_holder = serde_json::from_str::<Value>(done.stdout.trim())
            .ok()
            .and_then(|v| v["conflicts"][0]["holder"].as_str().map(str::to_string));
        out.push(Claimer {
            backend: ours.backend.name().into(),
            n,
            trial: round,
            agent,
            exit: done.exit,
            wall_ms: done.wall_ms,
            told_holder,
        });
    }
    Ok(out)
}

/// Every live reservation as (agent, patterns), read by the referee's own process.
fn index(ours: &Ours) -> anyhow::Result<Vec<(String, Vec<String>)>> {
    let out = ours.run("referee", &["--json", "reservations"])?;
    let v: Value = serde_json::from_str(&out.stdout).context("reservations --json")?;
    Ok(v["reservations"]
        .as_array()
        .context("no reservations array")?
        .iter()
        .map(|r| {
            let agent = r["agent"].as_str().unwrap_or_default().to_string();
            let patterns = r["patterns"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|p| p.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            (agent, patterns)
        })
        .collect())
}
