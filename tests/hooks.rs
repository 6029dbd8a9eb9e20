//! `hook EVENT` and `prime` (contract section 11) against every available backend, fed
//! payloads shaped like the ones Claude Code and Codex send: the JSON answers, the
//! exactly-once injection of new messages through the `inbox --new` cursor, the `stop`
//! block and its `stop_hook_active` guard, transcript mirroring, and a store that is
//! down (exit 0, one stderr line, bounded time; a throttled call makes no request).

mod support;

use std::io::Write;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::cli::{Project, code, ok, stderr, stdout};

/// A payload as Claude Code sends it for `event`, plus `extra` fields.
fn claude_payload(p: &Project, event: &str, extra: Value) -> Value {
    let mut v = json!({
        "session_id": "7f8e2c1a-5b6d-4e3f-9a0b-1c2d3e4f5a6b",
        "transcript_path": p.path().join("transcript.jsonl"),
        "cwd": p.path(),
        "permission_mode": "default",
        "hook_event_name": event,
    });
    for (k, val) in extra.as_object().unwrap() {
        v[k] = val.clone();
    }
    v
}

/// A payload as Codex sends it (it adds `model` and `turn_id`).
fn codex_payload(p: &Project, event: &str, extra: Value) -> Value {
    let mut v = claude_payload(p, event, extra);
    v["model"] = json!("gpt-5-codex");
    v["turn_id"] = json!("turn-3");
    v
}

