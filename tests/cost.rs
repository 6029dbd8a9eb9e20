//! Cost at scale through the built binary on fs and SeaweedFS, judged by the `-v`
//! `requests:` line: `heartbeat` makes the same requests with 10 and 2,000 steps in the
//! project; a claim whose index entry was lost is still renewed by a later `heartbeat`;
//! `status` and `agents` repeated with nothing changed fetch no document; a claim changed
//! between two calls is seen by the second; `ready` repeated fetches only the claims
//! whose leases are near their end.

mod support;

use futures::StreamExt;
use serde_json::Value;
use support::cli::{Project, block_on, ok, stderr, stdout};

/// `[GET, HEAD, PUT, DELETE, LIST]` from the `requests:` line, which must end stderr.
fn requests(out: &std::process::Output) -> [u64; 5] {
    let err = stderr(out);
    let last = err.lines().last().unwrap_or_default();
    let rest = last
        .strip_prefix("requests: ")
        .unwrap_or_else(|| panic!("no requests line at the end of: {err}"));
    let mut counts = [0; 5];
    let kinds = rest.split(" (").next().unwrap();
    for (i, (part, kind)) in kinds
        .split(" · ")
        .zip(["GET", "HEAD", "PUT", "DELETE", "LIST"])
        .enumerate()
    {
        let (n, k) = part.split_once(' ').unwrap();
        assert_eq!(k, kind, "{last}");
        counts[i] = n.parse().unwrap();
    }
    counts
}

fn run_v(p: &Project, agent: &str, args: &[&str]) -> (std::process::Output, [u64; 5]) {
    let mut all = vec!["-v"];
    all.extend_from_slice(args);
    let out = p.run(agent, &all);
    ok(&out);
    let counts = requests(&out);
    (out, counts)
}

/// Claims of other agents on steps `seed-<from>..seed-<to>`, written straight into the
/// bucket (as many agents' `claim` would leave them), many at once.
fn seed_steps(p: &Project, from: usize, to: usize) {
    let config = p.config();
    block_on(async move {
        let store = config.open_store().await.unwrap();
        let store = &store;
        futures::stream::iter(from..to)
            .map(|i| async move {
                let claim = serde_json::json!({
                    "agent": format!("agent-{:03}", i % 100),
                    "claimed_at": "2026-12-01T10:00:00.000000+00:00",
                });
                store
                    .put(
                        &format!("steps/seed-{i:05}/claim.json"),
                        bytes::Bytes::from(claim.to_string()),
                        tracecraft::store::PutMode::Overwrite,
                        &tracecraft::store::PutOptions::json(),
                    )
                    .await
                    .unwrap();
            })
            .buffer_unordered(64)
            .collect::<Vec<_>>()
            .await;
    });
}

#[test]
fn every_command_ends_with_a_requests_line_under_v() {
    for p in Project::all() {
        let (_, c) = run_v(&p, "alice", &["claim", "build", "--ttl", "10m"]);
        assert!(c[2] >= 2, "the claim and its status are written: {c:?}");
        let out = p.run("alice", &["-v", "claim", "build"]);
        assert_eq!(out.status.code(), Some(3));
        requests(&out);
        let out = p.run("alice", &["claim", "other"]);
        assert!(!stderr(&out).contains("requests:"), "only with -v");
    }
}

