//! One section of BENCHMARKS.md per scenario of issue 6, in the order (peak memory,
//! scenario 7, sits beside the latencies it belongs to; contention has its own file).
//! Each section states what was measured and how before its table.

use std::fmt::Write;

use super::figures::{FLOOR, Figures, OURS, PYTHON, size};
use super::{mib, ms, signed_ms, times, triple_ms};
use crate::commands::{COMMANDS, INBOX_MESSAGES, NO_ROOTS};

pub fn all(out: &mut String, f: &Figures) {
    latency(out, f);
    memory(out, f);
    super::contention::section(out, f);
    burst(out, f);
    inbox(out, f);
    wait_for(out, f);
    mirror(out, f);
    inbox_wait(out, f);
    plan(out, f);
    super::scale::section(out, f);
    super::hooks::section(out, f);
    super::contention::reservations(out, f);
}

fn failures_note(out: &mut String, notes: &[String]) {
    if !notes.is_empty() {
        let _ = writeln!(out, "Left out of the statistics: {}.\n", notes.join("; "));
    }
}

fn latency(out: &mut String, f: &Figures) {
    let _ = writeln!(out, "## 1. Per-command latency (s3)\n");
    let _ = writeln!(
        out,
        "Whole process, warm cache, both tools on one project in the SeaweedFS bucket: \
         `step-status` of a claimed step, `claim` of a fresh step each run, `send` to another \
         agent, `inbox` holding {INBOX_MESSAGES} messages, `memory get`, and `--version` (no \
         request at all: process start alone). The floor makes the listed requests from a \
         warm in-process client (`‖` = concurrently, as our binary does).\n"
    );
    let _ = writeln!(
        out,
        "| command | ours (ms) | Python (ms) | Python ÷ ours | floor (ms) | ours − floor (ms) | floor requests |\n|---|---|---|---|---|---|---|"
    );
    let mut notes = Vec::new();
    for c in COMMANDS {
        let floor = if c.floor == "none" {
            "0 (no request)".to_string()
        } else {
            triple_ms(f.latency(c.name, FLOOR))
        };
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} | {} | {} | {} |",
            c.name,
            triple_ms(f.latency(c.name, OURS)),
            triple_ms(f.latency(c.name, PYTHON)),
            times(f.speedup(c.name)),
            floor,
            f.overhead(c.name)
                .map(signed_ms)
                .unwrap_or_else(|| "—".into()),
            c.floor
        );
        for tool in [OURS, PYTHON, FLOOR] {
            let n = f.latency_failures(c.name, tool);
            if n > 0 {
                notes.push(format!("{n} failed `{}` run(s) of {tool}", c.name));
            }
        }
    }
    let _ = writeln!(out);
    failures_note(out, &notes);
    overhead(out, f);
}

/// Splits `ours − floor` of `step-status` into process start, root certificates and the
/// rest, from the `--version` runs and the runs with no roots to load.
fn overhead(out: &mut String, f: &Figures) {
    let med = |c: &str, t: &str| f.latency(c, t).map(|s| s.median);
    let (Some(ours), Some(no_roots), Some(version), Some(floor)) = (
        med("step-status", OURS),
        med("step-status", NO_ROOTS),
        med("--version", OURS),
        f.floor_median("step-status"),
    ) else {
        return;
    };
    let roots = ours - no_roots;
    let head = format!(
        "**Where `ours − floor` goes**, for `step-status` ({} ms against a floor of {} ms, \
         medians): starting and ending a process of our binary at all, as `--version` does: \
         {} ms;",
        ms(ours),
        ms(floor),
        ms(version)
    );
    // Against a plain-http endpoint the binary builds no TLS client, so the certificate
    // store costs nothing; older binaries loaded it on every call.
    let certificates = if roots.abs() < 0.5 {
        format!(
            " the system's root certificates: nothing measurable ({} ms with \
             `SSL_CERT_FILE=/dev/null`), since for a plain `http://` endpoint the binary builds \
             an HTTP client without TLS (the SDK's default HTTPS client used to read and parse \
             some 140 certificates on every call, about 3.5 ms);",
            ms(no_roots)
        )
    } else {
        format!(
            " loading the system's root certificates, which the AWS SDK's default HTTPS \
             client reads and parses at start-up (the same command with \
             `SSL_CERT_FILE=/dev/null` takes {} ms): {} ms;",
            ms(no_roots),
            ms(roots)
        )
    };
    let _ = writeln!(
        out,
        "{head}{certificates} the rest (reading the config, building the SDK client and \
         runtime, fresh TCP connections, our own CPU): {} ms.\n",
        ms(ours - floor - version - roots.max(0.0)),
    );
}

