//! The tools of the MCP server: each one a name, a short description (agents pay for
//! every token of it), its arguments, and the function that turns them into the command's
//! own command-line words ([`Words`]), which clap then parses exactly as on the command
//! line.

use rmcp::model::JsonObject;
use serde_json::Value;

/// One argument of a tool: its name, JSON type, whether it is required, and a few words.
pub(super) type Arg = (&'static str, &'static str, bool, &'static str);

/// A tool: the command it runs is whatever `words` makes of the arguments.
pub struct Tool {
    pub name: &'static str,
    pub description: &'static str,
    pub args: &'static [Arg],
    pub words: fn(&mut Words) -> Result<(), String>,
}

/// The tool whose command prints JSON Lines; its result is `{"events": [...]}`.
pub(super) const LINES_TOOL: &str = "log";

/// The tools, in the order `tools/list` gives them.
pub const TOOLS: &[Tool] = &[
    Tool {
        name: "status",
        description: "Agents, steps, mailboxes and sessions of the project.",
        args: &[],
        words: |w| w.verb(&["status"]),
    },
    Tool {
        name: "prime",
        description: "Who you are, your claims, unread messages: what to know when (re)starting.",
        args: &[],
        words: |w| w.verb(&["prime"]),
    },
    Tool {
        name: "claim",
        description: "Claim a step (or the next ready one) atomically; error if someone holds it.",
        args: &[
            ("step", "string", false, "step id"),
            (
                "next",
                "boolean",
                false,
                "claim the next ready step instead",
            ),
            (
                "label",
                "string",
                false,
                "with next: only steps with this label",
            ),
            ("ttl", "string", false, "lease, e.g. 10m"),
        ],
        words: |w| {
            w.verb(&["claim"])?;
            match (w.has("step"), w.flag("next")) {
                (true, false) => w.positional("step")?,
                (false, true) => {
                    w.switch("next", "--next");
                    w.option("label", "--label")?;
                }
                _ => return Err("give exactly one of `step` and `next: true`".into()),
            }
            w.option("ttl", "--ttl")
        },
    },
    Tool {
        name: "complete",
        description: "Finish a step you hold and write its handoff.",
        args: &[
            ("step", "string", true, "step id"),
            ("note", "string", false, "for whoever picks up next"),
            ("to", "string", false, "hand off to this agent"),
            (
                "next_action",
                "string",
                false,
                "what the next agent should do",
            ),
            (
                "status",
                "string",
                false,
                "complete (default), blocked or needs_review",
            ),
        ],
        words: |w| {
            w.verb(&["complete"])?;
            w.option("note", "--note")?;
            w.option("to", "--to")?;
            w.option("next_action", "--next-action")?;
            match w.text("status")?.as_deref() {
                None | Some("complete") => {}
                Some("blocked") => w.word("--blocked"),
                Some("needs_review") => w.word("--needs-review"),
                Some(other) => return Err(format!("unknown status '{other}'")),
            }
            w.positional("step")
        },
    },
    Tool {
        name: "release",
        description: "Give a step back so another agent can claim it.",
        args: &[("step", "string", true, "step id")],
        words: |w| {
            w.verb(&["release"])?;
            w.positional("step")
        },
    },
    Tool {
        name: "renew",
        description: "Extend your leases (all of them without steps).",
        args: &[
            ("steps", "array", false, "step ids"),
            ("ttl", "string", false, "new lease, e.g. 10m"),
        ],
        words: |w| {
            w.verb(&["renew"])?;
            w.option("ttl", "--ttl")?;
            w.positionals("steps")
        },
    },
    Tool {
        name: "send",
        description: "Message an agent, or everyone with to=_broadcast.",
        args: &[
            ("to", "string", true, "agent id or _broadcast"),
            ("message", "string", true, "text"),
            ("step", "string", false, "the step it is about"),
            ("thread", "string", false, "conversation name"),
            ("reply_to", "string", false, "id of the message answered"),
            ("ack", "boolean", false, "ask the recipient to acknowledge"),
        ],
        words: |w| {
            w.verb(&["send"])?;
            w.option("step", "--step")?;
            w.option("thread", "--thread")?;
            w.option("reply_to", "--reply-to")?;
            w.switch("ack", "--ack");
            w.positional("to")?;
            w.positional("message")
        },
    },
    Tool {
        name: "inbox",
        description: "Your new messages, marked read; all: true for every message.",
        args: &[("all", "boolean", false, "every message, not only new ones")],
        words: |w| {
            if w.flag("all") {
                w.verb(&["inbox"])
            } else {
                w.verb(&["inbox", "--new"])
            }
        },
    },
    Tool {
        name: "memory_get",
        description: "Read a shared memory key (dotted, e.g. design.api).",
        args: &[("key", "string", true, "dotted key")],
        words: |w| {
            w.verb(&["memory", "get"])?;
            w.positional("key")
        },
    },
    Tool {
        name: "memory_set",
        description: "Set a shared memory key.",
        args: &[
            ("key", "string", true, "dotted key"),
            ("value", "string", true, "value"),
        ],
        words: |w| {
            w.verb(&["memory", "set"])?;
            w.positional("key")?;
            w.positional("value")
        },
    },
    Tool {
        name: "handoff",
        description: "A step's handoff record: note, next action, changed files.",
        args: &[("step", "string", true, "step id")],
        words: |w| {
            w.verb(&["handoff"])?;
            w.positional("step")
        },
    },
    Tool {
        name: "ready",
        description: "Plan steps ready to claim, most urgent first.",
        args: &[("label", "string", false, "only steps with this label")],
        words: |w| {
            w.verb(&["ready"])?;
            w.option("label", "--label")
        },
    },
    Tool {
        name: "plan",
        description: "The plan: steps in dependency order with status and holder.",
        args: &[("label", "string", false, "only steps with this label")],
        words: |w| {
            w.verb(&["plan", "show"])?;
            w.option("label", "--label")
        },
    },
    Tool {
        name: "reserve",
        description: "Reserve paths (globs) before editing; error names the holder.",
        args: &[
            (
                "patterns",
                "array",
                true,
                "repository-relative paths or globs",
            ),
            ("ttl", "string", false, "e.g. 1h"),
            ("shared", "boolean", false, "coexist with other shared ones"),
            ("reason", "string", false, "why"),
            ("step", "string", false, "the step it is for"),
        ],
        words: |w| {
            w.verb(&["reserve"])?;
            w.option("ttl", "--ttl")?;
            w.switch("shared", "--shared");
            w.option("reason", "--reason")?;
            w.option("step", "--step")?;
            w.positionals("patterns")
        },
    },
    Tool {
        name: "unreserve",
        description: "Release your reservations by id or pattern, or all.",
        args: &[
            ("items", "array", false, "reservation ids or patterns"),
            ("all", "boolean", false, "every reservation you hold"),
        ],
        words: |w| {
            w.verb(&["unreserve"])?;
            w.switch("all", "--all");
            w.positionals("items")
        },
    },
    Tool {
        name: "reservations",
        description: "Live path reservations (those covering path, or yours).",
        args: &[
            ("path", "string", false, "only those covering this path"),
            ("mine", "boolean", false, "only yours"),
        ],
        words: |w| {
            w.verb(&["reservations"])?;
            w.switch("mine", "--mine");
            if w.has("path") {
                w.positional("path")?;
            }
            Ok(())
        },
    },
    Tool {
        name: "reply",
        description: "Answer a message (id or unique suffix) in its thread.",
        args: &[
            ("id", "string", true, "message id"),
            ("message", "string", true, "text"),
            ("ack", "boolean", false, "ask for an acknowledgement"),
        ],
        words: |w| {
            w.verb(&["reply"])?;
            w.switch("ack", "--ack");
            w.positional("id")?;
            w.positional("message")
        },
    },
    Tool {
        name: "ack",
        description: "Acknowledge messages that asked for it.",
        args: &[("ids", "array", true, "message ids")],
        words: |w| {
            w.verb(&["ack"])?;
            w.positionals("ids")
        },
    },
    Tool {
        name: "thread",
        description: "A conversation, oldest first.",
        args: &[("thread", "string", true, "thread name")],
        words: |w| {
            w.verb(&["thread"])?;
            w.positional("thread")
        },
    },
    Tool {
        name: "log",
        description: "Who did what: the event log, oldest first.",
        args: &[
            ("since", "string", false, "e.g. 1h or an ISO time"),
            ("agent", "string", false, "only this agent"),
            ("step", "string", false, "only this step"),
            ("type", "string", false, "only this event type"),
            ("limit", "integer", false, "the newest N"),
        ],
        words: |w| {
            w.verb(&["log"])?;
            w.option("since", "--since")?;
            w.option("agent", "--agent")?;
            w.option("step", "--step")?;
            w.option("type", "--type")?;
            w.option("limit", "--limit")
        },
    },
];

/// Tool arguments turned into command-line words: options first, then `--`, then the
/// positionals, so a value starting with `-` is never read as a flag.
pub struct Words<'a> {
    args: &'a JsonObject,
    verb: Vec<String>,
    options: Vec<String>,
    positionals: Vec<String>,
}

