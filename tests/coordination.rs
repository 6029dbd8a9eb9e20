//! Claims, completion, step state, handoffs, wait-for, presence and error reporting,
//! driven through the built binary on every available backend, checking exit code, output
//! and the bucket's contents together.

mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::cli::{Project, code, stderr, stdout};

#[test]
fn claim_writes_claim_and_status_and_refuses_a_second_claimer() {
    for p in Project::all() {
        let out = p.run("alice", &["claim", "Phase.One"]);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        assert_eq!(stdout(&out).trim(), "Claimed step Phase.One as alice");
        let claim = p
            .json("steps/phase-one/claim.json")
            .expect("claim stored under the normalised id");
        assert_eq!(claim["agent"], "alice");
        assert!(claim["claimed_at"].as_str().unwrap().ends_with("+00:00"));
        let status = p.json("steps/phase-one/status.json").unwrap();
        assert_eq!(status["status"], "in_progress");
        assert_eq!(status["agent"], "alice");

        let out = p.run("bob", &["claim", "phase.one"]);
        assert_eq!(code(&out), 3, "held: exit 3");
        assert!(
            stderr(&out).contains("Step phase.one already claimed by alice"),
            "{}",
            stderr(&out)
        );
        assert_eq!(
            p.json("steps/phase-one/claim.json").unwrap()["agent"],
            "alice",
            "claim unchanged"
        );

        let out = p.run("bob", &["--json", "claim", "phase-one"]);
        assert_eq!(code(&out), 3);
        let v: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
        assert_eq!(v["claimed"], false);
        assert_eq!(v["holder"], "alice");

        // Presence follows the claim.
        let me = p.json("agents/alice.json").unwrap();
        assert_eq!(me["step"], "phase-one");
        assert_eq!(me["status"], "active");
    }
}

#[test]
fn sixteen_concurrent_claimers_one_winner() {
    for p in Project::all() {
        for round in 0..2 {
            let step = format!("race-{round}");
            let agents: Vec<String> = (0..16).map(|i| format!("agent-{i:02}")).collect();
            let outs = p.race(&agents, &["claim", &step]);
            let winners: Vec<usize> = (0..16).filter(|&i| code(&outs[i]) == 0).collect();
            let losers = outs.iter().filter(|o| code(o) == 3).count();
            assert_eq!(winners.len(), 1, "{:?}: exactly one winner", p.kind);
            assert_eq!(losers, 15, "every loser exits 3");
            let winner = format!("agent-{:02}", winners[0]);
            assert_eq!(
                p.json(&format!("steps/{step}/claim.json")).unwrap()["agent"],
                winner.as_str()
            );
            for (i, o) in outs.iter().enumerate() {
                if i != winners[0] {
                    assert!(
                        stderr(o).contains(&format!("already claimed by {winner}")),
                        "{}",
                        stderr(o)
                    );
                }
            }
            support::cli::announce(&format!(
                "claim race {:?} round {round}: winner {winner}, 15 losers",
                p.kind
            ));
        }
    }
}

#[test]
fn crash_window_reads_claim_without_status_as_in_progress() {
    for p in Project::all() {
        assert_eq!(
            stdout(&p.run("bob", &["step-status", "s1"])).trim(),
            "s1: pending"
        );
        p.put_object(
            "steps/s1/claim.json",
            br#"{"agent":"carol","claimed_at":"2026-11-21T10:00:00+00:00"}"#,
        );
        let out = p.run("bob", &["step-status", "s1"]);
        assert_eq!(stdout(&out).trim(), "s1: in_progress (agent: carol)");
        let out = p.run("bob", &["--json", "step-status", "s1"]);
        let v: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
        assert_eq!(v["status"], "in_progress");
        assert_eq!(v["holder"], "carol");
        // The holder of a claim with no status can complete it.
        let out = p.run("carol", &["complete", "s1"]);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        assert_eq!(
            stdout(&p.run("bob", &["step-status", "s1"])).trim(),
            "s1: complete (agent: carol)"
        );
    }
}

