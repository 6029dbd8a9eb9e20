//! `send` and `inbox` against every available backend: exit codes, output and the stored
//! documents checked together (contract sections 2, 3, 5, 6 and 7), including the read
//! cursor of `inbox --new` under late arrivals and concurrent readers.

mod support;

use std::collections::BTreeSet;
use std::process::Output;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::cli::{Kind, Project, announce, code, is_append_name, ok, stderr, stdout, valid_time};

#[track_caller]
fn ok_json(out: &Output) -> Value {
    serde_json::from_str(&ok(out)).expect("one JSON object on stdout")
}

/// `<ts_ns>_<sender>_<uuid8>.json`: 19 digits, the sender, 8 lower-case hex.
/// Sends as `from` with `--json` and returns the key written.
#[track_caller]
fn send(p: &Project, from: &str, to: &str, msg: &str) -> String {
    let v = ok_json(&p.run(from, &["--json", "send", to, msg]));
    v["key"].as_str().expect("key").to_string()
}

/// The keys of the messages an `inbox --json` run showed.
#[track_caller]
fn shown_keys(out: &Output) -> Vec<String> {
    let v = ok_json(out);
    let keys: Vec<String> = v["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| m["key"].as_str().expect("key").to_string())
        .collect();
    assert_eq!(v["count"], keys.len());
    keys
}

/// Message keys (no bookkeeping) stored under a mailbox.
fn mailbox(p: &Project, recipient: &str) -> Vec<String> {
    p.keys(&format!("messages/{recipient}/"))
        .into_iter()
        .filter(|k| !k.rsplit('/').next().unwrap().starts_with('_'))
        .collect()
}

/// A message planted directly in the bucket, stamped `age` ago by its key and body.
fn plant(p: &Project, to: &str, from: &str, msg: &str, age: Duration) -> String {
    let t = chrono::Utc::now() - chrono::Duration::from_std(age).unwrap();
    let key = format!(
        "messages/{to}/{}_{from}_{}.json",
        tracecraft::time::ts_ns(t),
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let body =
        json!({"from": from, "to": to, "message": msg, "sent_at": tracecraft::time::format(t)});
    p.put_object(&key, body.to_string().as_bytes());
    key
}

#[test]
fn send_and_inbox_round_trip() {
    for p in Project::all() {
        let k = p.kind;
        let out = p.run(
            "alice",
            &["send", "bob", "hello bob", "--step", "Phase.One"],
        );
        assert_eq!(ok(&out), "Sent to bob: hello bob\n", "{k:?}");
        ok(&p.run("carol", &["send", "bob", "plain note"]));

        let stored = mailbox(&p, "bob");
        assert_eq!(stored.len(), 2, "{k:?}: {stored:?}");
        let by_alice = stored
            .iter()
            .find(|key| is_append_name(key.strip_prefix("messages/bob/").unwrap(), "alice"))
            .expect("alice's message key");
        let doc = p.json(by_alice).unwrap();
        assert_eq!(doc["from"], "alice");
        assert_eq!(doc["to"], "bob");
        assert_eq!(doc["message"], "hello bob");
        // The step travels as typed, as the Python tool writes it.
        assert_eq!(doc["step"], "Phase.One");
        assert!(valid_time(&doc["sent_at"]), "{k:?}: {doc}");
        let by_carol = stored.iter().find(|key| key.contains("_carol_")).unwrap();
        let plain = p.json(by_carol).unwrap();
        assert!(
            plain.get("step").is_none(),
            "{k:?}: no step field without --step: {plain}"
        );
        assert_eq!(plain.as_object().unwrap().len(), 4, "{k:?}: {plain}");

        let out = p.run("bob", &["inbox"]);
        let want = format!(
            "[{}] (direct) alice [step Phase.One]: hello bob\n[{}] (direct) carol: plain note\n",
            doc["sent_at"].as_str().unwrap(),
            plain["sent_at"].as_str().unwrap()
        );
        assert_eq!(ok(&out), want, "{k:?}");
        // A plain read changes nothing.
        assert_eq!(ok(&p.run("bob", &["inbox"])), want, "{k:?}");
        assert!(p.object("messages/bob/_cursor.json").is_none(), "{k:?}");

        assert_eq!(ok(&p.run("dave", &["inbox"])), "No messages.\n", "{k:?}");
        // Sending refreshes the sender's presence.
        assert_eq!(p.json("agents/carol.json").unwrap()["id"], "carol", "{k:?}");
    }
}

#[test]
fn bad_recipients_and_steps_are_usage_errors_and_write_nothing() {
    for p in Project::all() {
        let k = p.kind;
        let bad: &[&[&str]] = &[
            &["send", "_cursor.json", "x"],
            &["send", "_other", "x"],
            &["send", "bob/inner", "x"],
            &["send", "..", "x"],
            &["send", "", "x"],
            &["send", "b c", "x"],
            &["send", "bob", "x", "--step", "a/b"],
            &["send", "bob", "x", "--step", "_hidden"],
            &["send", "bob", "x", "--step", "  "],
        ];
        for args in bad {
            let out = p.run("alice", args);
            assert_eq!(code(&out), 2, "{k:?} {args:?}: {}", stderr(&out));
            assert!(stdout(&out).is_empty(), "{k:?} {args:?}");
            let err = stderr(&out);
            assert!(err.starts_with("Error: "), "{k:?} {args:?}: {err}");
            assert!(!err.contains("panicked"), "{k:?} {args:?}: {err}");
        }
        assert_eq!(p.keys("messages/"), Vec::<String>::new(), "{k:?}");

        let out = p.run("bob", &["inbox", "--new", "--delete"]);
        assert_eq!(code(&out), 2, "{k:?}: {}", stderr(&out));
    }
}

#[test]
fn broadcasts_reach_everyone_but_the_sender_and_are_never_deleted() {
    for p in Project::all() {
        let k = p.kind;
        let out = p.run("alice", &["send", "_broadcast", "standup at 10"]);
        assert_eq!(ok(&out), "Sent to _broadcast: standup at 10\n", "{k:?}");
        let keys = mailbox(&p, "_broadcast");
        assert_eq!(keys.len(), 1, "{k:?}");
        let doc = p.json(&keys[0]).unwrap();
        assert_eq!(doc["to"], "_broadcast");
        let line = format!(
            "[{}] (broadcast) alice: standup at 10\n",
            doc["sent_at"].as_str().unwrap()
        );

        assert_eq!(ok(&p.run("bob", &["inbox"])), line, "{k:?}");
        assert_eq!(ok(&p.run("carol", &["inbox", "--delete"])), line, "{k:?}");
        assert_eq!(ok(&p.run("alice", &["inbox"])), "No messages.\n", "{k:?}");
        assert_eq!(
            ok(&p.run("alice", &["inbox", "--new"])),
            "No new messages.\n",
            "{k:?}"
        );
        // Still there for everyone after a reader's --delete.
        assert_eq!(mailbox(&p, "_broadcast"), keys, "{k:?}");
        assert_eq!(ok(&p.run("bob", &["inbox", "--new"])), line, "{k:?}");
        assert_eq!(
            ok(&p.run("bob", &["inbox", "--new"])),
            "No new messages.\n",
            "{k:?}"
        );
    }
}

#[test]
fn delete_removes_only_the_direct_messages_shown() {
    for p in Project::all() {
        let k = p.kind;
        let d1 = send(&p, "alice", "bob", "one");
        let d2 = send(&p, "carol", "bob", "two");
        let b = send(&p, "carol", "_broadcast", "all");
        let other = send(&p, "alice", "carol", "not bob's");
        let corrupt = "messages/bob/1795256922017355000_mallory_0badf00d.json";
        p.put_object(corrupt, b"{not json");
        p.put_object(
            "messages/bob/_cursor.json",
            br#"{"direct":null,"broadcast":null}"#,
        );

        let out = p.run("bob", &["inbox", "--delete"]);
        let text = ok(&out);
        assert_eq!(text.lines().count(), 3, "{k:?}: {text}");
        assert!(
            stderr(&out).contains("Deleted 2 direct message(s)"),
            "{k:?}: {}",
            stderr(&out)
        );

        let left = p.keys("messages/bob/");
        assert!(
            !left.contains(&d1) && !left.contains(&d2),
            "{k:?}: {left:?}"
        );
        // Not shown, so not deleted: the corrupt message and the bookkeeping.
        assert_eq!(
            left,
            vec![corrupt.to_string(), "messages/bob/_cursor.json".to_string()],
            "{k:?}"
        );
        assert_eq!(mailbox(&p, "_broadcast"), vec![b.clone()], "{k:?}");
        assert_eq!(mailbox(&p, "carol"), vec![other], "{k:?}");

        let out = p.run("bob", &["inbox", "--delete"]);
        assert_eq!(
            ok(&out),
            format!("{}\n", line_of(&p, &b, "broadcast")),
            "{k:?}"
        );
        assert_eq!(mailbox(&p, "_broadcast"), vec![b], "{k:?}");
    }
}

fn line_of(p: &Project, key: &str, kind: &str) -> String {
    let d = p.json(key).unwrap();
    format!(
        "[{}] ({kind}) {}: {}",
        d["sent_at"].as_str().unwrap(),
        d["from"].as_str().unwrap(),
        d["message"].as_str().unwrap()
    )
}

#[test]
fn new_shows_each_message_once_and_keeps_a_readable_cursor() {
    for p in Project::all() {
        let k = p.kind;
        let d1 = send(&p, "alice", "bob", "first");
        let b1 = send(&p, "carol", "_broadcast", "to all");
        let want = format!(
            "{}\n{}\n",
            line_of(&p, &d1, "direct"),
            line_of(&p, &b1, "broadcast")
        );
        assert_eq!(ok(&p.run("bob", &["inbox", "--new"])), want, "{k:?}");
        assert_eq!(
            ok(&p.run("bob", &["inbox", "--new"])),
            "No new messages.\n",
            "{k:?}"
        );

        let cursor = p.json("messages/bob/_cursor.json").expect("cursor");
        for (part, key, prefix) in [
            ("direct", &d1, "messages/bob/"),
            ("broadcast", &b1, "messages/_broadcast/"),
        ] {
            let c = &cursor[part];
            let seen: Vec<&str> = c["seen"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s.as_str().unwrap())
                .collect();
            let watermark = c["watermark"].as_str();
            assert!(
                seen.contains(&key.as_str()) || watermark.is_some_and(|w| key.as_str() <= w),
                "{k:?}: {cursor}"
            );
            assert!(
                watermark.is_none_or(|w| w.starts_with(prefix)),
                "{k:?}: {cursor}"
            );
        }
        assert!(valid_time(&cursor["updated_at"]), "{k:?}: {cursor}");

        let d2 = send(&p, "alice", "bob", "second");
        assert_eq!(
            ok(&p.run("bob", &["inbox", "--new"])),
            format!("{}\n", line_of(&p, &d2, "direct")),
            "{k:?}"
        );
        assert_eq!(
            ok(&p.run("bob", &["inbox", "--new"])),
            "No new messages.\n",
            "{k:?}"
        );
        // Nothing is deleted by --new, and a plain read still shows everything.
        assert_eq!(ok(&p.run("bob", &["inbox"])).lines().count(), 3, "{k:?}");
        // Another agent's cursor is its own.
        assert_eq!(
            ok(&p.run("dave", &["inbox", "--new"])),
            format!("{}\n", line_of(&p, &b1, "broadcast")),
            "{k:?}"
        );
    }
}

#[test]
fn a_late_message_is_shown_by_the_next_new_read() {
    for p in Project::all() {
        let k = p.kind;
        send(&p, "alice", "bob", "newer one");
        send(&p, "alice", "bob", "newer two");
        assert_eq!(
            ok(&p.run("bob", &["inbox", "--new"])).lines().count(),
            2,
            "{k:?}"
        );

        // Stamped 10 minutes ago by a slow sender, landing only now.
        let late = plant(
            &p,
            "bob",
            "carol",
            "late but here",
            Duration::from_secs(600),
        );
        let late_b = plant(
            &p,
            "_broadcast",
            "carol",
            "late broadcast",
            Duration::from_secs(900),
        );
        let want = format!(
            "{}\n{}\n",
            line_of(&p, &late_b, "broadcast"),
            line_of(&p, &late, "direct")
        );
        assert_eq!(ok(&p.run("bob", &["inbox", "--new"])), want, "{k:?}");
        assert_eq!(
            ok(&p.run("bob", &["inbox", "--new"])),
            "No new messages.\n",
            "{k:?}"
        );
    }
}

#[test]
fn the_older_bare_string_cursor_is_a_watermark() {
    for p in Project::all() {
        let k = p.kind;
        let old = plant(
            &p,
            "bob",
            "alice",
            "already read",
            Duration::from_secs(7200),
        );
        let fresh = send(&p, "alice", "bob", "fresh");
        // Everything up to and including the old message is read.
        let cursor =
            json!({"direct": old, "broadcast": null, "updated_at": "2026-01-01T00:00:00+00:00"});
        p.put_object("messages/bob/_cursor.json", cursor.to_string().as_bytes());
        assert_eq!(
            shown_keys(&p.run("bob", &["--json", "inbox", "--new"])),
            vec![fresh],
            "{k:?}"
        );
        assert_eq!(
            ok(&p.run("bob", &["inbox", "--new"])),
            "No new messages.\n",
            "{k:?}"
        );
        let saved = p.json("messages/bob/_cursor.json").unwrap();
        assert!(saved["direct"].is_object(), "{k:?}: {saved}");
    }
}

#[test]
fn bookkeeping_and_foreign_keys_are_not_messages() {
    for p in Project::all() {
        let k = p.kind;
        let real = send(&p, "alice", "bob", "real");
        let body = json!({"from": "x", "to": "bob", "message": "not mail", "sent_at": "2026-01-01T00:00:00+00:00"});
        for key in [
            "messages/bob/_notes.json",
            "messages/bob/nested/1795256922017355000_x_0a1b2c3d.json",
            "messages/bob/readme.txt",
            "messages/_broadcast/_meta.json",
            "messages/bobby/1795256922017355000_x_0a1b2c3d.json",
        ] {
            p.put_object(key, body.to_string().as_bytes());
        }
        let out = p.run("bob", &["inbox"]);
        assert_eq!(
            ok(&out),
            format!("{}\n", line_of(&p, &real, "direct")),
            "{k:?}"
        );
        assert!(stderr(&out).is_empty(), "{k:?}: {}", stderr(&out));
        assert_eq!(
            shown_keys(&p.run("bob", &["--json", "inbox", "--new"])),
            vec![real],
            "{k:?}"
        );
        let cursor = p.json("messages/bob/_cursor.json").unwrap();
        assert!(!cursor.to_string().contains("nested"), "{k:?}: {cursor}");
        assert!(!cursor.to_string().contains("_notes"), "{k:?}: {cursor}");
    }
}

#[test]
fn a_corrupt_message_or_cursor_is_skipped_with_a_warning() {
    for p in Project::all() {
        let k = p.kind;
        let first = send(&p, "alice", "bob", "before");
        let corrupt = format!(
            "messages/bob/{}_mallory_deadbeef.json",
            tracecraft::time::ts_ns(chrono::Utc::now())
        );
        p.put_object(&corrupt, b"\x00garbage{");
        let after = send(&p, "alice", "bob", "after");
        let want = format!(
            "{}\n{}\n",
            line_of(&p, &first, "direct"),
            line_of(&p, &after, "direct")
        );

        let out = p.run("bob", &["inbox"]);
        assert_eq!(ok(&out), want, "{k:?}");
        let err = stderr(&out);
        assert!(
            err.contains("Warning:") && err.contains(&corrupt),
            "{k:?}: {err}"
        );

        let out = p.run("bob", &["--json", "inbox", "--new"]);
        assert_eq!(
            shown_keys(&out),
            vec![first.clone(), after.clone()],
            "{k:?}"
        );
        assert!(stderr(&out).contains(&corrupt), "{k:?}: {}", stderr(&out));
        // Warned once: the next --new does not stumble over it again.
        let out = p.run("bob", &["inbox", "--new"]);
        assert_eq!(ok(&out), "No new messages.\n", "{k:?}");
        assert!(stderr(&out).is_empty(), "{k:?}: {}", stderr(&out));

        // A corrupt cursor is replaced: messages are shown again, not lost.
        p.put_object("messages/bob/_cursor.json", b"not a cursor");
        let out = p.run("bob", &["inbox", "--new"]);
        assert_eq!(ok(&out), want, "{k:?}");
        assert!(
            stderr(&out).contains("_cursor.json"),
            "{k:?}: {}",
            stderr(&out)
        );
        assert_eq!(
            ok(&p.run("bob", &["inbox", "--new"])),
            "No new messages.\n",
            "{k:?}"
        );
    }
}

#[test]
fn json_shapes() {
    for p in Project::all() {
        let k = p.kind;
        let v = ok_json(&p.run("alice", &["--json", "send", "bob", "hi", "--step", "S.1"]));
        let obj = v.as_object().unwrap();
        let fields: BTreeSet<&str> = obj.keys().map(String::as_str).collect();
        assert_eq!(
            fields,
            BTreeSet::from([
                "to",
                "from",
                "message",
                "step",
                "key",
                "id",
                "sent_at",
                "thread",
                "reply_to",
                "ack_required"
            ]),
            "{k:?}"
        );
        assert_eq!(v["to"], "bob");
        assert_eq!(v["from"], "alice");
        assert_eq!(v["message"], "hi");
        assert_eq!(v["step"], "S.1");
        assert!(valid_time(&v["sent_at"]), "{k:?}: {v}");
        let key = v["key"].as_str().unwrap();
        assert!(
            is_append_name(key.strip_prefix("messages/bob/").unwrap(), "alice"),
            "{k:?}: {key}"
        );
        assert_eq!(p.json(key).unwrap()["sent_at"], v["sent_at"], "{k:?}");

        let b = ok_json(&p.run("carol", &["--json", "send", "_broadcast", "all"]));
        assert!(b["step"].is_null(), "{k:?}: {b}");

        let v = ok_json(&p.run("bob", &["--json", "inbox"]));
        assert_eq!(v["count"], 2, "{k:?}: {v}");
        let msgs = v["messages"].as_array().unwrap();
        assert_eq!(
            msgs[0],
            json!({"key": key, "kind": "direct", "from": "alice", "to": "bob", "message": "hi",
                   "sent_at": v["messages"][0]["sent_at"], "step": "S.1",
                   "id": key.strip_prefix("messages/bob/").unwrap().strip_suffix(".json").unwrap(),
                   "thread": null, "reply_to": null, "ack_required": false}),
            "{k:?}"
        );
        assert_eq!(
            msgs[1],
            json!({"key": b["key"], "kind": "broadcast", "from": "carol", "to": "_broadcast",
                   "message": "all", "sent_at": b["sent_at"], "step": null, "id": b["id"],
                   "thread": null, "reply_to": null, "ack_required": false}),
            "{k:?}"
        );
        let empty = ok_json(&p.run("dave", &["--json", "inbox", "--new"]));
        assert_eq!(empty["count"], 1, "{k:?}: {empty}");
        let empty = ok_json(&p.run("dave", &["--json", "inbox", "--new"]));
        assert_eq!(empty, json!({"messages": [], "count": 0}), "{k:?}");
    }
}

#[test]
fn a_burst_of_concurrent_sends_is_delivered_in_full() {
    const SENDERS: usize = 8;
    const EACH: usize = 25;
    for p in Project::all() {
        let k = p.kind;
        let started = Instant::now();
        let outs: Vec<Output> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..SENDERS * EACH)
                .map(|n| {
                    let p = &p;
                    s.spawn(move || {
                        let sender = format!("sender-{}", n % SENDERS);
                        p.run(
                            &sender,
                            &["send", "bob", &format!("{sender} #{}", n / SENDERS)],
                        )
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for out in &outs {
            ok(out);
        }
        announce(&format!(
            "{k:?}: {} concurrent sends took {:?}",
            outs.len(),
            started.elapsed()
        ));

        let stored = mailbox(&p, "bob");
        assert_eq!(stored.len(), SENDERS * EACH, "{k:?}");
        let v = ok_json(&p.run("bob", &["--json", "inbox"]));
        assert_eq!(v["count"], SENDERS * EACH, "{k:?}");
        let texts: BTreeSet<String> = v["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["message"].as_str().unwrap().to_string())
            .collect();
        let want: BTreeSet<String> = (0..SENDERS * EACH)
            .map(|n| format!("sender-{} #{}", n % SENDERS, n / SENDERS))
            .collect();
        assert_eq!(texts, want, "{k:?}");
        // Merged in sent_at order.
        let times: Vec<&str> = v["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["sent_at"].as_str().unwrap())
            .collect();
        assert!(times.windows(2).all(|w| w[0] <= w[1]), "{k:?}");
        let shown = shown_keys(&p.run("bob", &["--json", "inbox", "--new"]));
        assert_eq!(shown.len(), SENDERS * EACH, "{k:?}");
        assert_eq!(
            ok(&p.run("bob", &["inbox", "--new"])),
            "No new messages.\n",
            "{k:?}"
        );
    }
}

#[test]
fn concurrent_new_readers_with_one_id_keep_each_others_progress() {
    const ROUNDS: usize = 4;
    const READERS: usize = 2;
    const SENDS: usize = 5;
    for p in Project::all() {
        let k = p.kind;
        let mut sent = BTreeSet::new();
        let mut shown = BTreeSet::new();
        for round in 0..ROUNDS {
            // Readers and senders at once, so readers list different states and race to
            // save the cursor.
            std::thread::scope(|s| {
                let readers: Vec<_> = (0..READERS)
                    .map(|_| s.spawn(|| shown_keys(&p.run("bob", &["--json", "inbox", "--new"]))))
                    .collect();
                let senders: Vec<_> = (0..SENDS)
                    .map(|n| {
                        let p = &p;
                        s.spawn(move || send(p, "alice", "bob", &format!("round {round} #{n}")))
                    })
                    .collect();
                for r in readers {
                    shown.extend(r.join().unwrap());
                }
                for h in senders {
                    sent.insert(h.join().unwrap());
                }
            });
        }
        // One more reader picks up whatever landed after the last concurrent read; it
        // must not see anything an earlier reader already showed.
        let rest: BTreeSet<String> = shown_keys(&p.run("bob", &["--json", "inbox", "--new"]))
            .into_iter()
            .collect();
        assert!(
            rest.is_disjoint(&shown),
            "{k:?}: progress lost, re-shown: {:?}",
            rest.intersection(&shown).collect::<Vec<_>>()
        );
        shown.extend(rest);
        assert_eq!(
            shown, sent,
            "{k:?}: every message seen by the union of readers"
        );
        assert_eq!(
            ok(&p.run("bob", &["inbox", "--new"])),
            "No new messages.\n",
            "{k:?}"
        );

        // Two readers over the same backlog: both may show it, and the cursor keeps it.
        let backlog: BTreeSet<String> = (0..10)
            .map(|n| send(&p, "carol", "bob", &format!("backlog {n}")))
            .collect();
        let union: BTreeSet<String> = std::thread::scope(|s| {
            let readers: Vec<_> = (0..READERS)
                .map(|_| s.spawn(|| shown_keys(&p.run("bob", &["--json", "inbox", "--new"]))))
                .collect();
            readers
                .into_iter()
                .flat_map(|r| r.join().unwrap())
                .collect()
        });
        assert_eq!(union, backlog, "{k:?}");
        assert_eq!(
            ok(&p.run("bob", &["inbox", "--new"])),
            "No new messages.\n",
            "{k:?}"
        );
        let cursor = p.json("messages/bob/_cursor.json").unwrap();
        let seen: BTreeSet<&str> = cursor["direct"]["seen"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap())
            .collect();
        let watermark = cursor["direct"]["watermark"].as_str().unwrap_or("");
        for key in sent.iter().chain(&backlog) {
            assert!(
                seen.contains(key.as_str()) || key.as_str() <= watermark,
                "{k:?}: {key} not in {cursor}"
            );
        }
        if k == Kind::Fs {
            announce(&format!("fs cursor after the race: {} seen", seen.len()));
        }
    }
}
