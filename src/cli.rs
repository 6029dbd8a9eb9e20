//! The command line: global flags and one subcommand enum, parsed by clap. Each subcommand's
//! arguments live here or in the submodules re-exported here (`team`: the work graph,
//! reservations and conversations; `harness`: prime, hook, setup), so `--help` and shell
//! completions see the whole surface.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::BackendKind;

mod harness;
mod team;
pub use harness::*;
pub use team::*;

#[derive(Debug, Parser)]
#[command(
    name = "tracecraft",
    version,
    about = "Coordinate AI coding agents through a bucket: atomic claims, handoffs, mailbox, memory, files."
)]
pub struct Cli {
    /// Print one JSON object on stdout (JSON Lines for streams).
    #[arg(long, global = true)]
    pub json: bool,
    /// Print only results; no progress or hints.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print extra detail on stderr.
    #[arg(short, long, global = true)]
    pub verbose: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Set up the bucket and write the config (.tracecraft.json, or ~/.tracecraft/config.json with --global).
    Init(InitArgs),
    /// List agents with their status, current step and heartbeat age.
    Agents,
    /// Agents, steps, mailboxes and sessions on one screen.
    Status(StatusArgs),
    /// Shared key-value memory.
    #[command(subcommand)]
    Memory(MemoryCommand),
    /// Send a message to an agent, or to everyone with `_broadcast`.
    Send(SendArgs),
    /// Read your messages (direct and broadcast, in time order).
    Inbox(InboxArgs),
    /// Claim a step atomically; exit 3 when someone else holds it.
    Claim(ClaimArgs),
    /// Mark a step complete (or blocked / needing review) and write its handoff.
    Complete(CompleteArgs),
    /// Extend your leases (all of them when no step is named); exit 3 if one was taken over.
    Renew(RenewArgs),
    /// Give a step back: it reads pending again and the next claim takes it at once.
    Release(StepArgs),
    /// Refresh your presence and renew your leases in one call (run it every minute).
    Heartbeat(HeartbeatArgs),
    /// Show a step's status.
    StepStatus(StepArgs),
    /// Show a step's handoff record.
    Handoff(StepArgs),
    /// Wait until every step is complete (exit 4 on timeout, 5 on a blocked step).
    WaitFor(WaitForArgs),
    /// Shared files.
    #[command(subcommand)]
    Artifact(ArtifactCommand),
    /// Check the config, the backend and whether the store honours conditional writes.
    Doctor,
    /// Mirror agent session transcripts into the bucket, redacted.
    #[command(subcommand)]
    Session(crate::commands::session::SessionCommand),
    /// Print a shell completion script.
    Completions(CompletionsArgs),
    /// Reserve paths before editing them: all granted or none, exit 3 naming the holder.
    Reserve(ReserveArgs),
    /// List live path reservations (with PATH: those covering it).
    Reservations(ReservationsArgs),
    /// Release your path reservations by id or pattern, or all of them.
    Unreserve(UnreserveArgs),
    /// Check paths against other agents' reservations; install the git hook that does.
    #[command(subcommand)]
    Guard(GuardCommand),
    /// The plan: steps with dependencies (`plan add|apply|rm|show`; `plan` alone shows it).
    Plan(PlanArgs),
    /// List the plan's steps that are ready to claim (`claim --next` takes the first).
    Ready(ReadyArgs),
    /// Answer a message (by id or any unique suffix of it) in its thread.
    Reply(ReplyArgs),
    /// Show a conversation, oldest first.
    Thread(ThreadArgs),
    /// Acknowledge messages (by id or any unique suffix); acknowledging twice is harmless.
    Ack(AckArgs),
    /// Messages you sent with --ack and who has not acknowledged; --pending: those awaiting yours.
    Acks(AcksArgs),
    /// The event log: who did what, when (oldest first).
    Log(LogArgs),
    /// Delete old broadcasts, events, acknowledgements and memory history (never live state).
    Gc(GcArgs),
    /// What an agent starting or resuming work needs: identity, claims, unread messages.
    Prime(PrimeArgs),
    /// The entry point of harness hooks: reads the hook's JSON on stdin, never fails.
    Hook(HookArgs),
    /// Wire tracecraft into Claude Code or Codex: hooks, and the MCP server with --mcp.
    Setup(SetupArgs),
    /// Run a Model Context Protocol server on stdin/stdout with the coordination tools.
    Mcp,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Redraw every --interval seconds until interrupted.
    #[arg(long)]
    pub watch: bool,
    /// Seconds between redraws with --watch.
    #[arg(long, default_value_t = 2.0)]
    pub interval: f64,
}

