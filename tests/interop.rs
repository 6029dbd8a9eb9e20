//! Interoperability with the Python tool of the same name (`tracecraft-ai` 0.2.5 on PyPI):
//! both tools on ONE project in one SeaweedFS bucket must see each other's claims, messages,
//! memory and completed steps, in both directions (contract sections 2, 3, 6 and 7).
//!
//! The Python tool comes from `scripts/lib/pytool.sh` (`pytool_install`), which exports
//! `TRACECRAFT_TEST_PYTHON_TOOL`; the S3 server from `scripts/lib/seaweedfs.sh`. Without
//! either the tests skip with a printed reason, except under `CI=true`, where they fail.
//! Each Python call costs about half a second, so every test batches its checks on one
//! shared project.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::cli::{Kind, Project, S3_BUCKET, announce, code, s3_env, stderr, stdout};

/// The agent driven by the Python tool (an `_` inside, as key parsers must allow).
const PY: &str = "py_ana";
/// The agent driven by our binary (a `.` inside, as key parsers must allow).
const RS: &str = "rs.bob";
const PYTHON_TOOL_VERSION: &str = "0.2.5";

// --- fixtures ------------------------------------------------------------------------

/// The Python tool, initialised in its own working directory and HOME on the project of a
/// Rust fixture.
struct Python {
    bin: PathBuf,
    dir: tempfile::TempDir,
    region: String,
}

impl Python {
    /// The command run as `agent`, isolated from the caller's config and AWS settings.
    fn cmd(&self, agent: &str) -> Command {
        let mut cmd =
            support::python_tool::command(&self.bin, self.dir.path(), agent, &self.region);
        cmd.stdin(Stdio::null());
        cmd
    }

    fn run(&self, agent: &str, args: &[&str]) -> Output {
        self.cmd(agent).args(args).output().unwrap()
    }
}

/// One project in the shared test bucket, used by both tools.
struct Shared {
    p: Project,
    py: Python,
}

/// `TRACECRAFT_TEST_PYTHON_TOOL`, or `None` (with a printed reason) outside CI.
fn python_tool() -> Option<PathBuf> {
    match std::env::var("TRACECRAFT_TEST_PYTHON_TOOL") {
        Ok(path) if !path.is_empty() => Some(PathBuf::from(path)),
        _ => {
            let reason = "no Python tool: TRACECRAFT_TEST_PYTHON_TOOL is not set \
                          (source scripts/lib/pytool.sh and run pytool_install)";
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("{reason}; under CI=true the interop tests must run");
            }
            announce(&format!("SKIPPED (interop): {reason}"));
            None
        }
    }
}

/// A Rust project on the S3 test server plus the Python tool initialised on the same
/// bucket and project; `None` when either is unavailable outside CI.
fn shared() -> Option<Shared> {
    let bin = python_tool()?;
    let p = Project::new(Kind::S3)?;
    let (endpoint, access_key, secret_key) = s3_env()?;
    let region = std::env::var("TRACECRAFT_TEST_S3_REGION")
        .ok()
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| "us-east-1".into());
    let py = Python {
        bin,
        dir: tempfile::tempdir().unwrap(),
        region,
    };
    let out = py.run(
        PY,
        &[
            "init",
            "--backend",
            "s3",
            "--endpoint",
            &endpoint,
            "--bucket",
            S3_BUCKET,
            "--project",
            &p.name,
            "--agent",
            PY,
            "--access-key",
            &access_key,
            "--secret-key",
            &secret_key,
        ],
    );
    let text = py_ok(&out);
    assert!(
        text.contains(&format!("Initialized project '{}' as agent '{PY}'", p.name)),
        "{text}"
    );
    // Python's init registered its agent in the project our binary uses.
    let presence = p
        .json(&format!("agents/{PY}.json"))
        .expect("python presence");
    assert_eq!(presence["id"], PY);
    Some(Shared { p, py })
}

// --- assertions ----------------------------------------------------------------------

fn show(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        stdout(out),
        stderr(out)
    )
}

/// Our binary succeeded; its stdout.
#[track_caller]
fn rs_ok(out: &Output) -> String {
    assert_eq!(code(out), 0, "rust tool failed: {}", show(out));
    stdout(out)
}

/// The Python tool succeeded; its stdout.
#[track_caller]
fn py_ok(out: &Output) -> String {
    assert_eq!(code(out), 0, "python tool failed: {}", show(out));
    stdout(out)
}

/// The command exited with `expected`; its stderr.
#[track_caller]
fn failed(out: &Output, expected: i32) -> String {
    assert_eq!(code(out), expected, "{}", show(out));
    stderr(out)
}

fn fields(doc: &Value) -> BTreeSet<String> {
    doc.as_object()
        .expect("a JSON object")
        .keys()
        .cloned()
        .collect()
}

/// Both tools write a document with the same fields (contract section 3).
#[track_caller]
fn same_fields(what: &str, python: &Value, rust: &Value) {
    assert_eq!(
        fields(python),
        fields(rust),
        "{what}: python wrote {python}, rust wrote {rust}"
    );
}

/// Our timestamps have the Python tool's form: `2026-11-21T10:28:42.017355+00:00`.
#[track_caller]
fn python_like_timestamp(ts: &Value) {
    let s = ts.as_str().expect("a timestamp string");
    assert!(
        s.len() == 32 && s.ends_with("+00:00") && s.as_bytes()[19] == b'.',
        "timestamp {s:?}"
    );
}

