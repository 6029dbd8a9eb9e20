//! The commands of scenario 1 (per-command latency) and, for each, the requests its floor
//! makes: the same GETs, PUTs and LISTs, in the same order and with the same concurrency,
//! as our binary issues for that command (read from `src/commands/`). The measuring code
//! and the renderer both take the list from here, so the table and the loop agree.

pub struct Command {
    /// The name in the tables, e.g. `memory get`.
    pub name: &'static str,
    /// The requests the floor makes, for the reader of BENCHMARKS.md.
    pub floor: &'static str,
}

pub const COMMANDS: &[Command] = &[
    Command {
        name: "step-status",
        floor: "GET claim ‖ GET status",
    },
    Command {
        name: "claim",
        floor: "conditional PUT claim, then PUT status ‖ (GET presence, PUT presence)",
    },
    Command {
        name: "send",
        floor: "conditional PUT message ‖ GET presence",
    },
    Command {
        name: "inbox",
        floor: "LIST direct ‖ LIST broadcast, then 10 GETs (up to 32 at once)",
    },
    Command {
        name: "memory get",
        floor: "GET value",
    },
    Command {
        name: "--version",
        floor: "none",
    },
];

/// The number of messages in the inbox that scenario 1 reads.
pub const INBOX_MESSAGES: usize = 10;

/// The tool label of our `step-status` run with no CA roots to load
/// (`SSL_CERT_FILE=/dev/null`), which isolates what loading them costs.
pub const NO_ROOTS: &str = "ours-no-roots";

/// A command of the scenario: its name in the tables, and its arguments for one trial.
pub struct ScaleCommand {
    pub name: &'static str,
    /// Whether it reads the whole project (cold and warm differ) or is on the hot path.
    pub whole_project: bool,
    pub args: fn(trial: &str) -> Vec<String>,
}

fn v(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

/// The scale scenario's commands, in the page's order. `claim` and `claim --next` come
/// last and release what they claimed, so every other row runs with the agent's two claims.
pub const SCALE_COMMANDS: &[ScaleCommand] = &[
    ScaleCommand {
        name: "heartbeat",
        whole_project: false,
        args: |_| v(&["heartbeat"]),
    },
    ScaleCommand {
        name: "renew",
        whole_project: false,
        args: |_| v(&["renew"]),
    },
    // What the recommended hooks run at most every 30 s: a heartbeat and the new messages.
    ScaleCommand {
        name: "hook post-tool-use",
        whole_project: false,
        args: |_| v(&["hook", "post-tool-use", "--every", "0"]),
    },
    ScaleCommand {
        name: "step-status",
        whole_project: false,
        args: |_| v(&["step-status", "mine-a"]),
    },
    ScaleCommand {
        name: "inbox --new",
        whole_project: false,
        args: |_| v(&["inbox", "--new"]),
    },
    ScaleCommand {
        name: "status",
        whole_project: true,
        args: |_| v(&["status"]),
    },
    ScaleCommand {
        name: "agents",
        whole_project: true,
        args: |_| v(&["agents"]),
    },
    ScaleCommand {
        name: "ready",
        whole_project: true,
        args: |_| v(&["ready"]),
    },
    // The full scan `heartbeat` makes every 10 minutes (the scan marker aged first).
    ScaleCommand {
        name: "heartbeat (scan)",
        whole_project: true,
        args: |_| v(&["heartbeat"]),
    },
    ScaleCommand {
        name: "claim",
        whole_project: false,
        args: |t| {
            vec![
                "claim".into(),
                format!("fresh-{t}"),
                "--ttl".into(),
                "2h".into(),
            ]
        },
    },
    ScaleCommand {
        name: "claim --next",
        whole_project: true,
        args: |_| v(&["--json", "claim", "--next", "--ttl", "2h"]),
    },
];

/// Scenario 11's calls in the page's order: (name, arguments, whether another agent sends
/// a message first). The first is process start alone, the floor of the others.
pub const HOOK_VARIANTS: &[(&str, &[&str], bool)] = &[
    ("process start (`--version`)", &["--version"], false),
    ("throttled", &["hook", "post-tool-use"], false),
    (
        "un-throttled, nothing new",
        &["hook", "post-tool-use", "--every", "0"],
        false,
    ),
    (
        "un-throttled, one new message",
        &["hook", "post-tool-use", "--every", "0"],
        true,
    ),
];