/// Runs `hook ARGS...` as `agent` with `stdin`; state (the throttle) kept in the project.
fn hook(p: &Project, agent: &str, args: &[&str], stdin: &[u8]) -> Output {
    let mut cmd = p.std_cmd(agent);
    cmd.env("XDG_STATE_HOME", p.path().join("state"))
        .arg("hook")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

fn hook_json(p: &Project, agent: &str, args: &[&str], payload: &Value) -> Option<Value> {
    let out = hook(p, agent, args, payload.to_string().as_bytes());
    let text = ok(&out);
    assert_eq!(stderr(&out), "", "a working hook says nothing on stderr");
    (!text.trim().is_empty()).then(|| serde_json::from_str(&text).expect("one JSON answer"))
}

fn context(answer: &Value, event: &str) -> String {
    assert_eq!(answer["hookSpecificOutput"]["hookEventName"], event);
    answer["hookSpecificOutput"]["additionalContext"]
        .as_str()
        .expect("additionalContext")
        .to_string()
}

fn unread(p: &Project, agent: &str) -> u64 {
    let out = p.run(agent, &["--json", "prime"]);
    let v: Value = serde_json::from_str(&ok(&out)).unwrap();
    v["unread"].as_u64().unwrap()
}

#[test]
fn prime_shows_identity_claims_and_unread_messages_without_marking_them_read() {
    for p in Project::all() {
        let k = p.kind;
        ok(&p.run("alice", &["claim", "build", "--ttl", "10m"]));
        ok(&p.run("alice", &["heartbeat", "--summary", "wiring the parser"]));
        for n in 1..=7 {
            ok(&p.run("bob", &["send", "alice", &format!("note {n}")]));
        }
        let text = ok(&p.run("alice", &["prime"]));
        assert!(text.contains("agent alice"), "{k:?}: {text}");
        assert!(text.contains(&p.name), "{k:?}: {text}");
        assert!(
            text.contains("Last doing: wiring the parser"),
            "{k:?}: {text}"
        );
        assert!(text.contains("build (gen 1, 10m left)"), "{k:?}: {text}");
        assert!(
            text.contains("Unread messages: 7 (newest 5 shown"),
            "{k:?}: {text}"
        );
        // Newest first: note 7 before note 3, and note 2 not shown.
        let (i7, i3) = (text.find("note 7").unwrap(), text.find("note 3").unwrap());
        assert!(i7 < i3 && !text.contains("note 2"), "{k:?}: {text}");
        assert!(text.chars().count() < 2_000, "{k:?}");
        assert!(text.contains("tracecraft inbox --new"), "{k:?}");

        let v: Value = serde_json::from_str(&ok(&p.run("alice", &["--json", "prime"]))).unwrap();
        assert_eq!(v["agent"], "alice");
        assert_eq!(v["unread"], 7);
        assert_eq!(v["messages"].as_array().unwrap().len(), 5);
        assert_eq!(v["messages"][0]["message"], "note 7");
        assert_eq!(v["claims"][0]["step"], "build");
        assert_eq!(v["claims"][0]["state"], "leased");
        assert!(v["ready"].is_null() && v["reservations"].is_null());
        // Nothing was marked read, and no cursor written.
        assert!(p.object("messages/alice/_cursor.json").is_none(), "{k:?}");
        let inbox: Value =
            serde_json::from_str(&ok(&p.run("alice", &["--json", "inbox", "--new"]))).unwrap();
        assert_eq!(inbox["count"], 7, "{k:?}");

        let short = ok(&p.run("alice", &["prime", "--max-chars", "300"]));
        assert!(short.trim_end().chars().count() <= 300, "{k:?}: {short}");
    }
}

/// `prime` shows the plan's ready steps, the agent's own reservations and the messages
/// that await its acknowledgement (sections 10, 12 and 13), each gone once dealt with.
#[test]
fn prime_shows_ready_steps_reservations_and_pending_acks() {
    for p in Project::all() {
        let k = p.kind;
        ok(&p.run("alice", &["plan", "add", "design", "--title", "the API"]));
        ok(&p.run("bob", &["reserve", "src/api.rs", "--reason", "refactor"]));
        ok(&p.run("alice", &["send", "bob", "sign off the schema", "--ack"]));
        let v: Value = serde_json::from_str(&ok(&p.run("bob", &["--json", "prime"]))).unwrap();
        assert_eq!(v["ready"][0]["id"], "design", "{k:?}: {v}");
        assert_eq!(
            v["reservations"][0]["patterns"][0], "src/api.rs",
            "{k:?}: {v}"
        );
        assert_eq!(v["acks"][0]["from"], "alice", "{k:?}: {v}");
        let text = ok(&p.run("bob", &["prime"]));
        assert!(text.contains("Ready steps:"), "{k:?}: {text}");
        assert!(
            text.contains("Awaiting your acknowledgement:"),
            "{k:?}: {text}"
        );
        let id = v["acks"][0]["id"].as_str().unwrap().to_string();
        ok(&p.run("bob", &["ack", &id]));
        ok(&p.run("bob", &["claim", "design"]));
        let v: Value = serde_json::from_str(&ok(&p.run("bob", &["--json", "prime"]))).unwrap();
        assert!(v["acks"].is_null(), "{k:?}: {v}");
        assert_eq!(v["ready"], json!([]), "{k:?}: {v}");
        // Alice sees no reservation of her own.
        let a: Value = serde_json::from_str(&ok(&p.run("alice", &["--json", "prime"]))).unwrap();
        assert!(a["reservations"].is_null(), "{k:?}: {a}");
    }
}

#[test]
fn session_start_injects_the_block_and_marks_what_it_showed_read() {
    for p in Project::all() {
        let k = p.kind;
        ok(&p.run("alice", &["claim", "build", "--ttl", "10m"]));
        ok(&p.run(
            "bob",
            &["send", "alice", "review build please", "--step", "build"],
        ));
        let before = p.json("agents/alice.json").unwrap()["heartbeat"].clone();
        std::thread::sleep(Duration::from_millis(20));

        let payload = claude_payload(&p, "SessionStart", json!({"source": "resume"}));
        let answer = hook_json(&p, "alice", &["session-start"], &payload).expect("an answer");
        let text = context(&answer, "SessionStart");
        assert!(
            text.contains("agent alice") && text.contains("build (gen 1"),
            "{k:?}: {text}"
        );
        assert!(text.contains("bob (direct) [step build]"), "{k:?}: {text}");
        assert!(text.contains("review build please"), "{k:?}: {text}");
        // Presence refreshed, the message marked read in the shared cursor.
        let after = p.json("agents/alice.json").unwrap()["heartbeat"].clone();
        assert_ne!(before, after, "{k:?}");
        assert!(p.json("messages/alice/_cursor.json").is_some(), "{k:?}");
        assert_eq!(unread(&p, "alice"), 0, "{k:?}");
        let inbox: Value =
            serde_json::from_str(&ok(&p.run("alice", &["--json", "inbox", "--new"]))).unwrap();
        assert_eq!(inbox["count"], 0, "{k:?}");
    }
}

#[test]
fn session_start_marks_only_the_messages_it_showed_and_the_rest_come_next() {
    for p in Project::all() {
        let k = p.kind;
        for n in 1..=7 {
            ok(&p.run("bob", &["send", "alice", &format!("note {n}")]));
        }
        let start = claude_payload(&p, "SessionStart", json!({"source": "startup"}));
        let answer = hook_json(&p, "alice", &["session-start"], &start).expect("block");
        let text = context(&answer, "SessionStart");
        assert!(
            text.contains("note 7") && !text.contains("note 2"),
            "{k:?}: {text}"
        );
        assert_eq!(unread(&p, "alice"), 2, "{k:?}");
        let post = claude_payload(&p, "PostToolUse", json!({"tool_name": "Edit"}));
        let answer =
            hook_json(&p, "alice", &["post-tool-use", "--every", "0"], &post).expect("news");
        let text = context(&answer, "PostToolUse");
        assert!(
            text.contains("bob: note 1") && text.contains("bob: note 2"),
            "{k:?}: {text}"
        );
        assert!(!text.contains("note 3"), "{k:?}: {text}");
        assert_eq!(unread(&p, "alice"), 0, "{k:?}");
    }
}

#[test]
fn new_messages_are_injected_exactly_once_through_the_inbox_cursor() {
    for p in Project::all() {
        let k = p.kind;
        let post = codex_payload(
            &p,
            "PostToolUse",
            json!({"tool_name": "Bash", "tool_input": {"command": "cargo test"}, "tool_response": "ok"}),
        );
        let every0 = ["post-tool-use", "--every", "0"];
        // Nothing new: nothing printed (and presence written).
        assert!(hook_json(&p, "alice", &every0, &post).is_none(), "{k:?}");
        assert!(p.json("agents/alice.json").is_some(), "{k:?}");

        ok(&p.run("bob", &["send", "alice", "first"]));
        ok(&p.run("carol", &["send", "_broadcast", "to everyone"]));
        let answer = hook_json(&p, "alice", &every0, &post).expect("news");
        let text = context(&answer, "PostToolUse");
        assert!(text.contains("2 new message(s) for alice"), "{k:?}: {text}");
        assert!(
            text.contains("bob: first") && text.contains("carol: to everyone"),
            "{k:?}"
        );
        // Shown once: the next call has nothing, and neither has `inbox --new`.
        assert!(hook_json(&p, "alice", &every0, &post).is_none(), "{k:?}");
        let inbox: Value =
            serde_json::from_str(&ok(&p.run("alice", &["--json", "inbox", "--new"]))).unwrap();
        assert_eq!(inbox["count"], 0, "{k:?}");

        // And the other way round: what `inbox --new` showed is not injected.
        ok(&p.run("bob", &["send", "alice", "second"]));
        ok(&p.run("alice", &["inbox", "--new"]));
        assert!(hook_json(&p, "alice", &every0, &post).is_none(), "{k:?}");

        ok(&p.run("bob", &["send", "alice", "third"]));
        let prompt = claude_payload(&p, "UserPromptSubmit", json!({"prompt": "carry on"}));
        let answer = hook_json(
            &p,
            "alice",
            &["user-prompt-submit", "--every", "0"],
            &prompt,
        )
        .expect("news");
        let text = context(&answer, "UserPromptSubmit");
        assert!(
            text.contains("bob: third") && !text.contains("second"),
            "{k:?}: {text}"
        );

        // No payload at all, or junk, is tolerated.
        ok(&p.run("bob", &["send", "alice", "fourth"]));
        let out = hook(&p, "alice", &every0, b"this is not json");
        assert!(
            stdout(&out).contains("bob: fourth"),
            "{k:?}: {}",
            stderr(&out)
        );
        assert_eq!((code(&out), stderr(&out).as_str()), (0, ""), "{k:?}");
        let out = hook(&p, "alice", &every0, b"");
        assert_eq!((code(&out), stdout(&out).as_str()), (0, ""), "{k:?}");
    }
}

#[test]
fn the_throttle_skips_calls_inside_every() {
    let p = Project::fs();
    let post = claude_payload(&p, "PostToolUse", json!({"tool_name": "Read"}));
    ok(&p.run("bob", &["send", "alice", "early"]));
    let first = hook_json(&p, "alice", &["post-tool-use"], &post).expect("news");
    assert!(context(&first, "PostToolUse").contains("early"));
    ok(&p.run("bob", &["send", "alice", "later"]));
    // Inside the default 30 s: nothing, even though a message waits.
    let out = hook(
        &p,
        "alice",
        &["-v", "post-tool-use"],
        post.to_string().as_bytes(),
    );
    assert_eq!((code(&out), stdout(&out).as_str()), (0, ""));
    assert!(stderr(&out).contains("throttled"), "{}", stderr(&out));
    // The session-start hook is never throttled, and counts as a run.
    let start = claude_payload(&p, "SessionStart", json!({"source": "startup"}));
    let answer = hook_json(&p, "alice", &["session-start"], &start).expect("block");
    assert!(context(&answer, "SessionStart").contains("later"));
}

/// A config whose S3 store refuses connections (nothing listens on the port).
fn unreachable_project() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = dir.path().join(".tracecraft.json");
    std::fs::write(
        &config,
        json!({
            "backend": "s3", "bucket": "nowhere", "project": "demo", "agent_id": "alice",
            "endpoint": format!("http://127.0.0.1:{port}"), "region": "us-east-1",
            "access_key": "AKIAEXAMPLE", "secret_key": "secret",
        })
        .to_string(),
    )
    .unwrap();
    (dir, config)
}

