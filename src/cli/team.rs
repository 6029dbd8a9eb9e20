//! The arguments of the work graph (`plan`, `ready`), path reservations (`reserve`,
//! `reservations`, `unreserve`, `guard`) and conversations (`reply`, `thread`, `ack`,
//! `acks`, `log`, `gc`), re-exported by [`crate::cli`].

use clap::{Args, Subcommand};

use super::check_ttl;

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