/// `key` is `<prefix><ts_ns:19 digits>_<sender>_<uuid8>.json` (contract section 2).
#[track_caller]
fn append_key(key: &str, prefix: &str, sender: &str) {
    let stem = key
        .strip_prefix(prefix)
        .and_then(|n| n.strip_suffix(".json"))
        .unwrap_or_else(|| panic!("{key} is not a .json key under {prefix}"));
    let (ts, rest) = stem.split_once('_').expect("ts_sender_uuid");
    let (who, uuid8) = rest.rsplit_once('_').expect("sender_uuid");
    assert!(
        ts.len() == 19 && ts.bytes().all(|b| b.is_ascii_digit()),
        "{key}"
    );
    assert_eq!(who, sender, "{key}");
    assert!(
        uuid8.len() == 8 && uuid8.bytes().all(|b| b.is_ascii_hexdigit()),
        "{key}"
    );
}

/// The only key under `prefix` whose name carries `sender`.
#[track_caller]
fn key_from(p: &Project, prefix: &str, sender: &str) -> String {
    let keys: Vec<String> = p
        .keys(prefix)
        .into_iter()
        .filter(|k| {
            k.strip_prefix(prefix)
                .is_some_and(|n| n.contains(&format!("_{sender}_")))
        })
        .collect();
    assert_eq!(keys.len(), 1, "keys from {sender} under {prefix}: {keys:?}");
    keys.into_iter().next().unwrap()
}

/// The inbox line both tools print for a stored message.
fn inbox_line(doc: &Value, kind: &str) -> String {
    let step = doc["step"]
        .as_str()
        .map(|s| format!(" [step {s}]"))
        .unwrap_or_default();
    format!(
        "[{}] ({kind}) {}{step}: {}",
        doc["sent_at"].as_str().unwrap(),
        doc["from"].as_str().unwrap(),
        doc["message"].as_str().unwrap()
    )
}

fn lines(expected: &[String]) -> String {
    expected.iter().map(|l| format!("{l}\n")).collect()
}

fn parse_json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

// --- tests ---------------------------------------------------------------------------