fn memory(out: &mut String, f: &Figures) {
    let _ = writeln!(out, "## 7. Peak memory per command (s3)\n");
    let _ = writeln!(
        out,
        "Peak resident set (`ru_maxrss`) of each process of scenario 1, MiB, min / median / max.{}\n",
        match f.run.map(|r| r.machine.shim_rss_kib) {
            Some(k) if k > 0 => format!(
                " A child's `ru_maxrss` starts at the size of the process that forked it, so \
                 every child is forked by a small measuring shim; `true` run through it \
                 measures {} MiB, the smallest figure this method can show.",
                mib(Some(k as f64))
            ),
            _ => String::new(),
        }
    );
    let _ = writeln!(
        out,
        "| command | ours (MiB) | Python (MiB) |\n|---|---|---|"
    );
    let fmt = |s: Option<crate::stats::Summary>| match s {
        Some(s) => format!(
            "{} / {} / {}",
            mib(Some(s.min)),
            mib(Some(s.median)),
            mib(Some(s.max))
        ),
        None => "—".into(),
    };
    for c in COMMANDS {
        let _ = writeln!(
            out,
            "| `{}` | {} | {} |",
            c.name,
            fmt(f.latency_rss(c.name, OURS)),
            fmt(f.latency_rss(c.name, PYTHON))
        );
    }
    let _ = writeln!(out);
}

fn burst(out: &mut String, f: &Figures) {
    let _ = writeln!(out, "## 3. Message burst\n");
    let _ = writeln!(
        out,
        "S sender threads released together, each running M `send` processes one after \
         another, all to one recipient; then a fresh `inbox --json` of the recipient must \
         show every message exactly once. Throughput is delivered messages per second of \
         wall time from the release to the last exit (whole processes, 2 cores).\n"
    );
    let rows = f.bursts();
    if rows.is_empty() {
        let _ = writeln!(out, "Not measured in this run.\n");
        return;
    }
    let _ = writeln!(
        out,
        "| backend | S × M | trials | sent | delivered | lost | duplicates | failed sends | wall (s) min / median / max | messages/s median |\n|---|---|---|---|---|---|---|---|---|---|"
    );
    for b in rows {
        let wall = b
            .wall_ms
            .map(|s| {
                format!(
                    "{:.2} / {:.2} / {:.2}",
                    s.min / 1000.0,
                    s.median / 1000.0,
                    s.max / 1000.0
                )
            })
            .unwrap_or_else(|| "—".into());
        let _ = writeln!(
            out,
            "| {} | {} × {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            b.backend,
            b.senders,
            b.per_sender,
            b.trials,
            b.sent,
            b.delivered,
            b.lost,
            b.duplicates,
            b.failed,
            wall,
            b.rate
                .map(|r| format!("{:.0}", r.median))
                .unwrap_or_else(|| "—".into())
        );
    }
    let _ = writeln!(out);
}