impl<'a> Words<'a> {
    pub fn new(args: &'a JsonObject) -> Words<'a> {
        Words {
            args,
            verb: Vec::new(),
            options: Vec::new(),
            positionals: Vec::new(),
        }
    }

    pub fn verb(&mut self, words: &[&str]) -> Result<(), String> {
        self.verb = words.iter().map(|w| w.to_string()).collect();
        Ok(())
    }

    pub fn has(&self, key: &str) -> bool {
        self.args.get(key).is_some_and(|v| !v.is_null())
    }

    pub fn flag(&self, key: &str) -> bool {
        self.args.get(key).and_then(Value::as_bool).unwrap_or(false)
    }

    /// A scalar argument as text (`None` when absent or null).
    pub fn text(&self, key: &str) -> Result<Option<String>, String> {
        match self.args.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(v @ (Value::Number(_) | Value::Bool(_))) => Ok(Some(v.to_string())),
            Some(_) => Err(format!("`{key}` must be a string")),
        }
    }

    pub fn word(&mut self, word: &str) {
        self.options.push(word.to_string());
    }

    pub fn switch(&mut self, key: &str, flag: &str) {
        if self.flag(key) {
            self.word(flag);
        }
    }

    pub fn option(&mut self, key: &str, flag: &str) -> Result<(), String> {
        if let Some(value) = self.text(key)? {
            self.options.push(flag.to_string());
            self.options.push(value);
        }
        Ok(())
    }

