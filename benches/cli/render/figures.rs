//! The figures the page shows, computed from the records: summaries per command and tool,
//! the contention verdicts per backend and N, burst totals, inbox, wait-for and mirror
//! figures. Groups are kept in `BTreeMap`s or sorted, so their order never depends on the
//! order of the records.

use std::collections::BTreeMap;

use crate::commands::COMMANDS;
use crate::judge::split_latencies;
use crate::record::*;
use crate::stats::{Summary, ratio, summarize};

pub const OURS: &str = "ours";
pub const PYTHON: &str = "python";
pub const FLOOR: &str = "floor";

#[derive(Default)]
pub struct Figures<'a> {
    pub run: Option<&'a Run>,
    pub end: Option<&'a End>,
    pub latency: Vec<&'a Latency>,
    pub claimers: Vec<&'a Claimer>,
    pub trials: Vec<&'a ClaimTrial>,
    pub bursts: Vec<&'a Burst>,
    pub inbox: Vec<&'a Inbox>,
    pub waits: Vec<&'a WaitFor>,
    pub inbox_waits: Vec<&'a InboxWait>,
    pub inbox_idles: Vec<&'a InboxIdle>,
    pub mirrors: Vec<&'a Mirror>,
    pub redacts: Vec<&'a Redact>,
    pub scale: Vec<&'a Scale>,
    pub plan_ready: Vec<&'a PlanReady>,
    pub plan_drains: Vec<&'a PlanDrain>,
    pub hooks: Vec<&'a Hook>,
    pub reservers: Vec<&'a Claimer>,
    pub reserve_rounds: Vec<&'a ClaimTrial>,
}

/// One backend and N of the contention scenario.
pub struct Contention {
    pub backend: String,
    pub n: u32,
    pub trials: usize,
    pub violations: usize,
    pub errors: usize,
    /// How many trials had each number of winners.
    pub winners: BTreeMap<usize, usize>,
    pub winner_ms: Option<Summary>,
    pub loser_ms: Option<Summary>,
    pub first_violations: Vec<String>,
    /// Claimers of any outcome that took longer than [`SLOW_MS`], in ms, ascending.
    pub slow_ms: Vec<f64>,
    pub claimers: usize,
}

/// A claim slower than this waited for something other than start-up and a round trip.
pub const SLOW_MS: f64 = 900.0;

/// The bursts of one backend and shape, added up.
pub struct BurstTotals {
    pub backend: String,
    pub senders: u32,
    pub per_sender: u32,
    pub trials: usize,
    pub sent: u64,
    pub failed: u64,
    pub delivered: u64,
    pub duplicates: u64,
    pub lost: u64,
    pub wall_ms: Option<Summary>,
    pub rate: Option<Summary>,
}

impl<'a> Figures<'a> {
    pub fn new(records: &'a [Record]) -> Figures<'a> {
        let mut f = Figures::default();
        for r in records {
            match r {
                Record::Run(x) => f.run = Some(x.as_ref()),
                Record::End(x) => f.end = Some(x),
                Record::Latency(x) => f.latency.push(x),
                Record::Claimer(x) => f.claimers.push(x),
                Record::ClaimTrial(x) => f.trials.push(x),
                Record::Burst(x) => f.bursts.push(x),
                Record::Inbox(x) => f.inbox.push(x),
                Record::WaitFor(x) => f.waits.push(x),
                Record::InboxWait(x) => f.inbox_waits.push(x),
                Record::InboxIdle(x) => f.inbox_idles.push(x),
                Record::Mirror(x) => f.mirrors.push(x),
                Record::Redact(x) => f.redacts.push(x),
                Record::Scale(x) => f.scale.push(x),
                Record::PlanReady(x) => f.plan_ready.push(x),
                Record::PlanDrain(x) => f.plan_drains.push(x),
                Record::Hook(x) => f.hooks.push(x),
                Record::Reserver(x) => f.reservers.push(x),
                Record::ReserveRound(x) => f.reserve_rounds.push(x),
            }
        }
        f
    }

    fn latency_of(&self, command: &str, tool: &str) -> impl Iterator<Item = &&'a Latency> {
        let (command, tool) = (command.to_string(), tool.to_string());
        self.latency
            .iter()
            .filter(move |l| l.command == command && l.tool == tool)
    }

    /// Wall time of the successful runs.
    pub fn latency(&self, command: &str, tool: &str) -> Option<Summary> {
        summarize(
            self.latency_of(command, tool)
                .filter(|l| l.exit == 0)
                .map(|l| l.wall_ms),
        )
    }

