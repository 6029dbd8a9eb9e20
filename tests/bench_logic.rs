//! Unit tests of the benchmark harness's own counting logic (`benches/cli/`): percentile
//! math, the contention judge run over fake create-if-absent stores (an atomic one must
//! give one winner and no violation, a racy check-then-write one several winners and
//! violations, and the rendered page must say so), and the renderer as a pure function of
//! the records. The driver itself is a `harness = false` bench, whose tests `cargo test`
//! would not run, so its pure modules are included here by path.

#[allow(dead_code)]
#[path = "../benches/cli/commands.rs"]
mod commands;
#[allow(dead_code)]
#[path = "../benches/cli/judge.rs"]
mod judge;
#[allow(dead_code)]
#[path = "../benches/cli/record.rs"]
mod record;
#[allow(dead_code)]
#[path = "../benches/cli/render/mod.rs"]
mod render;
#[allow(dead_code)]
#[path = "../benches/cli/stats.rs"]
mod stats;

use std::collections::HashMap;
use std::sync::{Barrier, Mutex};
use std::thread;

use record::*;
use stats::{quantile, summarize};

// --- stats ---------------------------------------------------------------------------

#[test]
fn median_of_an_even_count_is_the_mean_of_the_middle_pair() {
    let s = summarize([4.0, 1.0, 3.0, 2.0]).unwrap();
    assert_eq!((s.count, s.min, s.median, s.max), (4, 1.0, 2.5, 4.0));
    assert_eq!(summarize([7.0, 1.0, 5.0]).unwrap().median, 5.0);
}

#[test]
fn quantiles_interpolate_between_ranks_and_stay_in_range() {
    let v: Vec<f64> = (1..=11).map(f64::from).collect();
    assert_eq!(quantile(&v, 0.9), Some(10.0));
    assert_eq!(quantile(&v, 0.0), Some(1.0));
    assert_eq!(quantile(&v, 1.0), Some(11.0));
    assert_eq!(quantile(&[1.0, 2.0], 0.9), Some(1.9));
    assert_eq!(quantile(&[3.0], 0.5), Some(3.0));
    assert_eq!(quantile(&[], 0.5), None);
}

#[test]
fn failed_measurements_are_left_out_not_sorted_in() {
    let s = summarize([f64::NAN, 2.0, f64::INFINITY, 1.0]).unwrap();
    assert_eq!((s.count, s.min, s.max), (2, 1.0, 2.0));
    assert!(summarize([f64::NAN]).is_none());
    assert!(summarize(Vec::new()).is_none());
}

#[test]
fn ratios_need_a_positive_divisor() {
    assert_eq!(stats::ratio(Some(600.0), Some(20.0)), Some(30.0));
    assert_eq!(stats::ratio(Some(600.0), Some(0.0)), None);
    assert_eq!(stats::ratio(None, Some(1.0)), None);
}

// --- fake stores and the judge -----------------------------------------------------------

/// A store with one operation that matters here: create the key if it is absent.
trait CreateStore: Sync {
    /// True when this call created the key.
    fn create(&self, key: &str, value: &str) -> bool;
    fn get(&self, key: &str) -> Option<String>;
}

/// Create-if-absent under one lock: what S3 `If-None-Match: *` and a hard link promise.
#[derive(Default)]
struct AtomicStore(Mutex<HashMap<String, String>>);

impl CreateStore for AtomicStore {
    fn create(&self, key: &str, value: &str) -> bool {
        let mut map = self.0.lock().unwrap();
        if map.contains_key(key) {
            return false;
        }
        map.insert(key.into(), value.into());
        true
    }

    fn get(&self, key: &str) -> Option<String> {
        self.0.lock().unwrap().get(key).cloned()
    }
}

/// Check, then write: the racy claim of a store without conditional writes. The gate holds
/// every claimer between its check and its write, so all of them check before any writes
/// (the worst interleaving, every time).
struct RacyStore {
    map: Mutex<HashMap<String, String>>,
    gate: Barrier,
}

impl CreateStore for RacyStore {
    fn create(&self, key: &str, value: &str) -> bool {
        let absent = !self.map.lock().unwrap().contains_key(key);
        self.gate.wait();
        if absent {
            self.map.lock().unwrap().insert(key.into(), value.into());
        }
        absent
    }

    fn get(&self, key: &str) -> Option<String> {
        self.map.lock().unwrap().get(key).cloned()
    }
}

