//! Path reservations through the built binary on fs and SeaweedFS: ten processes reserving
//! overlapping patterns at once for five rounds (exactly one winner each, and the index
//! holds exactly the winners), shared reservations coexisting and refusing an exclusive
//! one, expiry with a short TTL (polled, not slept out), `unreserve` by owner, stranger
//! and `--force`, renewal by `renew` and `heartbeat`, and `status`. Then the git guard in
//! a temporary repository: the installed hook refuses a commit touching another agent's
//! reserved path, passes one outside it, passes with a warning under
//! `TRACECRAFT_GUARD=warn` and with the store unreachable (failing under `strict`), and
//! still runs the pre-commit hook that was there before.

mod support;

use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::cli::{Project, code, ok, stderr, stdout, valid_time};

const INDEX: &str = "reservations/index.json";

fn json_out(out: &Output) -> Value {
    serde_json::from_str(stdout(out).trim()).unwrap_or_else(|e| panic!("{e}: {}", stdout(out)))
}

fn entries(p: &Project) -> Vec<Value> {
    p.json(INDEX)
        .map(|v| v["reservations"].as_array().unwrap().clone())
        .unwrap_or_default()
}

#[test]
fn of_ten_concurrent_reservers_of_overlapping_paths_exactly_one_wins_each_round() {
    for p in Project::all() {
        let mut winners = Vec::new();
        for round in 0..5 {
            let agents: Vec<String> = (0..10).map(|i| format!("agent-{i}")).collect();
            // Three shapes that all overlap: a file, a glob over its directory, the directory.
            let patterns: Vec<String> = (0..10)
                .map(|i| match i % 3 {
                    0 => format!("r{round}/src/api.rs"),
                    1 => format!("r{round}/src/**"),
                    _ => format!("r{round}/src"),
                })
                .collect();
            let children: Vec<_> = agents
                .iter()
                .zip(&patterns)
                .map(|(agent, pattern)| {
                    p.std_cmd(agent)
                        .args(["--json", "reserve", pattern, "--reason", "round"])
                        .stdout(std::process::Stdio::piped())
                        .stderr(std::process::Stdio::piped())
                        .spawn()
                        .unwrap()
                })
                .collect();
            let outs: Vec<Output> = children
                .into_iter()
                .map(|c| c.wait_with_output().unwrap())
                .collect();
            let won: Vec<usize> = (0..10).filter(|&i| code(&outs[i]) == 0).collect();
            assert_eq!(won.len(), 1, "{:?} round {round}: exactly one wins", p.kind);
            let w = won[0];
            let granted = json_out(&outs[w]);
            assert_eq!(granted["reserved"], true);
            for (i, out) in outs.iter().enumerate().filter(|(i, _)| *i != w) {
                assert_eq!(code(out), 3, "{i}: {}", stderr(out));
                let err = stderr(out);
                assert!(
                    err.contains(&format!("reserved by {}", agents[w]))
                        && err.contains(&format!("pattern {}", patterns[w]))
                        && err.contains("left, reason: round"),
                    "{err}"
                );
                let refused = json_out(out);
                assert_eq!(refused["reserved"], false);
                assert_eq!(refused["conflicts"][0]["holder"], agents[w].as_str());
            }
            winners.push((
                agents[w].clone(),
                patterns[w].clone(),
                granted["id"].clone(),
            ));
        }
        let stored = entries(&p);
        assert_eq!(
            stored.len(),
            5,
            "the index holds exactly the winners: {stored:?}"
        );
        for (entry, (agent, pattern, id)) in stored.iter().zip(&winners) {
            assert_eq!(entry["agent"], agent.as_str());
            assert_eq!(entry["patterns"], serde_json::json!([pattern]));
            assert_eq!(entry["id"], *id);
            assert_eq!(entry["exclusive"], true);
            assert_eq!(entry["ttl_s"], 3600, "the default TTL is one hour");
            assert!(valid_time(&entry["created_at"]) && valid_time(&entry["expires_at"]));
        }
    }
}

