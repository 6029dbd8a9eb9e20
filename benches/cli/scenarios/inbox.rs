//! Scenario 4: `inbox` of mailboxes holding 100, 1,000 and 10,000 messages, ours against
//! the Python tool. The mailboxes are filled straight into the bucket in the contract's
//! layout (10,000 `send` processes would take longer than the reads being measured). Each
//! size gets one unrecorded warm-up read per tool, then alternating measured reads, each
//! trial followed by the floor's same requests from the warm in-process client.

use std::time::Instant;

use anyhow::ensure;

use super::{Ctx, Recorder, brief, say};
use crate::proc;
use crate::record::{Inbox, Record};
use crate::tools::Tool;

pub fn run(ctx: &Ctx, rec: &mut Recorder) -> anyhow::Result<()> {
    let project = ctx.project("inbox");
    say(format!("scenario 4: inbox at scale on project {project}"));
    let ours = ctx.ours(ctx.s3_backend(), &project, "inbox-rs")?;
    let py = ctx.python(&project, "inbox-py")?;
    let floor = ctx.floor(&project)?;
    let tools = [Tool::Ours(&ours), Tool::Python(&py)];
    let plan = &ctx.plan;
    for (&size, &trials) in plan.inbox_sizes.iter().zip(&plan.inbox_trials) {
        let reader = format!("reader-{size}");
        floor.fill_mailbox(&reader, "filler", size as usize)?;
        for tool in &tools {
            let (shown, done) = read(tool, &reader)?;
            ensure!(
                done.exit == 0 && shown == u64::from(size),
                "{} inbox of {size} showed {shown} (exit {}): {}",
                tool.name(),
                done.exit,
                done.stderr
            );
        }
        floor.inbox(&reader)?;
        let mut times: [Vec<f64>; 3] = [Vec::new(), Vec::new(), Vec::new()];
        for trial in 0..trials {
            let order = if trial.is_multiple_of(2) {
                [0, 1]
            } else {
                [1, 0]
            };
            for i in order {
                let (shown, done) = read(&tools[i], &reader)?;
                times[i].push(done.wall_ms);
                rec.push(Record::Inbox(Inbox {
                    size,
                    tool: tools[i].name().into(),
                    trial,
                    wall_ms: done.wall_ms,
                    rss_kib: Some(done.rss_kib),
                    exit: done.exit,
                    shown,
                }))?;
            }
            let started = Instant::now();
            let read = floor.inbox(&reader);
            let wall_ms = started.elapsed().as_secs_f64() * 1000.0;
            times[2].push(wall_ms);
            rec.push(Record::Inbox(Inbox {
                size,
                tool: "floor".into(),
                trial,
                wall_ms,
                rss_kib: None,
                exit: if read.is_ok() { 0 } else { 1 },
                shown: read.unwrap_or(0) as u64,
            }))?;
        }
        let [o, p, f] = times;
        say(format!(
            "  {size}: ours {}; python {}; floor {}",
            brief(o),
            brief(p),
            brief(f)
        ));
    }
    Ok(())
}

/// Reads the whole inbox; the number of message lines printed and the run.
fn read(tool: &Tool, reader: &str) -> anyhow::Result<(u64, proc::Finished)> {
    let mut cmd = tool.cmd(reader);
    cmd.arg("inbox");
    let done = proc::run(cmd, &tool.dir().join("inbox"))?;
    let shown = done.stdout.lines().filter(|l| l.starts_with('[')).count() as u64;
    Ok((shown, done))
}