fn inbox(out: &mut String, f: &Figures) {
    let _ = writeln!(out, "## 4. Inbox at scale (s3)\n");
    let _ = writeln!(
        out,
        "`inbox` (everything, no cursor) of a mailbox holding N direct messages, written \
         beforehand straight into the bucket in the contract's layout. A run counts only when \
         it exits 0 and prints all N messages. The floor is the warm in-process client making \
         the same requests (two LISTs, then every GET, 32 at a time): with 2 cores shared by \
         the server and the client, it shows how much of a large inbox is the server's time.\n"
    );
    let sizes = f.inbox_sizes();
    if sizes.is_empty() {
        let _ = writeln!(out, "Not measured in this run.\n");
        return;
    }
    let _ = writeln!(
        out,
        "| messages | ours (ms) | Python (ms) | Python ÷ ours | floor (ms) | ours − floor (ms) | floor ÷ Python | ours peak RSS (MiB, median) | Python peak RSS (MiB, median) |\n|---|---|---|---|---|---|---|---|---|"
    );
    let mut notes = Vec::new();
    let med = |n: u32, tool: &str| f.inbox(n, tool).map(|s| s.median);
    for &n in &sizes {
        let ratio = crate::stats::ratio(
            f.inbox(n, PYTHON).map(|s| s.median),
            f.inbox(n, OURS).map(|s| s.median),
        );
        let _ = writeln!(
            out,
            "| {n} | {} | {} | {} | {} | {} | {} | {} | {} |",
            triple_ms(f.inbox(n, OURS)),
            triple_ms(f.inbox(n, PYTHON)),
            times(ratio),
            triple_ms(f.inbox(n, FLOOR)),
            match (med(n, OURS), med(n, FLOOR)) {
                (Some(o), Some(fl)) => signed_ms(o - fl),
                _ => "—".into(),
            },
            // The most any client making these requests could gain on the Python tool.
            times(crate::stats::ratio(med(n, PYTHON), med(n, FLOOR))),
            mib(f.inbox_rss(n, OURS).map(|s| s.median)),
            mib(f.inbox_rss(n, PYTHON).map(|s| s.median)),
        );
        for tool in [OURS, PYTHON, FLOOR] {
            let bad = f.inbox_bad(n, tool);
            if bad > 0 {
                notes.push(format!("{bad} bad run(s) of {tool} at {n}"));
            }
        }
    }
    let _ = writeln!(out);
    failures_note(out, &notes);
    let rss = |n: u32| f.inbox_rss(n, OURS).map(|s| s.median);
    if let (Some(&lo), Some(&hi)) = (sizes.first(), sizes.last())
        && hi > lo
        && let (Some(a), Some(z)) = (rss(lo), rss(hi))
    {
        let _ = writeln!(
            out,
            "`floor ÷ Python` is the ratio any client making the same requests would reach: \
             past a few hundred messages the server's GETs, on the same 2 cores, dominate. \
             Our peak RSS grows by {:.1} KiB per message between {lo} and {hi} messages{}\n",
            (z - a) / f64::from(hi - lo),
            if (z - a) / f64::from(hi - lo) > 2.0 {
                ", more than the few hundred bytes a message's body holds: the inbox keeps \
                 every fetched message (body, key, metadata and the listing entry) until all \
                 are fetched, since it prints them in time order. Small bodies are copied out \
                 of their network buffers, which halved this from about 6 KiB."
            } else {
                ", in line with the few hundred bytes a message holds."
            }
        );
    }
}

fn wait_for(out: &mut String, f: &Figures) {
    let _ = writeln!(out, "## 5. wait-for reaction (s3)\n");
    let _ = writeln!(
        out,
        "Per trial, a fresh step is claimed, then the waiters start together (`wait-for STEP` \
         with default settings for both tools, plus ours with `--interval 0.25`); after a \
         delay from a fixed schedule our `complete` marks the step done. The reaction is the \
         time from the `complete` process's exit (the status is written by then) to each \
         waiter's exit. Our default polling starts at 100 ms and backs off by half each time \
         to 500 ms (2 s only after 15 minutes of waiting), with conditional GETs, so a waiter \
         reacts after about a quarter of a second on average; `--interval 0.25` shows what a \
         fixed 250 ms poll gives. The Python tool polls every 5 s.\n"
    );
    let tools = f.wait_tools();
    if tools.is_empty() {
        let _ = writeln!(out, "Not measured in this run.\n");
        return;
    }
    let _ = writeln!(
        out,
        "| waiter | trials | reaction min / median / p90 / max (ms) | failed |\n|---|---|---|---|"
    );
    for t in tools {
        let s = f.wait(&t);
        let _ = writeln!(
            out,
            "| {t} | {} | {} | {} |",
            s.map(|s| s.count).unwrap_or(0),
            s.map(|s| format!(
                "{} / {} / {} / {}",
                ms(s.min),
                ms(s.median),
                ms(s.p90),
                ms(s.max)
            ))
            .unwrap_or_else(|| "—".into()),
            f.wait_failures(&t)
        );
    }
    let _ = writeln!(out);
}