#[test]
fn shared_reservations_coexist_and_an_exclusive_one_is_refused_against_them() {
    for p in Project::all() {
        ok(&p.run(
            "alice",
            &["reserve", "docs", "--shared", "--reason", "typos"],
        ));
        ok(&p.run("bob", &["reserve", "docs/*.md", "--shared"]));
        let out = p.run("carol", &["reserve", "docs/guide.md", "src/lib.rs"]);
        assert_eq!(code(&out), 3);
        let err = stderr(&out);
        assert!(
            err.contains("docs/guide.md: reserved by alice (shared reservation"),
            "{err}"
        );
        assert!(
            err.contains("pattern docs, ") && err.contains("reason: typos"),
            "{err}"
        );
        assert!(err.contains("reserved by bob (shared") && err.contains("pattern docs/*.md"));
        assert_eq!(
            entries(&p).len(),
            2,
            "all or nothing: src/lib.rs was not reserved"
        );
        // An exclusive reservation refuses a shared one too; the holder itself is never refused.
        ok(&p.run("carol", &["reserve", "src"]));
        assert_eq!(
            code(&p.run("alice", &["reserve", "src/lib.rs", "--shared"])),
            3
        );
        ok(&p.run("carol", &["reserve", "src/lib.rs", "--shared"]));

        let listed = json_out(&p.run("dave", &["--json", "reservations"]));
        assert_eq!(listed["reservations"].as_array().unwrap().len(), 4);
        let covering = json_out(&p.run("dave", &["--json", "reservations", "docs/a.md"]));
        let agents: Vec<&str> = covering["reservations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["agent"].as_str().unwrap())
            .collect();
        assert_eq!(agents, ["alice", "bob"]);
        let human = ok(&p.run("dave", &["reservations"]));
        assert!(human.starts_with("RESERVATIONS (4)"), "{human}");
        assert!(human.contains("alice") && human.contains("shared") && human.contains("typos"));
        let mine = json_out(&p.run("carol", &["--json", "reservations", "--mine"]));
        assert_eq!(mine["reservations"].as_array().unwrap().len(), 2);
        let status = json_out(&p.run("dave", &["--json", "status"]));
        assert_eq!(status["reservations"].as_array().unwrap().len(), 4);
        assert!(ok(&p.run("dave", &["status"])).contains("RESERVATIONS (4)"));
        // Bad patterns are usage errors that write nothing.
        let out = p.run("dave", &["reserve", "../etc"]);
        assert_eq!(code(&out), 2, "{}", stderr(&out));
        assert_eq!(entries(&p).len(), 4);
    }
}

#[test]
fn a_short_ttl_expires_and_renew_and_heartbeat_extend_reservations() {
    for p in Project::all() {
        ok(&p.run("alice", &["reserve", "src/a.rs", "--ttl", "1s"]));
        let started = Instant::now();
        loop {
            let live = json_out(&p.run("observer", &["--json", "reservations"]));
            if live["reservations"].as_array().unwrap().is_empty() {
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(30), "never expired");
            std::thread::sleep(Duration::from_millis(200));
        }
        assert!(
            started.elapsed() >= Duration::from_secs(2),
            "honoured past its end"
        );
        ok(&p.run("bob", &["reserve", "src"]));
        let stored = entries(&p);
        assert_eq!(stored.len(), 1, "the expired entry was dropped: {stored:?}");
        assert_eq!(stored[0]["agent"], "bob");

        // `reserve_ttl` from the config is the default.
        let mut config: Value =
            serde_json::from_slice(&std::fs::read(&p.config_path).unwrap()).unwrap();
        config["reserve_ttl"] = "10m".into();
        std::fs::write(&p.config_path, config.to_string()).unwrap();
        ok(&p.run("carol", &["reserve", "lib"]));
        let before = entries(&p)[1].clone();
        assert_eq!(before["ttl_s"], 600);
        std::thread::sleep(Duration::from_millis(20));
        let renewed = json_out(&p.run("carol", &["--json", "renew"]));
        assert_eq!(renewed["reservations"][0]["id"], before["id"]);
        let after = entries(&p)[1].clone();
        assert!(after["expires_at"].as_str() > before["expires_at"].as_str());
        std::thread::sleep(Duration::from_millis(20));
        let beat = ok(&p.run("carol", &["heartbeat"]));
        assert!(
            beat.contains(&format!(
                "Renewed reservation {} (lib) for 10m",
                before["id"].as_str().unwrap()
            )),
            "{beat}"
        );
        assert!(entries(&p)[1]["expires_at"].as_str() > after["expires_at"].as_str());
        assert_eq!(entries(&p)[0], stored[0], "bob's untouched");
    }
}

#[test]
fn unreserve_by_owner_by_a_stranger_and_with_force() {
    for p in Project::all() {
        let a = json_out(&p.run("alice", &["--json", "reserve", "src/a.rs", "src/b.rs"]));
        let id = a["id"].as_str().unwrap().to_string();
        let out = p.run("bob", &["unreserve", &id]);
        assert_eq!(code(&out), 3);
        assert!(stderr(&out).contains(&format!("{id}: reserved by alice, not you")));
        assert!(stderr(&out).contains("--force"));
        let out = p.run("bob", &["unreserve", "src/a.rs"]);
        assert_eq!(code(&out), 3, "a pattern held by someone else");
        assert_eq!(entries(&p).len(), 1);

        // The owner releases one pattern, then the rest.
        let out = ok(&p.run("alice", &["unreserve", "src/a.rs"]));
        assert_eq!(out.trim(), format!("Released {id} (src/a.rs)"));
        assert_eq!(entries(&p)[0]["patterns"], serde_json::json!(["src/b.rs"]));
        let out = p.run("alice", &["unreserve", "nothing/here"]);
        assert_eq!(code(&out), 3);
        assert!(stderr(&out).contains("nothing/here: no live reservation matches"));

        let out = ok(&p.run("bob", &["unreserve", &id, "--force"]));
        assert_eq!(
            out.trim(),
            format!("Released {id} (src/b.rs) (forced, held by alice)")
        );
        assert!(entries(&p).is_empty());
        ok(&p.run("alice", &["reserve", "x"]));
        ok(&p.run("alice", &["reserve", "y", "--shared"]));
        let out = ok(&p.run("alice", &["unreserve", "--all"]));
        assert_eq!(out.lines().count(), 2, "{out}");
        assert!(entries(&p).is_empty());
        assert_eq!(
            ok(&p.run("alice", &["unreserve", "--all"])).trim(),
            "No reservations to release."
        );
    }
}

/// `git` in `repo` with a clean environment, the tool's config and `agent`.
fn git(p: &Project, repo: &Path, agent: &str, args: &[&str]) -> std::process::Command {
    let mut cmd = std::process::Command::new("git");
    cmd.current_dir(repo)
        .args(["-c", "user.name=T", "-c", "user.email=t@example.com"])
        .args(args)
        .env("HOME", p.path())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("TRACECRAFT_CONFIG", &p.config_path)
        .env("TRACECRAFT_AGENT", agent)
        .env_remove("TRACECRAFT_GUARD");
    cmd
}

fn run(mut cmd: std::process::Command) -> Output {
    cmd.output().unwrap()
}

fn commit(p: &Project, repo: &Path, file: &str, env: &[(&str, &str)]) -> Output {
    let path = repo.join(file);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let old = std::fs::read_to_string(&path).unwrap_or_default();
    std::fs::write(&path, format!("{old}change\n")).unwrap();
    assert!(run(git(p, repo, "alice", &["add", file])).status.success());
    let mut cmd = git(p, repo, "alice", &["commit", "-q", "-m", file]);
    cmd.envs(env.iter().copied());
    run(cmd)
}

#[test]
fn the_installed_guard_refuses_commits_to_another_agents_reserved_paths() {
    let p = Project::fs();
    let repo = p.path().join("repo");
    std::fs::create_dir(&repo).unwrap();
    assert!(
        run(git(&p, &repo, "alice", &["init", "-q"]))
            .status
            .success()
    );
    // A pre-commit hook that was there first, and must keep running.
    let hooks = repo.join(".git/hooks");
    std::fs::create_dir_all(&hooks).unwrap();
    let existing = hooks.join("pre-commit");
    std::fs::write(
        &existing,
        "#!/bin/sh\necho ran >> \"$(git rev-parse --git-dir)/chained.log\"\n",
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&existing, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let out = p
        .cmd("alice")
        .current_dir(&repo)
        .args(["guard", "install"])
        .output()
        .unwrap();
    let said = ok(&out);
    assert!(
        said.contains("Installed the pre-commit hook") && said.contains("runs"),
        "{said}"
    );
    let chained_log = repo.join(".git/chained.log");
    let runs = || {
        std::fs::read_to_string(&chained_log)
            .unwrap_or_default()
            .lines()
            .count()
    };

    ok(&p.run(
        "bob",
        &["reserve", "src/api.rs", "--reason", "reworking the API"],
    ));
    // Outside the reservation: passes, and the old hook ran.
    let out = commit(&p, &repo, "README.md", &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(runs(), 1);

    // Inside it: refused, naming path, holder, pattern, time left and reason.
    let out = commit(&p, &repo, "src/api.rs", &[]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("src/api.rs: reserved by bob (exclusive reservation")
            && err.contains("pattern src/api.rs, ")
            && err.contains("m left, reason: reworking the API"),
        "{err}"
    );
    assert_eq!(runs(), 2);
    let staged = p
        .cmd("alice")
        .current_dir(&repo)
        .args(["guard", "check", "--staged"])
        .output()
        .unwrap();
    assert_eq!(code(&staged), 3, "{}", stderr(&staged));
    // A path typed from a subdirectory is mapped into the repository.
    let check = p
        .cmd("alice")
        .current_dir(repo.join("src"))
        .args(["guard", "check", "api.rs"])
        .output()
        .unwrap();
    assert_eq!(code(&check), 3, "{}", stderr(&check));
    // The holder itself commits freely.
    let out = run(git(&p, &repo, "bob", &["commit", "-q", "-m", "bob's"]));
    assert!(out.status.success(), "{}", stderr(&out));

    // warn never blocks, but says why.
    let out = commit(&p, &repo, "src/api.rs", &[("TRACECRAFT_GUARD", "warn")]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("Warning: src/api.rs: reserved by bob"),
        "{}",
        stderr(&out)
    );

    // A store that cannot be reached: a warning and through, unless strict.
    let unreachable = p.path().join("unreachable.json");
    let mut config: Value =
        serde_json::from_slice(&std::fs::read(&p.config_path).unwrap()).unwrap();
    config["root"] = p.path().join("not-a-dir.txt").display().to_string().into();
    std::fs::write(p.path().join("not-a-dir.txt"), "a file, not a directory").unwrap();
    std::fs::write(&unreachable, config.to_string()).unwrap();
    let cfg = unreachable.to_str().unwrap();
    let out = commit(&p, &repo, "src/api.rs", &[("TRACECRAFT_CONFIG", cfg)]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("Warning: cannot check reservations"),
        "{}",
        stderr(&out)
    );
    let strict = [("TRACECRAFT_CONFIG", cfg), ("TRACECRAFT_GUARD", "strict")];
    let out = commit(&p, &repo, "src/api.rs", &strict);
    assert!(
        !out.status.success(),
        "strict blocks when the store cannot be reached"
    );

    // Uninstall puts the old hook back.
    ok(&p
        .cmd("alice")
        .current_dir(&repo)
        .args(["guard", "uninstall"])
        .output()
        .unwrap());
    assert_eq!(
        std::fs::read_to_string(&existing).unwrap(),
        "#!/bin/sh\necho ran >> \"$(git rev-parse --git-dir)/chained.log\"\n"
    );
    let out = commit(&p, &repo, "src/api.rs", &[]);
    assert!(out.status.success(), "no guard any more: {}", stderr(&out));
}
