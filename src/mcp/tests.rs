//! Unit tests of [`crate::mcp`].
use super::*;

fn line(tool: &str, args: Value) -> Result<Vec<String>, String> {
    let tool = TOOLS.iter().find(|t| t.name == tool).unwrap();
    let Value::Object(args) = args else { panic!() };
    command_line(tool, &args)
}

#[test]
fn tool_arguments_become_the_commands_own_words() {
    assert_eq!(
        line("claim", json!({"step": "-odd", "ttl": "10m"})).unwrap(),
        [
            "tracecraft",
            "--json",
            "claim",
            "--ttl",
            "10m",
            "--",
            "-odd"
        ]
    );
    assert_eq!(
        line(
            "complete",
            json!({"step": "s", "status": "needs_review", "to": "bob"})
        )
        .unwrap(),
        [
            "tracecraft",
            "--json",
            "complete",
            "--to",
            "bob",
            "--needs-review",
            "--",
            "s"
        ]
    );
    assert_eq!(
        line("inbox", json!({})).unwrap(),
        ["tracecraft", "--json", "inbox", "--new"]
    );
    assert!(line("claim", json!({})).is_err());
    assert!(line("claim", json!({"step": "a", "next": true})).is_err());
    assert!(line("complete", json!({"step": "s", "status": "done"})).is_err());
    assert!(line("send", json!({"to": "bob"})).is_err());
}

#[test]
fn every_tool_line_parses_as_the_command_line() {
    let cases = [
        ("status", json!({})),
        ("prime", json!({})),
        ("claim", json!({"step": "a"})),
        (
            "complete",
            json!({"step": "a", "note": "n", "next_action": "x"}),
        ),
        ("release", json!({"step": "a"})),
        ("renew", json!({"steps": ["a", "b"], "ttl": "5m"})),
        ("send", json!({"to": "bob", "message": "-hi", "step": "a"})),
        ("inbox", json!({"all": true})),
        ("memory_get", json!({"key": "k"})),
        ("memory_set", json!({"key": "k", "value": "v"})),
        ("handoff", json!({"step": "a"})),
        ("ready", json!({"label": "api"})),
        ("plan", json!({})),
        (
            "reserve",
            json!({"patterns": ["src/*.rs"], "ttl": "1h", "shared": true, "reason": "r"}),
        ),
        ("unreserve", json!({"items": ["1a2b3c4d"]})),
        ("reservations", json!({"path": "src/a.rs", "mine": true})),
        (
            "reply",
            json!({"id": "1a2b3c4d", "message": "yes", "ack": true}),
        ),
        ("ack", json!({"ids": ["1a2b3c4d", "9f8e7d6c"]})),
        ("thread", json!({"thread": "ports"})),
        (
            "log",
            json!({"since": "1h", "agent": "bob", "type": "claim", "limit": 5}),
        ),
    ];
    let count = cases.len();
    for (tool, args) in cases {
        let argv = line(tool, args).unwrap();
        Cli::try_parse_from(&argv).unwrap_or_else(|e| panic!("{tool}: {e}"));
    }
    assert_eq!(count, TOOLS.len());
}
