//! `session mirror` and friends, on every available backend: fixtures are transcripts
//! written by the tests under each project's temporary HOME.

mod support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::cli::{Project, stderr, stdout};

const SID: &str = "0199a1b2-c3d4-7e8f-9a0b-1c2d3e4f5a6b";

fn cwd(p: &Project) -> PathBuf {
    std::fs::canonicalize(p.path()).unwrap()
}

fn encode(path: &Path) -> String {
    path.to_string_lossy()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

/// The Claude Code transcript of session `id` for the project directory.
fn claude_file(p: &Project, id: &str) -> PathBuf {
    let dir = p.path().join(".claude/projects").join(encode(&cwd(p)));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(format!("{id}.jsonl"))
}

fn append(path: &Path, text: &str) {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

fn session_cmd(p: &Project, args: &[&str]) -> std::process::Command {
    let mut cmd = p.std_cmd("alice");
    cmd.env("XDG_STATE_HOME", p.path().join("state"))
        .env_remove("CLAUDE_CONFIG_DIR")
        .env_remove("CODEX_HOME")
        .env_remove("OPENCLAW_STATE_DIR")
        .env_remove("OPENCLAW_HOME")
        .env_remove("TRACECRAFT_SESSION_PART_BYTES")
        .arg("session")
        .args(args);
    cmd
}

fn session(p: &Project, args: &[&str]) -> Output {
    session_cmd(p, args).output().unwrap()
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        stdout(out),
        stderr(out)
    );
    stdout(out)
}

fn meta(p: &Project, harness: &str, id: &str) -> Value {
    p.json(&format!("sessions/{harness}/{id}/meta.json"))
        .expect("meta.json")
}

fn parts(p: &Project, harness: &str, id: &str) -> Vec<String> {
    p.keys(&format!("sessions/{harness}/{id}/"))
        .into_iter()
        .filter(|k| k.contains("/part-"))
        .collect()
}

/// The mirrored bytes, parts in the order meta.json gives (by cursor start).
fn mirrored(p: &Project, harness: &str, id: &str) -> String {
    let m = meta(p, harness, id);
    let mut entries: Vec<&Value> = m["parts"].as_array().unwrap().iter().collect();
    entries.sort_by_key(|e| e["cursor_range"][0].as_u64().unwrap());
    let mut out = String::new();
    for e in entries {
        let key = format!(
            "sessions/{harness}/{id}/part-{:05}-{}.jsonl",
            e["seq"].as_u64().unwrap(),
            e["uuid"].as_str().unwrap()
        );
        out.push_str(&String::from_utf8(p.object(&key).expect(&key)).unwrap());
    }
    out
}

/// Cursor ranges are contiguous from 0 and each part holds exactly its range.
fn assert_ranges_cover(m: &Value, end: u64) {
    let mut ranges: Vec<(u64, u64)> = m["parts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let r = e["cursor_range"].as_array().unwrap();
            (r[0].as_u64().unwrap(), r[1].as_u64().unwrap())
        })
        .collect();
    ranges.sort();
    let mut at = 0;
    for (from, to) in ranges {
        assert_eq!(from, at, "ranges not contiguous: {m}");
        at = to;
    }
    assert_eq!(at, end, "{m}");
}

