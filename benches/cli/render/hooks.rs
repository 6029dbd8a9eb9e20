//! Section 11 of BENCHMARKS.md (issue 11): what a `hook post-tool-use` costs the agent it
//! runs inside, throttled and not, against process start alone, per backend.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::figures::Figures;
use super::{mib, signed_ms, triple_ms};
use crate::commands::HOOK_VARIANTS as VARIANTS;
use crate::record::Hook;
use crate::stats::summarize;

const KINDS: [&str; 5] = ["GET", "HEAD", "PUT", "DELETE", "LIST"];

pub fn section(out: &mut String, f: &Figures) {
    if f.hooks.is_empty() {
        return;
    }
    let _ = writeln!(out, "## 11. Hook cost: `hook post-tool-use` (issue 11)\n");
    let _ = writeln!(
        out,
        "An agent holding one leased claim runs, interleaved in every trial, each with a \
         recorded Claude Code `PostToolUse` payload on standard input: `--version` (process \
         start alone), the hook inside its 30 s `--every` window (**throttled**: the scenario \
         fails unless it made no request and printed nothing), the hook with `--every 0` and \
         nothing new (a heartbeat and a look at both mailboxes), and the hook with `--every 0` \
         right after another agent sent it a message (the scenario fails unless the answer \
         carries it). Requests are the `-v` line's counts (median). Under the hooks `setup` \
         installs, every tool call and prompt runs the hook, and at most one call per 30 s is \
         un-throttled. Measured by `scripts/bench --only scale,hooks,reserve` on the tree \
         that added this section, folded into the records.\n"
    );
    let mut groups: BTreeMap<(&str, &str), Vec<&Hook>> = BTreeMap::new();
    for h in &f.hooks {
        groups
            .entry((h.backend.as_str(), h.variant.as_str()))
            .or_default()
            .push(h);
    }
    let mut backends: Vec<&str> = f.hooks.iter().map(|h| h.backend.as_str()).collect();
    backends.sort();
    backends.dedup();
    let _ = writeln!(
        out,
        "| backend | call | runs | ms min / median / max | vs process start (median) | peak MiB | requests (median) |\n|---|---|---|---|---|---|---|"
    );
    let mut notes = Vec::new();
    for backend in &backends {
        let median = |variant: &str| {
            groups
                .get(&(*backend, variant))
                .and_then(|rows| summarize(ok(rows).map(|h| h.wall_ms)))
                .map(|s| s.median)
        };
        let start = median(VARIANTS[0].0);
        for (variant, ..) in VARIANTS {
            let Some(rows) = groups.get(&(*backend, *variant)) else {
                continue;
            };
            let failed = rows.len() - ok(rows).count();
            if failed > 0 {
                notes.push(format!("{backend} {variant}: {failed} failed runs"));
            }
            let s = summarize(ok(rows).map(|h| h.wall_ms));
            let rss = summarize(ok(rows).filter_map(|h| h.rss_kib.map(|k| k as f64)));
            let vs = match (s, start) {
                (Some(s), Some(b)) if *variant != VARIANTS[0].0 => {
                    format!("{} ms", signed_ms(s.median - b))
                }
                _ => "—".into(),
            };
            let _ = writeln!(
                out,
                "| {backend} | {variant} | {} | {} | {vs} | {} | {} |",
                ok(rows).count(),
                triple_ms(s),
                mib(rss.map(|r| r.max)),
                requests(rows)
            );
        }
    }
    let _ = writeln!(out);
    if !notes.is_empty() {
        let _ = writeln!(out, "Left out of the statistics: {}.\n", notes.join("; "));
    }
    let _ = writeln!(
        out,
        "A throttled call loads the config, reads the throttle file and returns: the \
         difference to `--version` is that work and reading the payload. An un-throttled \
         round adds the store client's set-up and the heartbeat's and mailboxes' round trips \
         (on SeaweedFS over loopback HTTP); it runs at most twice a minute per agent.\n"
    );
}

fn ok<'a>(rows: &'a [&'a Hook]) -> impl Iterator<Item = &'a Hook> + 'a {
    rows.iter().copied().filter(|h| h.exit == 0)
}

/// Median requests by kind, `none` for a call that made none, `—` for `--version`.
fn requests(rows: &[&Hook]) -> String {
    let counted: Vec<[u64; 5]> = ok(rows).filter_map(|h| h.requests).collect();
    if counted.is_empty() {
        return "—".into();
    }
    let parts: Vec<String> = KINDS
        .iter()
        .enumerate()
        .filter_map(|(i, k)| {
            let mut v: Vec<u64> = counted.iter().map(|r| r[i]).collect();
            v.sort_unstable();
            let m = v[v.len() / 2];
            (m > 0).then(|| format!("{m} {k}"))
        })
        .collect();
    if parts.is_empty() {
        "none".into()
    } else {
        parts.join(" · ")
    }
}