fn mirror(out: &mut String, f: &Figures) {
    let _ = writeln!(out, "## 6. Session mirror\n");
    if let Some(r) = f.redaction() {
        let bytes = f.redacts.first().map(|r| r.bytes).unwrap_or(0);
        let _ = writeln!(
            out,
            "**Redaction**, in process (`tracecraft::session::redact::redact_into` in 4 MiB \
             chunks, as the mirror calls it) over a {} synthetic transcript with a secret on \
             every 50th line: {:.0} / {:.0} / {:.0} MB/s min / median / max over {} rounds \
             (MB = 10^6 bytes).\n",
            size(bytes),
            r.min,
            r.median,
            r.max,
            r.count
        );
    }
    let groups = f.mirror_groups();
    if groups.is_empty() {
        let _ = writeln!(out, "Mirroring not measured in this run.\n");
        return;
    }
    let _ = writeln!(
        out,
        "**Mirroring**: `session mirror --harness claude-code --session-id ID` of a fresh \
         synthetic transcript (redaction on, default 4 MiB parts), whole process, wall time \
         and peak RSS. MB/s is source bytes per second of wall time.\n"
    );
    let _ = writeln!(
        out,
        "| backend | transcript | trials | wall (s) min / median / max | MB/s (median) | peak RSS (MiB) min / median / max | failed |\n|---|---|---|---|---|---|---|"
    );
    for (backend, bytes) in groups {
        let runs = f.mirror(&backend, bytes);
        let ok: Vec<_> = runs.iter().filter(|m| m.exit == 0).collect();
        let wall = crate::stats::summarize(ok.iter().map(|m| m.wall_ms / 1000.0));
        let rss = f.mirror_rss(&backend, bytes);
        let _ = writeln!(
            out,
            "| {backend} | {} | {} | {} | {} | {} / {} / {} | {} |",
            size(bytes),
            runs.len(),
            wall.map(|s| format!("{:.2} / {:.2} / {:.2}", s.min, s.median, s.max))
                .unwrap_or_else(|| "—".into()),
            wall.map(|s| format!("{:.0}", bytes as f64 / 1e6 / s.median))
                .unwrap_or_else(|| "—".into()),
            mib(rss.map(|s| s.min)),
            mib(rss.map(|s| s.median)),
            mib(rss.map(|s| s.max)),
            runs.len() - ok.len()
        );
    }
    let _ = writeln!(out);
}

fn inbox_wait(out: &mut String, f: &Figures) {
    let _ = writeln!(out, "## 8. inbox --wait reaction and idle cost (s3)\n");
    let _ = writeln!(
        out,
        "Per trial a waiter runs `inbox --wait`, and after a delay from a fixed schedule \
         (0.5 to 14.8 s, so sends meet it both in its quick first 10 s, polling from 100 ms \
         up to 500 ms, and in its idle rhythm of one look every 2 s) another agent's `send` \
         delivers one message. The reaction is the time from the `send` process's exit (the \
         message is stored by then) to the waiter's exit right after printing it. Then one \
         waiter is left alone with `-v`, which logs each look at the mailboxes with its \
         time; each look is one listing of the direct mailbox and one of the broadcasts. \
         These figures come from a later run than the one described above, `scripts/bench \
         --only inbox-wait,plan` on the tree that added this section, folded into its \
         records.\n"
    );
    let reactions: Vec<f64> = f.inbox_waits.iter().filter_map(|w| w.reaction_ms).collect();
    if reactions.is_empty() {
        let _ = writeln!(out, "Not measured in this run.\n");
        return;
    }
    let mut sorted = reactions.clone();
    sorted.sort_by(f64::total_cmp);
    let q = |p: f64| {
        crate::stats::quantile(&sorted, p)
            .map(ms)
            .unwrap_or_default()
    };
    let split = |quick: bool| -> Vec<f64> {
        f.inbox_waits
            .iter()
            .filter(|w| (w.delay_ms < 10_000) == quick)
            .filter_map(|w| w.reaction_ms)
            .collect()
    };
    let failed = f
        .inbox_waits
        .iter()
        .filter(|w| w.reaction_ms.is_none())
        .count();
    let _ = writeln!(
        out,
        "| sends | reaction min / median / p95 / max (ms) | failed |\n|---|---|---|"
    );
    let _ = writeln!(
        out,
        "| all {} | {} / {} / {} / {} | {failed} |",
        sorted.len(),
        q(0.0),
        q(0.5),
        q(0.95),
        q(1.0)
    );
    for (name, quick) in [
        ("in the quick first 10 s", true),
        ("when idle (after 10 s)", false),
    ] {
        let mut v = split(quick);
        v.sort_by(f64::total_cmp);
        let qq = |p: f64| crate::stats::quantile(&v, p).map(ms).unwrap_or_default();
        if !v.is_empty() {
            let _ = writeln!(
                out,
                "| {name}: {} | {} / {} / {} / {} | |",
                v.len(),
                qq(0.0),
                qq(0.5),
                qq(0.95),
                qq(1.0)
            );
        }
    }
    let _ = writeln!(out);
    for idle in &f.inbox_idles {
        let window = idle.waited_s - idle.idle_from_s;
        let looks_per_s = idle.idle_looks as f64 / window;
        let _ = writeln!(
            out,
            "Idle cost: a waiter left alone for {:.0} s looked {} times in all; in the idle \
             window from {:.0} s to its timeout it looked {} times in {:.0} s, {:.2} looks/s, \
             so {:.2} listing requests per second ({} per look) however many messages the \
             bucket holds.\n",
            idle.waited_s,
            idle.looks,
            idle.idle_from_s,
            idle.idle_looks,
            window,
            looks_per_s,
            looks_per_s * idle.listings_per_look as f64,
            idle.listings_per_look
        );
    }
}

