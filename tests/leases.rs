//! Leases through the built binary on fs and SeaweedFS: fresh claim fields, a live lease
//! blocking others, takeover after expiry by exactly one of five concurrent processes,
//! renew by the holder and by a stranger, release then claim, fenced writes after a
//! takeover (nothing changes), and heartbeat. Expiry is waited for by polling the store
//! (`step-status --json`), never by fixed sleeps.

mod support;

use std::time::{Duration, Instant};

use serde_json::Value;
use support::cli::{Project, announce, code, ok, stderr, stdout, valid_time};

fn json_out(out: &std::process::Output) -> Value {
    serde_json::from_str(stdout(out).trim()).unwrap_or_else(|e| panic!("{e}: {}", stdout(out)))
}

/// Polls the store until the claim on `step` may be taken over (expired past the skew
/// allowance, as `step-status` judges it); returns how long that took.
fn wait_takeable(p: &Project, step: &str) -> Duration {
    let started = Instant::now();
    loop {
        let v = json_out(&p.run("observer", &["--json", "step-status", step]));
        let claim = &v["claim"];
        if claim["state"] == "expired" && claim["lease_left_s"].as_i64().unwrap() <= -3 {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the lease on {step} never expired: {v}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn a_fresh_claim_records_lease_generation_and_token_and_blocks_others() {
    for p in Project::all() {
        let out = p.run("alice", &["claim", "build", "--ttl", "10m"]);
        assert_eq!(
            ok(&out).trim(),
            "Claimed step build as alice (lease 10m, renew before it runs out)"
        );
        let claim = p.json("steps/build/claim.json").unwrap();
        assert_eq!(claim["agent"], "alice");
        assert_eq!(claim["generation"], 1);
        assert_eq!(claim["lease"]["ttl_s"], 600);
        assert!(valid_time(&claim["lease"]["expires_at"]), "{claim}");
        let token = claim["token"].as_str().unwrap();
        assert!(token.len() == 32 && token.bytes().all(|b| b.is_ascii_hexdigit()));

        let out = p.run("bob", &["claim", "build", "--ttl", "10m"]);
        assert_eq!(code(&out), 3, "a live lease blocks others");
        let err = stderr(&out);
        assert!(
            err.contains("already claimed by alice (generation 1, ") && err.contains("m left"),
            "{err}"
        );
        assert_eq!(
            p.json("steps/build/claim.json").unwrap(),
            claim,
            "unchanged"
        );

        // The config's default applies without --ttl; without either, no lease at all.
        let mut config: Value =
            serde_json::from_slice(&std::fs::read(&p.config_path).unwrap()).unwrap();
        config["claim_ttl"] = "45s".into();
        std::fs::write(&p.config_path, config.to_string()).unwrap();
        ok(&p.run("alice", &["claim", "test"]));
        assert_eq!(
            p.json("steps/test/claim.json").unwrap()["lease"]["ttl_s"],
            45
        );
        config.as_object_mut().unwrap().remove("claim_ttl");
        std::fs::write(&p.config_path, config.to_string()).unwrap();
        ok(&p.run("alice", &["claim", "docs"]));
        // Without a lease, the document is exactly the Python tool's.
        let plain = p.json("steps/docs/claim.json").unwrap();
        let fields: Vec<&String> = plain.as_object().unwrap().keys().collect();
        assert_eq!(fields, ["agent", "claimed_at"]);

        // `agents` and `status` show each claim's holder, generation and time left.
        let agents = json_out(&p.run("bob", &["--json", "agents"]));
        let alice = &agents["agents"].as_array().unwrap()[0];
        assert_eq!(alice["id"], "alice");
        let claims = alice["claims"].as_array().unwrap();
        assert_eq!(claims.len(), 3, "{alice}");
        let build = claims.iter().find(|c| c["id"] == "build").unwrap();
        assert_eq!(build["generation"], 1);
        assert!((590..=600).contains(&build["lease_left_s"].as_i64().unwrap()));
        let human = stdout(&p.run("bob", &["agents"]));
        assert!(human.contains("build (gen 1, 10m left)"), "{human}");
        let status = json_out(&p.run("bob", &["--json", "status"]));
        let step = status["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == "build")
            .unwrap();
        assert_eq!(step["holder"], "alice");
        assert_eq!(step["claim"]["generation"], 1);
        assert_eq!(step["claim"]["state"], "leased");

        // Bad TTLs are usage errors that write nothing.
        let out = p.run("alice", &["claim", "other", "--ttl", "soon"]);
        assert_eq!(code(&out), 2, "{}", stderr(&out));
        assert!(p.json("steps/other/claim.json").is_none());
    }
}

#[test]
fn after_expiry_exactly_one_of_five_concurrent_claimers_takes_over() {
    for p in Project::all() {
        ok(&p.run("alice", &["claim", "deploy", "--ttl", "1s"]));
        let waited = wait_takeable(&p, "deploy");
        let takers: Vec<String> = (0..5).map(|i| format!("taker-{i}")).collect();
        let outs = p.race(&takers, &["claim", "deploy", "--ttl", "1m"]);
        let winners: Vec<usize> = (0..5).filter(|&i| code(&outs[i]) == 0).collect();
        assert_eq!(winners.len(), 1, "{:?}: exactly one taker wins", p.kind);
        let winner = format!("taker-{}", winners[0]);
        let said = stdout(&outs[winners[0]]);
        assert!(
            said.contains("Took over from alice (generation 1 → 2): its lease expired"),
            "{said}"
        );
        for (i, o) in outs.iter().enumerate().filter(|(i, _)| *i != winners[0]) {
            assert_eq!(code(o), 3, "taker-{i}: {}", stderr(o));
            assert!(
                stderr(o).contains(&format!("already claimed by {winner}")),
                "losers name the new holder: {}",
                stderr(o)
            );
        }
        let claim = p.json("steps/deploy/claim.json").unwrap();
        assert_eq!(claim["agent"], winner.as_str());
        assert_eq!(claim["generation"], 2);
        assert_eq!(claim["previous_holder"], "alice");
        let status = p.json("steps/deploy/status.json").unwrap();
        assert_eq!(
            (status["status"].as_str(), status["agent"].as_str()),
            (Some("in_progress"), Some(winner.as_str()))
        );
        announce(&format!(
            "takeover {:?}: waited {waited:?} for expiry, winner {winner}, 4 losers",
            p.kind
        ));
    }
}

#[test]
fn renew_by_the_holder_changes_the_version_and_a_stranger_is_refused() {
    for p in Project::all() {
        ok(&p.run("alice", &["claim", "a", "--ttl", "30s"]));
        ok(&p.run("alice", &["claim", "b", "--ttl", "30s"]));
        ok(&p.run("alice", &["claim", "plain"]));
        let before = p.object("steps/a/claim.json").unwrap();
        let out = p.run("alice", &["renew", "a", "--ttl", "2m"]);
        assert_eq!(ok(&out).trim(), "Renewed a for 2m (generation 1)");
        let after = p.json("steps/a/claim.json").unwrap();
        assert_ne!(serde_json::to_vec(&after).unwrap(), before);
        assert_eq!(after["lease"]["ttl_s"], 120);
        assert!(valid_time(&after["lease"]["renewed_at"]));

        let out = p.run("bob", &["renew", "a"]);
        assert_eq!(code(&out), 3);
        assert!(
            stderr(&out).contains("you no longer hold step a: alice does"),
            "{}",
            stderr(&out)
        );
        assert_eq!(p.json("steps/a/claim.json").unwrap(), after, "unchanged");

        // No steps: every leased claim of the caller, and only those.
        let v = json_out(&p.run("alice", &["--json", "renew"]));
        let mut ids: Vec<&str> = v["renewed"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap())
            .collect();
        ids.sort();
        assert_eq!(ids, ["a", "b"]);
        let out = p.run("alice", &["renew", "plain"]);
        assert_eq!(code(&out), 2, "no lease to renew: {}", stderr(&out));
        ok(&p.run("alice", &["renew", "plain", "--ttl", "5m"]));
        assert_eq!(
            p.json("steps/plain/claim.json").unwrap()["lease"]["ttl_s"],
            300
        );
    }
}

#[test]
fn release_then_claim_takes_over_at_once_with_the_next_generation() {
    for p in Project::all() {
        ok(&p.run("alice", &["claim", "lint", "--ttl", "10m"]));
        let out = p.run("bob", &["release", "lint"]);
        assert_eq!(code(&out), 3);
        assert!(stderr(&out).contains("held by alice"), "{}", stderr(&out));

        ok(&p.run("alice", &["claim", "keep", "--ttl", "10m"]));
        let out = p.run("alice", &["release", "lint"]);
        assert_eq!(ok(&out).trim(), "Released step lint (generation 1)");
        assert_eq!(
            p.json("agents/alice.json").unwrap()["step"],
            "keep",
            "releasing one step leaves the agent's current step alone"
        );
        assert_eq!(
            stdout(&p.run("bob", &["step-status", "lint"])).trim(),
            "lint: pending"
        );
        assert_eq!(
            p.json("steps/lint/status.json").unwrap()["status"],
            "pending"
        );
        let released = p.json("steps/lint/claim.json").unwrap();
        assert!(valid_time(&released["released_at"]));
        let out = p.run("alice", &["release", "lint"]);
        assert_eq!(code(&out), 3, "released twice");

        let started = Instant::now();
        let out = p.run("bob", &["claim", "lint", "--ttl", "10m"]);
        assert!(
            ok(&out).contains("Took over from alice (generation 1 → 2): they had released it"),
            "{}",
            stdout(&out)
        );
        assert!(started.elapsed() < Duration::from_secs(10), "at once");
        let claim = p.json("steps/lint/claim.json").unwrap();
        assert_eq!(
            (claim["agent"].as_str(), claim["generation"].as_i64()),
            (Some("bob"), Some(2))
        );
        assert!(claim.get("released_at").is_none());
        assert_eq!(
            stdout(&p.run("alice", &["step-status", "lint"])).trim(),
            "lint: in_progress (agent: bob) · claim generation 2, 10m left"
        );
    }
}

#[test]
fn writes_by_a_holder_whose_claim_was_taken_over_are_fenced() {
    for p in Project::all() {
        ok(&p.run("alice", &["claim", "api", "--ttl", "1s"]));
        wait_takeable(&p, "api");
        ok(&p.run("bob", &["claim", "api", "--ttl", "10m"]));
        let claim = p.object("steps/api/claim.json").unwrap();
        let status = p.object("steps/api/status.json").unwrap();

        let out = p.run("alice", &["complete", "api", "--note", "done"]);
        assert_eq!(code(&out), 3);
        assert!(
            stderr(&out).contains("claimed by bob") && stderr(&out).contains("taken over"),
            "{}",
            stderr(&out)
        );
        let out = p.run("alice", &["send", "carol", "api is done", "--step", "api"]);
        assert_eq!(code(&out), 3, "{}", stderr(&out));
        assert!(
            stderr(&out).contains("taken over by bob"),
            "{}",
            stderr(&out)
        );
        let file = p.path().join("report.txt");
        std::fs::write(&file, "numbers").unwrap();
        let out = p.run(
            "alice",
            &[
                "artifact",
                "upload",
                file.to_str().unwrap(),
                "--step",
                "api",
            ],
        );
        assert_eq!(code(&out), 3, "{}", stderr(&out));

        // Nothing changed: claim, status, handoff, messages, artifacts.
        assert_eq!(p.object("steps/api/claim.json").unwrap(), claim);
        assert_eq!(p.object("steps/api/status.json").unwrap(), status);
        assert!(p.object("steps/api/handoff.json").is_none());
        assert!(p.keys("messages/").is_empty());
        assert!(p.keys("artifacts/").is_empty());
        // A bystander may still talk about the step.
        ok(&p.run("carol", &["send", "bob", "how is api?", "--step", "api"]));

        // The holder completes; the finished claim is never taken over.
        ok(&p.run("bob", &["complete", "api"]));
        let finished = p.json("steps/api/claim.json").unwrap();
        assert_eq!(finished["finished_status"], "complete");
        assert!(finished.get("lease").is_none());
        let out = p.run("carol", &["claim", "api"]);
        assert_eq!(code(&out), 3);
        // Scripts written for the Python tool look for `already claimed by H`.
        assert!(
            stderr(&out).contains("Error: Step api already claimed by bob: it is complete"),
            "{}",
            stderr(&out)
        );

        // --force still works and is recorded.
        ok(&p.run("alice", &["complete", "api", "--force", "--needs-review"]));
        let handoff = p.json("steps/api/handoff.json").unwrap();
        assert_eq!(handoff["forced"], true);
        assert_eq!(handoff["previous_holder"], "bob");
    }
}

#[test]
fn heartbeat_refreshes_presence_renews_leases_and_reports_a_lost_one() {
    for p in Project::all() {
        ok(&p.run("alice", &["claim", "x", "--ttl", "30s"]));
        ok(&p.run("alice", &["claim", "y", "--ttl", "1s"]));
        let x_before = p.object("steps/x/claim.json").unwrap();
        let out = p.run(
            "alice",
            &["--json", "heartbeat", "--summary", "writing tests"],
        );
        let v = json_out(&out);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        assert_eq!(v["renewed"].as_array().unwrap().len(), 2, "{v}");
        assert_ne!(p.object("steps/x/claim.json").unwrap(), x_before);
        let me = p.json("agents/alice.json").unwrap();
        assert_eq!(me["summary"], "writing tests");
        assert_eq!(me["heartbeat"], v["heartbeat"]);

        // y runs out and bob takes it; alice's next heartbeat says so and exits 3.
        wait_takeable(&p, "y");
        ok(&p.run("bob", &["claim", "y", "--ttl", "1m"]));
        let out = p.run("alice", &["heartbeat"]);
        assert_eq!(code(&out), 3, "{}", stdout(&out));
        assert!(
            stdout(&out).contains("Lost y: now held by bob"),
            "{}",
            stdout(&out)
        );
        assert!(
            stdout(&out).contains("Renewed x for 30s"),
            "{}",
            stdout(&out)
        );
        assert!(stderr(&out).contains("you no longer hold step y: bob does"));
        assert_eq!(p.json("steps/y/claim.json").unwrap()["agent"], "bob");
    }
}
