//! The command line: global flags and one subcommand enum, parsed by clap. Each subcommand's
//! arguments live here so `--help` and shell completions see the whole surface.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::BackendKind;

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
pub struct ReserveArgs {
    /// Repository-relative paths or globs: src/api.rs, docs (a directory), src/**/*.rs.
    #[arg(required = true)]
    pub patterns: Vec<String>,
    /// How long it holds unrenewed (30s, 10m, 2h) [default: reserve_ttl from the config,
    /// else 1h]; `renew` and `heartbeat` extend it.
    #[arg(long, value_parser = check_ttl)]
    pub ttl: Option<String>,
    /// Shared: coexists with other shared reservations, refused only by exclusive ones.
    #[arg(long)]
    pub shared: bool,
    /// Why, shown to anyone refused by it.
    #[arg(long)]
    pub reason: Option<String>,
    /// The step this work belongs to.
    #[arg(long)]
    pub step: Option<String>,
}

#[derive(Debug, Args)]
pub struct ReservationsArgs {
    /// Only reservations covering this path (relative to the current directory).
    pub path: Option<String>,
    /// Only your own.
    #[arg(long)]
    pub mine: bool,
}

#[derive(Debug, Args)]
pub struct UnreserveArgs {
    /// Reservation ids (8 hex) or patterns as reserved.
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    pub items: Vec<String>,
    /// Every reservation you hold.
    #[arg(long)]
    pub all: bool,
    /// Release another agent's reservation too.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Subcommand)]
pub enum GuardCommand {
    /// Exit 3 when a path lies in another agent's exclusive reservation.
    Check {
        /// Paths relative to the current directory.
        paths: Vec<String>,
        /// Check the paths staged in git (both names of a rename).
        #[arg(long)]
        staged: bool,
        /// Check the paths of the commits a push sends (git's pre-push input on stdin).
        #[arg(long, hide = true)]
        pushed: bool,
        /// Run as the git hook: TRACECRAFT_GUARD=warn never blocks, and a store that cannot
        /// be reached lets the commit through with a warning unless TRACECRAFT_GUARD=strict.
        #[arg(long, hide = true)]
        hook: bool,
    },
    /// Install the git pre-commit hook (chaining any existing one; honours core.hooksPath).
    Install {
        /// Install a pre-push hook as well.
        #[arg(long)]
        pre_push: bool,
    },
    /// Remove the guard's hooks, putting back the hooks they chained.
    Uninstall,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct PlanArgs {
    #[command(subcommand)]
    pub command: Option<PlanCommand>,
    /// `plan` alone is `plan show`.
    #[command(flatten)]
    pub show: PlanShowArgs,
}

#[derive(Debug, Subcommand)]
pub enum PlanCommand {
    /// Add a step to the plan, or update it (flags not given keep their stored values).
    Add(PlanAddArgs),
    /// Add and update the steps of a plan file (JSON, or TOML by extension; `-` for stdin),
    /// checked whole first; applying the same file twice writes nothing.
    Apply {
        /// The plan file: `{"steps": [{id, title, after, labels, priority, description}]}`,
        /// a bare list, or `[[steps]]` tables in a `.toml` file.
        file: String,
    },
    /// Remove a step's spec from the plan (its claim, status and handoff stay).
    Rm { step: String },
    /// Show the plan in dependency order with each step's status.
    Show(PlanShowArgs),
}

#[derive(Debug, Args)]
pub struct PlanAddArgs {
    pub step: String,
    /// A one-line title.
    #[arg(long)]
    pub title: Option<String>,
    /// A step this one waits for (repeat for several).
    #[arg(long = "after", value_name = "STEP")]
    pub after: Vec<String>,
    /// A label to filter by (repeat for several).
    #[arg(long = "label", value_name = "LABEL")]
    pub labels: Vec<String>,
    /// 0 (most urgent) to 4 [default: 2].
    #[arg(long)]
    pub priority: Option<i64>,
    /// A longer description.
    #[arg(long)]
    pub description: Option<String>,
}

#[derive(Debug, Args, Default)]
pub struct PlanShowArgs {
    /// Only the steps with this label.
    #[arg(long)]
    pub label: Option<String>,
    /// text (a table), mermaid or dot (graphs whose nodes show the status).
    #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
    pub format: PlanFormat,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum PlanFormat {
    #[default]
    Text,
    Mermaid,
    Dot,
}

#[derive(Debug, Args)]
pub struct ReadyArgs {
    /// Only the steps with this label.
    #[arg(long)]
    pub label: Option<String>,
    /// At most N steps.
    #[arg(long)]
    pub limit: Option<usize>,
}

#[derive(Debug, Args)]
pub struct ReplyArgs {
    /// The message answered: its id or any unique suffix (such as the last 8 characters).
    pub id: String,
    pub message: String,
    /// Ask the recipient to acknowledge (`tracecraft ack ID`).
    #[arg(long)]
    pub ack: bool,
}

#[derive(Debug, Args)]
pub struct ThreadArgs {
    pub thread: String,
    /// Show message ids.
    #[arg(long)]
    pub ids: bool,
}

#[derive(Debug, Args)]
pub struct AckArgs {
    #[arg(required = true)]
    pub ids: Vec<String>,
}

#[derive(Debug, Args)]
pub struct AcksArgs {
    /// Messages to you that await your acknowledgement.
    #[arg(long)]
    pub pending: bool,
}

#[derive(Debug, Args)]
pub struct LogArgs {
    /// Only events since this long ago (30m, 2h, 7d) or this time (2026-12-03, ISO 8601).
    #[arg(long)]
    pub since: Option<String>,
    /// Only this agent's events.
    #[arg(long)]
    pub agent: Option<String>,
    /// Only events about this step.
    #[arg(long)]
    pub step: Option<String>,
    /// Only events of this type (claim, send, memory.set, ...).
    #[arg(long = "type")]
    pub kind: Option<String>,
    /// Only the newest N events (still printed oldest first).
    #[arg(long)]
    pub limit: Option<usize>,
    /// Keep printing new events until interrupted.
    #[arg(long)]
    pub follow: bool,
}

#[derive(Debug, Args)]
pub struct GcArgs {
    /// Delete what is older than this (e.g. 30d, 12h).
    #[arg(long, required = true, value_parser = check_ttl)]
    pub older_than: String,
    /// Print what would be deleted; delete nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Also delete old direct messages (and thread copies) and/or session transcripts.
    #[arg(long, value_delimiter = ',', value_enum)]
    pub include: Vec<GcInclude>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum GcInclude {
    Messages,
    Sessions,
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

#[derive(Debug, Args)]
pub struct PrimeArgs {
    /// Cut the text to at most this many characters.
    #[arg(long, default_value_t = crate::prime::MAX_CHARS)]
    pub max_chars: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum HookEvent {
    SessionStart,
    UserPromptSubmit,
    PostToolUse,
    Stop,
    SessionEnd,
}

#[derive(Debug, Args)]
pub struct HookArgs {
    pub event: HookEvent,
    /// user-prompt-submit, post-tool-use: do the work at most once per this many seconds.
    #[arg(long, default_value_t = 30.0)]
    pub every: f64,
    /// stop: keep the agent going while unread direct messages wait.
    #[arg(long)]
    pub block_on_unread: bool,
    /// stop, session-end: mirror the session transcript (also `mirror_sessions` in the config).
    #[arg(long)]
    pub mirror: bool,
    /// The harness whose transcript is mirrored.
    #[arg(long, default_value = "claude-code")]
    pub harness: String,
    /// Give up on the store after this many seconds.
    #[arg(long, default_value_t = 5.0)]
    pub timeout: f64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum SetupTarget {
    ClaudeCode,
    Codex,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum SetupScope {
    /// This project, shared: .claude/settings.json, .codex/hooks.json.
    Project,
    /// Every project of this user: ~/.claude/settings.json, ~/.codex/hooks.json.
    User,
    /// This project, not shared (Claude Code): .claude/settings.local.json.
    Local,
}

#[derive(Debug, Args)]
pub struct SetupArgs {
    pub target: SetupTarget,
    #[arg(long, value_enum, default_value_t = SetupScope::Project)]
    pub scope: SetupScope,
    /// Also register the MCP server.
    #[arg(long)]
    pub mcp: bool,
    /// Mirror the session transcript at every stop and at session end.
    #[arg(long)]
    pub mirror: bool,
    /// Make the stop hook keep the agent going while unread direct messages wait.
    #[arg(long)]
    pub block_on_unread: bool,
    /// Print the resulting files; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Take out tracecraft's entries (and nothing else).
    #[arg(long)]
    pub remove: bool,
}
