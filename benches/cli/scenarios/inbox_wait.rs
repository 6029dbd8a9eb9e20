//! Scenario `inbox-wait` (issue 13): how soon `inbox --wait` prints a message, and what a
//! waiting inbox costs while nothing comes. Per trial a waiter starts, and after a delay
//! from the fixed schedule (some sends meet it in its quick first 10 s, some in its idle
//! 2 s rhythm) another agent's `send` delivers one message; the reaction is the time from
//! the `send` process's exit (the message is stored by then) to the waiter's exit, which
//! follows its printing the message. Then one waiter is left alone with `-v`, which logs
//! each look at the mailboxes with its time; the looks after its quick phase give the
//! idle request rate (each look is one listing of the direct mailbox and one of the
//! broadcasts, one page each at these sizes).

use std::thread;
use std::time::Duration;

use super::{Ctx, Recorder, brief, say};
use crate::proc;
use crate::record::{InboxIdle, InboxWait, Record};

const SENDER: &str = "sender";
const WAITER: &str = "waiter";
const TIMEOUT_S: &str = "120";
/// The waiter polls quickly for its first 10 s; the idle window starts a little later.
const IDLE_FROM_S: f64 = 12.0;

pub fn run(ctx: &Ctx, rec: &mut Recorder) -> anyhow::Result<()> {
    let project = ctx.project("inbox-wait");
    say(format!("scenario inbox-wait on project {project}"));
    let ours = ctx.ours(ctx.s3_backend(), &project, SENDER)?;
    let mut reactions = Vec::new();
    for (trial, &delay_ms) in ctx.plan.inbox_wait_delays_ms.iter().enumerate() {
        let trial = trial as u32;
        let mut cmd = ours.cmd(WAITER);
        cmd.args(["inbox", "--wait", "--timeout", TIMEOUT_S]);
        let waiter = proc::spawn(cmd, &ctx.dir(&format!("inbox-wait-{trial}")), None)?;
        thread::sleep(Duration::from_millis(delay_ms));
        let mut send = ours.cmd(SENDER);
        send.args(["send", WAITER, &format!("trial {trial}")]);
        let sent = proc::must(send, &ours.dir.join(format!("send-{trial}")))?;
        let w = waiter.wait()?;
        let printed = w.stdout.contains(&format!("trial {trial}"));
        let reaction_ms = (w.exit == 0 && printed && w.ended_ns > sent.ended_ns)
            .then(|| (w.ended_ns - sent.ended_ns) as f64 / 1e6);
        if reaction_ms.is_none() {
            say(format!(
                "  warning: waiter ended with {} without the message: {}",
                w.exit, w.stderr
            ));
        }
        reactions.extend(reaction_ms);
        rec.push(Record::InboxWait(InboxWait {
            trial,
            delay_ms,
            reaction_ms,
            exit: w.exit,
        }))?;
    }
    say(format!("  inbox --wait reaction: {}", brief(reactions)));

    let idle_s = ctx.plan.inbox_idle_s;
    if idle_s as f64 > IDLE_FROM_S {
        let mut cmd = ours.cmd(WAITER);
        cmd.args(["-v", "inbox", "--wait", "--timeout", &idle_s.to_string()]);
        let w = proc::spawn(cmd, &ctx.dir("inbox-idle"), None)?.wait()?;
        let times: Vec<f64> = w
            .stderr
            .lines()
            .filter_map(|l| l.strip_prefix("inbox: looked at 2 mailboxes at "))
            .filter_map(|l| l.strip_suffix(" s")?.parse().ok())
            .collect();
        let idle_looks = times.iter().filter(|t| **t >= IDLE_FROM_S).count() as u32;
        let record = InboxIdle {
            waited_s: idle_s as f64,
            looks: times.len() as u32,
            idle_from_s: IDLE_FROM_S,
            idle_looks,
            listings_per_look: 2,
        };
        say(format!(
            "  idle waiter: {} looks in {idle_s} s, {idle_looks} after {IDLE_FROM_S} s (exit {})",
            record.looks, w.exit
        ));
        rec.push(Record::InboxIdle(record))?;
    }
    Ok(())
}