#[test]
fn claims_are_exclusive_across_tools_and_step_ids_normalise_alike() {
    let Some(Shared { p, py }) = shared() else {
        return;
    };
    let version = py_ok(&py.run(PY, &["--version"]));
    assert!(
        version.contains(PYTHON_TOOL_VERSION),
        "TRACECRAFT_TEST_PYTHON_TOOL is not tracecraft-ai {PYTHON_TOOL_VERSION}: {version}"
    );

    // Python claims; our binary sees the claim under the same normalised id.
    assert_eq!(
        py_ok(&py.run(PY, &["claim", "Build.API.v2"])),
        format!("Claimed step Build.API.v2 as {PY}\n")
    );
    let py_claim = p
        .json("steps/build-api-v2/claim.json")
        .expect("python stores the claim under the normalised id");
    assert_eq!(py_claim["agent"], PY);
    for typed in ["Build.API.v2", "build-api-v2", "BUILD.api.V2"] {
        let err = failed(&p.run(RS, &["claim", typed]), 3);
        assert!(
            err.contains(&format!("Step {typed} already claimed by {PY}")),
            "{err}"
        );
    }
    assert_eq!(
        p.json("steps/build-api-v2/claim.json").unwrap(),
        py_claim,
        "a refused claim leaves the holder's claim alone"
    );
    assert_eq!(
        rs_ok(&p.run(RS, &["step-status", "Build.Api.V2"])),
        format!("Build.Api.V2: in_progress (agent: {PY})\n")
    );
    // Only the holder completes: our binary refuses with exit 3 and writes nothing.
    let err = failed(&p.run(RS, &["complete", "build.api.v2"]), 3);
    assert!(err.contains(&format!("claimed by {PY}")), "{err}");
    assert_eq!(
        p.json("steps/build-api-v2/status.json").unwrap()["status"],
        "in_progress"
    );
    assert!(p.json("steps/build-api-v2/handoff.json").is_none());

    // Non-ASCII ids lower-case alike too (final sigma included).
    py_ok(&py.run(PY, &["claim", "Ünï.ΟΔΟΣ"]));
    assert_eq!(p.json("steps/ünï-οδος/claim.json").unwrap()["agent"], PY);
    let err = failed(&p.run(RS, &["claim", "ÜNÏ.ΟΔΟΣ"]), 3);
    assert!(err.contains(&format!("already claimed by {PY}")), "{err}");

    // Our binary claims; the Python tool sees it and fails (exit 1) naming our agent.
    assert_eq!(
        rs_ok(&p.run(RS, &["claim", "Deploy.Prod"])),
        format!("Claimed step Deploy.Prod as {RS}\n")
    );
    let rs_claim = p.json("steps/deploy-prod/claim.json").unwrap();
    assert_eq!(rs_claim["agent"], RS);
    same_fields("claim.json", &py_claim, &rs_claim);
    python_like_timestamp(&rs_claim["claimed_at"]);
    same_fields(
        "status.json (claimed)",
        &p.json("steps/build-api-v2/status.json").unwrap(),
        &p.json("steps/deploy-prod/status.json").unwrap(),
    );
    for typed in ["deploy.prod", "DEPLOY-PROD"] {
        let err = failed(&py.run(PY, &["claim", typed]), 1);
        assert!(
            err.contains(&format!("Error: Step {typed} already claimed by {RS}")),
            "{err}"
        );
    }
    assert_eq!(p.json("steps/deploy-prod/claim.json").unwrap(), rs_claim);
    assert_eq!(
        py_ok(&py.run(PY, &["step-status", "Deploy.PROD"])),
        format!("Deploy.PROD: in_progress (agent: {RS})\n")
    );
    let err = failed(&py.run(PY, &["complete", "deploy-prod"]), 1);
    assert!(err.contains(&format!("claimed by '{RS}'")), "{err}");
    assert_eq!(
        p.json("steps/deploy-prod/status.json").unwrap()["status"],
        "in_progress"
    );

    // Both tools race for one fresh step: exactly one claimer wins, and the claim names it.
    // The Python processes start first, since they take longer to get going.
    let mut racers: Vec<(String, std::process::Child)> = Vec::new();
    for agent in ["py-racer-1", "py-racer-2"] {
        let child = py
            .cmd(agent)
            .args(["claim", "Race.Step"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        racers.push((agent.to_string(), child));
    }
    std::thread::sleep(Duration::from_millis(300));
    for agent in ["rs-racer-1", "rs-racer-2"] {
        let child = p
            .std_cmd(agent)
            .args(["claim", "race.step"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        racers.push((agent.to_string(), child));
    }
    let results: Vec<(String, Output)> = racers
        .into_iter()
        .map(|(a, c)| (a, c.wait_with_output().unwrap()))
        .collect();
    let winners: Vec<&str> = results
        .iter()
        .filter(|(_, o)| code(o) == 0)
        .map(|(a, _)| a.as_str())
        .collect();
    assert_eq!(winners.len(), 1, "exactly one winner: {results:?}");
    let winner = winners[0];
    for (agent, out) in &results {
        if agent == winner {
            continue;
        }
        let loser_code = if agent.starts_with("py-") { 1 } else { 3 };
        let err = failed(out, loser_code);
        assert!(
            err.contains(&format!("already claimed by {winner}")),
            "{err}"
        );
    }
    assert_eq!(
        p.json("steps/race-step/claim.json").unwrap()["agent"],
        winner
    );
}

#[test]
fn messages_cross_between_tools_in_both_directions() {
    let Some(Shared { p, py }) = shared() else {
        return;
    };
    let rs_box = format!("messages/{RS}/");
    let py_box = format!("messages/{PY}/");
    let broadcasts = "messages/_broadcast/";

    assert_eq!(
        py_ok(&py.run(
            PY,
            &["send", RS, "hello from python", "--step", "Phase.One"]
        )),
        format!("Sent to {RS}: hello from python\n")
    );
    assert_eq!(
        py_ok(&py.run(PY, &["send", "_broadcast", "python to all"])),
        "Sent to _broadcast: python to all\n"
    );
    assert_eq!(
        rs_ok(&p.run(RS, &["send", PY, "hello from rust", "--step", "Phase.Two"])),
        format!("Sent to {PY}: hello from rust\n")
    );
    assert_eq!(
        rs_ok(&p.run(RS, &["send", "_broadcast", "rust to all"])),
        "Sent to _broadcast: rust to all\n"
    );

    // The stored messages: same key scheme and fields from both tools.
    let py_direct_key = key_from(&p, &rs_box, PY);
    let py_bcast_key = key_from(&p, broadcasts, PY);
    let rs_direct_key = key_from(&p, &py_box, RS);
    let rs_bcast_key = key_from(&p, broadcasts, RS);
    append_key(&py_direct_key, &rs_box, PY);
    append_key(&rs_direct_key, &py_box, RS);
    append_key(&py_bcast_key, broadcasts, PY);
    append_key(&rs_bcast_key, broadcasts, RS);
    let py_direct = p.json(&py_direct_key).unwrap();
    let py_bcast = p.json(&py_bcast_key).unwrap();
    let rs_direct = p.json(&rs_direct_key).unwrap();
    let rs_bcast = p.json(&rs_bcast_key).unwrap();
    same_fields("direct message", &py_direct, &rs_direct);
    same_fields("broadcast message", &py_bcast, &rs_bcast);
    assert_eq!(rs_direct["from"], RS);
    assert_eq!(rs_direct["to"], PY);
    assert_eq!(rs_direct["step"], "Phase.Two");
    assert_eq!(rs_bcast["to"], "_broadcast");
    python_like_timestamp(&rs_direct["sent_at"]);

    // Our inbox shows the Python messages, oldest first, own broadcast left out.
    let rs_sees = vec![
        inbox_line(&py_direct, "direct"),
        inbox_line(&py_bcast, "broadcast"),
    ];
    assert_eq!(
        rs_sees[0],
        format!(
            "[{}] (direct) {PY} [step Phase.One]: hello from python",
            py_direct["sent_at"].as_str().unwrap()
        )
    );
    assert_eq!(rs_ok(&p.run(RS, &["inbox"])), lines(&rs_sees));
    assert_eq!(rs_ok(&p.run(RS, &["inbox", "--new"])), lines(&rs_sees));
    assert_eq!(rs_ok(&p.run(RS, &["inbox", "--new"])), "No new messages.\n");

    // The Python inbox shows ours, own broadcast left out.
    let py_sees = vec![
        inbox_line(&rs_direct, "direct"),
        inbox_line(&rs_bcast, "broadcast"),
    ];
    assert_eq!(py_ok(&py.run(PY, &["inbox"])), lines(&py_sees));
    assert_eq!(py_ok(&py.run(PY, &["inbox", "--new"])), lines(&py_sees));
    assert_eq!(
        py_ok(&py.run(PY, &["inbox", "--new"])),
        "No new messages.\n"
    );

    // One agent id driven by both tools shares one read cursor (contract section 6):
    // what one tool's `inbox --new` showed, the other's does not show again.
    assert_eq!(
        rs_ok(&p.run(PY, &["inbox", "--new"])),
        "No new messages.\n",
        "our binary honours the cursor the Python tool wrote"
    );
    assert_eq!(
        py_ok(&py.run(RS, &["inbox", "--new"])),
        "No new messages.\n",
        "the Python tool honours the cursor our binary wrote"
    );
    py_ok(&py.run(PY, &["send", RS, "second from python"]));
    rs_ok(&p.run(RS, &["send", PY, "second from rust"]));
    let py_second = p
        .keys(&rs_box)
        .into_iter()
        .filter(|k| k != &py_direct_key && !k.ends_with("/_cursor.json"))
        .collect::<Vec<_>>();
    assert_eq!(py_second.len(), 1, "{py_second:?}");
    let py_second = p.json(&py_second[0]).unwrap();
    let rs_second = p
        .keys(&py_box)
        .into_iter()
        .filter(|k| k != &rs_direct_key && !k.ends_with("/_cursor.json"))
        .collect::<Vec<_>>();
    assert_eq!(rs_second.len(), 1, "{rs_second:?}");
    let rs_second = p.json(&rs_second[0]).unwrap();

    // Cursor written by our binary, advanced by Python, then read by our binary again.
    assert_eq!(
        py_ok(&py.run(RS, &["inbox", "--new"])),
        lines(&[inbox_line(&py_second, "direct")])
    );
    assert_eq!(rs_ok(&p.run(RS, &["inbox", "--new"])), "No new messages.\n");
    // And the other way round.
    assert_eq!(
        rs_ok(&p.run(PY, &["inbox", "--new"])),
        lines(&[inbox_line(&rs_second, "direct")])
    );
    assert_eq!(
        py_ok(&py.run(PY, &["inbox", "--new"])),
        "No new messages.\n"
    );
    // The cursor keeps the shape both tools read.
    for agent in [RS, PY] {
        let cursor = p.json(&format!("messages/{agent}/_cursor.json")).unwrap();
        for stream in ["direct", "broadcast"] {
            let part = &cursor[stream];
            assert!(
                part["watermark"].is_null() || part["watermark"].is_string(),
                "{cursor}"
            );
            assert!(part["seen"].is_array(), "{cursor}");
        }
    }

    // A plain read still shows everything, in both tools.
    assert_eq!(
        rs_ok(&p.run(RS, &["inbox"])),
        lines(&[
            inbox_line(&py_direct, "direct"),
            inbox_line(&py_bcast, "broadcast"),
            inbox_line(&py_second, "direct"),
        ])
    );
    assert_eq!(
        py_ok(&py.run(PY, &["inbox"])),
        lines(&[
            inbox_line(&rs_direct, "direct"),
            inbox_line(&rs_bcast, "broadcast"),
            inbox_line(&rs_second, "direct"),
        ])
    );

    // Both `status --json` agree on the mailboxes: totals, and nothing unread for either
    // agent now that both read everything.
    let py_status = parse_json(&py_ok(&py.run(PY, &["status", "--json"])));
    let rs_status = parse_json(&rs_ok(&p.run(RS, &["status", "--json"])));
    let boxes = |s: &Value| -> BTreeMap<String, (u64, Option<u64>)> {
        s["mailboxes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                (
                    m["agent"].as_str().unwrap().to_string(),
                    (m["total"].as_u64().unwrap(), m["unread"].as_u64()),
                )
            })
            .collect()
    };
    let expected: BTreeMap<String, (u64, Option<u64>)> = [
        (PY.to_string(), (2, Some(0))),
        (RS.to_string(), (2, Some(0))),
        ("_broadcast".to_string(), (2, None)),
    ]
    .into_iter()
    .collect();
    assert_eq!(boxes(&py_status), expected, "python status: {py_status}");
    assert_eq!(boxes(&rs_status), expected, "rust status: {rs_status}");
}

#[test]
fn memory_is_shared_between_tools() {
    let Some(Shared { p, py }) = shared() else {
        return;
    };
    assert_eq!(
        py_ok(&py.run(PY, &["memory", "set", "design.api", "v1 from python"])),
        "Set design.api = v1 from python\n"
    );
    assert_eq!(
        rs_ok(&p.run(RS, &["memory", "set", "design.api", "v2 from rust"])),
        "Set design.api = v2 from rust\n"
    );
    py_ok(&py.run(PY, &["memory", "set", "design.db", "postgres 16"]));
    rs_ok(&p.run(RS, &["memory", "set", "Team-A.lead_dev", "ana"]));

    // Each reads the other's latest value.
    assert_eq!(
        py_ok(&py.run(PY, &["memory", "get", "design.api"])),
        "v2 from rust\n"
    );
    assert_eq!(
        rs_ok(&p.run(RS, &["memory", "get", "design.db"])),
        "postgres 16\n"
    );
    assert_eq!(
        py_ok(&py.run(PY, &["memory", "get", "Team-A.lead_dev"])),
        "ana\n"
    );
    let meta = parse_json(&py_ok(
        &py.run(PY, &["memory", "get", "design.api", "--with-meta"]),
    ));
    assert_eq!(meta["value"], "v2 from rust");
    assert_eq!(meta["set_by"], RS);
    let meta = parse_json(&rs_ok(
        &p.run(RS, &["--json", "memory", "get", "design.db", "--with-meta"]),
    ));
    assert_eq!(meta["value"], "postgres 16");
    assert_eq!(meta["set_by"], PY);

    // The stored documents: same fields from both tools.
    let rs_value = p.json("memory/design/api.json").unwrap();
    let py_value = p.json("memory/design/db.json").unwrap();
    same_fields("memory value", &py_value, &rs_value);
    python_like_timestamp(&rs_value["set_at"]);
    let history_dir = "memory/_history/design/api/";
    let py_snap_key = key_from(&p, history_dir, PY);
    let rs_snap_key = key_from(&p, history_dir, RS);
    append_key(&py_snap_key, history_dir, PY);
    append_key(&rs_snap_key, history_dir, RS);
    let py_snap = p.json(&py_snap_key).unwrap();
    let rs_snap = p.json(&rs_snap_key).unwrap();
    same_fields("memory history snapshot", &py_snap, &rs_snap);
    assert_eq!(rs_snap["key"], "design.api");

    // History: both tools print the same trail, oldest first.
    let trail = lines(&[
        format!(
            "[{}] {PY}: v1 from python",
            py_snap["set_at"].as_str().unwrap()
        ),
        format!(
            "[{}] {RS}: v2 from rust",
            rs_snap["set_at"].as_str().unwrap()
        ),
    ]);
    assert_eq!(
        rs_ok(&p.run(RS, &["memory", "history", "design.api"])),
        trail
    );
    assert_eq!(
        py_ok(&py.run(PY, &["memory", "history", "design.api"])),
        trail
    );
    assert_eq!(
        rs_ok(&p.run(RS, &["memory", "history", "design.api", "--limit", "1"])),
        py_ok(&py.run(PY, &["memory", "history", "design.api", "--limit", "1"])),
    );

    // Listing: the same live keys, snapshots left out.
    let all = "Team-A.lead_dev\ndesign.api\ndesign.db\n";
    assert_eq!(rs_ok(&p.run(RS, &["memory", "list"])), all);
    assert_eq!(py_ok(&py.run(PY, &["memory", "list"])), all);
    assert_eq!(
        rs_ok(&p.run(RS, &["memory", "list", "design"])),
        "design.api\ndesign.db\n"
    );
    assert_eq!(
        py_ok(&py.run(PY, &["memory", "list", "design"])),
        "design.api\ndesign.db\n"
    );
}

#[test]
fn completed_steps_and_handoffs_cross_between_tools() {
    let Some(Shared { p, py }) = shared() else {
        return;
    };

    // Python completes with a handoff; our binary sees status, handoff and completion.
    py_ok(&py.run(PY, &["claim", "Phase.One"]));
    assert_eq!(
        py_ok(&py.run(
            PY,
            &[
                "complete",
                "Phase.One",
                "--note",
                "schema done",
                "--to",
                RS,
                "--next-action",
                "wire the API",
            ]
        )),
        format!("Completed step Phase.One → handed off to {RS}\n")
    );
    assert_eq!(
        rs_ok(&p.run(RS, &["step-status", "phase.one"])),
        format!("phase.one: complete (agent: {PY})\n")
    );
    let handoff = rs_ok(&p.run(RS, &["handoff", "Phase.One"]));
    for line in [
        "Handoff for step Phase.One".to_string(),
        format!("  from:        {PY}"),
        "  state:       complete".to_string(),
        format!("  next agent:  {RS}"),
        "  next action: wire the API".to_string(),
        "  note:        schema done".to_string(),
    ] {
        assert!(handoff.lines().any(|l| l == line), "{line:?} in\n{handoff}");
    }
    let h = parse_json(&rs_ok(&p.run(RS, &["--json", "handoff", "PHASE.ONE"])));
    assert_eq!(h["schema"], 2);
    assert_eq!(h["from_agent"], PY);
    assert_eq!(h["from_step"], "Phase.One");
    assert_eq!(h["next_agent"], RS);
    assert_eq!(h["next_action"], "wire the API");
    assert_eq!(h["note"], "schema done");
    assert_eq!(
        rs_ok(&p.run(RS, &["wait-for", "Phase.One", "--timeout", "5"])),
        "All steps complete: Phase.One\n"
    );
    // The step is taken for good: claiming it again is a conflict in both tools.
    failed(&p.run(RS, &["claim", "phase.one"]), 3);

    // Our binary completes while the Python tool is already waiting for it.
    rs_ok(&p.run(RS, &["claim", "Phase.Two"]));
    let started = Instant::now();
    let py_waiter = py
        .cmd(PY)
        .args(["wait-for", "Phase.One", "Phase.Two", "--timeout", "20"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Let its first poll see Phase.Two in progress (it polls every 5 s).
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        rs_ok(&p.run(
            RS,
            &[
                "complete",
                "Phase.Two",
                "--note",
                "api wired",
                "--to",
                PY,
                "--next-action",
                "ship it",
            ]
        )),
        format!("Completed step Phase.Two → handed off to {PY}\n")
    );
    assert_eq!(
        py_ok(&py.run(PY, &["step-status", "PHASE.two"])),
        format!("PHASE.two: complete (agent: {RS})\n")
    );
    let waited = py_waiter.wait_with_output().unwrap();
    assert_eq!(py_ok(&waited), "All steps complete: Phase.One, Phase.Two\n");
    // One poll every 5 s: seen at the second poll, long before the 20 s timeout.
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        py_ok(&py.run(
            PY,
            &["wait-for", "phase.one", "phase.two", "--timeout", "10"]
        )),
        "All steps complete: phase.one, phase.two\n"
    );
    let err = failed(&py.run(PY, &["claim", "Phase.Two"]), 1);
    assert!(err.contains(&format!("already claimed by {RS}")), "{err}");

    // The documents of a completed step: same fields from both tools.
    for doc in ["status.json", "handoff.json", "claim.json"] {
        same_fields(
            doc,
            &p.json(&format!("steps/phase-one/{doc}")).unwrap(),
            &p.json(&format!("steps/phase-two/{doc}")).unwrap(),
        );
    }
    let rs_status = p.json("steps/phase-two/status.json").unwrap();
    assert_eq!(rs_status["status"], "complete");
    assert_eq!(rs_status["agent"], RS);
    python_like_timestamp(&rs_status["completed_at"]);
    let rs_handoff = p.json("steps/phase-two/handoff.json").unwrap();
    assert_eq!(rs_handoff["schema"], 2);
    assert_eq!(rs_handoff["from_step"], "Phase.Two");
    assert_eq!(rs_handoff["state"], "complete");
    assert_eq!(rs_handoff["next_agent"], PY);
    assert_eq!(rs_handoff["next_action"], "ship it");
    assert_eq!(rs_handoff["note"], "api wired");

    // Our binary, waiting, sees a completion the Python tool makes.
    let rs_waiter = p
        .std_cmd(RS)
        .args([
            "wait-for",
            "Phase.Five",
            "--timeout",
            "30",
            "--interval",
            "0.2",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    py_ok(&py.run(PY, &["claim", "Phase.Five"]));
    py_ok(&py.run(PY, &["complete", "Phase.Five"]));
    assert_eq!(
        rs_ok(&rs_waiter.wait_with_output().unwrap()),
        "All steps complete: Phase.Five\n"
    );

    // Blocked and needs-review mean the same in both tools.
    py_ok(&py.run(PY, &["claim", "Phase.Three"]));
    assert_eq!(
        py_ok(&py.run(PY, &["complete", "Phase.Three", "--blocked"])),
        "Blocked step Phase.Three\n"
    );
    let err = failed(
        &p.run(
            RS,
            &["wait-for", "Phase.One", "Phase.Three", "--timeout", "5"],
        ),
        5,
    );
    assert!(err.contains("Phase.Three"), "{err}");
    rs_ok(&p.run(RS, &["claim", "Phase.Four"]));
    assert_eq!(
        rs_ok(&p.run(RS, &["complete", "Phase.Four", "--blocked"])),
        "Blocked step Phase.Four\n"
    );
    let err = failed(
        &py.run(PY, &["wait-for", "Phase.Four", "--timeout", "10"]),
        1,
    );
    assert!(
        err.contains(&format!("Step Phase.Four is blocked (agent: {RS})")),
        "{err}"
    );
    rs_ok(&p.run(RS, &["claim", "Phase.Six"]));
    assert_eq!(
        rs_ok(&p.run(RS, &["complete", "Phase.Six", "--needs-review"])),
        "Needs review on step Phase.Six\n"
    );
    assert_eq!(
        py_ok(&py.run(PY, &["step-status", "Phase.Six"])),
        format!("Phase.Six: needs_review (agent: {RS})\n")
    );

    // Python `status` and `agents` read everything our binary wrote, and agree with ours.
    let py_text = py_ok(&py.run(PY, &["status"]));
    assert!(py_text.contains("phase-two"), "{py_text}");
    let py_agents = py_ok(&py.run(PY, &["agents"]));
    assert!(
        py_agents
            .lines()
            .any(|l| l.starts_with(RS) && l.contains("active")),
        "{py_agents}"
    );
    let rs_agents = parse_json(&rs_ok(&p.run(RS, &["--json", "agents"])));
    let rs_agents = rs_agents.get("agents").unwrap_or(&rs_agents).to_string();
    assert!(rs_agents.contains(PY), "{rs_agents}");
    let py_status = parse_json(&py_ok(&py.run(PY, &["status", "--json"])));
    let rs_status = parse_json(&rs_ok(&p.run(RS, &["status", "--json"])));
    // Our rows add `holder` and `claim` (lease details); the fields both tools have agree.
    let common = |rows: &Value| -> Vec<Value> {
        rows.as_array()
            .unwrap()
            .iter()
            .map(|r| serde_json::json!({"id": r["id"], "status": r["status"], "agent": r["agent"]}))
            .collect()
    };
    assert_eq!(
        common(&py_status["steps"]),
        common(&rs_status["steps"]),
        "python status: {py_status}\nrust status: {rs_status}"
    );
    let by_id = |s: &Value| -> BTreeMap<String, (Value, Value)> {
        s["agents"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                (
                    a["id"].as_str().unwrap().to_string(),
                    (a["status"].clone(), a["step"].clone()),
                )
            })
            .collect()
    };
    assert_eq!(by_id(&py_status), by_id(&rs_status));
    let steps: BTreeMap<&str, &str> = rs_status["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["id"].as_str().unwrap(), s["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        steps,
        [
            ("phase-five", "complete"),
            ("phase-four", "blocked"),
            ("phase-one", "complete"),
            ("phase-six", "needs_review"),
            ("phase-three", "blocked"),
            ("phase-two", "complete"),
        ]
        .into_iter()
        .collect()
    );
}

/// What `status` calls unread is what `inbox --new` would show, as in the Python tool:
/// unseen direct messages plus unseen broadcasts from others, and a row for every agent
/// with a read cursor even when its mailbox is empty.
#[test]
fn status_unread_matches_the_python_tool_and_inbox_new() {
    let Some(Shared { p, py }) = shared() else {
        return;
    };
    py_ok(&py.run(PY, &["send", RS, "one"]));
    py_ok(&py.run(PY, &["send", "_broadcast", "two"]));
    // Both readers get a cursor that has seen everything so far.
    rs_ok(&p.run(RS, &["inbox", "--new"]));
    rs_ok(&p.run("carol", &["inbox", "--new"]));
    py_ok(&py.run(PY, &["send", "_broadcast", "three"]));
    py_ok(&py.run(PY, &["send", RS, "four"]));

    let mailboxes = |status: &str| -> Value { parse_json(status)["mailboxes"].clone() };
    let py_boxes = mailboxes(&py_ok(&py.run(PY, &["status", "--json"])));
    let rs_boxes = mailboxes(&rs_ok(&p.run(RS, &["status", "--json"])));
    let unread_of = |agent: &str| {
        py_boxes
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["agent"] == agent)
            .map(|m| m["unread"].clone())
    };
    // In the Python tool's view: "three" and "four" for rs.bob, "three" for carol.
    assert_eq!(unread_of(RS), Some(Value::from(2)), "{py_boxes}");
    assert_eq!(unread_of("carol"), Some(Value::from(1)), "{py_boxes}");
    let shown = rs_ok(&p.run(RS, &["inbox", "--new"])).lines().count();
    assert_eq!(unread_of(RS), Some(Value::from(shown)));
    assert_eq!(rs_boxes, py_boxes, "rust status vs python status");
}

/// Leases are additions the Python tool ignores: it sees a leased claim as an ordinary
/// held one, reads released steps as pending, and its own (lease-less) claims read here as
/// generation 1 that never expire.
#[test]
fn leased_claims_read_as_ordinary_claims_in_the_python_tool() {
    let Some(Shared { p, py }) = shared() else {
        return;
    };
    rs_ok(&p.run(RS, &["claim", "Lease.One", "--ttl", "10m"]));
    let claim = p.json("steps/lease-one/claim.json").unwrap();
    assert_eq!(claim["lease"]["ttl_s"], 600);
    let err = failed(&py.run(PY, &["claim", "lease.one"]), 1);
    assert!(err.contains(RS), "python names our holder: {err}");
    assert_eq!(p.json("steps/lease-one/claim.json").unwrap(), claim);
    assert!(
        py_ok(&py.run(PY, &["step-status", "lease.one"])).contains("in_progress"),
        "python reads the leased step as in progress"
    );

    // Released: both tools read the step as pending (the claim stays, marked).
    rs_ok(&p.run(RS, &["release", "lease.one"]));
    assert!(py_ok(&py.run(PY, &["step-status", "lease.one"])).contains("pending"));
    assert_eq!(
        rs_ok(&p.run(RS, &["step-status", "lease.one"])),
        "lease.one: pending\n"
    );

    // A Python claim has no lease: generation 1, never expires, nobody takes it over.
    py_ok(&py.run(PY, &["claim", "py.step"]));
    let v = parse_json(&rs_ok(&p.run(RS, &["--json", "step-status", "py.step"])));
    assert_eq!(v["claim"]["generation"], 1);
    assert_eq!(v["claim"]["state"], "held");
    assert!(v["claim"]["lease_left_s"].is_null());
    let err = failed(&p.run(RS, &["claim", "py.step", "--ttl", "1m"]), 3);
    assert!(err.contains(&format!("already claimed by {PY}")), "{err}");
    // And its holder may still complete it from Python.
    py_ok(&py.run(PY, &["complete", "py.step"]));
    assert_eq!(
        rs_ok(&p.run(RS, &["step-status", "py.step"])),
        format!("py.step: complete (agent: {PY})\n")
    );
}

/// A plan in the bucket leaves the Python tool working: its `status` and `step-status`
/// read a spec-only step as pending, its `claim` and `complete` work on plan steps, and a
/// step it completes counts as complete for readiness (contract section 10).
#[test]
fn the_python_tool_works_on_plan_steps_and_its_completions_count() {
    let Some(Shared { p, py }) = shared() else {
        return;
    };
    rs_ok(&p.run(
        RS,
        &["plan", "add", "Py.First", "--title", "Python does this"],
    ));
    rs_ok(&p.run(RS, &["plan", "add", "second", "--after", "py.first"]));
    let step_line = |status: &str, sid: &str| -> String {
        status
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{sid} ")))
            .unwrap_or_else(|| panic!("no {sid} line in: {status}"))
            .to_string()
    };
    // Spec-only steps read pending in the Python tool.
    let status = py_ok(&py.run(PY, &["status"]));
    assert!(
        step_line(&status, "py-first").contains("pending"),
        "{status}"
    );
    assert!(step_line(&status, "second").contains("pending"), "{status}");
    assert_eq!(
        py_ok(&py.run(PY, &["step-status", "py.first"])),
        "py.first: pending\n"
    );
    assert_eq!(
        rs_ok(&p.run(RS, &["ready"])).trim(),
        "Py.First  p2  Python does this"
    );

    // The Python tool claims the plan step: it is in progress for us, nothing is ready.
    py_ok(&py.run(PY, &["claim", "py.first"]));
    let err = failed(&p.run(RS, &["claim", "--next"]), 3);
    assert!(err.contains(&format!("Py.First ({PY})")), "{err}");
    // It completes it: that counts, and `second` becomes ready.
    py_ok(&py.run(PY, &["complete", "py.first", "--note", "done in python"]));
    let v = parse_json(&rs_ok(&p.run(RS, &["--json", "plan"])));
    assert_eq!(v["steps"][0]["status"], "complete");
    assert_eq!(v["steps"][1]["status"], "ready");
    assert_eq!(
        rs_ok(&p.run(RS, &["claim", "--next"])),
        format!("Claimed step second as {RS}\n")
    );
    // The Python tool sees our claim on the plan step and is refused.
    let err = failed(&py.run(PY, &["claim", "second"]), 1);
    assert!(err.contains(&format!("already claimed by {RS}")), "{err}");
    let status = py_ok(&py.run(PY, &["status"]));
    assert!(
        step_line(&status, "second").contains("in_progress"),
        "{status}"
    );
    rs_ok(&p.run(RS, &["complete", "second"]));
    assert_eq!(
        py_ok(&py.run(PY, &["step-status", "second"])),
        format!("second: complete (agent: {RS})\n")
    );
    assert_eq!(code(&p.run(RS, &["claim", "--next"])), 6);
    // Our refusal of a finished step reads as the Python tool's.
    let err = failed(&p.run(RS, &["claim", "py.first"]), 3);
    assert!(
        err.contains(&format!("Step py.first already claimed by {PY}")),
        "{err}"
    );
}

#[test]
fn python_inbox_shows_the_same_messages_beside_threads_acks_and_events() {
    let Some(Shared { p, py }) = shared() else {
        return;
    };
    let py_box = format!("messages/{PY}/");
    py_ok(&py.run(PY, &["send", RS, "question from python"]));
    let question = key_from(&p, &format!("messages/{RS}/"), PY);
    let question_id = question
        .rsplit('/')
        .next()
        .unwrap()
        .trim_end_matches(".json");
    // Threads, a reply, acknowledgement requests and acks, events: all beside the mailboxes.
    rs_ok(&p.run(RS, &["send", PY, "plain from rust"]));
    rs_ok(&p.run(RS, &["reply", question_id, "answer in a thread", "--ack"]));
    rs_ok(&p.run(RS, &["send", "_broadcast", "to all, please ack", "--ack"]));
    rs_ok(&p.run(RS, &["ack", question_id]));
    rs_ok(&p.run(RS, &["claim", "interop-step"]));
    assert!(!p.keys("threads/").is_empty());
    assert!(!p.keys("acks/").is_empty());
    assert!(!p.keys("events/").is_empty());

    let mut direct: Vec<Value> = p
        .keys(&py_box)
        .into_iter()
        .filter(|k| !k.rsplit('/').next().unwrap().starts_with('_'))
        .map(|k| p.json(&k).unwrap())
        .collect();
    assert_eq!(direct.len(), 2, "{direct:?}");
    direct.sort_by(|a, b| a["sent_at"].as_str().cmp(&b["sent_at"].as_str()));
    assert_eq!(
        direct[1]["thread"], question_id,
        "the reply carries its thread"
    );
    let bcast = p.json(&key_from(&p, "messages/_broadcast/", RS)).unwrap();
    // The Python tool prints them exactly as before: the new fields show nowhere, and
    // nothing under threads/, acks/ or events/ appears as a message.
    let expected = vec![
        inbox_line(&direct[0], "direct"),
        inbox_line(&direct[1], "direct"),
        inbox_line(&bcast, "broadcast"),
    ];
    assert_eq!(py_ok(&py.run(PY, &["inbox"])), lines(&expected));
    assert_eq!(py_ok(&py.run(PY, &["inbox", "--new"])), lines(&expected));
    // And ours, as the Python agent would see it with no --ids: the same lines but for the
    // thread and ack tags of the reply.
    let ours = rs_ok(&p.run(PY, &["inbox"]));
    let ours: Vec<&str> = ours.lines().collect();
    assert_eq!(ours[0], expected[0]);
    assert!(
        ours[1].ends_with("[ack requested]: answer in a thread"),
        "{ours:?}"
    );
}