#[test]
fn heartbeat_makes_the_same_requests_with_10_and_with_2000_steps() {
    for p in Project::all() {
        seed_steps(&p, 0, 8);
        for s in ["mine-a", "mine-b"] {
            ok(&p.run("alice", &["claim", s, "--ttl", "30m"]));
        }
        // The first heartbeat of an agent scans the project once (no scan marker yet).
        let (out, _) = run_v(&p, "alice", &["heartbeat"]);
        assert!(
            stderr(&out).contains("own claims: full scan"),
            "{}",
            stderr(&out)
        );
        let (out, small) = run_v(&p, "alice", &["heartbeat"]);
        let text = stdout(&out);
        assert!(text.contains("Renewed mine-a") && text.contains("Renewed mine-b"));
        // Presence read and written; the index listed; each own claim read and renewed;
        // the path reservation index read (section 12: heartbeat renews those too).
        assert_eq!(small, [4, 0, 3, 0, 1], "{}", stderr(&out));

        seed_steps(&p, 8, 1998);
        let (out, large) = run_v(&p, "alice", &["heartbeat"]);
        assert_eq!(large, small, "{}", stderr(&out));
        let text = stdout(&out);
        assert!(text.contains("Renewed mine-a") && text.contains("Renewed mine-b"));

        // renew without steps goes the same way (own claims, and the reservation index).
        let (_, renew) = run_v(&p, "alice", &["renew"]);
        assert_eq!(renew, [3, 0, 2, 0, 1]);
    }
}

/// Makes the agent's next `heartbeat` find its last full scan `age_s` old, as time
/// passing would (the scan time is part of the marker's key).
fn age_scan_marker(p: &Project, agent: &str, age_s: i64) {
    for key in p.keys(&format!("own/{agent}/_scanned-")) {
        p.delete_object(&key);
    }
    let then = chrono::Utc::now() - chrono::Duration::seconds(age_s);
    let ts = then.timestamp_nanos_opt().unwrap();
    p.put_object(&format!("own/{agent}/_scanned-{ts:019}.json"), b"{}");
}

#[test]
fn a_claim_whose_index_entry_was_lost_is_still_renewed_by_a_later_heartbeat() {
    for p in Project::all() {
        seed_steps(&p, 0, 50);
        ok(&p.run("alice", &["claim", "lost", "--ttl", "30m"]));
        ok(&p.run("alice", &["claim", "kept", "--ttl", "30m"]));
        ok(&p.run("alice", &["heartbeat"]));
        // The index write of `lost` is lost (`kept`, the step alice's presence names, is
        // renewed whatever the index says).
        p.delete_object("own/alice/claims/lost.json");
        let before = p.json("steps/lost/claim.json").unwrap();

        let out = ok(&p.run("alice", &["heartbeat"]));
        assert!(
            !out.contains("Renewed lost"),
            "the index alone misses it: {out}"
        );
        assert_eq!(p.json("steps/lost/claim.json").unwrap(), before);

        // Once a scan is due (here: the last one is 20 minutes old), it is found.
        age_scan_marker(&p, "alice", 1200);
        let (out, _) = run_v(&p, "alice", &["heartbeat"]);
        assert!(stdout(&out).contains("Renewed lost"), "{}", stdout(&out));
        let after = p.json("steps/lost/claim.json").unwrap();
        assert_ne!(after["lease"]["renewed_at"], before["lease"]["renewed_at"]);
        assert_eq!(after["agent"], "alice");
        assert!(
            p.json("own/alice/claims/lost.json").is_some(),
            "entry restored"
        );
        // And from then on the index has it again.
        let out = ok(&p.run("alice", &["heartbeat"]));
        assert!(out.contains("Renewed lost"), "{out}");
    }
}

#[test]
fn status_and_agents_repeated_with_nothing_changed_fetch_no_document() {
    for p in Project::all() {
        seed_steps(&p, 0, 40);
        ok(&p.run("alice", &["claim", "build", "--ttl", "10m"]));
        ok(&p.run("bob", &["send", "alice", "hello"]));
        ok(&p.run("alice", &["inbox", "--new"]));
        let (_, cold) = run_v(&p, "carol", &["--json", "status"]);
        assert!(cold[0] >= 42, "cold: every document read: {cold:?}");
        let (out, warm) = run_v(&p, "carol", &["--json", "status"]);
        assert_eq!(
            warm[0],
            0,
            "warm status fetched documents: {}",
            stderr(&out)
        );
        assert_eq!(warm[2], 0, "status writes nothing");

        run_v(&p, "carol", &["agents"]);
        let (out, warm) = run_v(&p, "carol", &["agents"]);
        assert_eq!(
            warm[0],
            0,
            "warm agents fetched documents: {}",
            stderr(&out)
        );
    }
}

