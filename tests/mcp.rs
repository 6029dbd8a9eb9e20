//! `tracecraft mcp` (contract section 11) driven by a client this project did not write:
//! the official MCP Python SDK (`mcp` on PyPI), installed by `scripts/test` into a cached
//! virtualenv (`scripts/lib/mcpsdk.sh`, exported as `TRACECRAFT_TEST_MCP_PYTHON`). Two
//! server processes with different agents share one bucket: one wins a claim, the other
//! gets a tool error naming the holder; `send` then `inbox` delivers exactly once.

mod support;

use std::io::Write;
use std::process::Stdio;

use serde_json::{Value, json};
use support::cli::{Project, announce, ok as run_ok};

/// The SDK's Python, or `None` (with a printed reason) outside CI.
fn python() -> Option<String> {
    match std::env::var("TRACECRAFT_TEST_MCP_PYTHON") {
        Ok(p) if !p.is_empty() => Some(p),
        _ => {
            let reason =
                "no MCP Python SDK: TRACECRAFT_TEST_MCP_PYTHON is not set (run scripts/test)";
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("{reason}; under CI=true the MCP tests must run");
            }
            announce(&format!("SKIPPED (mcp): {reason}"));
            None
        }
    }
}

/// Runs the scenario through tests/mcp/client.py with servers acting as `agents`.
fn drive(python: &str, p: &Project, agents: &[&str], calls: Value) -> Value {
    let servers: Vec<Value> = agents
        .iter()
        .map(|agent| {
            json!({"env": {
                "HOME": p.path(),
                "PATH": std::env::var("PATH").unwrap_or_default(),
                "TRACECRAFT_CONFIG": p.config_path,
                "TRACECRAFT_AGENT": agent,
            }})
        })
        .collect();
    let spec = json!({
        "command": env!("CARGO_BIN_EXE_tracecraft"),
        "cwd": p.path(),
        "servers": servers,
        "calls": calls,
    });
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/mcp/client.py");
    let mut child = std::process::Command::new(python)
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(spec.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "client failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the client's JSON report")
}

/// Call `i` of a report, which must have succeeded: its structured result.
fn succeeded(calls: &[Value], i: usize, k: impl std::fmt::Debug) -> &Value {
    assert!(
        !calls[i]["is_error"].as_bool().unwrap(),
        "{k:?} call {i}: {}",
        calls[i]
    );
    &calls[i]["structured"]
}

/// Call `i` of a report, which must have been a tool error: its text.
fn failed(calls: &[Value], i: usize, k: impl std::fmt::Debug) -> &str {
    assert!(
        calls[i]["is_error"].as_bool().unwrap(),
        "{k:?} call {i}: {}",
        calls[i]
    );
    calls[i]["text"].as_str().unwrap()
}

#[test]
fn the_official_python_sdk_initialises_lists_tools_and_calls_them() {
    let Some(python) = python() else { return };
    for p in Project::all() {
        let k = p.kind;
        let calls = json!([
            {"server": 0, "tool": "claim", "args": {"step": "build", "ttl": "10m"}},
            {"server": 1, "tool": "claim", "args": {"step": "build"}},
            {"server": 1, "tool": "claim", "args": {}},
            {"server": 0, "tool": "send", "args": {"to": "bob", "message": "-schema changed", "step": "build"}},
            {"server": 1, "tool": "inbox", "args": {}},
            {"server": 1, "tool": "inbox", "args": {}},
            {"server": 0, "tool": "memory_set", "args": {"key": "design.api", "value": "v2"}},
            {"server": 1, "tool": "memory_get", "args": {"key": "design.api"}},
            {"server": 0, "tool": "renew", "args": {}},
            {"server": 0, "tool": "complete", "args": {"step": "build", "note": "parser done", "to": "bob"}},
            {"server": 1, "tool": "handoff", "args": {"step": "build"}},
            {"server": 1, "tool": "status", "args": {}},
            {"server": 1, "tool": "release", "args": {"step": "build"}},
            {"server": 1, "tool": "prime", "args": {}},
        ]);
        let report = drive(&python, &p, &["alice", "bob"], calls);

        let server = &report["servers"][0];
        assert_eq!(server["name"], "tracecraft", "{k:?}");
        let tools = server["tools"].as_array().unwrap();
        let names: Vec<&str> = tools.iter().map(|t| t["name"].as_str().unwrap()).collect();
        for want in [
            "status",
            "claim",
            "complete",
            "release",
            "renew",
            "send",
            "inbox",
            "memory_get",
            "memory_set",
            "handoff",
        ] {
            assert!(names.contains(&want), "{k:?}: {names:?}");
        }
        for t in tools {
            let d = t["description"].as_str().unwrap();
            assert!(d.len() <= 100, "{k:?}: a long description: {d}");
        }
        let claim = tools.iter().find(|t| t["name"] == "claim").unwrap();
        assert!(claim["schema"]["properties"]["step"].is_object(), "{k:?}");
        let send = tools.iter().find(|t| t["name"] == "send").unwrap();
        assert_eq!(
            send["schema"]["required"],
            json!(["to", "message"]),
            "{k:?}"
        );

        let calls = report["calls"].as_array().unwrap();
        let ok = |i: usize| succeeded(calls, i, k);
        let err = |i: usize| failed(calls, i, k);
        // One wins; the other is told who holds it.
        assert_eq!(ok(0)["claimed"], true);
        assert_eq!(ok(0)["agent"], "alice");
        let held = err(1);
        assert!(
            held.starts_with("Error: Step build already claimed by alice"),
            "{k:?}: {held}"
        );
        assert_eq!(calls[1]["structured"]["holder"], "alice", "{k:?}");
        assert!(
            err(2).contains("exactly one of `step` and `next: true`"),
            "{k:?}"
        );
        // The bucket agrees.
        assert_eq!(
            p.json("steps/build/claim.json").unwrap()["agent"],
            "alice",
            "{k:?}"
        );

        // send, then inbox: delivered once, marked read.
        assert_eq!(ok(3)["to"], "bob", "{k:?}");
        let inbox = ok(4);
        assert_eq!(inbox["count"], 1, "{k:?}: {inbox}");
        assert_eq!(inbox["messages"][0]["message"], "-schema changed", "{k:?}");
        assert_eq!(inbox["messages"][0]["from"], "alice", "{k:?}");
        assert_eq!(ok(5)["count"], 0, "{k:?}");

        assert_eq!(ok(7)["value"], "v2", "{k:?}");
        assert_eq!(ok(7)["set_by"], "alice", "{k:?}");
        assert_eq!(ok(8)["renewed"][0]["id"], "build", "{k:?}");
        assert_eq!(ok(9)["status"], "complete", "{k:?}");
        assert_eq!(ok(10)["note"], "parser done", "{k:?}");
        assert_eq!(ok(10)["next_agent"], "bob", "{k:?}");
        assert!(ok(11).is_object(), "{k:?}");
        // Releasing a step one does not hold is a refusal, as on the command line.
        assert!(err(12).starts_with("Error: "), "{k:?}");
        assert_eq!(ok(13)["agent"], "bob", "{k:?}");
    }
}

