//! Scenario 5: how soon `wait-for` notices a `complete`. Per trial a fresh step is claimed,
//! three waiters start together (ours with its default polling, ours with `--interval
//! 0.25`, and the Python tool), and after a delay from the fixed schedule our `complete`
//! marks the step done. All three see the same event, so the comparison is fair to the
//! microsecond; exit times come from each process's measuring shim, so they are exact
//! whatever order the driver reaps them in.

use std::thread;
use std::time::Duration;

use super::{Ctx, Recorder, brief, say};
use crate::proc;
use crate::record::{Record, WaitFor};

const WORKER: &str = "worker";
const TIMEOUT_S: &str = "120";

pub fn run(ctx: &Ctx, rec: &mut Recorder) -> anyhow::Result<()> {
    let project = ctx.project("wait");
    say(format!(
        "scenario 5: wait-for reaction on project {project}"
    ));
    let ours = ctx.ours(ctx.s3_backend(), &project, WORKER)?;
    let py = ctx.python(&project, "waiter-py")?;
    let mut seen: Vec<(String, Vec<f64>)> = Vec::new();
    for (trial, &delay_ms) in ctx.plan.wait_delays_ms.iter().enumerate() {
        let trial = trial as u32;
        let sid = format!("wait-{trial}");
        ours.run(WORKER, &["claim", &sid])?;
        let mut waiters = Vec::new();
        for (name, mut cmd) in [
            ("ours", ours.cmd("waiter-rs")),
            ("ours --interval 0.25", ours.cmd("waiter-rs-fast")),
            ("python", py.cmd("waiter-py")),
        ] {
            cmd.args(["wait-for", &sid, "--timeout", TIMEOUT_S]);
            if name == "ours --interval 0.25" {
                cmd.args(["--interval", "0.25"]);
            }
            let base = ctx.dir(&format!("wait-{}", name.replace(' ', "_")));
            waiters.push((name, proc::spawn(cmd, &base, None)?));
        }
        thread::sleep(Duration::from_millis(delay_ms));
        let mut complete = ours.cmd(WORKER);
        complete.args(["complete", &sid]);
        let done = proc::must(complete, &ours.dir.join("complete"));
        let waited: Vec<_> = waiters
            .into_iter()
            .map(|(name, child)| (name, child.wait()))
            .collect();
        let completed = done?.ended_ns;
        for (name, w) in waited {
            let w = w?;
            let reaction_ms = (w.exit == 0 && w.ended_ns > completed)
                .then(|| (w.ended_ns - completed) as f64 / 1e6);
            if reaction_ms.is_none() {
                say(format!(
                    "  warning: waiter {name} ended with {} before or without the complete: {}",
                    w.exit, w.stderr
                ));
            }
            match seen.iter_mut().find(|(n, _)| n == name) {
                Some((_, v)) => v.extend(reaction_ms),
                None => seen.push((name.to_string(), reaction_ms.into_iter().collect())),
            }
            rec.push(Record::WaitFor(WaitFor {
                tool: name.into(),
                trial,
                delay_ms,
                reaction_ms,
                exit: w.exit,
            }))?;
        }
        say(format!("  trial {trial} (delay {delay_ms} ms) done"));
    }
    for (name, v) in seen {
        say(format!("  {name}: reaction {}", brief(v)));
    }
    Ok(())
}