#[test]
fn complete_checks_ownership_and_writes_a_schema_2_handoff() {
    for p in Project::all() {
        p.run("alice", &["claim", "build"]);
        let out = p.run("bob", &["complete", "build"]);
        assert_eq!(code(&out), 3, "not the owner");
        assert!(
            stderr(&out).contains("claimed by alice"),
            "{}",
            stderr(&out)
        );
        assert!(stderr(&out).contains("--force"), "the hint names --force");
        assert_eq!(
            p.json("steps/build/status.json").unwrap()["status"],
            "in_progress",
            "nothing written"
        );
        assert!(p.json("steps/build/handoff.json").is_none());

        let out = p.run(
            "alice",
            &[
                "complete",
                "build",
                "--note",
                "done",
                "--to",
                "bob",
                "--next-action",
                "deploy",
            ],
        );
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        assert_eq!(
            stdout(&out).trim(),
            "Completed step build → handed off to bob"
        );
        let status = p.json("steps/build/status.json").unwrap();
        assert_eq!(status["status"], "complete");
        assert!(status["completed_at"].is_string());
        assert!(status["started_at"].is_string());
        let h = p.json("steps/build/handoff.json").unwrap();
        assert_eq!(h["schema"], 2);
        assert_eq!(h["from_agent"], "alice");
        assert_eq!(h["from_step"], "build");
        assert_eq!(h["next_agent"], "bob");
        assert_eq!(h["next_action"], "deploy");
        assert_eq!(h["note"], "done");
        assert_eq!(h["state"], "complete");
        assert!(h.get("changed_files").is_none());
        assert!(
            p.json("agents/alice.json").unwrap()["step"].is_null(),
            "presence cleared the step"
        );

        let out = p.run("bob", &["handoff", "build"]);
        assert_eq!(code(&out), 0);
        assert!(
            stdout(&out).contains("next action: deploy"),
            "{}",
            stdout(&out)
        );
        let out = p.run("bob", &["--json", "handoff", "build"]);
        let v: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
        assert_eq!(v["schema"], 2);
        let out = p.run("bob", &["handoff", "nothing-here"]);
        assert_eq!(code(&out), 1, "no handoff: exit 1");
        assert!(stderr(&out).starts_with("Error: "));
    }
}

#[test]
fn complete_variants_force_blocked_and_needs_review() {
    let p = Project::fs();
    p.run("alice", &["claim", "a"]);
    let out = p.run("bob", &["complete", "a", "--force", "--blocked"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), "Blocked step a");
    let h = p.json("steps/a/handoff.json").unwrap();
    assert_eq!(h["forced"], true);
    assert_eq!(h["previous_holder"], "alice");
    let s = p.json("steps/a/status.json").unwrap();
    assert_eq!(s["status"], "blocked");
    assert!(s.get("completed_at").is_none());

    let out = p.run("alice", &["complete", "b", "--needs-review"]);
    assert_eq!(stdout(&out).trim(), "Needs review on step b");
    let out = p.run("alice", &["complete", "c", "--blocked", "--needs-review"]);
    assert_eq!(code(&out), 2, "exclusive flags");
    assert!(p.json("steps/c/status.json").is_none());
}

