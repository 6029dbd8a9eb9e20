//! The event log and retention (contract section 13) through the binary on every available
//! backend: one event per changing command with the right type, agent and step; `log` and
//! its filters and `--follow`; `gc --dry-run` equal to what `gc` deletes, and nothing that
//! coordination needs deleted.

mod support;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Output, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use support::cli::{Project, code, ok, stderr};

/// The JSON Lines of a `--json log` run.
#[track_caller]
fn log(p: &Project, args: &[&str]) -> Vec<Value> {
    let mut all = vec!["--json", "log"];
    all.extend_from_slice(args);
    ok(&p.run("zed", &all))
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect()
}

fn types(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_string())
        .collect()
}

/// Plants a document at `key`.
fn plant(p: &Project, key: &str, body: Value) {
    p.put_object(key, body.to_string().as_bytes());
}

fn stamp(age: Duration) -> (String, String, String) {
    let t = chrono::Utc::now() - chrono::Duration::from_std(age).unwrap();
    (
        tracecraft::time::ts_ns(t),
        t.format("%Y-%m-%d").to_string(),
        tracecraft::time::format(t),
    )
}

#[test]
fn every_changing_command_logs_one_event_with_type_agent_and_step() {
    for p in Project::all() {
        let k = p.kind;
        let file = p.path().join("report.txt");
        std::fs::write(&file, "done").unwrap();
        ok(&p.run("alice", &["claim", "Phase.One", "--ttl", "10m"]));
        ok(&p.run("alice", &["renew"]));
        ok(&p.run("alice", &["heartbeat"]));
        ok(&p.run("alice", &["release", "Phase.One"]));
        ok(&p.run("bob", &["claim", "Phase.One"]));
        ok(&p.run("bob", &["complete", "Phase.One", "--to", "carol"]));
        ok(&p.run("bob", &["send", "alice", "done", "--step", "Phase.One"]));
        ok(&p.run("carol", &["memory", "set", "design.api", "v2"]));
        let upload = p
            .cmd("carol")
            .args(["artifact", "upload"])
            .arg(&file)
            .args(["--step", "Phase.One"])
            .output()
            .unwrap();
        ok(&upload);
        ok(&p.run("alice", &["inbox"]));
        ok(&p.run("alice", &["status"]));

        let events = log(&p, &[]);
        assert_eq!(
            types(&events),
            [
                "claim",
                "release",
                "takeover",
                "complete",
                "send",
                "send",
                "memory.set",
                "artifact.upload"
            ],
            "{k:?}: renewals, heartbeats and reads are not logged: {events:?}"
        );
        let who: Vec<&str> = events
            .iter()
            .map(|e| e["agent"].as_str().unwrap())
            .collect();
        assert_eq!(
            who,
            [
                "alice", "alice", "bob", "bob", "bob", "bob", "carol", "carol"
            ]
        );
        for e in &events[..6] {
            assert_eq!(e["step"], "Phase.One", "{k:?}: {e}");
        }
        assert_eq!(events[0]["detail"]["ttl_s"], 600);
        assert_eq!(events[2]["detail"]["from"], "alice");
        assert_eq!(events[3]["detail"]["to"], "carol");
        // `complete --to carol` delivers the handoff message: a send like any other.
        assert_eq!(events[4]["detail"]["to"], "carol");
        assert!(
            events[4]["key"]
                .as_str()
                .unwrap()
                .starts_with("messages/carol/"),
            "{k:?}"
        );
        assert_eq!(events[5]["detail"]["to"], "alice");
        assert_eq!(events[6]["detail"]["key"], "design.api");
        assert_eq!(events[7]["key"], "artifacts/phase-one/report.txt");

        // Stored where the contract says, named by agent, one per event.
        let stored = p.keys("events/");
        assert_eq!(stored.len(), events.len());
        let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
        for (key, e) in stored.iter().zip(&events) {
            let name = key
                .strip_prefix(&format!("events/{today}/"))
                .unwrap_or_else(|| {
                    // A run across midnight lands in tomorrow's partition.
                    key.split('/').nth(2).unwrap()
                });
            assert!(
                support::cli::is_append_name(name, e["agent"].as_str().unwrap()),
                "{key}"
            );
            assert_eq!(&e["event"], key);
            let doc = p.json(key).unwrap();
            assert!(support::cli::valid_time(&doc["at"]));
        }

        // The human line: `[at] agent type step detail`.
        let text = ok(&p.run("zed", &["log", "--type", "complete"]));
        assert!(
            text.contains("] bob complete Phase.One ")
                && text.contains("status=complete")
                && text.contains("to=carol"),
            "{text}"
        );
    }
}