/// `n` claimers released together, each exiting like the CLI: 0 won, 3 held, and a loser
/// is told the holder it read afterwards. Then the judge, with the holder a reader finds.
fn race(store: &dyn CreateStore, n: u32, trial: u32) -> (Vec<Claimer>, ClaimTrial) {
    let start = Barrier::new(n as usize);
    let key = format!("steps/race-{trial}/claim.json");
    let claimers: Vec<Claimer> = thread::scope(|s| {
        let handles: Vec<_> = (0..n)
            .map(|i| {
                let (start, key) = (&start, &key);
                s.spawn(move || {
                    let agent = format!("racer-{i:02}");
                    start.wait();
                    let won = store.create(key, &agent);
                    Claimer {
                        backend: "fake".into(),
                        n,
                        trial,
                        exit: if won { 0 } else { 3 },
                        wall_ms: f64::from(i + 1),
                        told_holder: if won { None } else { store.get(key) },
                        agent,
                    }
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let holder = store.get(&key);
    let verdict = judge::judge("fake", n, trial, &claimers, holder.as_deref());
    (claimers, verdict)
}

#[test]
fn an_atomic_store_gives_one_winner_and_no_violation() {
    let store = AtomicStore::default();
    for (trial, n) in [2, 4, 8, 16, 32].into_iter().enumerate() {
        let (claimers, v) = race(&store, n, trial as u32);
        assert_eq!(v.winners.len(), 1, "{v:?}");
        assert_eq!(v.holder.as_ref(), v.winners.first());
        assert!(v.violations.is_empty(), "{v:?}");
        assert!(v.errors.is_empty(), "{v:?}");
        assert_eq!(
            claimers.iter().filter(|c| c.exit == 3).count(),
            n as usize - 1
        );
    }
}

#[test]
fn a_racy_store_gives_several_winners_and_the_judge_reports_them() {
    let n = 8;
    let store = RacyStore {
        map: Mutex::default(),
        gate: Barrier::new(n as usize),
    };
    let (_, v) = race(&store, n, 0);
    assert_eq!(
        v.winners.len(),
        n as usize,
        "every claimer checked before any wrote"
    );
    assert!(
        v.violations
            .iter()
            .any(|m| m.contains("8 claimers reported success")),
        "{v:?}"
    );
}

#[test]
fn a_stored_claim_naming_someone_else_is_a_violation() {
    let c = |agent: &str, exit, told: Option<&str>| Claimer {
        backend: "s3".into(),
        n: 2,
        trial: 0,
        agent: agent.into(),
        exit,
        wall_ms: 1.0,
        told_holder: told.map(str::to_string),
    };
    let both = [c("a", 0, None), c("b", 3, Some("a"))];
    assert!(
        judge::judge("s3", 2, 0, &both, Some("a"))
            .violations
            .is_empty()
    );
    let wrong = judge::judge("s3", 2, 0, &both, Some("b"));
    assert_eq!(wrong.violations.len(), 2, "{wrong:?}");
    let missing = judge::judge("s3", 2, 0, &both, None);
    assert!(missing.violations[0].contains("no claim is stored"));
    let lied_to = judge::judge(
        "s3",
        2,
        0,
        &[c("a", 0, None), c("b", 3, Some("z"))],
        Some("a"),
    );
    assert!(lied_to.violations[0].contains("refused in favour of z"));
    let nobody = judge::judge("s3", 2, 0, &[c("a", 3, None), c("b", 3, None)], Some("a"));
    assert!(nobody.violations[0].contains("no claimer reported success"));
    // A crashed claimer is an error, not a double grant.
    let crashed = judge::judge(
        "s3",
        2,
        0,
        &[c("a", 1, None), c("b", 3, Some("a"))],
        Some("a"),
    );
    assert!(crashed.violations.is_empty());
    assert_eq!(crashed.errors, ["a exited with 1"]);
}

// --- the renderer ----------------------------------------------------------------------

fn run_record() -> Record {
    Record::Run(Box::new(Run {
        started_at: "2026-01-01T00:00:00.000000+00:00".into(),
        command: "scripts/bench".into(),
        mode: "full".into(),
        plan: Plan::default(),
        machine: Machine {
            cpu: "Test CPU".into(),
            cores: 2,
            ..Machine::default()
        },
    }))
}

fn latency(command: &str, tool: &str, trial: u32, wall_ms: f64) -> Record {
    Record::Latency(Latency {
        command: command.into(),
        tool: tool.into(),
        trial,
        wall_ms,
        rss_kib: (tool != "floor").then_some(10 * 1024),
        exit: 0,
    })
}

fn with_race(store: &dyn CreateStore, n: u32) -> Vec<Record> {
    let mut records = vec![run_record()];
    for trial in 0..3 {
        let (claimers, verdict) = race(store, n, trial);
        records.extend(claimers.into_iter().map(Record::Claimer));
        records.push(Record::ClaimTrial(verdict));
    }
    records
}

#[test]
fn the_page_reports_zero_violations_for_the_atomic_store_and_some_for_the_racy_one() {
    let atomic = render::render(&with_race(&AtomicStore::default(), 4), "r.jsonl");
    assert!(
        atomic.contains("| zero invariant violations in every contention trial | 0 violations in 3 trials (0 claimer errors) | yes |"),
        "{atomic}"
    );
    assert!(atomic.contains("| fake | 4 | 3 | 1 | 0 | 0 |"), "{atomic}");

    let n = 4;
    let racy = RacyStore {
        map: Mutex::default(),
        gate: Barrier::new(n as usize),
    };
    let page = render::render(&with_race(&racy, n), "r.jsonl");
    assert!(
        page.contains("| zero invariant violations in every contention trial | 3 violations in 3 trials (0 claimer errors) | **no** |"),
        "{page}"
    );
    assert!(page.contains("| fake | 4 | 3 | 4 | 3 | 0 |"), "{page}");
    assert!(page.contains("4 claimers reported success"), "{page}");
}

#[test]
fn the_latency_table_shows_ratios_and_overhead_above_the_floor() {
    let mut records = vec![run_record()];
    for t in 0..3 {
        records.push(latency("memory get", "ours", t, 10.0 + f64::from(t)));
        records.push(latency("memory get", "python", t, 660.0));
        records.push(latency("memory get", "floor", t, 2.0));
        records.push(latency("--version", "ours", t, 1.5));
        records.push(latency("--version", "python", t, 300.0));
    }
    let page = render::render(&records, "r.jsonl");
    assert!(
        page.contains("| `memory get` | 10.0 / 11.0 / 12.0 | 660 / 660 / 660 | 60× | 2.00 / 2.00 / 2.00 | +9.00 | GET value |"),
        "{page}"
    );
    assert!(page.contains("| `--version` | 1.50 / 1.50 / 1.50 | 300 / 300 / 300 | 200× | 0 (no request) | +1.50 | none |"), "{page}");
    // A floor slower than ours (noise on a busy server) shows as a negative difference.
    let mut noisy = vec![run_record()];
    noisy.push(latency("send", "ours", 0, 10.0));
    noisy.push(latency("send", "python", 0, 400.0));
    noisy.push(latency("send", "floor", 0, 153.28));
    let noisy_page = render::render(&noisy, "r.jsonl");
    assert!(
        noisy_page.contains("| 40× | 153 / 153 / 153 | −143 |"),
        "{noisy_page}"
    );
    // Worst of the two: 60× meets 30×; +9 ms misses 5 ms.
    assert!(
        page.contains("slowest ratio: `memory get` 60× | yes |"),
        "{page}"
    );
    assert!(
        page.contains("largest: `memory get` +9.00 ms | **no** |"),
        "{page}"
    );
}

#[test]
fn rendering_is_a_pure_function_of_the_records() {
    let mut records = with_race(&AtomicStore::default(), 2);
    records.push(latency("claim", "ours", 0, 12.0));
    records.push(Record::Burst(Burst {
        backend: "s3".into(),
        senders: 2,
        per_sender: 3,
        trial: 0,
        sent: 6,
        failed: 0,
        delivered: 6,
        duplicates: 0,
        wall_ms: 500.0,
    }));
    let once = render::render(&records, "r.jsonl");
    // Same records in another order, and through a JSON Lines round trip.
    let mut shuffled = records.clone();
    shuffled.reverse();
    let text: String = shuffled.iter().map(|r| line(r) + "\n").collect();
    let reparsed = parse(&text).unwrap();
    assert_eq!(reparsed, shuffled);
    assert_eq!(render::render(&reparsed, "r.jsonl"), once);
    assert!(
        once.contains("| s3 | 2 × 3 | 1 | 6 | 6 | 0 | 0 | 0 | 0.50 / 0.50 / 0.50 | 12 |"),
        "{once}"
    );
    assert!(once.contains(
        "| zero lost messages | 0 lost of 6 sent (0 failed sends, 0 duplicates) | yes |"
    ));
}

#[test]
fn lost_and_duplicated_messages_fail_the_target() {
    let records = vec![
        run_record(),
        Record::Burst(Burst {
            backend: "fs".into(),
            senders: 1,
            per_sender: 10,
            trial: 0,
            sent: 10,
            failed: 0,
            delivered: 9,
            duplicates: 1,
            wall_ms: 1000.0,
        }),
    ];
    let page = render::render(&records, "r.jsonl");
    assert!(
        page.contains(
            "| zero lost messages | 1 lost of 10 sent (0 failed sends, 1 duplicates) | **no** |"
        ),
        "{page}"
    );
}

#[test]
fn a_bad_records_line_is_named() {
    let err = parse(
        "{\"kind\":\"end\",\"finished_at\":\"x\",\"elapsed_s\":1,\"loadavg\":\"0\"}\n\nnot json\n",
    )
    .unwrap_err();
    assert!(err.starts_with("line 3:"), "{err}");
}

fn mirror(backend: &str, bytes: u64, trial: u32, rss_mib: u64) -> Record {
    Record::Mirror(Mirror {
        backend: backend.into(),
        bytes,
        trial,
        wall_ms: 1000.0,
        rss_kib: Some(rss_mib * 1024),
        exit: 0,
    })
}

#[test]
fn mirror_memory_is_judged_on_medians_against_a_quarter_more_at_the_larger_size() {
    let small = 100_000_000;
    let large = 1 << 30;
    // One outlier at the large size does not make memory depend on size...
    let mut records = vec![run_record()];
    for (t, rss) in [20, 20, 21].into_iter().enumerate() {
        records.push(mirror("s3", small, t as u32, rss));
    }
    for (t, rss) in [21, 40, 22].into_iter().enumerate() {
        records.push(mirror("s3", large, t as u32, rss));
    }
    let page = render::render(&records, "r.jsonl");
    assert!(
        page.contains("| mirroring memory independent of transcript size | s3: 20.0 MiB at 100 MB, 22.0 MiB at 1 GiB (medians) | yes |"),
        "{page}"
    );
    assert!(
        page.contains("| s3 | 1 GiB | 3 | 1.00 / 1.00 / 1.00 | 1074 | 21.0 / 22.0 / 40.0 | 0 |"),
        "{page}"
    );
    // ...but growing with the transcript does.
    let mut grows = vec![run_record()];
    grows.push(mirror("fs", small, 0, 20));
    grows.push(mirror("fs", large, 0, 60));
    let page = render::render(&grows, "r.jsonl");
    assert!(
        page.contains("60.0 MiB at 1 GiB (medians) | **no** |"),
        "{page}"
    );
}

#[test]
fn the_slow_tail_of_contention_is_counted_in_whole_second_steps() {
    let c = |backend: &str, agent: &str, exit, wall_ms| {
        Record::Claimer(Claimer {
            backend: backend.into(),
            n: 3,
            trial: 0,
            agent: agent.into(),
            exit,
            wall_ms,
            told_holder: None,
        })
    };
    let trial = |backend: &str| {
        Record::ClaimTrial(ClaimTrial {
            backend: backend.into(),
            n: 3,
            trial: 0,
            winners: vec!["a".into()],
            holder: Some("a".into()),
            violations: vec![],
            errors: vec![],
        })
    };
    let records = vec![
        run_record(),
        c("fs", "a", 0, 4.0),
        c("fs", "b", 3, 5.0),
        c("fs", "c", 3, 6.0),
        trial("fs"),
        c("s3", "a", 0, 10.0),
        c("s3", "b", 3, 1010.0),
        c("s3", "c", 3, 2030.0),
        trial("s3"),
    ];
    let page = render::render(&records, "r.jsonl");
    assert!(
        page.contains("- fs: 0 of 3 claimers took longer than 900 ms."),
        "{page}"
    );
    assert!(
        page.contains("- s3: 2 of 3 claimers took longer than 900 ms (1010 to 2030 ms: 1 near 1 s, 1 near 2 s)."),
        "{page}"
    );
    assert!(
        page.contains("The slow tail is the server's arbitration"),
        "{page}"
    );
}

#[test]
fn the_plan_section_shows_ready_times_and_the_drain_with_its_double_claims() {
    let mut records = vec![run_record()];
    let page = render::render(&records, "r.jsonl");
    assert!(page.contains("## 9. Plan"), "{page}");
    assert!(page.contains("Not measured in this run."), "{page}");
    for (trial, wall_ms) in [(0, 300.0), (1, 200.0), (2, 400.0)] {
        records.push(Record::PlanReady(PlanReady {
            backend: "s3".into(),
            steps: 1000,
            trial,
            wall_ms,
            exit: 0,
            listed: 20,
        }));
    }
    records.push(Record::PlanDrain(PlanDrain {
        backend: "s3".into(),
        steps: 1000,
        agents: 20,
        trial: 0,
        wall_ms: 50_000.0,
        claims: 1000,
        double_claims: 0,
        complete: 1000,
        errors: vec![],
    }));
    let page = render::render(&records, "r.jsonl");
    assert!(
        page.contains("| s3 | 1000 | 3 | 200 / 300 / 400 |"),
        "{page}"
    );
    assert!(
        page.contains("| s3 | 1000 | 20 | 0 | 50.0 | 1000 | 20.0 | 0 | 1000 | none |"),
        "{page}"
    );
    // Records written before the scenario existed still parse.
    let old = r#"{"kind":"run","started_at":"t","command":"c","mode":"full","plan":{"latency_trials":1,"latency_warmup":0,"contention_ns":[],"contention_trials":0,"burst_senders":0,"burst_messages":0,"burst_trials":0,"inbox_sizes":[],"inbox_trials":[],"wait_trials":0,"wait_delays_ms":[],"mirror_sizes":[],"mirror_trials":0,"redact_rounds":0},"machine":{"cpu":"x","cores":2,"memory_gib":1.0,"kernel":"k","os":"o","rustc":"r","tracecraft":"t","commit":"c","python_tool":"p","python":"p","seaweedfs":"s","loadavg":"0"}}"#;
    assert_eq!(record::parse(old).unwrap().len(), 1);
}

fn scale_row(steps: u32, command: &str, phase: &str, wall_ms: f64, requests: [u64; 5]) -> Record {
    Record::Scale(Scale {
        backend: "s3".into(),
        steps,
        command: command.into(),
        phase: phase.into(),
        trial: 0,
        wall_ms,
        rss_kib: Some(20 * 1024),
        exit: 0,
        requests,
        requests_ms: Some(wall_ms / 2.0),
    })
}

#[test]
fn the_scale_section_judges_targets_and_prices_an_agent_hour() {
    let mut records = Vec::new();
    for steps in [10, 10_000] {
        for phase in ["cold", "warm"] {
            records.push(scale_row(steps, "heartbeat", phase, 10.0, [3, 0, 3, 0, 1]));
            records.push(scale_row(
                steps,
                "inbox --new",
                phase,
                10.0,
                [1, 0, 0, 0, 2],
            ));
            records.push(scale_row(
                steps,
                "hook post-tool-use",
                phase,
                12.0,
                [4, 0, 3, 0, 3],
            ));
            let scan_lists = if steps == 10 { 2 } else { 21 };
            records.push(scale_row(
                steps,
                "heartbeat (scan)",
                phase,
                50.0,
                [3, 0, 4, 1, scan_lists],
            ));
        }
        records.push(scale_row(steps, "status", "warm", 300.0, [0, 0, 0, 0, 4]));
    }
    let page = render::render(&records, "x.jsonl");
    assert!(page.contains("## 10. Cost at scale"), "{page}");
    assert!(
        page.contains("| `status` | warm | 300 (300–300) | 150 | 20.0 | 4 LIST |"),
        "{page}"
    );
    assert!(
        page.contains("| `heartbeat` at 10000 steps within 1.5× of 10 steps, same requests | 10.0 ms vs 10.0 ms (1.00×); 3 GET · 3 PUT · 1 LIST vs 3 GET · 3 PUT · 1 LIST | yes |"),
        "{page}"
    );
    assert!(
        page.contains(
            "| warm `status` at 10000 steps: 0 GETs, under 500 ms | 300 ms, 0 GET | yes |"
        ),
        "{page}"
    );
    // 54 × heartbeat + 6 × scan + 60 × inbox at 10 steps: GET 162+18+60 = 240;
    // PUT 162+24 = 186; DELETE 6; LIST 54+12+120 = 186.
    // $ = 240/1000 × 0.0004 + 372/1000 × 0.005 = 0.000096 + 0.00186.
    assert!(
        page.contains("| 10 | every minute | 240 | 186 | 6 | 186 | $0.0020 | $0.047 |"),
        "{page}"
    );
    // 120 hook rounds + 6 × (scan − heartbeat) at 10 steps: GET 480; PUT 360 + 6;
    // DELETE 6; LIST 360 + 6. $ = 0.480 × 0.0004 + 0.732 × 0.005 = 0.003852.
    assert!(
        page.contains("| 10 | hooks | 480 | 366 | 6 | 366 | $0.0039 | $0.092 |"),
        "{page}"
    );
    // At 10,000 steps the scan lists 21 pages: 20 more a scan than the heartbeat's one.
    assert!(
        page.contains("| 10000 | hooks | 480 | 366 | 6 | 480 | $0.0044 | $0.106 |"),
        "{page}"
    );
}

fn hook_row(backend: &str, variant: &str, trial: u32, wall_ms: f64) -> Record {
    let requests = match variant {
        "process start (`--version`)" => None,
        "throttled" => Some([0; 5]),
        _ => Some([4, 0, 3, 0, 3]),
    };
    Record::Hook(Hook {
        backend: backend.into(),
        variant: variant.into(),
        trial,
        wall_ms,
        rss_kib: Some(9 * 1024),
        exit: 0,
        requests,
        stdout_bytes: 0,
        printed_message: false,
    })
}

#[test]
fn the_hook_section_sets_each_call_against_process_start() {
    let mut records = vec![run_record()];
    for trial in 0..3 {
        let t = f64::from(trial);
        records.push(hook_row(
            "s3",
            "process start (`--version`)",
            trial,
            2.0 + t,
        ));
        records.push(hook_row("s3", "throttled", trial, 3.0 + t));
        records.push(hook_row("s3", "un-throttled, nothing new", trial, 20.0 + t));
    }
    let mut failed = hook_row("s3", "throttled", 3, 1.0);
    if let Record::Hook(h) = &mut failed {
        h.exit = 1;
    }
    records.push(failed);
    let page = render::render(&records, "x.jsonl");
    assert!(page.contains("## 11. Hook cost"), "{page}");
    assert!(
        page.contains(
            "| s3 | process start (`--version`) | 3 | 2.00 / 3.00 / 4.00 | — | 9.0 | — |"
        ),
        "{page}"
    );
    assert!(
        page.contains("| s3 | throttled | 3 | 3.00 / 4.00 / 5.00 | +1.00 ms | 9.0 | none |"),
        "{page}"
    );
    assert!(
        page.contains("| s3 | un-throttled, nothing new | 3 | 20.0 / 21.0 / 22.0 | +18.0 ms | 9.0 | 4 GET · 3 PUT · 3 LIST |"),
        "{page}"
    );
    assert!(page.contains("s3 throttled: 1 failed runs"), "{page}");
}

#[test]
fn the_reservation_section_counts_winners_per_round() {
    let mut records = vec![run_record()];
    for round in 0..2 {
        let claimers: Vec<Claimer> = ["a", "b", "c"]
            .iter()
            .enumerate()
            .map(|(i, agent)| Claimer {
                backend: "fs".into(),
                n: 3,
                trial: round,
                agent: agent.to_string(),
                exit: if i == 0 { 0 } else { 3 },
                wall_ms: 10.0 * (i + 1) as f64,
                told_holder: (i > 0).then(|| "a".to_string()),
            })
            .collect();
        let verdict = judge::judge("fs", 3, round, &claimers, Some("a"));
        records.extend(claimers.into_iter().map(Record::Reserver));
        records.push(Record::ReserveRound(verdict));
    }
    let page = render::render(&records, "x.jsonl");
    let section = &page[page.find("## 12. Reservation contention").expect("section")..];
    assert!(
        section.contains("| fs | 3 | 2 | 1 | 0 | 0 | 10.0 / 10.0 / 10.0 | 25.0 / 30.0 / 30.0 |"),
        "{section}"
    );
    // The claim section is not fed by reservation rounds.
    let claims = &page[page.find("## 2. Claim contention").expect("claims")..];
    assert!(claims.contains("Not measured in this run."), "{claims}");
}
