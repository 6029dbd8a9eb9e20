//! The command-line benchmark driver behind BENCHMARKS.md (issue 6), run by `scripts/bench`
//! through `cargo bench --bench cli -- …`. `run` measures the scenarios against the
//! SeaweedFS server and the Python tool the script provides and appends raw records to a
//! JSON Lines file; `render` turns such a file into BENCHMARKS.md, as a pure function of
//! the records. Under `cargo test --all-targets` (no arguments) it only says how to run it:
//! benchmarks are not tests. Its counting logic is unit-tested in `tests/bench_logic.rs`.

mod commands;
mod floor;
mod judge;
mod machine;
mod proc;
#[path = "../../tests/support/python_tool.rs"]
mod python_tool;
mod record;
mod render;
mod scenarios;
mod stats;
mod tools;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::Context;
use clap::{Parser, Subcommand};

use record::{End, Plan, Record, Run};
use scenarios::{Ctx, Recorder, say};

#[derive(Parser)]
#[command(about = "tracecraft's command-line benchmarks (see scripts/bench)")]
struct Cli {
    #[command(subcommand)]
    command: Option<Cmd>,
}

#[derive(Subcommand)]
enum Cmd {
    /// Measure every scenario and write raw records as JSON Lines.
    Run {
        /// Where the records go (overwritten).
        #[arg(long)]
        records: PathBuf,
        /// Fewer trials and smaller sizes, for developing the harness.
        #[arg(long)]
        quick: bool,
        /// The command line to record, e.g. `scripts/bench --quick`.
        #[arg(long, default_value = "cargo bench --bench cli -- run")]
        command: String,
        /// Our binary under test (default: the one cargo built beside this driver, whose
        /// dependencies carry the dev-dependencies' features; scripts/bench passes the
        /// plain `cargo build --release` one).
        #[arg(long)]
        ours: Option<PathBuf>,
        /// The SeaweedFS binary, to record its version.
        #[arg(long)]
        weed: Option<PathBuf>,
        /// A directory for configs, transcripts and fs buckets (emptied by the caller).
        #[arg(long)]
        scratch: PathBuf,
        /// Only these scenarios (comma-separated: latency,inbox,wait,contention,burst,mirror,inbox-wait,scale,plan,hooks,reserve).
        #[arg(long, value_delimiter = ',')]
        only: Vec<String>,
    },
    /// Render a records file as Markdown.
    Render {
        #[arg(long)]
        records: PathBuf,
        #[arg(long)]
        out: PathBuf,
    },
}

const SCENARIOS: &[&str] = &[
    "latency",
    "inbox",
    "wait",
    "contention",
    "burst",
    "mirror",
    "inbox-wait",
    "scale",
    "plan",
    "hooks",
    "reserve",
];

fn plan(quick: bool) -> Plan {
    if quick {
        Plan {
            latency_trials: 3,
            latency_warmup: 1,
            contention_ns: vec![2, 8],
            contention_trials: 2,
            burst_senders: 4,
            burst_messages: 10,
            burst_trials: 1,
            inbox_sizes: vec![100, 1000],
            inbox_trials: vec![2, 1],
            wait_trials: 3,
            wait_delays_ms: vec![2000, 2500, 3000],
            inbox_wait_delays_ms: vec![1000, 3000, 12_000],
            inbox_idle_s: 20,
            mirror_sizes: vec![10_000_000, 50_000_000],
            mirror_trials: 1,
            redact_rounds: 2,
            scale_steps: vec![10, 1000],
            scale_trials: 2,
            plan_steps: 100,
            plan_agents: 5,
            plan_trials: 1,
            plan_ready_trials: 3,
            hook_trials: 5,
            reserve_ns: vec![2, 8],
            reserve_rounds: 3,
        }
    } else {
        Plan {
            latency_trials: 30,
            latency_warmup: 3,
            contention_ns: vec![2, 4, 8, 16, 32],
            contention_trials: 10,
            burst_senders: 16,
            burst_messages: 50,
            burst_trials: 3,
            inbox_sizes: vec![100, 1000, 10_000],
            inbox_trials: vec![10, 5, 3],
            wait_trials: 20,
            // Spread evenly over 2–9.6 s: a waiter meets the complete at every phase of
            // its polling, short waits and long ones.
            wait_delays_ms: (0..20).map(|i| 2000 + 400 * i).collect(),
            // Spread over 0.5–14.8 s: sends that meet a waiter in its quick first 10 s
            // and sends that meet it in its idle 2 s rhythm.
            inbox_wait_delays_ms: (0..24).map(|i| 500 + 620 * i).collect(),
            inbox_idle_s: 60,
            mirror_sizes: vec![100_000_000, 1 << 30],
            mirror_trials: 3,
            redact_rounds: 5,
            scale_steps: vec![10, 1000, 10_000],
            scale_trials: 3,
            plan_steps: 1000,
            plan_agents: 20,
            plan_trials: 1,
            plan_ready_trials: 10,
            hook_trials: 30,
            reserve_ns: vec![2, 8, 16],
            reserve_rounds: 10,
        }
    }
}