fn hook_at(
    dir: &std::path::Path,
    config: &std::path::Path,
    args: &[&str],
    stdin: &str,
) -> (Output, Duration) {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_tracecraft"));
    cmd.current_dir(dir)
        .env("HOME", dir)
        .env("XDG_STATE_HOME", dir.join("state"))
        .env("TRACECRAFT_CONFIG", config)
        .env_remove("TRACECRAFT_AGENT")
        .arg("hook")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = cmd.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (out, started.elapsed())
}

#[test]
fn a_store_that_is_down_costs_one_stderr_line_and_exit_0_and_throttled_calls_no_request() {
    let (dir, config) = unreachable_project();
    let payload = json!({"session_id": "s", "hook_event_name": "PostToolUse"}).to_string();
    let (out, took) = hook_at(
        dir.path(),
        &config,
        &["post-tool-use", "--timeout", "3"],
        &payload,
    );
    assert_eq!(code(&out), 0);
    assert_eq!(stdout(&out), "");
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("Error: tracecraft hook post-tool-use:"),
        "{err}"
    );
    assert!(took < Duration::from_secs(8), "{took:?}");

    // Inside --every: not one request (no error line: the store was not even opened).
    let (out, took) = hook_at(dir.path(), &config, &["post-tool-use"], &payload);
    assert_eq!(
        (code(&out), stdout(&out).as_str(), stderr(&out).as_str()),
        (0, "", "")
    );
    assert!(took < Duration::from_secs(2), "{took:?}");

    for event in ["session-start", "stop", "session-end"] {
        let (out, took) = hook_at(dir.path(), &config, &[event, "--timeout", "3"], &payload);
        assert_eq!((code(&out), stdout(&out).as_str()), (0, ""), "{event}");
        assert_eq!(stderr(&out).lines().count(), 1, "{event}: {}", stderr(&out));
        assert!(took < Duration::from_secs(8), "{event}: {took:?}");
    }
}

