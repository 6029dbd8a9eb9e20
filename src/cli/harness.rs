//! The arguments of the harness integration commands (`prime`, `hook`, `setup`),
//! re-exported by [`crate::cli`].

use clap::Args;

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
