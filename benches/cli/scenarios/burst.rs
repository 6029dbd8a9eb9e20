//! Scenario 3: S sender threads released together by a barrier, each running M `send`
//! processes back to back to one recipient; afterwards a fresh `inbox --json` of the
//! recipient must show each of the S × M distinct messages exactly once.

use std::collections::BTreeMap;
use std::sync::Barrier;
use std::thread;
use std::time::Instant;

use anyhow::Context;

use super::{Ctx, Recorder, say};
use crate::proc;
use crate::record::{Burst, Record};
use crate::tools::Ours;

pub fn run(ctx: &Ctx, rec: &mut Recorder) -> anyhow::Result<()> {
    let (s, m) = (ctx.plan.burst_senders, ctx.plan.burst_messages);
    for backend in [ctx.fs_backend("burst"), ctx.s3_backend()] {
        let project = ctx.project(&format!("burst-{}", backend.name()));
        say(format!(
            "scenario 3: burst of {s} × {m} sends on {} (project {project})",
            backend.name()
        ));
        let ours = ctx.ours(backend, &project, "postmaster")?;
        for trial in 0..ctx.plan.burst_trials {
            let b = burst_once(&ours, s, m, trial)?;
            say(format!(
                "  {} trial {trial}: sent {} failed {} delivered {} duplicates {} in {:.2} s ({:.0} msg/s)",
                b.backend,
                b.sent,
                b.failed,
                b.delivered,
                b.duplicates,
                b.wall_ms / 1000.0,
                b.delivered as f64 / (b.wall_ms / 1000.0)
            ));
            rec.push(Record::Burst(b))?;
        }
    }
    Ok(())
}

fn body(sender: u32, i: u32) -> String {
    format!("burst message s{sender:02}-m{i:03}")
}

fn burst_once(ours: &Ours, s: u32, m: u32, trial: u32) -> anyhow::Result<Burst> {
    let to = format!("sink-{trial}");
    let barrier = Barrier::new(s as usize + 1);
    let (started, results) = thread::scope(|scope| {
        let handles: Vec<_> = (0..s)
            .map(|sender| {
                let (barrier, to) = (&barrier, &to);
                scope.spawn(move || -> anyhow::Result<(u64, u64)> {
                    let agent = format!("sender-{sender:02}");
                    let base = ours.dir.join(format!("burst-{sender}"));
                    barrier.wait();
                    let (mut ok, mut failed) = (0, 0);
                    for i in 0..m {
                        let mut cmd = ours.cmd(&agent);
                        cmd.args(["send", to, &body(sender, i)]);
                        if proc::run(cmd, &base)?.exit == 0 {
                            ok += 1;
                        } else {
                            failed += 1;
                        }
                    }
                    Ok((ok, failed))
                })
            })
            .collect();
        barrier.wait();
        let started = Instant::now();
        let results: Vec<_> = handles
            .into_iter()
            .map(|h| h.join().expect("sender thread"))
            .collect();
        (started, results)
    });
    let wall_ms = started.elapsed().as_secs_f64() * 1000.0;
    let (mut sent, mut failed) = (0, 0);
    for r in results {
        let (ok, bad) = r?;
        sent += ok;
        failed += bad;
    }

    let mut read = ours.cmd(&to);
    read.args(["--json", "inbox"]);
    let out = proc::must(read, &ours.dir.join("burst-read"))?;
    let doc: serde_json::Value =
        serde_json::from_str(&out.stdout).context("inbox --json is not JSON")?;
    let mut seen: BTreeMap<String, u64> = BTreeMap::new();
    for msg in doc["messages"].as_array().context("no messages array")? {
        if let Some(text) = msg["message"].as_str() {
            *seen.entry(text.to_string()).or_insert(0) += 1;
        }
    }
    let expected = (0..s).flat_map(|sender| (0..m).map(move |i| body(sender, i)));
    let (mut delivered, mut duplicates) = (0, 0);
    for text in expected {
        if let Some(&count) = seen.get(&text) {
            delivered += 1;
            duplicates += count - 1;
        }
    }
    Ok(Burst {
        backend: ours.backend.name().into(),
        senders: s,
        per_sender: m,
        trial,
        sent,
        failed,
        delivered,
        duplicates,
        wall_ms,
    })
}
