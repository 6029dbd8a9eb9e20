//! The raw records of a benchmark run: one JSON object per line (JSON Lines) under
//! `bench/results/`, one line per measured trial plus a `run` line (the machine, the
//! command, the plan fixed before anything ran) and an `end` line. BENCHMARKS.md is
//! rendered from these lines alone, so the file is the evidence and the summary can be
//! regenerated from it at any time.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Record {
    Run(Box<Run>),
    Latency(Latency),
    Claimer(Claimer),
    ClaimTrial(ClaimTrial),
    Burst(Burst),
    Inbox(Inbox),
    WaitFor(WaitFor),
    InboxWait(InboxWait),
    InboxIdle(InboxIdle),
    Mirror(Mirror),
    Redact(Redact),
    Scale(Scale),
    PlanReady(PlanReady),
    PlanDrain(PlanDrain),
    Hook(Hook),
    /// Scenario 12: one `reserve` process of a contention round (`trial` is the round).
    Reserver(Claimer),
    /// Scenario 12: the verdict on one round, judged like a claim trial.
    ReserveRound(ClaimTrial),
    End(End),
}

/// What was run, where, and with which fixed trial counts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Run {
    pub started_at: String,
    /// The exact command line, e.g. `scripts/bench --quick`.
    pub command: String,
    /// `full` or `quick`.
    pub mode: String,
    pub plan: Plan,
    pub machine: Machine,
}

/// Trial counts and sizes, decided before the first measurement.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub latency_trials: u32,
    pub latency_warmup: u32,
    pub contention_ns: Vec<u32>,
    pub contention_trials: u32,
    pub burst_senders: u32,
    pub burst_messages: u32,
    pub burst_trials: u32,
    pub inbox_sizes: Vec<u32>,
    pub inbox_trials: Vec<u32>,
    pub wait_trials: u32,
    pub wait_delays_ms: Vec<u64>,
    /// `inbox --wait`: the delays before each trial's `send` (absent in older records).
    #[serde(default)]
    pub inbox_wait_delays_ms: Vec<u64>,
    /// How long the idle waiter of the `inbox-wait` scenario waits.
    #[serde(default)]
    pub inbox_idle_s: u32,
    pub mirror_sizes: Vec<u64>,
    pub mirror_trials: u32,
    pub redact_rounds: u32,
    /// Scenario 8 (issue 14): project sizes in steps, and trials per command and phase.
    #[serde(default)]
    pub scale_steps: Vec<u32>,
    #[serde(default)]
    pub scale_trials: u32,
    /// Scenario 8 (the plan); absent in records of runs before it existed.
    #[serde(default)]
    pub plan_steps: u32,
    #[serde(default)]
    pub plan_agents: u32,
    #[serde(default)]
    pub plan_trials: u32,
    #[serde(default)]
    pub plan_ready_trials: u32,
    /// Scenario 11 (hooks): trials per variant and backend.
    #[serde(default)]
    pub hook_trials: u32,
    /// Scenario 12 (reservation contention): processes per round, and rounds per N.
    #[serde(default)]
    pub reserve_ns: Vec<u32>,
    #[serde(default)]
    pub reserve_rounds: u32,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Machine {
    pub cpu: String,
    pub cores: u32,
    pub memory_gib: f64,
    pub kernel: String,
    pub os: String,
    pub rustc: String,
    pub tracecraft: String,
    pub commit: String,
    pub python_tool: String,
    pub python: String,
    pub seaweedfs: String,
    /// `/proc/loadavg` when the run started: other work on the machine shows here.
    pub loadavg: String,
    /// The peak RSS the measuring shim reports for `true`: no smaller figure is visible.
    #[serde(default)]
    pub shim_rss_kib: u64,
}

/// Scenario 1 and 7: one whole-process run of a command (`ours`, `python`), or the same
/// requests from a warm in-process client (`floor`, no process and no memory figure).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    pub command: String,
    pub tool: String,
    pub trial: u32,
    pub wall_ms: f64,
    pub rss_kib: Option<u64>,
    pub exit: i32,
}

/// Scenario 2: one claiming process of a contention trial. `wall_ms` runs from the shared
/// start time to this process's exit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Claimer {
    pub backend: String,
    pub n: u32,
    pub trial: u32,
    pub agent: String,
    pub exit: i32,
    pub wall_ms: f64,
    /// The holder a refused claimer was told about (`--json` field `holder`).
    pub told_holder: Option<String>,
}

/// Scenario 2: the verdict on one trial, from its claimers and a fresh read of the claim.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClaimTrial {
    pub backend: String,
    pub n: u32,
    pub trial: u32,
    pub winners: Vec<String>,
    pub holder: Option<String>,
    /// Broken exclusivity: more than one winner, or a stored claim naming someone else.
    pub violations: Vec<String>,
    /// Claimers that neither won nor were refused (exit other than 0 and 3).
    pub errors: Vec<String>,
}