#[test]
fn a_store_that_never_answers_is_given_up_on_within_the_timeout() {
    // Accepts connections and never answers: the worst kind of down.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in listener.incoming().flatten() {
            held.push(conn);
        }
    });
    let (dir, config) = unreachable_project();
    let mut doc: Value = serde_json::from_slice(&std::fs::read(&config).unwrap()).unwrap();
    doc["endpoint"] = json!(format!("http://127.0.0.1:{port}"));
    std::fs::write(&config, doc.to_string()).unwrap();
    let (out, took) = hook_at(
        dir.path(),
        &config,
        &["session-start", "--timeout", "1"],
        "{}",
    );
    assert_eq!((code(&out), stdout(&out).as_str()), (0, ""));
    assert!(
        stderr(&out).contains("did not answer within 1s"),
        "{}",
        stderr(&out)
    );
    assert!(took < Duration::from_secs(5), "{took:?}");
    // No config at all: also one line and exit 0.
    let (out, _) = hook_at(dir.path(), &dir.path().join("missing.json"), &["stop"], "");
    assert_eq!(code(&out), 0);
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
}

#[test]
fn stop_blocks_on_unread_direct_messages_once_and_honours_stop_hook_active() {
    for p in Project::all() {
        let k = p.kind;
        let stop = claude_payload(&p, "Stop", json!({"stop_hook_active": false}));
        let active = claude_payload(&p, "Stop", json!({"stop_hook_active": true}));
        let block = ["stop", "--block-on-unread"];
        assert!(hook_json(&p, "alice", &block, &stop).is_none(), "{k:?}");

        // A broadcast alone does not block.
        ok(&p.run("carol", &["send", "_broadcast", "lunch"]));
        assert!(hook_json(&p, "alice", &block, &stop).is_none(), "{k:?}");

        ok(&p.run("bob", &["send", "alice", "wait, the schema changed"]));
        // Without the flag, stop never blocks (and reads no mailbox).
        assert!(hook_json(&p, "alice", &["stop"], &stop).is_none(), "{k:?}");
        // Already continuing because of a stop hook: no block, nothing marked read.
        assert!(hook_json(&p, "alice", &block, &active).is_none(), "{k:?}");
        assert_eq!(unread(&p, "alice"), 2, "{k:?}");

        let answer = hook_json(&p, "alice", &block, &stop).expect("a block");
        assert_eq!(answer["decision"], "block", "{k:?}");
        let reason = answer["reason"].as_str().unwrap();
        assert!(
            reason.contains("bob: wait, the schema changed"),
            "{k:?}: {reason}"
        );
        assert_eq!(unread(&p, "alice"), 0, "{k:?}");
        assert!(hook_json(&p, "alice", &block, &stop).is_none(), "{k:?}");
    }
}

