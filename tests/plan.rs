//! The work graph through the built binary on fs and SeaweedFS (contract section 10):
//! `plan apply` checked whole and idempotent, `plan add|rm|show` in every format, `ready`,
//! `claim --next` with each of its exit codes, a drain loop of agents stopping with 6, the
//! claim-next race between concurrent processes, `wait-for --plan`, the `PLAN` line of
//! `status` and `complete --to` delivering a handoff message. Each case checks exit code,
//! output and the bucket's contents together.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::cli::{Project, code, ok, stderr, stdout};

#[track_caller]
fn ok_json(out: &Output) -> Value {
    serde_json::from_str(ok(out).trim()).expect("one JSON object on stdout")
}

fn write_file(p: &Project, name: &str, text: &str) -> String {
    let path = p.path().join(name);
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

/// Every object under `steps/` with its bytes: "nothing written" means this is unchanged.
fn snapshot(p: &Project) -> BTreeMap<String, Vec<u8>> {
    p.keys("steps/")
        .into_iter()
        .map(|k| {
            let body = p.object(&k).unwrap();
            (k, body)
        })
        .collect()
}

const PLAN: &str = r#"{"steps": [
  {"id": "design", "title": "Write the design", "labels": ["docs"], "priority": 1},
  {"id": "Build.API", "title": "Build the API", "after": ["design"]},
  {"id": "build-ui", "title": "Build the UI", "after": ["design"], "priority": 3},
  {"id": "test", "title": "Test it all", "after": ["build-api", "build-ui"], "labels": ["qa"]},
  {"id": "release", "after": ["test"], "priority": 0, "description": "Tag and ship"}
]}"#;