fn plan(out: &mut String, f: &Figures) {
    let _ = writeln!(out, "## 9. Plan: `ready` and a drain with `claim --next`\n");
    let _ = writeln!(
        out,
        "A plan of N steps in parallel chains (step i comes after step i − 20) is applied to \
         a fresh project. `ready` lists the ready steps of the whole plan (one listing of \
         `steps/`, then the specs, statuses and claims, 32 at a time). Then A agents are \
         released together, each looping `claim --next --wait` and `complete` until \
         `claim --next` exits 6 (the plan is complete); a step claimed by two agents counts \
         as a double claim. Every process is a whole process (2 cores shared with the \
         server). Measured by the same later run as section 8.\n"
    );
    if f.plan_ready.is_empty() && f.plan_drains.is_empty() {
        let _ = writeln!(out, "Not measured in this run.\n");
        return;
    }
    let mut groups: std::collections::BTreeMap<(String, u32), Vec<f64>> = Default::default();
    let mut failed = 0;
    for r in &f.plan_ready {
        if r.exit == 0 {
            groups
                .entry((r.backend.clone(), r.steps))
                .or_default()
                .push(r.wall_ms);
        } else {
            failed += 1;
        }
    }
    if !groups.is_empty() {
        let _ = writeln!(
            out,
            "| backend | steps | `ready` runs | wall (ms) min / median / max |\n|---|---|---|---|"
        );
        for ((backend, steps), walls) in &groups {
            let _ = writeln!(
                out,
                "| {backend} | {steps} | {} | {} |",
                walls.len(),
                triple_ms(crate::stats::summarize(walls.iter().copied()))
            );
        }
        let _ = writeln!(out);
    }
    if failed > 0 {
        failures_note(out, &[format!("{failed} `ready` run(s) failed")]);
    }
    if !f.plan_drains.is_empty() {
        let _ = writeln!(
            out,
            "| backend | steps | agents | trial | wall (s) | claims | claims/s | double claims | complete at the end | errors |\n|---|---|---|---|---|---|---|---|---|---|"
        );
        for d in &f.plan_drains {
            let secs = d.wall_ms / 1000.0;
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {:.1} | {} | {:.1} | {} | {} | {} |",
                d.backend,
                d.steps,
                d.agents,
                d.trial,
                secs,
                d.claims,
                if secs > 0.0 {
                    d.claims as f64 / secs
                } else {
                    0.0
                },
                d.double_claims,
                d.complete,
                if d.errors.is_empty() {
                    "none".to_string()
                } else {
                    d.errors.join("; ")
                }
            );
        }
        let _ = writeln!(out);
    }
}
