//! Scenario 10 (issue 14), cost at scale: projects of 10, 1,000 and 10,000 steps with 100
//! agents and 10,000 messages, seeded straight into the SeaweedFS bucket through the
//! library's store (as that many agents' commands would leave them, in a fraction of the
//! time). Every step is in the plan: a third complete, a third in progress under the 100
//! agents' leased claims, a third pending after a complete step (ready). In each project
//! one agent holding two leased claims runs every command of [`COMMANDS`] with `-v` as a
//! whole process, `cold` (its local document cache deleted first) and `warm` (right after
//! the same call), and the `requests:` line of each run is recorded with its wall time and
//! peak memory. What `claim` and `claim --next` took is released again (not measured).
//!
//! Adding a command is one row in `commands.rs` ([`COMMANDS`]); the page picks it up.

use anyhow::{Context, ensure};
use futures::StreamExt;

use super::{Ctx, Recorder, brief, say};
use crate::commands::{SCALE_COMMANDS as COMMANDS, ScaleCommand};
use crate::proc;
use crate::record::{Record, Scale};
use crate::tools::Ours;

const ME: &str = "bench-me";
const AGENTS: usize = 100;
const MESSAGES: usize = 10_000;
/// Documents written at once while seeding.
const SEED_CONCURRENCY: usize = 64;

/// Is `name` the scan variant, whose marker must be aged before each run?
fn ages_marker(name: &str) -> bool {
    name == "heartbeat (scan)"
}

pub fn run(ctx: &Ctx, rec: &mut Recorder) -> anyhow::Result<()> {
    let sizes = ctx.plan.scale_steps.clone();
    for steps in sizes {
        let project = ctx.project(&format!("scale-{steps}"));
        let ours = ctx.ours(ctx.s3_backend(), &project, ME)?;
        let t = std::time::Instant::now();
        seed(&ours, steps as usize)?;
        say(format!(
            "scale: seeded {steps} steps, {AGENTS} agents, {MESSAGES} messages in {:.0} s",
            t.elapsed().as_secs_f64()
        ));
        for s in ["mine-a", "mine-b"] {
            ours.run(ME, &["claim", s, "--ttl", "2h"])?;
        }
        // The agent's first heartbeat scans once; its inbox cursor catches up once.
        ours.run(ME, &["heartbeat"])?;
        ours.run(ME, &["inbox", "--new"])?;
        for c in COMMANDS {
            let mut walls = Vec::new();
            for trial in 0..ctx.plan.scale_trials {
                for phase in ["cold", "warm"] {
                    if phase == "cold" {
                        let cache = ours.dir.join(".cache").join("tracecraft");
                        let _ = std::fs::remove_dir_all(&cache);
                    }
                    if ages_marker(c.name) {
                        age_scan_marker(&ours)?;
                    }
                    let label = format!("{steps}-{phase}-{trial}");
                    let (r, stdout) = measure(&ours, steps, c, phase, trial, &label)?;
                    if let Some(step) = claimed(c.name, &label, &stdout) {
                        ours.run(ME, &["release", &step])?;
                    }
                    if phase == "warm" {
                        walls.push(r.wall_ms);
                    }
                    rec.push(Record::Scale(r))?;
                }
            }
            say(format!("scale {steps} {}: warm {}", c.name, brief(walls)));
        }
    }
    Ok(())
}

fn measure(
    ours: &Ours,
    steps: u32,
    c: &ScaleCommand,
    phase: &str,
    trial: u32,
    label: &str,
) -> anyhow::Result<(Scale, String)> {
    let mut cmd = ours.cmd(ME);
    cmd.arg("-v").args((c.args)(label));
    let f = proc::run(cmd, &ours.dir.join("scale"))?;
    ensure!(
        f.exit == 0,
        "{} exited {}: {}",
        c.name,
        f.exit,
        f.stderr.trim()
    );
    let requests = requests(&f.stderr).with_context(|| format!("{}: {}", c.name, f.stderr))?;
    let requests_ms = requests_ms(&f.stderr);
    let scale = Scale {
        backend: "s3".into(),
        steps,
        command: c.name.into(),
        phase: phase.into(),
        trial,
        wall_ms: f.wall_ms,
        rss_kib: Some(f.rss_kib),
        exit: f.exit,
        requests,
        requests_ms,
    };
    Ok((scale, f.stdout))
}

/// The step a claiming row took, to release before the next run.
fn claimed(name: &str, label: &str, stdout: &str) -> Option<String> {
    match name {
        "claim" => Some(format!("fresh-{label}")),
        "claim --next" => serde_json::from_str::<serde_json::Value>(stdout)
            .ok()?
            .get("id")?
            .as_str()
            .map(str::to_string),
        _ => None,
    }
}

/// `[GET, HEAD, PUT, DELETE, LIST]` from the `requests:` line that ends stderr under `-v`.
pub fn requests(stderr: &str) -> anyhow::Result<[u64; 5]> {
    let line = stderr
        .lines()
        .last()
        .and_then(|l| l.strip_prefix("requests: "))
        .context("no requests line")?;
    let kinds = line.split(" (").next().unwrap_or_default();
    let mut out = [0; 5];
    for (i, part) in kinds.split(" · ").enumerate().take(5) {
        let n = part.split(' ').next().unwrap_or_default();
        out[i] = n
            .parse()
            .with_context(|| format!("bad count in {line:?}"))?;
    }
    Ok(out)
}