/// Scenario 3: one burst of `senders` × `per_sender` sends at once.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Burst {
    pub backend: String,
    pub senders: u32,
    pub per_sender: u32,
    pub trial: u32,
    /// Sends that exited 0.
    pub sent: u64,
    pub failed: u64,
    /// Distinct expected messages the recipient's inbox shows.
    pub delivered: u64,
    pub duplicates: u64,
    pub wall_ms: f64,
}

/// Scenario 4: one whole-process read of an inbox of `size` messages.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Inbox {
    pub size: u32,
    pub tool: String,
    pub trial: u32,
    pub wall_ms: f64,
    pub rss_kib: Option<u64>,
    pub exit: i32,
    /// Message lines printed.
    pub shown: u64,
}

/// Scenario 5: the time from a `complete` process's exit to a waiter's exit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WaitFor {
    pub tool: String,
    pub trial: u32,
    /// How long after the waiters started the step was completed.
    pub delay_ms: u64,
    /// `None` when the waiter did not end with success after the complete.
    pub reaction_ms: Option<f64>,
    pub exit: i32,
}

/// Scenario 6: one `session mirror` of a fresh synthetic transcript of `bytes`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Mirror {
    pub backend: String,
    pub bytes: u64,
    pub trial: u32,
    pub wall_ms: f64,
    pub rss_kib: Option<u64>,
    pub exit: i32,
}

/// Scenario 6: one in-process pass of the mirror's redaction over a transcript.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Redact {
    pub bytes: u64,
    pub round: u32,
    pub secs: f64,
    pub redactions: u64,
}

/// Scenario 8 (issue 14): one whole-process run of a command with `-v` in a project of
/// `steps` steps (plus 100 agents and 10,000 messages), `cold` (no local cache) or `warm`
/// (the same call just ran), with the store requests its `requests:` line counted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Scale {
    pub backend: String,
    pub steps: u32,
    pub command: String,
    pub phase: String,
    pub trial: u32,
    pub wall_ms: f64,
    pub rss_kib: Option<u64>,
    pub exit: i32,
    /// GET, HEAD, PUT, DELETE, LIST.
    pub requests: [u64; 5],
    /// The requests' own times summed (concurrent ones each count in full); absent in
    /// records of runs before it was kept.
    #[serde(default)]
    pub requests_ms: Option<f64>,
}

/// Scenario 8: one `ready` on a fresh plan of `steps` steps.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlanReady {
    pub backend: String,
    pub steps: u32,
    pub trial: u32,
    pub wall_ms: f64,
    pub exit: i32,
    /// Ready steps it listed.
    pub listed: u64,
}

/// Scenario 8: `agents` agents draining a plan of `steps` steps, each looping
/// `claim --next --wait` and `complete` until `claim --next` exits 6.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlanDrain {
    pub backend: String,
    pub steps: u32,
    pub agents: u32,
    pub trial: u32,
    /// From the release of the agents to the last one's exit.
    pub wall_ms: f64,
    /// Successful `claim --next` calls.
    pub claims: u64,
    /// Steps claimed by more than one agent (or twice by one).
    pub double_claims: u64,
    /// Steps complete at the end, by a fresh `plan --json`.
    pub complete: u64,
    /// Agents whose loop ended other than with exit 6, and failed `complete` calls.
    pub errors: Vec<String>,
}

/// Scenario 11 (issue 11): one whole-process run of a hook variant (or of `--version`,
/// which has no `requests`), with a recorded `PostToolUse` payload on standard input.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Hook {
    pub backend: String,
    pub variant: String,
    pub trial: u32,
    pub wall_ms: f64,
    pub rss_kib: Option<u64>,
    pub exit: i32,
    /// GET, HEAD, PUT, DELETE, LIST from the `-v` line.
    pub requests: Option<[u64; 5]>,
    pub stdout_bytes: u64,
    /// Whether the message sent just before was in the hook's answer.
    pub printed_message: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct End {
    pub finished_at: String,
    pub elapsed_s: f64,
    pub loadavg: String,
}

/// Parses JSON Lines; blank lines are skipped, a bad line is an error naming its number.
pub fn parse(text: &str) -> Result<Vec<Record>, String> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| serde_json::from_str(l).map_err(|e| format!("line {}: {e}", i + 1)))
        .collect()
}

/// One record as one line (no trailing newline).
pub fn line(record: &Record) -> String {
    serde_json::to_string(record).expect("records serialise")
}

/// `inbox-wait` scenario: how soon `inbox --wait` prints a message sent `delay_ms` after it
/// started, from the `send` process's exit to the waiter's (it exits right after printing).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InboxWait {
    pub trial: u32,
    pub delay_ms: u64,
    pub reaction_ms: Option<f64>,
    pub exit: i32,
}

/// `inbox-wait` scenario: one waiter left alone for `waited_s`; the looks it took at its
/// mailboxes (each look is one listing of the direct mailbox and one of the broadcasts)
/// once it had been idle past its quick phase.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InboxIdle {
    pub waited_s: f64,
    /// Looks taken in the whole wait, and in the idle window after `idle_from_s`.
    pub looks: u32,
    pub idle_from_s: f64,
    pub idle_looks: u32,
    pub listings_per_look: u32,
}