#[test]
fn first_mirror_incremental_parts_and_nothing_new() {
    for p in Project::all() {
        let f = claude_file(&p, SID);
        append(&f, "{\"n\":1}\n{\"n\":2}\n");
        let out = ok(&session(&p, &["mirror"]));
        assert!(out.contains("uploaded part-00000-"), "{out}");
        assert!(
            out.contains("source=16B upload=16B redactions=none"),
            "{out}"
        );
        assert!(out.contains("mirrored 1 part(s)"), "{out}");
        let m = meta(&p, "claude-code", SID);
        assert_eq!(m["schema_version"], 1);
        assert_eq!(m["harness"], "claude-code");
        assert_eq!(m["session_id"], SID);
        assert_eq!(m["agent_id"], "alice");
        assert_eq!(m["cwd"], cwd(&p).display().to_string());
        assert_eq!(m["total_source_bytes"], 16);
        assert!(m["ended_at"].is_null());
        assert_eq!(m["parts"][0]["cursor_range"], serde_json::json!([0, 16]));

        append(&f, "{\"n\":3}\n");
        let out = ok(&session(&p, &["mirror", "--session-id", SID]));
        assert!(out.contains("uploaded part-00001-"), "{out}");
        assert_eq!(parts(&p, "claude-code", SID).len(), 2);
        assert_ranges_cover(&meta(&p, "claude-code", SID), 24);
        assert_eq!(
            mirrored(&p, "claude-code", SID),
            std::fs::read_to_string(&f).unwrap()
        );

        let out = ok(&session(&p, &["mirror"]));
        assert!(out.contains("nothing new: session="), "{out}");
        assert!(out.contains("mirrored 0 part(s)"), "{out}");
        assert_eq!(parts(&p, "claude-code", SID).len(), 2);

        // JSON Lines with --json.
        append(&f, "{\"n\":4}\n");
        let out = ok(&session(&p, &["mirror", "--json"]));
        let first: Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
        assert_eq!(first["event"], "uploaded");
        assert_eq!(first["cursor_range"], serde_json::json!([24, 32]));
    }
}