/// The tools of the work graph, path reservations and conversations run their commands
/// too: `ready` and `claim {next: true}` on a plan, `reserve` refused against another
/// agent's reservation, `reply`, `ack`, `thread` and `log`.
#[test]
fn plan_reservation_and_conversation_tools_run_their_commands() {
    let Some(python) = python() else { return };
    for p in Project::all() {
        let k = p.kind;
        run_ok(&p.run("alice", &["plan", "add", "design", "--priority", "1"]));
        run_ok(&p.run("alice", &["plan", "add", "build", "--after", "design"]));
        let calls = json!([
            {"server": 0, "tool": "ready", "args": {}},
            {"server": 0, "tool": "claim", "args": {"next": true, "ttl": "10m"}},
            {"server": 1, "tool": "claim", "args": {"next": true}},
            {"server": 0, "tool": "plan", "args": {}},
            {"server": 0, "tool": "reserve", "args": {"patterns": ["src/api.rs"], "reason": "refactor"}},
            {"server": 1, "tool": "reserve", "args": {"patterns": ["src/*.rs"]}},
            {"server": 1, "tool": "reservations", "args": {}},
            {"server": 0, "tool": "send", "args": {"to": "bob", "message": "which port?", "thread": "ports", "ack": true}},
            {"server": 1, "tool": "inbox", "args": {}},
            {"server": 1, "tool": "thread", "args": {"thread": "ports"}},
            {"server": 0, "tool": "unreserve", "args": {"all": true}},
            {"server": 0, "tool": "log", "args": {"type": "reserve"}},
        ]);
        let report = drive(&python, &p, &["alice", "bob"], calls);
        let calls = report["calls"].as_array().unwrap();
        let ok = |i: usize| succeeded(calls, i, k);
        let err = |i: usize| failed(calls, i, k);
        assert_eq!(ok(0)["ready"][0]["id"], "design", "{k:?}");
        assert_eq!(ok(1)["step"], "design", "{k:?}: {}", calls[1]);
        assert_eq!(ok(1)["next"], true, "{k:?}");
        // Nothing else is ready while design is held: exit 3, a tool error.
        assert!(err(2).starts_with("Error: "), "{k:?}");
        assert_eq!(
            p.json("steps/design/claim.json").unwrap()["agent"],
            "alice",
            "{k:?}"
        );
        let steps = ok(3)["steps"].as_array().unwrap();
        assert_eq!(steps.len(), 2, "{k:?}");
        assert_eq!(ok(4)["reserved"], true, "{k:?}");
        let refused = err(5);
        assert!(refused.contains("alice"), "{k:?}: {refused}");
        assert_eq!(ok(6)["reservations"].as_array().unwrap().len(), 1, "{k:?}");
        assert_eq!(ok(7)["thread"], "ports", "{k:?}");
        assert_eq!(ok(8)["messages"][0]["ack_required"], true, "{k:?}");
        assert_eq!(ok(9)["count"], 1, "{k:?}");
        assert_eq!(ok(10)["released"].as_array().unwrap().len(), 1, "{k:?}");
        let events = ok(11)["events"].as_array().unwrap();
        assert_eq!(events.len(), 1, "{k:?}: {events:?}");
        assert_eq!(events[0]["agent"], "alice", "{k:?}");
    }
}
