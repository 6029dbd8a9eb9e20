//! The claim contention section (scenario 2): the verdicts per backend and N, and where
//! the time goes, split into what fs shows (process start, 2 cores), what SeaweedFS adds
//! at the median, and the whole-second tail of its arbitration that the in-process race
//! isolates.

use std::fmt::Write;

use super::figures::{Contention, Figures, SLOW_MS};
use super::{ms, signed_ms};
use crate::stats::Summary;

pub fn section(out: &mut String, f: &Figures) {
    let _ = writeln!(out, "## 2. Claim contention\n");
    let _ = writeln!(
        out,
        "N `claim` processes of our binary for one fresh step, spawned ahead and released \
         together at a shared start time (each child's measuring shim sleeps until that time \
         and then starts `tracecraft claim`); times run from that start to each process's \
         exit. After every trial a fresh reader (a new \
         S3 client, or a plain file read on fs) fetches `claim.json` and the judge \
         (`benches/cli/judge.rs`) checks that exactly one process exited 0, that the stored \
         claim names it, and that every refused process (exit 3) was told that holder.\n"
    );
    let rows = f.contention();
    if rows.is_empty() {
        let _ = writeln!(out, "Not measured in this run.\n");
        return;
    }
    verdicts(out, &rows, "trials", "winner", "loser");
    // The fs store arbitrates with a hard link (microseconds), so at the same N the gap
    // between s3 and fs is round trips and the server's work.
    let gaps: Vec<String> = rows
        .iter()
        .filter(|r| r.backend == "s3")
        .filter_map(|s3| {
            let fs = rows.iter().find(|r| r.backend == "fs" && r.n == s3.n)?;
            Some(format!(
                "N={}: winners {} ms, losers {} ms",
                s3.n,
                signed_ms(s3.winner_ms?.median - fs.winner_ms?.median),
                signed_ms(s3.loser_ms?.median - fs.loser_ms?.median)
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
            SLOW_MS,
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
             from one warm client (no process start, no SDK retries), and isolate it: what they \
             show is the server alone, the loser of a contended write answered after whole \
             seconds. Whole processes reach the server spread out by their start-up on 2 \
             cores, so fewer of their PUTs overlap there and fewer wait, but those that do wait \
             in the same steps. Our client's only waits are the 0.2 s and 0.4 s back-offs \
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

/// The table of verdicts and latencies per backend and N, and the first violations. A
/// round of reservations is a trial of claims: `unit` names them (`trials`, `rounds`),
/// `won` and `lost` the processes that were granted and refused.
fn verdicts(out: &mut String, rows: &[Contention], unit: &str, won: &str, lost: &str) {
    let one = unit.trim_end_matches('s');
    let _ = writeln!(
        out,
        "| backend | N | {unit} | winners per {one} | violations | errors | {won} p50 / p90 / max (ms) | {lost} p50 / p90 / max (ms) |\n|---|---|---|---|---|---|---|---|"
    );
    let pct = |s: Option<Summary>| match s {
        Some(s) => format!("{} / {} / {}", ms(s.median), ms(s.p90), ms(s.max)),
        None => "—".into(),
    };
    for r in rows {
        let winners = match r.winners.len() {
            1 => r.winners.keys().map(|w| w.to_string()).collect(),
            _ => r
                .winners
                .iter()
                .map(|(w, t)| format!("{w} ({t} {unit})"))
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
}

/// Scenario 12 (issue 12): reservation contention, judged like the claim races.
pub fn reservations(out: &mut String, f: &Figures) {
    let _ = writeln!(out, "## 12. Reservation contention (issue 12)\n");
    let _ = writeln!(
        out,
        "In each round N `reserve` processes of our binary, released together at a shared \
         start time, ask for exclusive patterns that all cover one path of that round \
         (`round-R/src/api.rs`, `round-R/src/*.rs`, `round-R/**`, the bare directory \
         `round-R/src`, `round-R/src/[a-c]pi.rs`, ... one per process, cycling through ten \
         shapes), so every pair conflicts and exactly one may be granted. Every reservation is \
         decided by compare-and-swap on the one index document, so a process whose swap \
         lost re-reads the index and either finds the conflict (exit 3) or tries again. \
         After every round a fresh `reservations --json` names the round's holder; the judge \
         checks that exactly one process exited 0, that the index names it, that every \
         refused process was told that holder, and that the index holds exactly the winners \
         of all rounds so far (reservations accumulate, TTL 2 h). Times run from the shared \
         start to each process's exit. Measured by the same later run as section 11.\n"
    );
    let rows = f.reservation_contention();
    if rows.is_empty() {
        let _ = writeln!(out, "Not measured in this run.\n");
        return;
    }
    verdicts(out, &rows, "rounds", "granted", "refused");
    let _ = writeln!(
        out,
        "A granted process made one read and one conditional write of the index when no \
         other swap landed in between; each swap that did sends it round again, so at \
         larger N the later processes queue behind the earlier ones' writes, on top of N \
         processes starting on 2 cores.\n"
    );
    let slow: usize = rows.iter().map(|r| r.slow_ms.len()).sum();
    if slow > 0 {
        let _ = writeln!(
            out,
            "{slow} of {} processes took longer than {SLOW_MS} ms: the whole-second steps in \
             which SeaweedFS answers contended conditional writes of one key, as in the \
             claim races of section 2.\n",
            rows.iter().map(|r| r.claimers).sum::<usize>()
        );
    }
}