#[test]
fn ready_repeated_fetches_only_claims_near_the_end_of_their_lease() {
    for p in Project::all() {
        for step in ["design", "held", "ending"] {
            ok(&p.run("alice", &["plan", "add", step]));
        }
        ok(&p.run("alice", &["plan", "add", "build", "--after", "design"]));
        ok(&p.run("alice", &["claim", "design"]));
        ok(&p.run("alice", &["complete", "design"]));
        ok(&p.run("bob", &["claim", "held", "--ttl", "10m"]));
        // A lease this short is near its end at once: a cached copy cannot judge it.
        ok(&p.run("bob", &["claim", "ending", "--ttl", "20s"]));
        let (cold_out, cold) = run_v(&p, "carol", &["--json", "ready"]);
        let (warm_out, warm) = run_v(&p, "carol", &["--json", "ready"]);
        assert_eq!(stdout(&cold_out), stdout(&warm_out), "same answer warm");
        let ready: Value = serde_json::from_str(&stdout(&warm_out)).unwrap();
        let ids: Vec<&str> = ready["ready"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["build"], "{ready}");
        assert!(
            cold[0] >= 7,
            "cold: specs, statuses and claims read: {cold:?}"
        );
        assert_eq!(
            warm[0],
            1,
            "warm ready fetches the claim near its end and nothing else: {}",
            stderr(&warm_out)
        );
    }
}

fn step<'a>(status: &'a Value, id: &str) -> &'a Value {
    status["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("no step {id} in {status}"))
}

#[test]
fn a_claim_changed_between_two_calls_is_seen_by_the_second() {
    for p in Project::all() {
        seed_steps(&p, 0, 20);
        ok(&p.run("alice", &["claim", "build", "--ttl", "10m"]));
        let json = |out: &std::process::Output| -> Value {
            serde_json::from_str(stdout(out).trim()).unwrap()
        };
        let (first, _) = run_v(&p, "carol", &["--json", "status"]);
        let first = json(&first);
        assert_eq!(step(&first, "build")["holder"], "alice");

        ok(&p.run("alice", &["release", "build"]));
        ok(&p.run("bob", &["claim", "build", "--ttl", "10m"]));
        // A step the cache never saw, and a seeded claim rewritten in place by its owner.
        ok(&p.run("bob", &["claim", "fresh"]));
        seed_steps(&p, 5, 6);
        let (second, counts) = run_v(&p, "carol", &["--json", "status"]);
        let second = json(&second);
        let build = step(&second, "build");
        assert_eq!(build["holder"], "bob");
        assert_eq!(build["claim"]["generation"], 2);
        assert_eq!(step(&second, "fresh")["holder"], "bob");
        // Only what changed was fetched: build's claim and status, fresh's claim and
        // status, bob's presence, alice's presence.
        assert!(counts[0] <= 8, "{counts:?}");

        // Deleting the cache changes nothing but the cost.
        std::fs::remove_dir_all(p.path().join(".cache/tracecraft")).unwrap();
        let (third, counts) = run_v(&p, "carol", &["--json", "status"]);
        assert!(counts[0] >= 22, "{counts:?}");
        let mut third = json(&third);
        let mut second = second;
        for v in [&mut second, &mut third] {
            v["generated_at"] = Value::Null;
            for a in v["agents"].as_array_mut().unwrap() {
                a["heartbeat_age_s"] = Value::Null;
                for c in a["claims"].as_array_mut().unwrap() {
                    c["lease_left_s"] = Value::Null;
                }
            }
            for s in v["steps"].as_array_mut().unwrap() {
                s["claim"]["lease_left_s"] = Value::Null;
            }
        }
        assert_eq!(third, second, "the same view without the cache");
    }
}