#[test]
fn plan_apply_is_checked_whole_and_applying_twice_writes_nothing() {
    for p in Project::all() {
        let file = write_file(&p, "plan.json", PLAN);
        let out = p.run("alice", &["plan", "apply", &file]);
        assert_eq!(
            ok(&out).trim(),
            "Plan applied: 5 added, 0 updated, 0 unchanged"
        );
        let spec = p.json("steps/build-api/spec.json").unwrap();
        assert_eq!(spec["id"], "build-api");
        assert_eq!(spec["name"], "Build.API");
        assert_eq!(spec["title"], "Build the API");
        assert_eq!(spec["after"], json!(["design"]));
        assert_eq!(spec["labels"], json!([]));
        assert_eq!(spec["priority"], 2, "the default priority");
        assert_eq!(spec["description"], "");
        assert_eq!(spec["created_by"], "alice");
        assert!(spec["created_at"].is_string() && spec["updated_at"].is_string());
        assert_eq!(p.json("steps/release/spec.json").unwrap()["priority"], 0);
        // A spec alone makes no claim or status.
        assert!(p.object("steps/design/claim.json").is_none());

        // The same file again writes nothing.
        let before = snapshot(&p);
        let v = ok_json(&p.run("bob", &["--json", "plan", "apply", &file]));
        assert_eq!(
            v,
            json!({"added": [], "updated": [],
                   "unchanged": ["design", "Build.API", "build-ui", "test", "release"]})
        );
        assert_eq!(snapshot(&p), before, "a second apply writes nothing");

        // A changed title updates that one spec (created_* kept); TOML and stdin work.
        let toml = write_file(
            &p,
            "plan.toml",
            "[[steps]]\nid = \"design\"\ntitle = \"Write the design doc\"\nlabels = [\"docs\"]\npriority = 1\n\n\
             [[steps]]\nid = \"docs\"\ntitle = \"User docs\"\nafter = [\"design\"]\nlabels = [\"docs\"]\n",
        );
        let out = p.run("bob", &["plan", "apply", &toml]);
        assert_eq!(
            ok(&out).trim(),
            "Plan applied: 1 added, 1 updated, 0 unchanged"
        );
        let design = p.json("steps/design/spec.json").unwrap();
        assert_eq!(design["title"], "Write the design doc");
        assert_eq!(design["created_by"], "alice");
        let mut child = p
            .std_cmd("bob")
            .args(["--json", "plan", "apply", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(br#"[{"id": "lint", "labels": ["qa"]}]"#)
            .unwrap();
        let v = ok_json(&child.wait_with_output().unwrap());
        assert_eq!(v["added"], json!(["lint"]));

        // Refused files: exit 2, named reason, nothing written.
        let before = snapshot(&p);
        let refused = [
            (
                r#"[{"id": "x", "after": ["ghost"]}]"#,
                "step 'x' comes after 'ghost', which is not a known step",
            ),
            (
                r#"[{"id": "a1", "after": ["c1"]}, {"id": "b1", "after": ["a1"]}, {"id": "c1", "after": ["b1"]}]"#,
                "the plan would have a cycle: ",
            ),
            (
                // Closes a cycle through the stored plan: design -> ... -> release -> design.
                r#"[{"id": "design", "after": ["release"]}]"#,
                "the plan would have a cycle: design → Build.API → test → release → design",
            ),
            (r#"[{"id": "x"}, {"id": "X"}]"#, "is defined twice"),
            (r#"[{"id": "_x"}]"#, "invalid step id '_x'"),
            (r#"[{"id": "x", "priority": 9}]"#, "priority must be 0 to 4"),
            (r#"[{"id": "x", "needs": ["y"]}]"#, "unknown field `needs`"),
            ("{\"steps\": 3}", "cannot read the plan file"),
        ];
        for (text, message) in refused {
            let file = write_file(&p, "bad.json", text);
            let out = p.run("bob", &["plan", "apply", &file]);
            assert_eq!(code(&out), 2, "{text}: {}", stderr(&out));
            assert!(stderr(&out).contains(message), "{text}: {}", stderr(&out));
            assert_eq!(snapshot(&p), before, "{text}: nothing written");
        }
        // The three-step cycle is named in order.
        let file = write_file(
            &p,
            "bad.json",
            r#"[{"id": "a1", "after": ["c1"]}, {"id": "b1", "after": ["a1"]}, {"id": "c1", "after": ["b1"]}]"#,
        );
        let err = stderr(&p.run("bob", &["plan", "apply", &file]));
        assert!(
            err.contains("a1 → b1 → c1 → a1")
                || err.contains("b1 → c1 → a1 → b1")
                || err.contains("c1 → a1 → b1 → c1"),
            "{err}"
        );
    }
}

#[test]
fn plan_add_rm_and_show_in_every_format() {
    for p in Project::all() {
        let out = p.run(
            "alice",
            &[
                "plan",
                "add",
                "Design",
                "--title",
                "Write it",
                "--priority",
                "1",
                "--label",
                "docs",
            ],
        );
        assert_eq!(ok(&out).trim(), "Added step Design (p1): Write it");
        ok(&p.run("alice", &["claim", "legacy"])); // a step outside the plan
        let out = p.run(
            "alice",
            &[
                "plan", "add", "build", "--after", "design", "--after", "legacy",
            ],
        );
        assert_eq!(
            ok(&out).trim(),
            "Added step build (p2) after design, legacy"
        );
        // Flags not given keep their stored values; an identical add writes nothing.
        let before = snapshot(&p);
        let out = p.run("alice", &["plan", "add", "design"]);
        assert!(
            ok(&out).starts_with("Unchanged: step Design (p1)"),
            "{}",
            stdout(&out)
        );
        assert_eq!(snapshot(&p), before);
        ok(&p.run(
            "alice",
            &["plan", "add", "design", "--description", "the long story"],
        ));
        let design = p.json("steps/design/spec.json").unwrap();
        assert_eq!(design["title"], "Write it");
        assert_eq!(design["description"], "the long story");
        assert_eq!(design["labels"], json!(["docs"]));

        // Unknown `after` and cycles: exit 2, nothing written.
        let before = snapshot(&p);
        let out = p.run("alice", &["plan", "add", "x", "--after", "nope"]);
        assert_eq!(code(&out), 2, "{}", stderr(&out));
        let out = p.run("alice", &["plan", "add", "design", "--after", "build"]);
        assert_eq!(code(&out), 2);
        assert!(
            stderr(&out).contains("cycle: Design → build → Design"),
            "{}",
            stderr(&out)
        );
        let out = p.run("alice", &["plan", "add", "x", "--priority", "5"]);
        assert_eq!(code(&out), 2);
        assert_eq!(snapshot(&p), before);

        // show: text, json, mermaid, dot.
        let text = ok(&p.run("bob", &["plan"]));
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("ID"), "{text}");
        assert!(
            lines[1].starts_with("Design") && lines[1].contains("ready"),
            "{text}"
        );
        assert!(
            lines[2].starts_with("build") && lines[2].contains("waiting"),
            "{text}"
        );
        assert!(lines[2].contains("design,legacy"), "{text}");
        assert_eq!(
            *lines.last().unwrap(),
            "Plan: 2 steps: 0 complete · 1 ready · 1 waiting"
        );
        let v = ok_json(&p.run("bob", &["--json", "plan", "show"]));
        assert_eq!(
            v["counts"],
            json!({"complete": 0, "in_progress": 0, "ready": 1,
            "waiting": 1, "blocked": 0, "needs_review": 0})
        );
        let build = &v["steps"][1];
        assert_eq!(build["id"], "build");
        assert_eq!(build["status"], "waiting");
        assert_eq!(build["ready"], false);
        assert_eq!(build["waiting_on"], json!(["design", "legacy"]));
        assert_eq!(build["holder"], Value::Null);
        let v = ok_json(&p.run("bob", &["--json", "plan", "--label", "docs"]));
        assert_eq!(v["steps"].as_array().unwrap().len(), 1);

        ok(&p.run("carol", &["claim", "design"]));
        let mermaid = ok(&p.run("bob", &["plan", "--format", "mermaid"]));
        assert!(mermaid.starts_with("flowchart TD"), "{mermaid}");
        assert!(
            mermaid.contains(
                "[\"<b>Design</b><br/>Write it<br/><i>in_progress · carol</i>\"]:::in_progress"
            ),
            "{mermaid}"
        );
        assert!(mermaid.contains("s0 --> s1"), "{mermaid}");
        assert!(
            mermaid.contains("not in the plan · in_progress"),
            "{mermaid}"
        );
        let dot = ok(&p.run("bob", &["plan", "show", "--format", "dot"]));
        assert!(dot.starts_with("digraph plan {"), "{dot}");
        assert!(dot.contains("\"design\" -> \"build\";"), "{dot}");
        assert!(dot.contains("\"legacy\" -> \"build\";"), "{dot}");

        // rm: refused while another spec comes after it (exit 3, named); a leaf goes, and
        // its claim stays.
        let before = snapshot(&p);
        let out = p.run("alice", &["plan", "rm", "design"]);
        assert_eq!(code(&out), 3);
        assert!(
            stderr(&out).contains("build comes after it"),
            "{}",
            stderr(&out)
        );
        assert_eq!(snapshot(&p), before);
        ok(&p.run("alice", &["claim", "build"]));
        assert_eq!(
            ok(&p.run("alice", &["plan", "rm", "build"])).trim(),
            "Removed step build from the plan"
        );
        assert!(p.object("steps/build/spec.json").is_none());
        assert!(p.object("steps/build/claim.json").is_some());
        let out = p.run("alice", &["plan", "rm", "build"]);
        assert_eq!(code(&out), 1, "not in the plan any more");
    }
}

#[test]
fn ready_and_claim_next_end_with_each_exit_code() {
    for p in Project::all() {
        // Empty plan: nothing to do.
        assert_eq!(ok(&p.run("alice", &["ready"])).trim(), "No ready steps.");
        let out = p.run("alice", &["claim", "--next"]);
        assert_eq!(code(&out), 6, "{}", stderr(&out));

        let file = write_file(&p, "plan.json", PLAN);
        ok(&p.run("alice", &["plan", "apply", &file]));
        assert_eq!(
            ok(&p.run("bob", &["ready"])).trim(),
            "design  p1  Write the design"
        );
        let v = ok_json(&p.run("bob", &["--json", "ready"]));
        assert_eq!(
            v["ready"],
            json!([{"id": "design", "name": "design", "title": "Write the design",
                    "priority": 1, "labels": ["docs"]}])
        );
        assert_eq!(v["counts"]["waiting"], 4);

        // A usage error: a step and --next.
        let out = p.run("bob", &["claim", "design", "--next"]);
        assert_eq!(code(&out), 2);
        let out = p.run("bob", &["claim"]);
        assert_eq!(code(&out), 2);

        // Exit 0: the first ready step, recorded like any claim.
        let out = p.run("bob", &["claim", "--next"]);
        assert_eq!(ok(&out).trim(), "Claimed step design as bob");
        assert_eq!(p.json("steps/design/claim.json").unwrap()["agent"], "bob");
        assert_eq!(
            p.json("steps/design/status.json").unwrap()["status"],
            "in_progress"
        );
        assert_eq!(p.json("agents/bob.json").unwrap()["step"], "design");

        // Exit 3: nothing ready while bob may still unblock work.
        let out = p.run("carol", &["claim", "--next"]);
        assert_eq!(code(&out), 3, "{}", stderr(&out));
        assert!(
            stderr(&out).contains("No step is ready; in progress: design (bob)"),
            "{}",
            stderr(&out)
        );
        let out = p.run("carol", &["--json", "claim", "--next"]);
        assert_eq!(code(&out), 3);
        assert_eq!(
            serde_json::from_str::<Value>(&stdout(&out)).unwrap()["result"],
            "none_ready"
        );

        // Exit 4: waiting past the timeout.
        let started = Instant::now();
        let out = p.run("carol", &["claim", "--next", "--wait", "--timeout", "1"]);
        assert_eq!(code(&out), 4, "{}", stderr(&out));
        assert!(started.elapsed() < Duration::from_secs(15));

        // Two steps become ready; the more urgent (lower priority number) goes first, and
        // --json says it came from --next.
        ok(&p.run("bob", &["complete", "design"]));
        assert_eq!(
            ok(&p.run("bob", &["ready"])),
            "Build.API  p2  Build the API\nbuild-ui   p3  Build the UI\n"
        );
        let v = ok_json(&p.run("carol", &["--json", "claim", "--next", "--ttl", "1s"]));
        assert_eq!(v["next"], true);
        assert_eq!(v["step"], "Build.API");
        assert_eq!(v["id"], "build-api");
        assert_eq!(v["claimed"], true);

        // --label: only steps with it (none of the ready ones has `qa`).
        let out = p.run("dave", &["claim", "--next", "--label", "qa"]);
        assert_eq!(code(&out), 3, "{}", stderr(&out));

        // An expired lease counts as ready, and claim --next takes it over.
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let v = ok_json(&p.run("dave", &["--json", "ready"]));
            let ids: Vec<&str> = v["ready"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["id"].as_str().unwrap())
                .collect();
            if ids.contains(&"build-api") {
                assert_eq!(ids, ["build-api", "build-ui"], "ranked by priority");
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the lease never counted as expired"
            );
            std::thread::sleep(Duration::from_millis(300));
        }
        let out = p.run("dave", &["claim", "--next"]);
        let text = ok(&out);
        assert!(
            text.starts_with("Claimed step Build.API as dave\nTook over from carol"),
            "{text}"
        );
        assert_eq!(
            p.json("steps/build-api/claim.json").unwrap()["agent"],
            "dave"
        );

        // Exit 5: a blocked step keeps everything after it from becoming ready.
        ok(&p.run("erin", &["claim", "build-ui"]));
        ok(&p.run(
            "erin",
            &["complete", "build-ui", "--blocked", "--note", "no designer"],
        ));
        ok(&p.run("dave", &["complete", "build-api"]));
        let out = p.run("frank", &["claim", "--next", "--wait", "--timeout", "30"]);
        assert_eq!(code(&out), 5, "{}", stderr(&out));
        assert!(
            stderr(&out).contains("wait on build-ui"),
            "{}",
            stderr(&out)
        );
        // But the `docs` label is not stuck: nothing there.
        let out = p.run("frank", &["claim", "--next", "--label", "docs"]);
        assert_eq!(
            code(&out),
            6,
            "every docs step is complete: {}",
            stderr(&out)
        );

        // Exit 6: everything complete.
        ok(&p.run("erin", &["complete", "build-ui", "--force"]));
        for step in ["test", "release"] {
            let out = p.run("frank", &["claim", "--next"]);
            assert_eq!(ok(&out).trim(), format!("Claimed step {step} as frank"));
            ok(&p.run("frank", &["complete", step]));
        }
        let out = p.run("frank", &["claim", "--next", "--wait"]);
        assert_eq!(code(&out), 6, "{}", stderr(&out));
        assert!(
            stderr(&out).contains("Plan complete: all 5 steps are complete."),
            "{}",
            stderr(&out)
        );
        let out = p.run("frank", &["--json", "claim", "--next"]);
        assert_eq!(code(&out), 6);
        assert_eq!(
            serde_json::from_str::<Value>(&stdout(&out)).unwrap()["result"],
            "complete"
        );
    }
}

/// A plan of `n` independent steps plus a final step after all of them.
fn wide_plan(p: &Project, n: usize) -> Vec<String> {
    let mut steps: Vec<Value> = (0..n).map(|i| json!({"id": format!("s{i:02}")})).collect();
    let ids: Vec<String> = (0..n).map(|i| format!("s{i:02}")).collect();
    steps.push(json!({"id": "final", "after": ids}));
    let file = write_file(p, "wide.json", &json!({ "steps": steps }).to_string());
    ok(&p.run("lead", &["plan", "apply", &file]));
    ids
}

#[test]
fn racing_claim_next_gives_every_ready_step_to_exactly_one_agent() {
    for p in Project::all() {
        // More agents than ready steps: each step goes to exactly one; the rest exit 3.
        let ids = wide_plan(&p, 5);
        let agents: Vec<String> = (0..10).map(|i| format!("agent-{i}")).collect();
        let outs = p.race(&agents, &["--json", "claim", "--next"]);
        let mut won: BTreeMap<String, String> = BTreeMap::new();
        for (agent, out) in agents.iter().zip(&outs) {
            match code(out) {
                0 => {
                    let v: Value = serde_json::from_str(stdout(out).trim()).unwrap();
                    let step = v["id"].as_str().unwrap().to_string();
                    assert!(
                        won.insert(step.clone(), agent.clone()).is_none(),
                        "{step} claimed twice"
                    );
                }
                3 => {}
                c => panic!("{agent}: exit {c}: {}", stderr(out)),
            }
        }
        assert_eq!(
            won.keys().cloned().collect::<Vec<_>>(),
            ids,
            "every ready step claimed"
        );
        for (step, agent) in &won {
            assert_eq!(
                &p.json(&format!("steps/{step}/claim.json")).unwrap()["agent"],
                agent.as_str()
            );
        }

        // Fewer agents than ready steps: no agent is refused, none gets two.
        let p2 = Project::new(p.kind).unwrap();
        let ids = wide_plan(&p2, 12);
        let agents: Vec<String> = (0..8).map(|i| format!("agent-{i}")).collect();
        let outs = p2.race(&agents, &["--json", "claim", "--next"]);
        let mut steps = BTreeSet::new();
        for (agent, out) in agents.iter().zip(&outs) {
            assert_eq!(
                code(out),
                0,
                "{agent} refused with ready steps left: {}",
                stderr(out)
            );
            let v: Value = serde_json::from_str(stdout(out).trim()).unwrap();
            assert!(
                steps.insert(v["id"].as_str().unwrap().to_string()),
                "a step claimed twice"
            );
        }
        assert_eq!(steps.len(), 8);
        let claimed: Vec<String> = ids
            .iter()
            .filter(|s| p2.object(&format!("steps/{s}/claim.json")).is_some())
            .cloned()
            .collect();
        assert_eq!(claimed.len(), 8, "one claim per agent: {claimed:?}");
    }
}

#[test]
fn a_drain_loop_of_agents_completes_the_plan_and_stops_with_6() {
    for p in Project::all() {
        // Two layers and a final step, so agents must wait for work to become ready.
        let mut steps: Vec<Value> = (0..6).map(|i| json!({"id": format!("a{i}")})).collect();
        steps.extend((0..6).map(|i| json!({"id": format!("b{i}"), "after": [format!("a{i}")]})));
        steps.push(
            json!({"id": "final", "after": (0..6).map(|i| format!("b{i}")).collect::<Vec<_>>()}),
        );
        let file = write_file(&p, "layers.json", &json!({ "steps": steps }).to_string());
        ok(&p.run("lead", &["plan", "apply", &file]));

        let results: Vec<(Vec<String>, i32, String)> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..4)
                .map(|i| {
                    let p = &p;
                    scope.spawn(move || {
                        let agent = format!("worker-{i}");
                        let mut done = Vec::new();
                        loop {
                            let out = p.run(
                                &agent,
                                &["--json", "claim", "--next", "--wait", "--timeout", "60"],
                            );
                            if code(&out) != 0 {
                                return (done, code(&out), stderr(&out));
                            }
                            let v: Value = serde_json::from_str(stdout(&out).trim()).unwrap();
                            let step = v["step"].as_str().unwrap().to_string();
                            ok(&p.run(&agent, &["complete", &step]));
                            done.push(step);
                        }
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let mut all = Vec::new();
        for (done, exit, err) in results {
            assert_eq!(exit, 6, "the loop stops with 6: {err}");
            all.extend(done);
        }
        all.sort();
        let mut expected: Vec<String> = (0..6).map(|i| format!("a{i}")).collect();
        expected.extend((0..6).map(|i| format!("b{i}")));
        expected.push("final".into());
        expected.sort();
        assert_eq!(all, expected, "every step done exactly once");
        let v = ok_json(&p.run("lead", &["--json", "plan"]));
        assert_eq!(v["counts"]["complete"], 13);
    }
}

#[test]
fn wait_for_plan_status_line_and_complete_to_message() {
    for p in Project::all() {
        ok(&p.run("alice", &["plan", "add", "one"]));
        ok(&p.run("alice", &["plan", "add", "two", "--after", "one"]));
        let out = p.run("bob", &["wait-for", "--plan", "--timeout", "0"]);
        assert_eq!(code(&out), 4, "{}", stderr(&out));
        let out = p.run("bob", &["wait-for", "one", "--plan"]);
        assert_eq!(code(&out), 2);

        // status: a PLAN line with the counts.
        ok(&p.run("alice", &["claim", "one"]));
        let status = ok(&p.run("bob", &["status"]));
        assert!(
            status.contains("PLAN (2): 0 complete · 1 in progress · 1 waiting"),
            "{status}"
        );
        let v = ok_json(&p.run("bob", &["--json", "status"]));
        assert_eq!(v["plan"]["in_progress"], 1);

        // wait-for --plan returns once the last step completes.
        let waiter = p
            .std_cmd("bob")
            .args(["wait-for", "--plan", "--timeout", "60"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();

        // complete --to: the handoff also lands in carol's inbox as a message.
        let out = p.run(
            "alice",
            &[
                "--json",
                "complete",
                "one",
                "--to",
                "carol",
                "--note",
                "API is up",
                "--next-action",
                "write tests",
            ],
        );
        let v = ok_json(&out);
        let key = v["message_key"].as_str().unwrap().to_string();
        assert!(key.starts_with("messages/carol/"), "{key}");
        let msg = p.json(&key).unwrap();
        assert_eq!(msg["kind"], "handoff");
        assert_eq!(msg["from"], "alice");
        assert_eq!(msg["to"], "carol");
        assert_eq!(msg["step"], "one");
        assert_eq!(
            msg["message"],
            "Handoff: step one is complete. Note: API is up. Next: write tests"
        );
        let inbox = ok(&p.run("carol", &["inbox"]));
        assert!(
            inbox.contains(
                "(direct) alice [step one]: Handoff: step one is complete. Note: API is up"
            ),
            "{inbox}"
        );

        ok(&p.run("carol", &["claim", "--next"]));
        ok(&p.run("carol", &["complete", "two"]));
        let out = waiter.wait_with_output().unwrap();
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        assert_eq!(stdout(&out).trim(), "Plan complete: 2 steps: 2 complete");

        // A blocked step ends wait-for --plan with 5 at once.
        ok(&p.run("alice", &["plan", "add", "three", "--after", "two"]));
        ok(&p.run("alice", &["claim", "three"]));
        ok(&p.run("alice", &["complete", "three", "--blocked"]));
        let out = p.run("bob", &["wait-for", "--plan", "--timeout", "30"]);
        assert_eq!(code(&out), 5, "{}", stderr(&out));
        assert!(
            stderr(&out).contains("blocked on three"),
            "{}",
            stderr(&out)
        );
    }
}