    pub fn positional(&mut self, key: &str) -> Result<(), String> {
        let value = self
            .text(key)?
            .ok_or_else(|| format!("`{key}` is required"))?;
        self.positionals.push(value);
        Ok(())
    }

    pub fn positionals(&mut self, key: &str) -> Result<(), String> {
        match self.args.get(key) {
            None | Some(Value::Null) => Ok(()),
            Some(Value::Array(items)) => {
                for item in items {
                    let text = item
                        .as_str()
                        .ok_or_else(|| format!("`{key}` must be a list of strings"))?;
                    self.positionals.push(text.to_string());
                }
                Ok(())
            }
            Some(_) => Err(format!("`{key}` must be a list of strings")),
        }
    }

    /// The whole command line, program name and `--json` first.
    pub fn argv(self) -> Vec<String> {
        let mut argv = vec!["tracecraft".to_string(), "--json".to_string()];
        argv.extend(self.verb);
        argv.extend(self.options);
        if !self.positionals.is_empty() {
            argv.push("--".into());
            argv.extend(self.positionals);
        }
        argv
    }
}

/// The command line a tool call runs; an `Err` is the tool error to return.
pub fn command_line(tool: &Tool, args: &JsonObject) -> Result<Vec<String>, String> {
    let mut words = Words::new(args);
    (tool.words)(&mut words)?;
    Ok(words.argv())
}