#[test]
fn the_most_recently_modified_session_is_active_and_old_dir_names_are_searched() {
    let p = Project::fs();
    // The older encoding collapsed runs of non-alphanumerics (the temp dir has a `.`).
    let collapsed: String = {
        let mut s = String::new();
        for c in cwd(&p).to_string_lossy().chars() {
            if c.is_ascii_alphanumeric() {
                s.push(c)
            } else if !s.ends_with('-') {
                s.push('-')
            }
        }
        s
    };
    let old_dir = p.path().join(".claude/projects").join(&collapsed);
    std::fs::create_dir_all(&old_dir).unwrap();
    append(&old_dir.join("old-one.jsonl"), "{}\n");
    std::thread::sleep(Duration::from_millis(20));
    let newer = claude_file(&p, "new-one");
    append(&newer, "{}\n");
    ok(&session(&p, &["mirror"]));
    assert!(p.json("sessions/claude-code/new-one/meta.json").is_some());
    ok(&session(&p, &["mirror", "--session-id", "old-one"]));
    assert!(p.json("sessions/claude-code/old-one/meta.json").is_some());

    let out = session(&p, &["mirror", "--session-id", "missing"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("no claude-code session 'missing' found"));
    let out = session(&p, &["mirror", "--harness", "nope"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn claude_config_dir_is_honoured() {
    let p = Project::fs();
    let dir = p.path().join("cfg/projects").join(encode(&cwd(&p)));
    std::fs::create_dir_all(&dir).unwrap();
    append(&dir.join("s1.jsonl"), "{}\n");
    let out = session_cmd(&p, &["mirror"])
        .env("CLAUDE_CONFIG_DIR", p.path().join("cfg"))
        .output()
        .unwrap();
    ok(&out);
    assert!(p.json("sessions/claude-code/s1/meta.json").is_some());
}

#[test]
fn a_partial_last_line_waits_and_a_secret_split_across_appends_is_redacted() {
    for p in Project::all() {
        let f = claude_file(&p, SID);
        append(&f, "{\"a\":1}\n{\"key\":\"AKIAABCD");
        let out = ok(&session(&p, &["mirror"]));
        assert!(out.contains("source=8B"), "{out}");
        append(&f, "EFGHIJKLMNOP\"}\n");
        let out = ok(&session(&p, &["mirror"]));
        assert!(out.contains("redactions=aws_access_key:1"), "{out}");
        assert_eq!(
            mirrored(&p, "claude-code", SID),
            "{\"a\":1}\n{\"key\":\"[REDACTED:aws_access_key]\"}\n"
        );
        let m = meta(&p, "claude-code", SID);
        assert_eq!(m["redaction_counts"]["aws_access_key"], 1);
        assert_ranges_cover(&m, std::fs::metadata(&f).unwrap().len());

        // Only a partial line is new: nothing is uploaded.
        append(&f, "{\"partial\":");
        let out = ok(&session(&p, &["mirror"]));
        assert!(out.contains("nothing new"), "{out}");
        assert_eq!(parts(&p, "claude-code", SID).len(), 2);
    }
}

#[test]
fn redaction_counts_and_no_redact() {
    for p in Project::all() {
        let secrets = "{\"t\":\"AKIAABCDEFGHIJKLMNOP hf_abcdefghijklmnopqrstuvwxyzABCDEF\"}\n\
                       {\"t\":\"Authorization: Bearer abcdefghijklmnopqrstuvwxyz ghp_abcdefghijklmnopqrstuvwxyz0123456789\"}\n\
                       {\"t\":\"AKIAABCDEFGHIJKLMNOQ sk-ant-api03-abcdefghijklmnopqrstuv\"}\n";
        append(&claude_file(&p, "red"), secrets);
        let out = ok(&session(&p, &["mirror", "--session-id", "red"]));
        assert!(
            out.contains(
                "redactions=anthropic_key:1,aws_access_key:2,bearer_token:1,github_pat:1,hf_token:1"
            ),
            "{out}"
        );
        let m = meta(&p, "claude-code", "red");
        assert_eq!(m["redaction_counts"]["aws_access_key"], 2);
        assert_eq!(m["parts"][0]["redactions"]["hf_token"], 1);
        let body = mirrored(&p, "claude-code", "red");
        assert!(!body.contains("AKIA") && !body.contains("hf_abc") && !body.contains("ghp_"));
        assert!(body.contains("[REDACTED:bearer_token]"), "{body}");
        assert_eq!(m["total_source_bytes"], secrets.len());
        assert_eq!(m["total_uploaded_bytes"], body.len());

        append(&claude_file(&p, "raw"), secrets);
        let out = ok(&session(
            &p,
            &["mirror", "--session-id", "raw", "--no-redact"],
        ));
        assert!(out.contains("redactions=none"), "{out}");
        assert_eq!(mirrored(&p, "claude-code", "raw"), secrets);
        assert_eq!(
            meta(&p, "claude-code", "raw")["redaction_counts"],
            serde_json::json!({})
        );
    }
}

#[test]
fn min_bytes_and_large_sources_in_bounded_parts() {
    let p = Project::fs();
    let f = claude_file(&p, SID);
    let line = format!("{{\"x\":\"{}\"}}\n", "y".repeat(90));
    for _ in 0..50 {
        append(&f, &line);
    }
    let out = ok(&session(&p, &["mirror", "--min-bytes", "100000"]));
    assert!(out.contains("nothing new"), "{out}");
    let out = session_cmd(&p, &["mirror"])
        .env("TRACECRAFT_SESSION_PART_BYTES", "1000")
        .output()
        .unwrap();
    let out = ok(&out);
    assert_eq!(out.matches("uploaded part-").count(), 5, "{out}");
    assert!(out.contains("mirrored 5 part(s)"), "{out}");
    assert_ranges_cover(&meta(&p, "claude-code", SID), 50 * line.len() as u64);
    assert_eq!(
        mirrored(&p, "claude-code", SID),
        std::fs::read_to_string(&f).unwrap()
    );
}

#[test]
fn lost_local_state_resumes_after_the_last_mirrored_byte() {
    for p in Project::all() {
        let f = claude_file(&p, SID);
        append(&f, "{\"n\":1}\n");
        ok(&session(&p, &["mirror"]));
        std::fs::remove_dir_all(p.path().join("state")).unwrap();
        append(&f, "{\"n\":2}\n");
        let out = ok(&session(&p, &["mirror"]));
        assert!(out.contains("source=8B"), "{out}");
        assert_ranges_cover(&meta(&p, "claude-code", SID), 16);
        assert_eq!(mirrored(&p, "claude-code", SID), "{\"n\":1}\n{\"n\":2}\n");
    }
}

#[test]
fn a_truncated_or_replaced_source_is_reported() {
    for p in Project::all() {
        let f = claude_file(&p, SID);
        append(&f, "{\"n\":1}\n{\"n\":2}\n");
        ok(&session(&p, &["mirror"]));

        std::fs::write(&f, "{}\n").unwrap();
        let out = session(&p, &["mirror"]);
        assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
        assert!(stderr(&out).contains("shrank to 3,"), "{}", stderr(&out));

        // Replaced by a different, longer file (new inode).
        let replacement = f.with_extension("new");
        append(&replacement, "{\"other\":1}\n{\"other\":2}\n");
        std::fs::rename(&replacement, &f).unwrap();
        let out = session(&p, &["mirror"]);
        assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
        assert!(stderr(&out).contains("different file"), "{}", stderr(&out));
        assert!(stderr(&out).contains("session stop"), "{}", stderr(&out));
        assert_eq!(parts(&p, "claude-code", SID).len(), 1);
        // Forgetting the old file lets the mirror carry on after the mirrored bytes.
        ok(&session(&p, &["stop", SID]));
        let out = ok(&session(&p, &["mirror"]));
        assert!(out.contains("uploaded part-00001-"), "{out}");
        assert_ranges_cover(&meta(&p, "claude-code", SID), 24);
    }
}

#[test]
fn codex_and_openclaw_sessions_are_found() {
    let p = Project::fs();
    let codex = p.path().join("cx/sessions");
    let old = codex.join("2026/11/20");
    let new = codex.join("2026/11/21");
    std::fs::create_dir_all(&old).unwrap();
    std::fs::create_dir_all(&new).unwrap();
    append(
        &new.join("rollout-2026-11-21T09-00-00-newest.jsonl"),
        "{}\n",
    );
    std::thread::sleep(Duration::from_millis(20));
    append(&old.join("rollout-2026-11-20T09-00-00-older.jsonl"), "{}\n");
    std::thread::sleep(Duration::from_millis(20));
    append(
        &new.join("rollout-2026-11-21T10-00-00-active.jsonl"),
        "{}\n",
    );
    let out = session_cmd(&p, &["mirror", "--harness", "codex"])
        .env("CODEX_HOME", p.path().join("cx"))
        .output()
        .unwrap();
    ok(&out);
    assert!(p.json("sessions/codex/active/meta.json").is_some());
    let out = session_cmd(&p, &["mirror", "--harness", "codex", "--all"])
        .env("CODEX_HOME", p.path().join("cx"))
        .output()
        .unwrap();
    assert!(ok(&out).contains("mirrored 2 part(s) from 3 session(s)"));
    assert!(p.json("sessions/codex/older/meta.json").is_some());

    // ~/.codex by default.
    let home_codex = p.path().join(".codex/sessions/2026/01/02");
    std::fs::create_dir_all(&home_codex).unwrap();
    append(
        &home_codex.join("rollout-2026-01-02T03-04-05-homeid.jsonl"),
        "{}\n",
    );
    ok(&session(&p, &["mirror", "--harness", "codex"]));
    assert!(p.json("sessions/codex/homeid/meta.json").is_some());

    let oc = p.path().join("oc/agents/main/sessions");
    std::fs::create_dir_all(&oc).unwrap();
    append(&oc.join("abc.jsonl"), "{}\n");
    append(&oc.join("sessions.json"), "{}\n");
    append(&oc.join("later.jsonl.tmp"), "{}\n");
    for var in ["OPENCLAW_STATE_DIR", "OPENCLAW_HOME"] {
        let out = session_cmd(&p, &["mirror", "--harness", "openclaw", "--all"])
            .env(var, p.path().join("oc"))
            .output()
            .unwrap();
        ok(&out);
    }
    assert!(p.json("sessions/openclaw/main__abc/meta.json").is_some());
    assert_eq!(
        p.keys("sessions/openclaw/").len(),
        2,
        "{:?}",
        p.keys("sessions/openclaw/")
    );
}

#[test]
fn list_show_stop_and_compact() {
    for p in Project::all() {
        let f = claude_file(&p, SID);
        for n in 1..=3 {
            append(&f, &format!("{{\"n\":{n}}}\n"));
            ok(&session(&p, &["mirror"]));
        }
        append(
            &claude_file(&p, "other"),
            "{\"big\":\"..................\"}\n",
        );
        ok(&session(&p, &["mirror", "--session-id", "other"]));

        let out = ok(&session(&p, &["list"]));
        assert!(out.contains(SID) && out.contains("other"), "{out}");
        let out = ok(&session(
            &p,
            &["list", "--sort-by", "size", "--limit", "1", "--json"],
        ));
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["sessions"].as_array().unwrap().len(), 1);
        assert_eq!(v["sessions"][0]["session_id"], "other");
        assert!(ok(&session(&p, &["list", "--harness", "codex"])).contains("No sessions."));

        let out = ok(&session(&p, &["show", SID, "--tail", "2", "--json"]));
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["tail"], serde_json::json!(["{\"n\":2}", "{\"n\":3}"]));
        assert_eq!(v["meta"]["parts"].as_array().unwrap().len(), 3);
        let out = ok(&session(&p, &["show", SID, "--tail", "1"]));
        assert!(out.ends_with("--- tail ---\n{\"n\":3}\n"), "{out}");

        // Compact all but the newest part.
        let out = ok(&session(&p, &["compact", SID, "--keep-tail", "1"]));
        assert!(out.contains("merged 2 parts -> part-00003-"), "{out}");
        let m = meta(&p, "claude-code", SID);
        let entries = m["parts"].as_array().unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0]["cursor_range"], serde_json::json!([0, 16]));
        assert_eq!(entries[0]["merged_parts"].as_array().unwrap().len(), 2);
        assert_eq!(parts(&p, "claude-code", SID).len(), 2);
        assert_eq!(
            mirrored(&p, "claude-code", SID),
            std::fs::read_to_string(&f).unwrap()
        );
        let v: Value =
            serde_json::from_str(&ok(&session(&p, &["show", SID, "--tail", "3", "--json"])))
                .unwrap();
        assert_eq!(
            v["tail"],
            serde_json::json!(["{\"n\":1}", "{\"n\":2}", "{\"n\":3}"])
        );
        // Mirroring carries on after a compaction.
        append(&f, "{\"n\":4}\n");
        assert!(ok(&session(&p, &["mirror"])).contains("uploaded part-00004-"));
        assert!(ok(&session(&p, &["compact", SID])).contains("merged 3 parts"));
        assert_ranges_cover(&meta(&p, "claude-code", SID), 32);
        assert_eq!(
            mirrored(&p, "claude-code", SID),
            std::fs::read_to_string(&f).unwrap()
        );
        assert!(ok(&session(&p, &["compact", SID])).contains("nothing to compact"));

        let state_dir = p.path().join("state/tracecraft/sessions");
        assert!(std::fs::read_dir(&state_dir).unwrap().count() >= 2);
        let out = ok(&session(&p, &["stop", SID]));
        assert!(
            out.contains("state_cleared=true meta_marked_ended=true"),
            "{out}"
        );
        assert!(meta(&p, "claude-code", SID)["ended_at"].is_string());
        let out = ok(&session(&p, &["stop", SID]));
        assert!(
            out.contains("state_cleared=false meta_marked_ended=false"),
            "{out}"
        );

        let out = session(&p, &["show", "nope"]);
        assert_eq!(out.status.code(), Some(1));
        assert!(stderr(&out).contains("unknown session 'nope'"));
    }
}