    pub fn latency_failures(&self, command: &str, tool: &str) -> usize {
        self.latency_of(command, tool)
            .filter(|l| l.exit != 0)
            .count()
    }

    /// Peak RSS in KiB of the successful runs.
    pub fn latency_rss(&self, command: &str, tool: &str) -> Option<Summary> {
        summarize(
            self.latency_of(command, tool)
                .filter(|l| l.exit == 0)
                .filter_map(|l| l.rss_kib.map(|k| k as f64)),
        )
    }

    /// The floor's median; 0 for a command that needs no request at all.
    pub fn floor_median(&self, command: &str) -> Option<f64> {
        let needs_none = COMMANDS
            .iter()
            .any(|c| c.name == command && c.floor == "none");
        if needs_none {
            return Some(0.0);
        }
        self.latency(command, FLOOR).map(|s| s.median)
    }

    /// Our median above the floor's.
    pub fn overhead(&self, command: &str) -> Option<f64> {
        Some(self.latency(command, OURS)?.median - self.floor_median(command)?)
    }

    /// How many times faster our median is than the Python tool's.
    pub fn speedup(&self, command: &str) -> Option<f64> {
        ratio(
            self.latency(command, PYTHON).map(|s| s.median),
            self.latency(command, OURS).map(|s| s.median),
        )
    }

    /// Claim contention (scenario 2) per backend and N.
    pub fn contention(&self) -> Vec<Contention> {
        contention_of(&self.trials, &self.claimers)
    }

    /// Reservation contention (scenario 12) per backend and N: rounds judged like trials.
    pub fn reservation_contention(&self) -> Vec<Contention> {
        contention_of(&self.reserve_rounds, &self.reservers)
    }

    pub fn bursts(&self) -> Vec<BurstTotals> {
        let mut groups: BTreeMap<(String, u32, u32), Vec<&Burst>> = BTreeMap::new();
        for b in &self.bursts {
            groups
                .entry((b.backend.clone(), b.senders, b.per_sender))
                .or_default()
                .push(b);
        }
        groups
            .into_iter()
            .map(|((backend, senders, per_sender), bs)| BurstTotals {
                trials: bs.len(),
                sent: bs.iter().map(|b| b.sent).sum(),
                failed: bs.iter().map(|b| b.failed).sum(),
                delivered: bs.iter().map(|b| b.delivered).sum(),
                duplicates: bs.iter().map(|b| b.duplicates).sum(),
                lost: bs.iter().map(|b| b.sent.saturating_sub(b.delivered)).sum(),
                wall_ms: summarize(bs.iter().map(|b| b.wall_ms)),
                rate: summarize(bs.iter().map(|b| b.delivered as f64 / (b.wall_ms / 1000.0))),
                backend,
                senders,
                per_sender,
            })
            .collect()
    }

    pub fn inbox_sizes(&self) -> Vec<u32> {
        let mut sizes: Vec<u32> = self.inbox.iter().map(|i| i.size).collect();
        sizes.sort_unstable();
        sizes.dedup();
        sizes
    }

    /// Wall time of the runs that succeeded and showed every message.
    pub fn inbox(&self, size: u32, tool: &str) -> Option<Summary> {
        summarize(
            self.inbox
                .iter()
                .filter(|i| i.size == size && i.tool == tool && i.exit == 0)
                .filter(|i| i.shown == u64::from(size))
                .map(|i| i.wall_ms),
        )
    }

    pub fn inbox_bad(&self, size: u32, tool: &str) -> usize {
        self.inbox
            .iter()
            .filter(|i| i.size == size && i.tool == tool)
            .filter(|i| i.exit != 0 || i.shown != u64::from(size))
            .count()
    }

    pub fn inbox_rss(&self, size: u32, tool: &str) -> Option<Summary> {
        summarize(
            self.inbox
                .iter()
                .filter(|i| i.size == size && i.tool == tool && i.exit == 0)
                .filter_map(|i| i.rss_kib.map(|k| k as f64)),
        )
    }

    /// Waiter names in a stable order: ours first, then its variants, then the others.
    pub fn wait_tools(&self) -> Vec<String> {
        let mut tools: Vec<String> = self.waits.iter().map(|w| w.tool.clone()).collect();
        tools.sort_by_key(|t| (!t.starts_with(OURS), t.len(), t.clone()));
        tools.dedup();
        tools
    }

    pub fn wait(&self, tool: &str) -> Option<Summary> {
        summarize(
            self.waits
                .iter()
                .filter(|w| w.tool == tool)
                .filter_map(|w| w.reaction_ms),
        )
    }