#[test]
fn log_filters_by_since_agent_step_type_and_limit() {
    for p in Project::all() {
        let k = p.kind;
        // An event from three days ago, planted.
        let (ts, day, at) = stamp(Duration::from_secs(3 * 86_400));
        let old = format!("events/{day}/{ts}_dave_0a0b0c0d.json");
        plant(
            &p,
            &old,
            json!({"at": at, "agent": "dave", "type": "claim", "step": "old", "detail": {}}),
        );
        ok(&p.run("alice", &["claim", "s1"]));
        ok(&p.run("bob", &["claim", "s2"]));
        ok(&p.run("alice", &["complete", "S1"]));
        ok(&p.run("bob", &["send", "alice", "hi"]));

        assert_eq!(log(&p, &[]).len(), 5, "{k:?}");
        assert_eq!(
            types(&log(&p, &["--since", "1h"])),
            ["claim", "claim", "complete", "send"]
        );
        assert_eq!(
            log(&p, &["--since", &day]).len(),
            5,
            "a date takes that whole day"
        );
        let alice = log(&p, &["--agent", "alice"]);
        assert_eq!(types(&alice), ["claim", "complete"]);
        let s1 = log(&p, &["--step", "S1"]);
        assert_eq!(types(&s1), ["claim", "complete"], "steps match normalised");
        assert_eq!(log(&p, &["--type", "claim"]).len(), 3);
        let last2 = log(&p, &["--limit", "2"]);
        assert_eq!(
            types(&last2),
            ["complete", "send"],
            "the newest N, oldest first"
        );
        assert_eq!(
            types(&log(&p, &["--type", "claim", "--limit", "1"])),
            ["claim"]
        );
        assert_eq!(
            log(&p, &["--type", "claim", "--limit", "1"])[0]["agent"],
            "bob"
        );
        assert_eq!(
            ok(&p.run("zed", &["log", "--agent", "nobody"])),
            "No events.\n"
        );
        assert_eq!(code(&p.run("zed", &["log", "--since", "yesterday-ish"])), 2);
    }
}