#[derive(Debug, Subcommand)]
pub enum MemoryCommand {
    /// Set KEY (dotted, e.g. design.api) to VALUE.
    Set { key: String, value: String },
    /// Print the value of KEY (exit 1 when unset).
    Get {
        key: String,
        /// Also show who set it and when.
        #[arg(long)]
        with_meta: bool,
    },
    /// List keys, optionally under a dotted PREFIX (whole segments only).
    List { prefix: Option<String> },
    /// Show the values KEY has had, oldest first.
    History {
        key: String,
        /// Only the newest N entries.
        #[arg(long)]
        limit: Option<usize>,
    },
}

#[derive(Debug, Args)]
pub struct SendArgs {
    /// An agent id, or `_broadcast` for everyone.
    pub recipient: String,
    pub message: String,
    /// The step this message is about.
    #[arg(long)]
    pub step: Option<String>,
    /// The conversation this message belongs to (see `tracecraft thread T`).
    #[arg(long)]
    pub thread: Option<String>,
    /// The id (or a unique suffix) of the message this one answers.
    #[arg(long)]
    pub reply_to: Option<String>,
    /// Ask the recipient to acknowledge (`tracecraft ack ID`).
    #[arg(long)]
    pub ack: bool,
}

#[derive(Debug, Args)]
pub struct InboxArgs {
    /// Only messages not shown by an earlier `inbox --new`.
    #[arg(long, conflicts_with = "delete")]
    pub new: bool,
    /// Delete the direct messages shown (broadcasts are never deleted).
    #[arg(long, conflicts_with_all = ["wait", "follow"])]
    pub delete: bool,
    /// Show message ids (for `reply`, `ack`).
    #[arg(long)]
    pub ids: bool,
    /// Block until a new message arrives, print it, exit (implies --new; exit 4 on timeout).
    #[arg(long, conflicts_with = "follow")]
    pub wait: bool,
    /// Keep printing new messages until interrupted (implies --new; JSON Lines with --json).
    #[arg(long)]
    pub follow: bool,
    /// With --wait: give up after this many seconds (exit 4) [default: wait forever].
    #[arg(long, requires = "wait")]
    pub timeout: Option<f64>,
}

#[derive(Debug, Args)]
pub struct ClaimArgs {
    #[arg(required_unless_present = "next", conflicts_with = "next")]
    pub step: Option<String>,
    /// Lease length (30s, 10m, 2h): others may take the step over once it runs out
    /// unrenewed [default: claim_ttl from the config, else no expiry].
    #[arg(long, value_parser = check_ttl)]
    pub ttl: Option<String>,
    /// Claim the first ready step of the plan (exit 3 none ready, 5 none can become
    /// ready, 6 the plan is complete).
    #[arg(long)]
    pub next: bool,
    /// With --next: only steps with this label.
    #[arg(long, requires = "next")]
    pub label: Option<String>,
    /// With --next: wait until a step is ready instead of exiting 3.
    #[arg(long, requires = "next")]
    pub wait: bool,
    /// With --wait: give up after this many seconds (exit 4) [default: wait forever].
    #[arg(long, requires = "wait")]
    pub timeout: Option<f64>,
}

#[derive(Debug, Args)]
pub struct RenewArgs {
    /// Steps to renew [default: every step you hold with a lease].
    pub steps: Vec<String>,
    /// New lease length [default: each claim's own].
    #[arg(long, value_parser = check_ttl)]
    pub ttl: Option<String>,
}

#[derive(Debug, Args)]
pub struct HeartbeatArgs {
    /// What you are doing, shown by `agents` and `status`.
    #[arg(long)]
    pub summary: Option<String>,
}

/// TTLs are checked while parsing, so a typo is a usage error before anything is written.
fn check_ttl(text: &str) -> Result<String, String> {
    crate::lease::parse_ttl(text)
        .map(|_| text.to_string())
        .map_err(|e| e.to_string())
}