    pub fn wait_failures(&self, tool: &str) -> usize {
        self.waits
            .iter()
            .filter(|w| w.tool == tool && w.reaction_ms.is_none())
            .count()
    }

    /// (backend, bytes) groups of the mirror scenario, ordered.
    pub fn mirror_groups(&self) -> Vec<(String, u64)> {
        let mut g: Vec<(String, u64)> = self
            .mirrors
            .iter()
            .map(|m| (m.backend.clone(), m.bytes))
            .collect();
        g.sort();
        g.dedup();
        g
    }

    pub fn mirror(&self, backend: &str, bytes: u64) -> Vec<&'a Mirror> {
        self.mirrors
            .iter()
            .copied()
            .filter(|m| m.backend == backend && m.bytes == bytes)
            .collect()
    }

    /// Redaction throughput in MB/s (10^6 bytes per second), one value per round.
    pub fn redaction(&self) -> Option<Summary> {
        summarize(self.redacts.iter().map(|r| r.bytes as f64 / 1e6 / r.secs))
    }

    /// Peak RSS in KiB of the successful mirrors of one backend and size.
    pub fn mirror_rss(&self, backend: &str, bytes: u64) -> Option<Summary> {
        summarize(
            self.mirror(backend, bytes)
                .iter()
                .filter(|m| m.exit == 0)
                .filter_map(|m| m.rss_kib.map(|k| k as f64)),
        )
    }

    /// Per backend: the median peak RSS at the smallest and at the largest transcript.
    pub fn mirror_memory(&self) -> Vec<(String, u64, f64, u64, f64)> {
        let mut out = Vec::new();
        let mut backends: Vec<String> = self.mirrors.iter().map(|m| m.backend.clone()).collect();
        backends.sort();
        backends.dedup();
        for b in backends {
            let peak = |bytes: u64| self.mirror_rss(&b, bytes).map(|s| s.median);
            let sizes: Vec<u64> = self
                .mirror_groups()
                .into_iter()
                .filter(|(bk, _)| *bk == b)
                .map(|(_, s)| s)
                .collect();
            if let (Some(&small), Some(&large)) = (sizes.first(), sizes.last())
                && small != large
                && let (Some(a), Some(z)) = (peak(small), peak(large))
            {
                out.push((b, small, a, large, z));
            }
        }
        out
    }
}

/// Contention trials grouped by backend and N, with their processes' latencies.
fn contention_of(all_trials: &[&ClaimTrial], all_claimers: &[&Claimer]) -> Vec<Contention> {
    let mut groups: BTreeMap<(String, u32), Vec<&ClaimTrial>> = BTreeMap::new();
    for t in all_trials {
        groups.entry((t.backend.clone(), t.n)).or_default().push(t);
    }
    groups
        .into_iter()
        .map(|((backend, n), trials)| {
            let claimers = all_claimers
                .iter()
                .copied()
                .filter(|c| c.backend == backend && c.n == n);
            let claimers: Vec<&Claimer> = claimers.collect();
            let mut slow_ms: Vec<f64> = claimers
                .iter()
                .map(|c| c.wall_ms)
                .filter(|&ms| ms > SLOW_MS)
                .collect();
            slow_ms.sort_by(f64::total_cmp);
            let (won, lost) = split_latencies(claimers.iter().copied());
            let mut winners = BTreeMap::new();
            for t in &trials {
                *winners.entry(t.winners.len()).or_insert(0) += 1;
            }
            Contention {
                trials: trials.len(),
                violations: trials.iter().map(|t| t.violations.len()).sum(),
                errors: trials.iter().map(|t| t.errors.len()).sum(),
                winners,
                winner_ms: summarize(won),
                loser_ms: summarize(lost),
                first_violations: trials
                    .iter()
                    .flat_map(|t| t.violations.iter().cloned())
                    .take(3)
                    .collect(),
                slow_ms,
                claimers: claimers.len(),
                backend,
                n,
            }
        })
        .collect()
}

/// A byte count as people say it: `100 MB`, `1 GiB`.
pub fn size(bytes: u64) -> String {
    if bytes >= 1 << 30 && bytes.is_multiple_of(1 << 30) {
        format!("{} GiB", bytes >> 30)
    } else if bytes >= 1 << 20 && bytes.is_multiple_of(1 << 20) {
        format!("{} MiB", bytes >> 20)
    } else {
        format!("{} MB", bytes as f64 / 1e6)
    }
}