/// The summed time of the requests, from the `(N in X ms)` end of the `requests:` line.
fn requests_ms(stderr: &str) -> Option<f64> {
    let line = stderr.lines().last()?;
    let inner = line.rsplit_once(" in ")?.1;
    inner.strip_suffix(" ms)")?.parse().ok()
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

fn store_of(ours: &Ours) -> anyhow::Result<Box<dyn tracecraft::store::Store>> {
    let config: tracecraft::config::Config =
        serde_json::from_slice(&std::fs::read(ours.dir.join(".tracecraft.json"))?)?;
    runtime()?.block_on(config.open_store())
}

/// Writes `steps` plan steps (specs; a third complete, a third in progress under 100
/// agents' leased claims, a third pending after a complete step), 100 presence records
/// and 10,000 old messages (100 per agent) straight into the bucket.
fn seed(ours: &Ours, steps: usize) -> anyhow::Result<()> {
    let store = store_of(ours)?;
    let now = chrono::Utc::now();
    let day_ago = now - chrono::Duration::days(1);
    let stamp = tracecraft::time::format(day_ago);
    let mut docs: Vec<(String, serde_json::Value)> = Vec::new();
    for i in 0..steps {
        let sid = format!("s-{i:05}");
        let agent = format!("agent-{:03}", i % AGENTS);
        let after: Vec<String> = (i % 3 == 2)
            .then(|| format!("s-{:05}", i - 2))
            .into_iter()
            .collect();
        docs.push((
            tracecraft::keys::step_spec(&sid),
            serde_json::json!({"id": sid, "name": sid, "title": format!("step {i}"),
                "after": after, "labels": [], "priority": 2, "description": "",
                "created_by": "planner", "created_at": stamp}),
        ));
        match i % 3 {
            0 => {
                // A finished step keeps the plain claim its agent took.
                docs.push((
                    tracecraft::keys::step_claim(&sid),
                    serde_json::json!({"agent": agent, "claimed_at": stamp}),
                ));
                docs.push((
                    tracecraft::keys::step_status(&sid),
                    serde_json::json!({"status": "complete", "agent": agent,
                        "started_at": stamp, "completed_at": stamp}),
                ));
            }
            1 => {
                // A lease its holder keeps renewing: written now, 2 hours long.
                let expires = tracecraft::time::format(now + chrono::Duration::hours(2));
                docs.push((
                    tracecraft::keys::step_claim(&sid),
                    serde_json::json!({"agent": agent, "claimed_at": stamp, "generation": 1,
                        "token": format!("{i:08x}"),
                        "lease": {"ttl_s": 7200, "renewed_at": tracecraft::time::format(now),
                            "expires_at": expires}}),
                ));
                docs.push((
                    tracecraft::keys::step_status(&sid),
                    serde_json::json!({"status": "in_progress", "agent": agent,
                        "started_at": stamp}),
                ));
            }
            _ => {}
        }
    }
    for a in 0..AGENTS {
        let agent = format!("agent-{a:03}");
        docs.push((
            tracecraft::keys::agent(&agent),
            serde_json::json!({"id": agent, "status": "active", "step": null,
                "started_at": stamp, "heartbeat": stamp, "summary": ""}),
        ));
    }
    let base_ns = day_ago.timestamp_nanos_opt().unwrap_or_default();
    for m in 0..MESSAGES {
        let to = if m % (AGENTS + 1) == AGENTS {
            ME.to_string()
        } else {
            format!("agent-{:03}", m % (AGENTS + 1))
        };
        let from = format!("agent-{:03}", (m + 1) % AGENTS);
        let ts = format!("{:019}", base_ns + m as i64 * 1000);
        let uuid = format!("{:08x}", m);
        docs.push((
            tracecraft::keys::message(&to, &ts, &from, &uuid),
            serde_json::json!({"from": from, "to": to, "message": "progress note", "sent_at": stamp}),
        ));
    }
    let store = store.as_ref();
    runtime()?.block_on(async {
        let results: Vec<_> = futures::stream::iter(docs)
            .map(|(key, doc)| async move {
                store
                    .put(
                        &key,
                        bytes::Bytes::from(doc.to_string()),
                        tracecraft::store::PutMode::Overwrite,
                        &tracecraft::store::PutOptions::json(),
                    )
                    .await
            })
            .buffer_unordered(SEED_CONCURRENCY)
            .collect()
            .await;
        results.into_iter().collect::<Result<Vec<_>, _>>()
    })?;
    Ok(())
}

/// Makes the agent's last full scan 20 minutes old, so the next `heartbeat` scans.
fn age_scan_marker(ours: &Ours) -> anyhow::Result<()> {
    let store = store_of(ours)?;
    let dir = tracecraft::keys::own_dir(ME);
    let then = chrono::Utc::now() - chrono::Duration::minutes(20);
    let ts = format!("{:019}", then.timestamp_nanos_opt().unwrap_or_default());
    let marker = tracecraft::keys::own_scanned(ME, &ts);
    runtime()?.block_on(async {
        for e in store.list(&dir, None).await? {
            if tracecraft::keys::own_scanned_at(ME, &e.key).is_some() {
                store.delete(&e.key).await?;
            }
        }
        store
            .put(
                &marker,
                bytes::Bytes::from_static(b"{}"),
                tracecraft::store::PutMode::Overwrite,
                &tracecraft::store::PutOptions::json(),
            )
            .await?;
        anyhow::Ok(())
    })
}