#[derive(Debug, Args)]
pub struct CompleteArgs {
    pub step: String,
    /// A note for whoever picks up next.
    #[arg(long)]
    pub note: Option<String>,
    /// Hand off to this agent.
    #[arg(long = "to")]
    pub to: Option<String>,
    /// What the next agent should do.
    #[arg(long)]
    pub next_action: Option<String>,
    /// Mark the step blocked instead of complete.
    #[arg(long, conflicts_with = "needs_review")]
    pub blocked: bool,
    /// Mark the step as needing review instead of complete.
    #[arg(long)]
    pub needs_review: bool,
    /// Record the files changed in this git repository (staged and unstaged, against HEAD).
    #[arg(long)]
    pub changed_files_from_git: bool,
    /// Complete a step claimed by another agent.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct StepArgs {
    pub step: String,
}

#[derive(Debug, Args)]
pub struct WaitForArgs {
    #[arg(required_unless_present = "plan", conflicts_with = "plan")]
    pub steps: Vec<String>,
    /// Wait until every step of the plan is complete.
    #[arg(long)]
    pub plan: bool,
    /// Give up after this many seconds (exit 4) [default: wait forever].
    #[arg(long)]
    pub timeout: Option<f64>,
    /// Poll every S seconds [default: 0.1 s, backing off to 0.5 s; 2 s after 15 minutes].
    #[arg(long)]
    pub interval: Option<f64>,
}

#[derive(Debug, Subcommand)]
pub enum ArtifactCommand {
    /// Upload a file (to the step's artifacts with --step, else to the shared ones).
    Upload {
        path: PathBuf,
        #[arg(long)]
        step: Option<String>,
    },
    /// Download a file into the current directory (or -o PATH).
    Download {
        name: String,
        #[arg(long)]
        step: Option<String>,
        /// Where to write it [default: ./NAME].
        #[arg(short = 'o', long = "output")]
        output: Option<PathBuf>,
        /// Overwrite an existing file.
        #[arg(long)]
        force: bool,
    },
    /// List artifact keys.
    List {
        #[arg(long)]
        step: Option<String>,
    },
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Storage backend: fs (local disk, the default), s3, or hf (Hugging Face storage bucket).
    #[arg(long, value_enum)]
    pub backend: Option<BackendKind>,
    /// fs: the directory holding buckets [default: $XDG_DATA_HOME/tracecraft].
    #[arg(long)]
    pub root: Option<PathBuf>,
    /// s3: the endpoint URL of an S3-compatible store (implies --backend s3). hf: the Hub URL.
    #[arg(long)]
    pub endpoint: Option<String>,
    /// Bucket name (fs default: tracecraft; hf: namespace/name).
    #[arg(long)]
    pub bucket: Option<String>,
    /// s3: the region [default: from AWS_REGION or the profile, else us-east-1].
    #[arg(long)]
    pub region: Option<String>,
    /// s3: the AWS profile to take credentials from.
    #[arg(long)]
    pub profile: Option<String>,
    /// Project name [default: the current directory's name].
    #[arg(long)]
    pub project: Option<String>,
    /// Agent id [default: the OS user name].
    #[arg(long)]
    pub agent: Option<String>,
    /// s3 (or the hf S3 gateway): access key, stored in the config.
    #[arg(long, requires = "secret_key")]
    pub access_key: Option<String>,
    /// s3 (or the hf S3 gateway): secret key, stored in the config.
    #[arg(long, requires = "access_key")]
    pub secret_key: Option<String>,
    /// hf: the S3 gateway URL [default: https://s3.hf.co/<namespace>].
    #[arg(long)]
    pub gateway_endpoint: Option<String>,
    /// hf: the Hub token, stored in the config [default: HF_TOKEN at run time].
    #[arg(long)]
    pub hf_token: Option<String>,
    /// hf: create the bucket private (the default).
    #[arg(long, conflicts_with = "public")]
    pub private: bool,
    /// hf: create the bucket public.
    #[arg(long)]
    pub public: bool,
    /// The lease `claim` takes by default (e.g. 10m); without it claims never expire.
    #[arg(long, value_parser = check_ttl)]
    pub claim_ttl: Option<String>,
    /// Write ~/.tracecraft/config.json instead of ./.tracecraft.json.
    #[arg(long)]
    pub global: bool,
}