#[test]
fn an_id_under_two_harnesses_needs_harness() {
    let p = Project::fs();
    for h in ["claude-code", "codex"] {
        p.put_object(
            &format!("sessions/{h}/dup/meta.json"),
            br#"{"schema_version":1,"harness":"x","session_id":"dup","parts":[]}"#,
        );
    }
    let out = session(&p, &["show", "dup"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--harness"));
    ok(&session(&p, &["show", "dup", "--harness", "codex"]));
}

#[test]
fn path_traversal_ids_never_escape() {
    let p = Project::fs();
    // A file name no key or path may carry as is.
    append(&claude_file(&p, "..a b$c"), "{}\n");
    ok(&session(&p, &["mirror"]));
    assert!(
        p.json("sessions/claude-code/_.a_b_c/meta.json").is_some(),
        "{:?}",
        p.keys("sessions/")
    );

    let victim = p.path().join("state/tracecraft/victim.json");
    std::fs::create_dir_all(victim.parent().unwrap()).unwrap();
    std::fs::write(&victim, "{}").unwrap();
    for id in [
        "../victim",
        "../../tracecraft/victim.json",
        "/etc/passwd",
        "..",
    ] {
        let out = session(&p, &["stop", id]);
        assert_eq!(out.status.code(), Some(1), "{id}: {}", stderr(&out));
        let out = session(&p, &["mirror", "--session-id", id]);
        assert_eq!(out.status.code(), Some(1), "{id}: {}", stderr(&out));
    }
    assert!(victim.exists());
}

#[test]
fn two_concurrent_mirrors_of_one_session() {
    for p in Project::all() {
        let f = claude_file(&p, SID);
        let mut expected = String::new();
        for n in 0..300 {
            let line = format!("{{\"n\":{n},\"pad\":\"{}\"}}\n", "z".repeat(40));
            expected.push_str(&line);
        }
        append(&f, &expected);
        let spawn = || {
            session_cmd(&p, &["mirror"])
                .env("TRACECRAFT_SESSION_PART_BYTES", "1500")
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        };
        let children = [spawn(), spawn(), spawn()];
        let outs: Vec<Output> = children
            .into_iter()
            .map(|c| c.wait_with_output().unwrap())
            .collect();
        for out in &outs {
            ok(out);
        }
        let m = meta(&p, "claude-code", SID);
        assert_ranges_cover(&m, expected.len() as u64);
        assert_eq!(mirrored(&p, "claude-code", SID), expected);
        assert_eq!(
            parts(&p, "claude-code", SID).len(),
            m["parts"].as_array().unwrap().len(),
            "every stored part is recorded once"
        );
        let uploaded: u64 = outs
            .iter()
            .map(|o| stdout(o).matches("uploaded part-").count() as u64)
            .sum();
        assert_eq!(uploaded, m["parts"].as_array().unwrap().len() as u64);
    }
}

#[test]
fn follow_uploads_new_lines_and_ctrl_c_marks_the_session_ended() {
    let p = Project::fs();
    let f = claude_file(&p, SID);
    append(&f, "{\"n\":1}\n");
    let child = session_cmd(&p, &["mirror", "-f", "--interval", "0.2"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let wait_parts = |n: usize| {
        let start = Instant::now();
        while parts(&p, "claude-code", SID).len() < n {
            assert!(start.elapsed() < Duration::from_secs(20), "no part {n}");
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    wait_parts(1);
    append(&f, "{\"n\":2}\n");
    wait_parts(2);
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("mirrored 2 part(s)"),
        "{}",
        stdout(&out)
    );
    let m = meta(&p, "claude-code", SID);
    assert!(m["ended_at"].is_string());
    assert_ranges_cover(&m, 16);
}

#[test]
fn compact_streams_large_parts() {
    for p in Project::all() {
        let f = claude_file(&p, SID);
        let mut expected = String::new();
        for n in 0..2000 {
            expected.push_str(&format!("{{\"n\":{n},\"pad\":\"{}\"}}\n", "q".repeat(100)));
        }
        append(&f, &expected);
        let out = session_cmd(&p, &["mirror"])
            .env("TRACECRAFT_SESSION_PART_BYTES", "50000")
            .output()
            .unwrap();
        assert!(ok(&out).matches("uploaded part-").count() >= 4);
        let out = ok(&session(&p, &["compact", SID]));
        assert!(out.contains(&format!("({}B)", expected.len())), "{out}");
        assert_eq!(parts(&p, "claude-code", SID).len(), 1);
        assert_eq!(mirrored(&p, "claude-code", SID), expected);
        assert_ranges_cover(&meta(&p, "claude-code", SID), expected.len() as u64);
    }
}
