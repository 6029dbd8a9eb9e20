//! `session`: mirror agent transcripts into the bucket (redacted), and list, show, stop
//! and compact mirrored sessions. The engine lives in [`crate::session`]; this module owns
//! the arguments and the dispatch, the subcommands live in `mirror.rs`, `lookup.rs` (list,
//! show, stop) and `compact.rs`.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

use crate::app::App;
use crate::outcome::Outcome;
use crate::session::harness;

mod compact;
mod lookup;
mod mirror;

#[derive(Debug, Subcommand)]
pub enum SessionCommand {
    /// Upload new complete lines of a session transcript.
    Mirror(MirrorArgs),
    /// List mirrored sessions.
    List {
        /// Only sessions of this harness.
        #[arg(long)]
        harness: Option<String>,
        #[arg(long, default_value_t = 20)]
        limit: usize,
        #[arg(long, value_enum, default_value_t = SortBy::Recent)]
        sort_by: SortBy,
    },
    /// Show one session's metadata and, with --tail, its last lines.
    Show {
        id: String,
        /// Also print the last N mirrored lines.
        #[arg(long, default_value_t = 0)]
        tail: usize,
        #[arg(long)]
        harness: Option<String>,
    },
    /// Clear the local mirror state of a session and mark it ended.
    Stop {
        id: String,
        #[arg(long)]
        harness: Option<String>,
    },
    /// Merge a session's parts into one new part.
    Compact {
        id: String,
        /// Leave the newest N parts as they are.
        #[arg(long, default_value_t = 0)]
        keep_tail: usize,
        #[arg(long)]
        harness: Option<String>,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SortBy {
    Recent,
    Size,
}

#[derive(Debug, Args)]
pub struct MirrorArgs {
    /// Which agent's transcripts to read.
    #[arg(long, default_value = harness::DEFAULT)]
    harness: String,
    /// The session to mirror (default: the most recently active one).
    #[arg(long)]
    session_id: Option<String>,
    /// The project directory the session ran in (default: the current directory).
    #[arg(long)]
    cwd: Option<PathBuf>,
    /// Upload without redaction (only for fully trusted buckets).
    #[arg(long)]
    no_redact: bool,
    /// Skip the upload when fewer new bytes are available.
    #[arg(long, default_value_t = 1)]
    min_bytes: u64,
    /// Keep mirroring until Ctrl-C, then mark the session ended.
    #[arg(short = 'f', long)]
    follow: bool,
    /// Seconds between polls with --follow.
    #[arg(long, default_value_t = 5.0)]
    interval: f64,
    /// Every session of the harness (for --cwd), not just the active one.
    #[arg(long)]
    all: bool,
}

pub async fn run(app: &App, cmd: SessionCommand) -> anyhow::Result<Outcome> {
    match cmd {
        SessionCommand::Mirror(args) => mirror::mirror_cmd(app, args).await,
        SessionCommand::List {
            harness,
            limit,
            sort_by,
        } => lookup::list(app, harness, limit, sort_by).await,
        SessionCommand::Show { id, tail, harness } => lookup::show(app, &id, tail, harness).await,
        SessionCommand::Stop { id, harness } => lookup::stop(app, &id, harness).await,
        SessionCommand::Compact {
            id,
            keep_tail,
            harness,
        } => compact::compact(app, &id, keep_tail, harness).await,
    }
}
