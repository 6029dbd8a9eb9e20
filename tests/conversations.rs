//! Threads, replies, acknowledgements and the blocking inbox (contract section 13) through
//! the binary on every available backend: exit codes, output and the stored documents
//! checked together.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::cli::{Project, code, ok, stderr, stdout};

#[track_caller]
fn ok_json(out: &Output) -> Value {
    serde_json::from_str(&ok(out)).expect("one JSON object on stdout")
}

/// Sends with `--json` and returns the message id.
#[track_caller]
fn send(p: &Project, from: &str, args: &[&str]) -> String {
    let mut all = vec!["--json", "send"];
    all.extend_from_slice(args);
    let v = ok_json(&p.run(from, &all));
    v["id"].as_str().expect("id").to_string()
}

#[track_caller]
fn reply(p: &Project, from: &str, id: &str, msg: &str, extra: &[&str]) -> Value {
    let mut all = vec!["--json", "reply", id, msg];
    all.extend_from_slice(extra);
    ok_json(&p.run(from, &all))
}

fn uuid8(id: &str) -> &str {
    id.rsplit('_').next().unwrap()
}

#[test]
fn a_thread_of_three_across_two_agents_reads_back_in_order() {
    for p in Project::all() {
        let k = p.kind;
        let q = send(&p, "alice", &["bob", "which port?", "--thread", "api-port"]);
        // Bob answers by the uuid8 alone; the answer joins the thread and goes to alice.
        let a = reply(&p, "bob", uuid8(&q), "8080", &[]);
        assert_eq!(a["to"], "alice", "{k:?}");
        assert_eq!(a["thread"], "api-port", "{k:?}");
        assert_eq!(a["reply_to"], q.as_str(), "{k:?}");
        let a_id = a["id"].as_str().unwrap().to_string();
        let c = reply(&p, "alice", &a_id, "thanks, using it", &[]);
        assert_eq!(c["to"], "bob");

        // The stored documents carry the new fields; the pointers sit under one prefix.
        let doc = p.json(&format!("messages/alice/{a_id}.json")).unwrap();
        assert_eq!(doc["thread"], "api-port", "{k:?}");
        assert_eq!(doc["reply_to"], q.as_str());
        assert!(doc.get("ack_required").is_none(), "absent unless asked");
        let pointers = p.keys("threads/api-port/");
        assert_eq!(pointers.len(), 3, "{k:?}: {pointers:?}");

        for reader in ["alice", "bob", "carol"] {
            let out = p.run(reader, &["thread", "api-port"]);
            let text = ok(&out);
            let lines: Vec<&str> = text.lines().collect();
            assert_eq!(lines.len(), 3, "{k:?}: {text}");
            assert!(lines[0].contains("alice → bob") && lines[0].ends_with(": which port?"));
            assert!(lines[1].contains("bob → alice") && lines[1].ends_with(": 8080"));
            assert!(lines[1].contains(&format!("[re {}]", uuid8(&q))), "{text}");
            assert!(lines[2].ends_with(": thanks, using it"), "{text}");
        }
        let v = ok_json(&p.run("carol", &["--json", "thread", "api-port"]));
        let ids: Vec<&str> = v["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids[0], q);
        assert_eq!(ids[1], a_id);

        // The inbox line of a threaded message names its thread; --ids puts the id first.
        let inbox = ok(&p.run("bob", &["inbox", "--ids"]));
        assert!(inbox.starts_with(&q), "{k:?}: {inbox}");
        assert!(
            inbox.contains("alice [thread api-port]: which port?"),
            "{inbox}"
        );

        assert_eq!(code(&p.run("carol", &["thread", "nope"])), 1);
        assert_eq!(code(&p.run("carol", &["thread", "../x"])), 2);
    }
}

#[test]
fn a_reply_to_a_broadcast_goes_to_its_sender_in_a_thread_named_by_its_id() {
    for p in Project::all() {
        let k = p.kind;
        let b = send(&p, "alice", &["_broadcast", "who owns the schema?"]);
        let a = reply(&p, "bob", &b, "I do", &[]);
        assert_eq!(a["to"], "alice", "{k:?}");
        assert_eq!(
            a["thread"],
            b.as_str(),
            "a thread named by the broadcast's id"
        );
        // The broadcast itself was given a pointer, so the thread shows the question too.
        let text = ok(&p.run("carol", &["thread", &b]));
        assert_eq!(text.lines().count(), 2, "{k:?}: {text}");
        assert!(text.lines().next().unwrap().contains("alice → _broadcast"));
        // The broadcast document is untouched (still exactly the old form).
        let doc = p.json(&format!("messages/_broadcast/{b}.json")).unwrap();
        let mut fields: Vec<&String> = doc.as_object().unwrap().keys().collect();
        fields.sort();
        assert_eq!(fields, ["from", "message", "sent_at", "to"]);
        let inbox = ok(&p.run("alice", &["inbox"]));
        assert!(
            inbox.contains(&format!(
                "(direct) bob [thread {b}] [re {}]: I do",
                uuid8(&b)
            )),
            "{inbox}"
        );
    }
}

#[test]
fn message_ids_resolve_by_unique_suffix_and_ambiguity_is_a_usage_error() {
    let p = Project::fs();
    let plant = |uuid: &str| {
        let t = chrono::Utc::now();
        let id = format!("{}_alice_{uuid}", tracecraft::time::ts_ns(t));
        let body = serde_json::json!({"from": "alice", "to": "bob", "message": uuid,
            "sent_at": tracecraft::time::format(t)});
        p.put_object(
            &format!("messages/bob/{id}.json"),
            body.to_string().as_bytes(),
        );
        id
    };
    let one = plant("aaaa1111");
    let _two = plant("bbbb1111");
    let out = p.run("bob", &["ack", "1111"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("names 2 messages"),
        "{}",
        stderr(&out)
    );
    assert!(p.keys("acks/").is_empty(), "nothing written");
    let out = p.run("bob", &["ack", "nothing-like-this"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(stderr(&out).contains("inbox --ids"), "{}", stderr(&out));
    // One bad id among good ones acknowledges nothing.
    assert_eq!(code(&p.run("bob", &["ack", "aaaa1111", "zzzz"])), 1);
    assert!(p.keys("acks/").is_empty());
    ok(&p.run("bob", &["ack", "a1111"]));
    assert!(p.object(&format!("acks/{one}/bob.json")).is_some());
}

#[test]
fn acks_are_idempotent_and_pending_from_both_sides() {
    for p in Project::all() {
        let k = p.kind;
        let out = p.run("alice", &["send", "bob", "freeze main", "--ack"]);
        let text = ok(&out);
        assert!(
            text.starts_with("Sent to bob: freeze main\n"),
            "{k:?}: {text}"
        );
        let id = p.keys("messages/bob/")[0]
            .rsplit('/')
            .next()
            .unwrap()
            .trim_end_matches(".json")
            .to_string();
        let request = p.json(&format!("acks/{id}/_request.json")).unwrap();
        assert_eq!(request["from"], "alice");
        assert_eq!(request["to"], "bob");
        assert_eq!(request["key"], format!("messages/bob/{id}.json"));
        assert!(p.json(&format!("messages/bob/{id}.json")).unwrap()["ack_required"] == true);

        // Both sides see it outstanding.
        let mine = ok_json(&p.run("alice", &["--json", "acks"]));
        assert_eq!(mine["count"], 1, "{k:?}: {mine}");
        assert_eq!(
            mine["messages"][0]["waiting_for"],
            serde_json::json!(["bob"])
        );
        let pending = ok_json(&p.run("bob", &["--json", "acks", "--pending"]));
        assert_eq!(pending["count"], 1, "{k:?}: {pending}");
        assert_eq!(pending["messages"][0]["id"], id.as_str());
        assert_eq!(pending["messages"][0]["message"], "freeze main");
        // Alice is not asked to acknowledge her own message.
        assert_eq!(
            ok_json(&p.run("alice", &["--json", "acks", "--pending"]))["count"],
            0
        );

        let first = ok(&p.run("bob", &["ack", uuid8(&id)]));
        assert!(first.starts_with("Acknowledged"), "{first}");
        let stored = p.object(&format!("acks/{id}/bob.json")).unwrap();
        let again = ok(&p.run("bob", &["ack", &id]));
        assert!(again.starts_with("Already acknowledged"), "{again}");
        assert_eq!(
            p.object(&format!("acks/{id}/bob.json")).unwrap(),
            stored,
            "create-once"
        );
        // One ack event, not two.
        let acks_logged = ok(&p.run("carol", &["log", "--type", "ack"]));
        assert_eq!(acks_logged.lines().count(), 1, "{k:?}: {acks_logged}");

        assert_eq!(
            ok(&p.run("bob", &["acks", "--pending"])),
            "No messages await your acknowledgement.\n"
        );
        let mine = ok_json(&p.run("alice", &["--json", "acks"]));
        assert_eq!(mine["messages"][0]["waiting_for"], serde_json::json!([]));
        assert_eq!(
            mine["messages"][0]["acknowledged_by"],
            serde_json::json!(["bob"])
        );
        assert!(ok(&p.run("alice", &["acks"])).contains("acknowledged by all"));

        // A broadcast asking for acks waits for every known agent but the sender.
        ok(&p.run("carol", &["heartbeat"]));
        ok(&p.run("alice", &["send", "_broadcast", "release at 5", "--ack"]));
        let pending = ok_json(&p.run("carol", &["--json", "acks", "--pending"]));
        assert_eq!(pending["count"], 1, "{k:?}: {pending}");
        let mine = ok_json(&p.run("alice", &["--json", "acks"]));
        let bcast = mine["messages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["to"] == "_broadcast")
            .unwrap();
        let waiting: Vec<&str> = bcast["waiting_for"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert!(
            waiting.contains(&"bob") && waiting.contains(&"carol"),
            "{waiting:?}"
        );
        assert!(!waiting.contains(&"alice"));
    }
}

#[test]
fn inbox_wait_is_woken_by_a_send_from_another_process_and_times_out_with_exit_4() {
    for p in Project::all() {
        let k = p.kind;
        // Nothing arrives: exit 4 after about the timeout, and nothing on stdout.
        let started = Instant::now();
        let out = p.run("bob", &["inbox", "--wait", "--timeout", "0.6"]);
        assert_eq!(code(&out), 4, "{k:?}: {}", stderr(&out));
        assert!(started.elapsed() >= Duration::from_millis(600));
        assert!(stdout(&out).is_empty());
        assert!(stderr(&out).contains("Timed out"), "{}", stderr(&out));

        let waiter = p
            .std_cmd("bob")
            .args(["inbox", "--wait", "--timeout", "30"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(700));
        ok(&p.run("alice", &["send", "bob", "wake up"]));
        let out = waiter.wait_with_output().unwrap();
        let text = ok(&out);
        assert!(text.ends_with("(direct) alice: wake up\n"), "{k:?}: {text}");
        assert_eq!(text.lines().count(), 1);
        // It advanced the cursor: the message is not new any more.
        assert_eq!(ok(&p.run("bob", &["inbox", "--new"])), "No new messages.\n");
        assert!(p.object("messages/bob/_cursor.json").is_some());
    }
}

#[test]
fn inbox_follow_prints_messages_sent_after_it_started() {
    for p in Project::all() {
        let k = p.kind;
        ok(&p.run("alice", &["send", "bob", "before"]));
        ok(&p.run("bob", &["inbox", "--new"]));
        let mut child = p
            .std_cmd("bob")
            .args(["--json", "inbox", "--follow"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        std::thread::sleep(Duration::from_millis(500));
        ok(&p.run("alice", &["send", "bob", "first", "--thread", "t"]));
        ok(&p.run("carol", &["send", "_broadcast", "second"]));
        let a: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
        let b: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
        // The cursor is saved right after printing (a message is shown again rather than
        // lost when the follower dies in between): give it that moment.
        std::thread::sleep(Duration::from_millis(500));
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(a["message"], "first", "{k:?}");
        assert_eq!(a["thread"], "t");
        assert_eq!(a["kind"], "direct");
        assert_eq!(b["message"], "second");
        assert_eq!(b["kind"], "broadcast");
        assert_eq!(ok(&p.run("bob", &["inbox", "--new"])), "No new messages.\n");
    }
}

#[test]
fn inbox_wait_and_follow_refuse_delete() {
    let p = Project::fs();
    assert_eq!(code(&p.run("bob", &["inbox", "--wait", "--delete"])), 2);
    assert_eq!(code(&p.run("bob", &["inbox", "--follow", "--delete"])), 2);
    assert_eq!(code(&p.run("bob", &["inbox", "--timeout", "3"])), 2);
    assert_eq!(
        code(&p.run("alice", &["send", "bob", "x", "--thread", "a/b"])),
        2
    );
    assert!(p.keys("messages/bob/").is_empty(), "nothing written");
}
