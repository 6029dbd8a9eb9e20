//! One section of BENCHMARKS.md per scenario of issue 6, in the order (peak memory,
//! scenario 7, sits beside the latencies it belongs to). Each section states what was
//! measured and how before its table.

use std::fmt::Write;

use super::figures::{FLOOR, Figures, OURS, PYTHON, size};
use super::{mib, ms, times, triple_ms};
use crate::commands::{COMMANDS, INBOX_MESSAGES, NO_ROOTS};

pub fn all(out: &mut String, f: &Figures) {
    latency(out, f);
    memory(out, f);
    contention(out, f);
    burst(out, f);
    inbox(out, f);
    wait_for(out, f);
    mirror(out, f);
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
                .map(|o| format!("{}{}", if o >= 0.0 { "+" } else { "" }, ms(o)))
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
    let _ = writeln!(
        out,
        "**Where `ours − floor` goes**, for `step-status` ({} ms against a floor of {} ms, \
         medians): starting and ending a process of our binary at all, as `--version` does: \
         {} ms; loading the system's root certificates, which the AWS SDK's default HTTPS \
         client reads and parses at start-up although the endpoint is plain `http://` (the \
         same command with `SSL_CERT_FILE=/dev/null` takes {} ms; rustls-native-certs reads \
         `SSL_CERT_FILE` and `SSL_CERT_DIR`, else the system's default bundle and directory, \
         on Debian some 140 certificates either way): {} ms; the rest (reading \
         the config, building the SDK client and runtime, fresh TCP connections, our own \
         CPU): {} ms. `perf record` over 100 runs put `rustls_native_certs::CertPaths::load` \
         and the PEM decoding under it at the top of the binary's own profile.\n",
        ms(ours),
        ms(floor),
        ms(version),
        ms(no_roots),
        ms(roots),
        ms(ours - floor - version - roots),
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

fn contention(out: &mut String, f: &Figures) {
    let _ = writeln!(out, "## 2. Claim contention\n");
    let _ = writeln!(
        out,
        "N `claim` processes of our binary for one fresh step, spawned ahead and released \
         together at a shared start time (each child starts as the driver's `exec-at` shim, \
         which sleeps until that time and then `exec`s `tracecraft claim` in the same \
         process); times run from that start to each process's exit. After every trial a fresh reader (a new \
         S3 client, or a plain file read on fs) fetches `claim.json` and the judge \
         (`benches/cli/judge.rs`) checks that exactly one process exited 0, that the stored \
         claim names it, and that every refused process (exit 3) was told that holder.\n"
    );
    let rows = f.contention();
    if rows.is_empty() {
        let _ = writeln!(out, "Not measured in this run.\n");
        return;
    }
    let _ = writeln!(
        out,
        "| backend | N | trials | winners per trial | violations | errors | winner p50 / p90 / max (ms) | loser p50 / p90 / max (ms) |\n|---|---|---|---|---|---|---|---|"
    );
    let pct = |s: Option<crate::stats::Summary>| match s {
        Some(s) => format!("{} / {} / {}", ms(s.median), ms(s.p90), ms(s.max)),
        None => "—".into(),
    };
    for r in &rows {
        let winners = match r.winners.len() {
            1 => r.winners.keys().map(|w| w.to_string()).collect(),
            _ => r
                .winners
                .iter()
                .map(|(w, t)| format!("{w} ({t} trials)"))
                .collect::<Vec<_>>()
                .join(", "),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            r.backend,
            r.n,
            r.trials,
            winners,
            r.violations,
            r.errors,
            pct(r.winner_ms),
            pct(r.loser_ms)
        );
    }
    let _ = writeln!(out);
    let violations: Vec<String> = rows
        .iter()
        .flat_map(|r| r.first_violations.iter().cloned())
        .take(5)
        .collect();
    if !violations.is_empty() {
        let _ = writeln!(out, "Violations (first few): {}.\n", violations.join("; "));
    }
    // The fs store arbitrates with a hard link (microseconds), so at the same N the gap
    // between s3 and fs is round trips and the server's work.
    let gaps: Vec<String> = rows
        .iter()
        .filter(|r| r.backend == "s3")
        .filter_map(|s3| {
            let fs = rows.iter().find(|r| r.backend == "fs" && r.n == s3.n)?;
            Some(format!(
                "N={}: winners +{} ms, losers +{} ms",
                s3.n,
                ms(s3.winner_ms?.median - fs.winner_ms?.median),
                ms(s3.loser_ms?.median - fs.loser_ms?.median)
            ))
        })
        .collect();
    let _ = writeln!(
        out,
        "**Where the time goes.** On `fs` the arbitration is a hard link that takes \
         microseconds, so the fs rows are process start-up plus queueing for the 2 cores when \
         N processes start at once. On SeaweedFS the medians are higher ({}): the round trips \
         (a conditional PUT; then the status and presence writes for the winner, a GET of the \
         holder for each loser) and the server's own work on the same 2 cores.\n",
        if gaps.is_empty() {
            "not measured on both backends in this run".to_string()
        } else {
            gaps.join("; ")
        }
    );
    let mut backends: Vec<&str> = rows.iter().map(|r| r.backend.as_str()).collect();
    backends.dedup();
    let mut slow_anywhere = false;
    for backend in backends {
        let of: Vec<_> = rows.iter().filter(|r| r.backend == backend).collect();
        let total: usize = of.iter().map(|r| r.claimers).sum();
        let mut slow: Vec<f64> = of.iter().flat_map(|r| r.slow_ms.iter().copied()).collect();
        slow.sort_by(f64::total_cmp);
        slow_anywhere |= !slow.is_empty();
        let mut steps: std::collections::BTreeMap<u64, usize> = Default::default();
        for ms in &slow {
            *steps.entry((ms / 1000.0).round() as u64).or_insert(0) += 1;
        }
        let steps: Vec<String> = steps
            .iter()
            .map(|(s, n)| format!("{n} near {s} s"))
            .collect();
        let _ = writeln!(
            out,
            "- {backend}: {} of {total} claimers took longer than {} ms{}",
            slow.len(),
            super::figures::SLOW_MS,
            if slow.is_empty() {
                ".".to_string()
            } else {
                format!(
                    " ({} to {} ms: {}).",
                    ms(slow[0]),
                    ms(slow[slow.len() - 1]),
                    steps.join(", ")
                )
            }
        );
    }
    if slow_anywhere {
        let _ = writeln!(
            out,
            "\nThe slow tail is the server's arbitration: SeaweedFS serialises contended \
             conditional writes of one key and answers the waiting ones in steps of about one \
             second. The `s3, in-process client` rows send the same N conditional PUTs at once \
             from one warm client, with no process start at all, and isolate it: what they show \
             is the server alone. Our client's only waits are the 0.2 s and 0.4 s back-offs \
             before retrying a transport error (a claim that ran out of them would be counted \
             under errors).\n"
        );
    } else {
        let _ = writeln!(
            out,
            "\nNo claim waited on the server's arbitration in this run.\n"
        );
    }
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
        "| messages | ours (ms) | Python (ms) | Python ÷ ours | floor (ms) | ours peak RSS (MiB, median) | Python peak RSS (MiB, median) |\n|---|---|---|---|---|---|---|"
    );
    let mut notes = Vec::new();
    for n in sizes {
        let ratio = crate::stats::ratio(
            f.inbox(n, PYTHON).map(|s| s.median),
            f.inbox(n, OURS).map(|s| s.median),
        );
        let _ = writeln!(
            out,
            "| {n} | {} | {} | {} | {} | {} | {} |",
            triple_ms(f.inbox(n, OURS)),
            triple_ms(f.inbox(n, PYTHON)),
            times(ratio),
            triple_ms(f.inbox(n, FLOOR)),
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
}

fn wait_for(out: &mut String, f: &Figures) {
    let _ = writeln!(out, "## 5. wait-for reaction (s3)\n");
    let _ = writeln!(
        out,
        "Per trial, a fresh step is claimed, then the waiters start together (`wait-for STEP` \
         with default settings for both tools, plus ours with `--interval 0.25`); after a \
         delay from a fixed schedule our `complete` marks the step done. The reaction is the \
         time from the `complete` process's exit (the status is written by then) to each \
         waiter's exit. Our default polling starts at 250 ms and backs off by half each time \
         to 2 s, with conditional GETs; the Python tool polls every 5 s.\n"
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
        "| backend | transcript | trials | wall (s) min / median / max | MB/s (median) | peak RSS (MiB) min / max | failed |\n|---|---|---|---|---|---|---|"
    );
    for (backend, bytes) in groups {
        let runs = f.mirror(&backend, bytes);
        let ok: Vec<_> = runs.iter().filter(|m| m.exit == 0).collect();
        let wall = crate::stats::summarize(ok.iter().map(|m| m.wall_ms / 1000.0));
        let rss: Vec<f64> = ok
            .iter()
            .filter_map(|m| m.rss_kib.map(|k| k as f64))
            .collect();
        let _ = writeln!(
            out,
            "| {backend} | {} | {} | {} | {} | {} / {} | {} |",
            size(bytes),
            runs.len(),
            wall.map(|s| format!("{:.2} / {:.2} / {:.2}", s.min, s.median, s.max))
                .unwrap_or_else(|| "—".into()),
            wall.map(|s| format!("{:.0}", bytes as f64 / 1e6 / s.median))
                .unwrap_or_else(|| "—".into()),
            mib(rss.iter().copied().reduce(f64::min)),
            mib(rss.iter().copied().reduce(f64::max)),
            runs.len() - ok.len()
        );
    }
    let _ = writeln!(out);
}