fn main() -> anyhow::Result<()> {
    // The measuring shim every child runs under: nothing else first, to stay small.
    let raw: Vec<String> = std::env::args().collect();
    if raw.get(1).map(String::as_str) == Some(proc::MEASURE) {
        std::process::exit(proc::measure_main(&raw[2..]));
    }
    // `cargo bench` appends `--bench`; it means nothing here.
    let args: Vec<String> = raw.into_iter().filter(|a| a != "--bench").collect();
    // `cargo test --all-targets [FILTER]` runs this too, with no subcommand or a test
    // filter: not a benchmark run, and not a failure.
    let known = ["run", "render", "help", "--help", "-h"];
    if !args.get(1).is_some_and(|a| known.contains(&a.as_str())) {
        println!("benches/cli is run by scripts/bench (it needs SeaweedFS and the Python tool)");
        return Ok(());
    }
    let cli = Cli::parse_from(args);
    match cli.command {
        None => Ok(()),
        Some(Cmd::Render { records, out }) => render_file(&records, &out),
        Some(Cmd::Run {
            records,
            quick,
            command,
            ours,
            weed,
            scratch,
            only,
        }) => {
            let only: Vec<String> = if only.is_empty() {
                SCENARIOS.iter().map(|s| s.to_string()).collect()
            } else {
                only
            };
            if let Some(bad) = only.iter().find(|s| !SCENARIOS.contains(&s.as_str())) {
                anyhow::bail!("unknown scenario {bad}; known: {}", SCENARIOS.join(","));
            }
            let ours = ours.unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_tracecraft")));
            run(
                &records,
                quick,
                command,
                ours,
                weed.as_deref(),
                scratch,
                &only,
            )
        }
    }
}

fn run(
    records: &Path,
    quick: bool,
    command: String,
    ours_bin: PathBuf,
    weed: Option<&Path>,
    scratch: PathBuf,
    only: &[String],
) -> anyhow::Result<()> {
    let python_bin = std::env::var("TRACECRAFT_TEST_PYTHON_TOOL")
        .ok()
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .context("TRACECRAFT_TEST_PYTHON_TOOL is not set: run the benchmarks with scripts/bench")?;
    let mut plan = plan(quick);
    plan.wait_trials = plan.wait_delays_ms.len() as u32;
    let ctx = Ctx {
        ours_bin,
        python_bin,
        s3: tools::S3::from_env()?,
        scratch,
        plan,
        run_id: uuid::Uuid::new_v4().simple().to_string()[..8].to_string(),
    };
    let mut machine = machine::describe(&machine::Tools {
        ours: &ctx.ours_bin,
        python_tool: &ctx.python_bin,
        weed,
        repo: Path::new(env!("CARGO_MANIFEST_DIR")),
    });
    machine.shim_rss_kib = proc::run(Command::new("true"), &ctx.scratch.join("true"))?.rss_kib;
    say(format!(
        "{} on {} ({} cores), load {}",
        machine.tracecraft, machine.cpu, machine.cores, machine.loadavg
    ));
    let mut rec = Recorder::create(records)?;
    rec.push(Record::Run(Box::new(Run {
        started_at: tracecraft::time::now_iso(),
        command,
        mode: if quick { "quick" } else { "full" }.into(),
        plan: ctx.plan.clone(),
        machine,
    })))?;
    let started = Instant::now();
    for name in SCENARIOS.iter().filter(|s| only.iter().any(|o| o == *s)) {
        let t = Instant::now();
        match *name {
            "latency" => scenarios::latency::run(&ctx, &mut rec)?,
            "inbox" => scenarios::inbox::run(&ctx, &mut rec)?,
            "wait" => scenarios::wait::run(&ctx, &mut rec)?,
            "contention" => scenarios::contention::run(&ctx, &mut rec)?,
            "burst" => scenarios::burst::run(&ctx, &mut rec)?,
            "mirror" => scenarios::mirror::run(&ctx, &mut rec)?,
            "inbox-wait" => scenarios::inbox_wait::run(&ctx, &mut rec)?,
            "scale" => scenarios::scale::run(&ctx, &mut rec)?,
            "plan" => scenarios::plan::run(&ctx, &mut rec)?,
            "hooks" => scenarios::hooks::run(&ctx, &mut rec)?,
            "reserve" => scenarios::reserve::run(&ctx, &mut rec)?,
            _ => unreachable!("checked above"),
        }
        say(format!("{name} took {:.0} s", t.elapsed().as_secs_f64()));
    }
    rec.push(Record::End(End {
        finished_at: tracecraft::time::now_iso(),
        elapsed_s: started.elapsed().as_secs_f64(),
        loadavg: machine::loadavg(),
    }))?;
    Ok(())
}

fn render_file(records: &Path, out: &Path) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(records)
        .with_context(|| format!("reading {}", records.display()))?;
    let parsed = record::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", records.display()))?;
    let source = display_path(records);
    let page = render::render(&parsed, &source);
    std::fs::write(out, &page)?;
    // The headline on the terminal too, for whoever ran the script.
    let f = render::Figures::new(&parsed);
    for (target, measured, met) in f.targets() {
        let met = match met {
            Some(true) => "met",
            Some(false) => "MISSED",
            None => "not measured",
        };
        println!("{met:>12}  {target}: {measured}");
    }
    Ok(())
}

/// The records path as the page names it: relative to the repository when inside it.
fn display_path(p: &Path) -> String {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let abs = std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let repo = std::fs::canonicalize(repo).unwrap_or_else(|_| repo.to_path_buf());
    abs.strip_prefix(&repo)
        .map(|r| r.display().to_string())
        .unwrap_or_else(|_| p.display().to_string())
}