#[test]
fn log_follow_prints_events_as_they_happen() {
    for p in Project::all() {
        let k = p.kind;
        ok(&p.run("alice", &["claim", "before"]));
        let mut child = p
            .std_cmd("zed")
            .args([
                "--json", "log", "--follow", "--since", "1m", "--agent", "bob",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        std::thread::sleep(Duration::from_millis(500));
        ok(&p.run("alice", &["claim", "not-shown"]));
        ok(&p.run("bob", &["claim", "after"]));
        ok(&p.run("bob", &["memory", "set", "x", "1"]));
        let a: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
        let b: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(
            (a["type"].as_str(), a["step"].as_str()),
            (Some("claim"), Some("after")),
            "{k:?}"
        );
        assert_eq!(b["type"], "memory.set");
    }
}

/// Every key of the project, for before/after comparisons.
fn all_keys(p: &Project) -> BTreeSet<String> {
    p.keys("").into_iter().collect()
}

fn gc(p: &Project, args: &[&str]) -> (Value, Output) {
    let mut all = vec!["--json", "gc"];
    all.extend_from_slice(args);
    let out = p.run("zed", &all);
    let v = serde_json::from_str(&ok(&out)).expect("one JSON object");
    (v, out)
}

fn planned(v: &Value) -> BTreeSet<String> {
    v["kinds"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|k| k["keys"].as_array().unwrap().iter())
        .map(|k| k.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn gc_dry_run_equals_what_gc_deletes_and_coordination_state_stays() {
    for p in Project::all() {
        let k = p.kind;
        let month = Duration::from_secs(40 * 86_400);
        let (ts, day, at) = stamp(month);
        let (ts2, _, at2) = stamp(month - Duration::from_secs(60));
        // Live coordination state, all of it old by its own timestamps.
        ok(&p.run("alice", &["claim", "s1"]));
        ok(&p.run("alice", &["complete", "s1", "--to", "bob"]));
        ok(&p.run("alice", &["claim", "s2"]));
        ok(&p.run("alice", &["memory", "set", "design.api", "v1"]));
        ok(&p.run("alice", &["send", "bob", "fresh"]));
        ok(&p.run("bob", &["inbox", "--new"]));
        // Old material planted by key time.
        let old_bcast = format!("messages/_broadcast/{ts}_alice_00000001.json");
        plant(
            &p,
            &old_bcast,
            json!({"from": "alice", "to": "_broadcast", "message": "old", "sent_at": at}),
        );
        let old_direct = format!("messages/bob/{ts}_alice_00000002.json");
        plant(
            &p,
            &old_direct,
            json!({"from": "alice", "to": "bob", "message": "old", "sent_at": at}),
        );
        let old_event = format!("events/{day}/{ts}_alice_00000003.json");
        plant(
            &p,
            &old_event,
            json!({"at": at, "agent": "alice", "type": "send", "detail": {}}),
        );
        let old_id = format!("{ts}_alice_00000004");
        let old_acks = [
            format!("acks/{old_id}/_request.json"),
            format!("acks/{old_id}/bob.json"),
        ];
        for a in &old_acks {
            plant(
                &p,
                a,
                json!({"from": "alice", "to": "bob", "key": "x", "agent": "bob", "acked_at": at, "sent_at": at}),
            );
        }
        let old_thread = format!("threads/t1/{ts}_alice_00000005.json");
        plant(
            &p,
            &old_thread,
            json!({"key": old_direct, "from": "alice", "to": "bob", "message": "old"}),
        );
        // Two old snapshots of a key that has no newer one: the newest of them stays.
        let snap_old = format!("memory/_history/team/notes/{ts}_alice_00000006.json");
        let snap_newest = format!("memory/_history/team/notes/{ts2}_alice_00000007.json");
        plant(
            &p,
            &snap_old,
            json!({"value": "a", "key": "team.notes", "set_at": at}),
        );
        plant(
            &p,
            &snap_newest,
            json!({"value": "b", "key": "team.notes", "set_at": at2}),
        );
        plant(
            &p,
            "memory/team/notes.json",
            json!({"value": "b", "set_by": "alice", "set_at": at2}),
        );

        let before = all_keys(&p);
        let (dry, out) = gc(
            &p,
            &[
                "--older-than",
                "30d",
                "--dry-run",
                "--include",
                "messages,sessions",
            ],
        );
        assert_eq!(
            all_keys(&p),
            before,
            "{k:?}: --dry-run deletes nothing ({})",
            stderr(&out)
        );
        let plan = planned(&dry);
        let expected: BTreeSet<String> = [
            old_bcast.clone(),
            old_direct.clone(),
            old_event.clone(),
            old_thread.clone(),
            snap_old.clone(),
        ]
        .into_iter()
        .chain(old_acks.iter().cloned())
        .collect();
        assert_eq!(plan, expected, "{k:?}");
        assert_eq!(dry["total"], expected.len());
        assert_eq!(dry["kinds"]["memory_history"]["count"], 1);
        assert_eq!(dry["kinds"]["session_objects"]["count"], 0);

        let (real, _) = gc(
            &p,
            &["--older-than", "30d", "--include", "messages,sessions"],
        );
        assert_eq!(
            planned(&real),
            plan,
            "{k:?}: the real run deleted what the dry run listed"
        );
        let after = all_keys(&p);
        let gone: BTreeSet<String> = before.difference(&after).cloned().collect();
        assert_eq!(gone, plan, "{k:?}: exactly those keys are gone");
        for kept in [
            "steps/s1/claim.json",
            "steps/s1/status.json",
            "steps/s1/handoff.json",
            "steps/s2/claim.json",
            "memory/design/api.json",
            "memory/team/notes.json",
            "messages/bob/_cursor.json",
            "agents/alice.json",
        ] {
            assert!(after.contains(kept), "{k:?}: {kept} must stay");
        }
        assert!(
            after.contains(&snap_newest),
            "the newest snapshot of each key stays"
        );
        // gc logged itself; a second run finds nothing more.
        let gcs = log(&p, &["--type", "gc"]);
        assert_eq!(gcs.len(), 1);
        assert_eq!(gcs[0]["detail"]["broadcasts"], 1);
        let (again, _) = gc(&p, &["--older-than", "30d", "--include", "messages"]);
        assert_eq!(again["total"], 0);

        // Without --include, direct messages and thread entries are not touched.
        let (ts3, _, at3) = stamp(month);
        let direct = format!("messages/bob/{ts3}_carol_00000008.json");
        plant(
            &p,
            &direct,
            json!({"from": "carol", "to": "bob", "message": "m", "sent_at": at3}),
        );
        let (plain, _) = gc(&p, &["--older-than", "30d"]);
        assert_eq!(plain["total"], 0, "{plain}");
        assert!(p.object(&direct).is_some());
        let human = ok(&p.run("zed", &["gc", "--older-than", "1d", "--dry-run"]));
        assert!(
            human.starts_with("Would delete 0 object(s) older than 1d"),
            "{human}"
        );
        assert_eq!(
            code(&p.run("zed", &["gc", "--dry-run"])),
            2,
            "--older-than is required"
        );
        assert_eq!(code(&p.run("zed", &["gc", "--older-than", "soon"])), 2);
    }
}