#[test]
fn stop_and_session_end_mirror_the_transcript_when_enabled() {
    for p in Project::all() {
        let k = p.kind;
        let transcript = p.path().join("transcript.jsonl");
        std::fs::write(
            &transcript,
            concat!(
                r#"{"type":"user","message":{"role":"user","content":"fix the parser"},"sessionId":"7f8e2c1a"}"#,
                "\n",
                r#"{"type":"assistant","message":{"role":"assistant","content":"key AKIAIOSFODNN7EXAMPLE"}}"#,
                "\n"
            ),
        )
        .unwrap();
        let stop = claude_payload(&p, "Stop", json!({"stop_hook_active": false}));
        let session = "7f8e2c1a-5b6d-4e3f-9a0b-1c2d3e4f5a6b";
        let meta = format!("sessions/claude-code/{session}/meta.json");

        // Mirroring is off unless asked for.
        assert!(hook_json(&p, "alice", &["stop"], &stop).is_none(), "{k:?}");
        assert!(p.object(&meta).is_none(), "{k:?}");

        assert!(
            hook_json(&p, "alice", &["stop", "--mirror"], &stop).is_none(),
            "{k:?}"
        );
        let parts: Vec<String> = p
            .keys(&format!("sessions/claude-code/{session}/"))
            .into_iter()
            .filter(|k| k.ends_with(".jsonl"))
            .collect();
        assert_eq!(parts.len(), 1, "{k:?}: {parts:?}");
        let body = String::from_utf8(p.object(&parts[0]).unwrap()).unwrap();
        assert!(body.contains("fix the parser"), "{k:?}");
        assert!(!body.contains("AKIAIOSFODNN7EXAMPLE"), "{k:?}: redacted");

        // The config switch works too: session-end mirrors what was appended since.
        let mut config: Value =
            serde_json::from_slice(&std::fs::read(&p.config_path).unwrap()).unwrap();
        config["mirror_sessions"] = json!(true);
        std::fs::write(&p.config_path, config.to_string()).unwrap();
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&transcript)
            .unwrap();
        writeln!(f, r#"{{"type":"user","message":{{"content":"one more"}}}}"#).unwrap();
        let end = claude_payload(&p, "SessionEnd", json!({"reason": "exit"}));
        assert!(
            hook_json(&p, "alice", &["session-end"], &end).is_none(),
            "{k:?}"
        );
        let parts = p
            .keys(&format!("sessions/claude-code/{session}/"))
            .into_iter()
            .filter(|k| k.ends_with(".jsonl"))
            .count();
        assert_eq!(parts, 2, "{k:?}");
        let agent = p.json("agents/alice.json").unwrap();
        assert_eq!(agent["summary"], "session ended", "{k:?}");
    }
}
