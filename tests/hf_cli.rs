//! The hf backend through the built binary, against the fake Hub: private-by-default bucket
//! creation, `--public`, the warning for an existing public bucket, and best-effort claims
//! that say so.

#![cfg(feature = "hf")]

mod support;

use support::cli::{stderr, stdout};
use support::fake_hub::FakeHub;

const TOKEN: &str = "hf_cli_test_token_0123456789abcdef";

struct HfProject {
    hub: FakeHub,
    dir: tempfile::TempDir,
}

impl HfProject {
    fn new() -> Self {
        HfProject {
            hub: FakeHub::start(TOKEN),
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn cmd(&self, agent: &str) -> assert_cmd::Command {
        let mut cmd = assert_cmd::Command::new(env!("CARGO_BIN_EXE_tracecraft"));
        cmd.current_dir(self.dir.path())
            .env("HOME", self.dir.path())
            .env("TRACECRAFT_AGENT", agent)
            .env_remove("TRACECRAFT_CONFIG")
            .env_remove("HF_TOKEN")
            .env_remove("HF_ENDPOINT");
        cmd
    }

    fn init(&self, bucket: &str, extra: &[&str]) -> std::process::Output {
        let mut cmd = self.cmd("alice");
        cmd.args([
            "init",
            "--backend",
            "hf",
            "--bucket",
            bucket,
            "--endpoint",
            self.hub.endpoint(),
        ])
        .args(["--hf-token", TOKEN, "--project", "demo", "--agent", "alice"])
        .args(extra);
        cmd.output().unwrap()
    }
}

#[test]
fn init_creates_a_private_bucket_and_reads_visibility_back() {
    let p = HfProject::new();
    let out = p.init("tester/team", &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("Initialized project 'demo' as agent 'alice'"),
        "{text}"
    );
    assert!(text.contains("Backend: hf"), "{text}");
    assert!(text.contains("visibility: private"), "{text}");
    assert_eq!(p.hub.bucket_private("tester/team"), Some(true));
    assert!(
        stderr(&out).contains("best-effort"),
        "init warns that claims are best-effort: {}",
        stderr(&out)
    );
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(p.dir.path().join(".tracecraft.json")).unwrap())
            .unwrap();
    assert_eq!(config["backend"], "hf");
    assert_eq!(config["bucket"], "tester/team");
    assert!(
        p.hub
            .files("tester/team")
            .iter()
            .any(|f| f == "demo/agents/alice.json"),
        "presence registered"
    );
}

#[test]
fn public_flag_creates_a_public_bucket() {
    let p = HfProject::new();
    let out = p.init("tester/open", &["--public"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("visibility: public"));
    assert_eq!(p.hub.bucket_private("tester/open"), Some(false));
}

#[test]
fn an_existing_public_bucket_is_warned_about() {
    let p = HfProject::new();
    p.hub.create_bucket("tester/already", false);
    let out = p.init("tester/already", &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("visibility: public"),
        "the real visibility, not the flag"
    );
    assert!(stderr(&out).contains("PUBLIC"), "{}", stderr(&out));
    assert_eq!(
        p.hub.bucket_private("tester/already"),
        Some(false),
        "visibility kept"
    );
}

#[test]
fn a_wrong_token_fails_init_and_writes_no_config() {
    let p = HfProject::new();
    let mut cmd = p.cmd("alice");
    cmd.args([
        "init",
        "--backend",
        "hf",
        "--bucket",
        "tester/x",
        "--endpoint",
        p.hub.endpoint(),
    ])
    .args([
        "--hf-token",
        "hf_wrong",
        "--project",
        "demo",
        "--agent",
        "alice",
    ]);
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("Error: "), "{}", stderr(&out));
    assert!(
        !p.dir.path().join(".tracecraft.json").exists(),
        "a failed init writes no config"
    );
}

#[test]
fn claims_are_best_effort_and_say_so() {
    let p = HfProject::new();
    assert!(p.init("tester/claims", &[]).status.success());
    let out = p.cmd("alice").args(["claim", "step-1"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), "Claimed step step-1 as alice");
    let err = stderr(&out);
    assert!(
        err.contains("best-effort") && err.contains("S3 gateway"),
        "names the fix: {err}"
    );
    let out = p.cmd("bob").args(["claim", "step-1"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3), "a held step is still refused");
    assert!(stderr(&out).contains("already claimed by alice"));
    let out = p
        .cmd("bob")
        .args(["step-status", "step-1"])
        .output()
        .unwrap();
    assert_eq!(stdout(&out).trim(), "step-1: in_progress (agent: alice)");
}

#[test]
fn leases_expire_and_takeover_is_best_effort_and_says_so() {
    let p = HfProject::new();
    assert!(p.init("tester/leases", &[]).status.success());
    let run = |agent: &str, args: &[&str]| p.cmd(agent).args(args).output().unwrap();
    // Timed from before the claim is written: on a loaded machine the claim and the
    // step-status below can take over a second, which is not time the lease waited.
    let started = std::time::Instant::now();
    let out = run("alice", &["claim", "s", "--ttl", "1s"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let claim: serde_json::Value =
        serde_json::from_str(stdout(&run("bob", &["--json", "step-status", "s"])).trim()).unwrap();
    assert_eq!(claim["claim"]["generation"], 1);
    assert_eq!(claim["claim"]["lease"]["ttl_s"], 1);

    // Native buckets have no store clock: the writer's expires_at against ours.
    let out = loop {
        let out = run("bob", &["claim", "s", "--ttl", "1m"]);
        if out.status.success() {
            break out;
        }
        assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
        assert!(started.elapsed().as_secs() < 30, "never expired");
        std::thread::sleep(std::time::Duration::from_millis(250));
    };
    assert!(
        started.elapsed().as_millis() >= 2000,
        "not before the lease and the skew allowance ran out: {:?}",
        started.elapsed()
    );
    assert!(stdout(&out).contains("Took over from alice (generation 1 → 2)"));
    assert!(stderr(&out).contains("best-effort"), "{}", stderr(&out));

    let out = run("bob", &["renew", "s"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run("alice", &["complete", "s"]);
    assert_eq!(out.status.code(), Some(3), "fenced: {}", stderr(&out));
    let out = run("bob", &["release", "s"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&run("alice", &["step-status", "s"])).trim(),
        "s: pending"
    );
}