#[test]
fn changed_files_come_from_git_and_are_empty_outside_a_repository() {
    let p = Project::fs();
    let out = p.run(
        "alice",
        &["complete", "outside", "--changed-files-from-git"],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        stdout(&out).trim(),
        "Completed step outside (0 changed file(s))"
    );
    assert_eq!(
        p.json("steps/outside/handoff.json").unwrap()["changed_files"],
        serde_json::json!([])
    );

    let git = |args: &[&str]| {
        let st = Command::new("git")
            .args(args)
            .current_dir(p.path())
            .output()
            .unwrap();
        assert!(
            st.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&st.stderr)
        );
    };
    git(&["init", "-q"]);
    git(&[
        "-c",
        "user.email=t@t",
        "-c",
        "user.name=t",
        "commit",
        "-q",
        "--allow-empty",
        "-m",
        "root",
    ]);
    std::fs::write(p.path().join("tracked.txt"), "v1").unwrap();
    git(&["add", "tracked.txt"]);
    git(&[
        "-c",
        "user.email=t@t",
        "-c",
        "user.name=t",
        "commit",
        "-q",
        "-m",
        "add",
    ]);
    std::fs::write(p.path().join("tracked.txt"), "v2").unwrap(); // unstaged
    std::fs::write(p.path().join("staged.txt"), "new").unwrap();
    git(&["add", "staged.txt"]); // staged
    std::fs::write(p.path().join("untracked.txt"), "x").unwrap();
    let out = p.run("alice", &["complete", "inside", "--changed-files-from-git"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let files = p.json("steps/inside/handoff.json").unwrap()["changed_files"].clone();
    assert_eq!(files, serde_json::json!(["staged.txt", "tracked.txt"]));
}

#[test]
fn wait_for_succeeds_blocks_and_times_out_with_their_exit_codes() {
    for p in Project::all() {
        p.run("alice", &["complete", "done-1"]);
        p.run("alice", &["complete", "done-2"]);
        let out = p.run("bob", &["wait-for", "done-1", "done-2", "--timeout", "0"]);
        assert_eq!(
            code(&out),
            0,
            "already complete, even with --timeout 0: {}",
            stderr(&out)
        );
        assert_eq!(stdout(&out).trim(), "All steps complete: done-1, done-2");

        p.run("alice", &["complete", "stuck", "--blocked"]);
        let started = Instant::now();
        let out = p.run("bob", &["wait-for", "done-1", "stuck", "--timeout", "30"]);
        assert_eq!(code(&out), 5, "blocked: exit 5");
        assert!(started.elapsed() < Duration::from_secs(10), "at once");
        assert!(
            stderr(&out).contains("Step stuck is blocked"),
            "{}",
            stderr(&out)
        );

        p.run("alice", &["complete", "review", "--needs-review"]);
        let out = p.run("bob", &["wait-for", "review", "never", "--timeout", "1"]);
        assert_eq!(code(&out), 4, "timeout: exit 4");
        let err = stderr(&out);
        assert!(
            err.contains("needs_review"),
            "progress names needs_review steps: {err}"
        );
        assert!(err.contains("Timed out"), "{err}");
    }
}

#[test]
fn wait_for_reacts_quickly_to_a_completion() {
    for p in Project::all() {
        p.run("alice", &["claim", "slow"]);
        let mut waiter = p.std_cmd("bob");
        let waiter = waiter
            .args(["wait-for", "slow", "--timeout", "60"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(1500));
        let completed = Instant::now();
        assert_eq!(code(&p.run("alice", &["complete", "slow"])), 0);
        let out = waiter.wait_with_output().unwrap();
        let reaction = completed.elapsed();
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        assert!(reaction < Duration::from_secs(4), "reacted in {reaction:?}");
        assert!(
            stderr(&out).contains("Waiting for: slow (in_progress by alice)"),
            "{}",
            stderr(&out)
        );
    }
}

#[test]
fn agents_and_status_show_presence_steps_and_mailboxes() {
    for p in Project::all() {
        p.run("bob", &["claim", "work"]);
        p.put_object(
            "agents/old.json",
            br#"{"id":"old","status":"active","step":null,"started_at":"2026-01-01T00:00:00+00:00","heartbeat":"2026-01-01T00:00:00+00:00","summary":""}"#,
        );
        let out = p.run("alice", &["agents"]);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        let text = stdout(&out);
        let line = |id: &str| {
            text.lines()
                .find(|l| l.starts_with(id))
                .unwrap_or_else(|| panic!("{id} in {text}"))
                .to_string()
        };
        assert!(line("alice").contains("active"));
        assert!(line("bob").contains("work"));
        assert!(line("old").contains("stale"));
        let out = p.run("alice", &["--json", "agents"]);
        let v: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
        assert_eq!(v["agents"].as_array().unwrap().len(), 3);

        let out = p.run("alice", &["status"]);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        let text = stdout(&out);
        assert!(text.contains("AGENTS (3)"), "{text}");
        assert!(text.contains("STEPS (1): 1 in_progress"), "{text}");
        assert!(text.contains("work"));
        let out = p.run("alice", &["--json", "status"]);
        let v: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
        assert_eq!(v["steps"][0]["id"], "work");
        assert_eq!(v["steps"][0]["status"], "in_progress");
        let out = p.run("alice", &["--json", "status", "--watch"]);
        assert_eq!(code(&out), 2, "--json with --watch is a usage error");
    }
}

#[test]
fn corrupt_documents_are_named_in_one_error_line() {
    for p in Project::all() {
        p.put_object("steps/bad/status.json", b"{not json");
        let out = p.run("alice", &["step-status", "bad"]);
        assert_eq!(code(&out), 1);
        let err = stderr(&out);
        assert!(err.starts_with("Error: "), "{err}");
        assert!(
            err.contains("steps/bad/status.json"),
            "names the key: {err}"
        );
        assert!(!err.contains("panicked"), "{err}");
        let out = p.run("alice", &["wait-for", "bad", "--timeout", "1"]);
        assert_eq!(code(&out), 1);
        assert!(stderr(&out).contains("steps/bad/status.json"));
    }
}

#[test]
fn bad_identifiers_exit_2_and_write_nothing() {
    let p = Project::fs();
    for args in [
        vec!["claim", "a/b"],
        vec!["claim", "_x"],
        vec!["claim", ".."],
        vec!["complete", "a\\b"],
        vec!["complete", "ok", "--to", "bad/agent"],
        vec!["step-status", ""],
        vec!["wait-for", "a/b"],
    ] {
        let out = p.run("alice", &args);
        assert_eq!(code(&out), 2, "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).starts_with("Error: "), "{args:?}");
    }
    assert!(p.keys("steps/").is_empty(), "nothing written");
    let out = p.run("bad agent", &["claim", "x"]);
    assert_eq!(
        code(&out),
        2,
        "an invalid TRACECRAFT_AGENT is a usage error"
    );
    assert!(p.keys("steps/").is_empty());
}

#[test]
fn missing_config_and_unreachable_endpoint_fail_with_hints() {
    let dir = tempfile::tempdir().unwrap();
    let out = assert_cmd::Command::cargo_bin("tracecraft")
        .unwrap()
        .current_dir(dir.path())
        .env("HOME", dir.path())
        .env_remove("TRACECRAFT_CONFIG")
        .args(["step-status", "x"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("tracecraft init"), "{}", stderr(&out));

    // A port nothing listens on: a bounded failure, not a hang.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let config = dir.path().join("c.json");
    std::fs::write(
        &config,
        format!(
            r#"{{"backend":"s3","bucket":"b-unreachable","project":"p","agent_id":"a","endpoint":"http://127.0.0.1:{port}","access_key":"k","secret_key":"s"}}"#
        ),
    )
    .unwrap();
    let started = Instant::now();
    let out = assert_cmd::Command::cargo_bin("tracecraft")
        .unwrap()
        .env("TRACECRAFT_CONFIG", &config)
        .env("HOME", dir.path())
        .args(["step-status", "x"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 1);
    let err = stderr(&out);
    assert!(err.starts_with("Error: "), "{err}");
    assert!(
        err.contains(&format!("127.0.0.1:{port}")),
        "names the endpoint: {err}"
    );
    assert!(err.contains("Hint:"), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "bounded: {:?}",
        started.elapsed()
    );
}

#[test]
fn version_and_completions() {
    let out = assert_cmd::Command::cargo_bin("tracecraft")
        .unwrap()
        .arg("--version")
        .output()
        .unwrap();
    assert_eq!(code(&out), 0);
    assert!(stdout(&out).starts_with("tracecraft "));
    let out = assert_cmd::Command::cargo_bin("tracecraft")
        .unwrap()
        .args(["completions", "bash"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0);
    assert!(
        stdout(&out).contains("wait-for"),
        "completions know the commands"
    );
}

/// With no user variables in the environment (containers, cron, systemd units), `init`
/// names the agent after the password database entry of the user, as the Python tool does.
#[test]
fn init_without_user_variables_takes_the_agent_id_from_the_password_database() {
    let expected = String::from_utf8(Command::new("id").arg("-un").output().unwrap().stdout)
        .unwrap()
        .trim()
        .to_string();
    assert!(!expected.is_empty());
    let dir = tempfile::tempdir().unwrap();
    let mut init = Command::new(env!("CARGO_BIN_EXE_tracecraft"));
    init.current_dir(dir.path())
        .env("HOME", dir.path())
        .args(["init", "--project", "demo", "--root"])
        .arg(dir.path().join("data"));
    for var in [
        "USER",
        "LOGNAME",
        "LNAME",
        "USERNAME",
        "TRACECRAFT_AGENT",
        "TRACECRAFT_CONFIG",
    ] {
        init.env_remove(var);
    }
    let out = init.output().unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stdout(&out).contains(&format!("as agent '{expected}'")),
        "{}",
        stdout(&out)
    );
    assert!(
        stderr(&out).contains(&format!("Agent id defaults to the user name: '{expected}'")),
        "{}",
        stderr(&out)
    );
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join(".tracecraft.json")).unwrap())
            .unwrap();
    assert_eq!(config["agent_id"], expected.as_str());
    assert_ne!(expected, "agent");
}
