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
