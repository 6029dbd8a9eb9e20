//! The headline: each target of issue 6 with the measured value it is judged on and
//! whether it was met (`None`: not measured in this run).

use super::figures::{Figures, OURS, PYTHON, size};
use super::{ms, signed_ms, times};
use crate::commands::COMMANDS;
use crate::stats::ratio;

impl Figures<'_> {
    /// (target, measured, met) rows for the headline.
    pub fn targets(&self) -> Vec<(String, String, Option<bool>)> {
        let mut rows = Vec::new();
        let measured: Vec<&str> = COMMANDS
            .iter()
            .map(|c| c.name)
            .filter(|c| self.speedup(c).is_some())
            .collect();

        let worst_speed = measured
            .iter()
            .filter_map(|c| Some((*c, self.speedup(c)?)))
            .min_by(|a, b| a.1.total_cmp(&b.1));
        rows.push((
            "per-command median ≥ 30× faster than the Python tool".to_string(),
            match worst_speed {
                Some((c, r)) => format!("slowest ratio: `{c}` {}", times(Some(r))),
                None => "—".into(),
            },
            worst_speed.map(|(_, r)| r >= 30.0),
        ));

        let worst_over = measured
            .iter()
            .filter_map(|c| Some((*c, self.overhead(c)?)))
            .max_by(|a, b| a.1.total_cmp(&b.1));
        rows.push((
            "per-command median ≤ 5 ms above the floor of its round trips".to_string(),
            match worst_over {
                Some((c, o)) => format!("largest: `{c}` {} ms", signed_ms(o)),
                None => "—".into(),
            },
            worst_over.map(|(_, o)| o <= 5.0),
        ));

        let contention = self.contention();
        let trials: usize = contention.iter().map(|c| c.trials).sum();
        let violations: usize = contention.iter().map(|c| c.violations).sum();
        let errors: usize = contention.iter().map(|c| c.errors).sum();
        rows.push((
            "zero invariant violations in every contention trial".to_string(),
            format!("{violations} violations in {trials} trials ({errors} claimer errors)"),
            (trials > 0).then_some(violations == 0 && errors == 0),
        ));

        let bursts = self.bursts();
        let sent: u64 = bursts.iter().map(|b| b.sent).sum();
        let lost: u64 = bursts.iter().map(|b| b.lost).sum();
        let failed: u64 = bursts.iter().map(|b| b.failed).sum();
        let dups: u64 = bursts.iter().map(|b| b.duplicates).sum();
        rows.push((
            "zero lost messages".to_string(),
            format!("{lost} lost of {sent} sent ({failed} failed sends, {dups} duplicates)"),
            (sent > 0).then_some(lost == 0 && failed == 0 && dups == 0),
        ));

        let r1000 = ratio(
            self.inbox(1000, PYTHON).map(|s| s.median),
            self.inbox(1000, OURS).map(|s| s.median),
        );
        rows.push((
            "inbox of 1,000 messages ≥ 10× faster than the Python tool".to_string(),
            times(r1000),
            r1000.map(|r| r >= 10.0),
        ));

        let ours = self.wait(OURS).map(|s| s.median);
        let py = self.wait(PYTHON).map(|s| s.median);
        rows.push((
            "wait-for median reaction < 500 ms".to_string(),
            match (ours, py) {
                (Some(o), Some(p)) => format!("{} ms (Python {} ms)", ms(o), ms(p)),
                (Some(o), None) => format!("{} ms", ms(o)),
                _ => "—".into(),
            },
            ours.map(|o| o < 500.0),
        ));

        let red = self.redaction().map(|s| s.median);
        rows.push((
            "redaction ≥ 200 MB/s".to_string(),
            red.map(|r| format!("{r:.0} MB/s (median of rounds)"))
                .unwrap_or_else(|| "—".into()),
            red.map(|r| r >= 200.0),
        ));

        let mem = self.mirror_memory();
        rows.push((
            "mirroring memory independent of transcript size".to_string(),
            if mem.is_empty() {
                "—".into()
            } else {
                mem.iter()
                    .map(|(b, s, a, l, z)| {
                        format!(
                            "{b}: {:.1} MiB at {}, {:.1} MiB at {} (medians)",
                            a / 1024.0,
                            size(*s),
                            z / 1024.0,
                            size(*l)
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("; ")
            },
            // Independent: at 10× the data, the median peak is at most a quarter higher.
            (!mem.is_empty()).then(|| mem.iter().all(|(_, _, a, _, z)| *z <= a * 1.25)),
        ));
        rows
    }
}
