//! `session mirror --harness hermes`: rows of a SQLite database built by the test under a
//! temporary `HERMES_HOME`, on every available backend.

mod support;

use std::path::Path;
use std::process::Output;

use rusqlite::Connection;
use serde_json::{Value, json};
use support::cli::{Project, stderr, stdout};

fn db(dir: &Path) -> Connection {
    std::fs::create_dir_all(dir).unwrap();
    let conn = Connection::open(dir.join("state.db")).unwrap();
    conn.execute_batch(
        "CREATE TABLE sessions (id TEXT PRIMARY KEY, started_at REAL, title TEXT);
         CREATE TABLE messages (id INTEGER PRIMARY KEY AUTOINCREMENT, session_id TEXT,
             role TEXT, content TEXT, tool_calls TEXT, tool_name TEXT, timestamp REAL,
             token_count INTEGER);",
    )
    .unwrap();
    conn
}

fn add(conn: &Connection, session: &str, role: &str, content: &str) {
    conn.execute(
        "INSERT INTO messages (session_id, role, content, timestamp, token_count)
         VALUES (?1, ?2, ?3, 1700000000.5, 7)",
        rusqlite::params![session, role, content],
    )
    .unwrap();
}

fn run(p: &Project, args: &[&str]) -> Output {
    let out = p
        .std_cmd("alice")
        .env("HERMES_HOME", p.path().join("hm"))
        .env("XDG_STATE_HOME", p.path().join("state"))
        .args(["session", "mirror", "--harness", "hermes"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "stdout: {}\nstderr: {}",
        stdout(&out),
        stderr(&out)
    );
    out
}

fn lines(p: &Project, session: &str) -> Vec<Value> {
    let meta = p
        .json(&format!("sessions/hermes/{session}/meta.json"))
        .unwrap();
    let mut out = Vec::new();
    for part in meta["parts"].as_array().unwrap() {
        let key = format!(
            "sessions/hermes/{session}/part-{:05}-{}.jsonl",
            part["seq"].as_u64().unwrap(),
            part["uuid"].as_str().unwrap()
        );
        let body = String::from_utf8(p.object(&key).unwrap()).unwrap();
        out.extend(
            body.lines()
                .map(|l| serde_json::from_str::<Value>(l).unwrap()),
        );
    }
    out
}

#[test]
fn hermes_rows_are_mirrored_by_message_id() {
    for p in Project::all() {
        let conn = db(&p.path().join("hm"));
        conn.execute(
            "INSERT INTO sessions (id, started_at, title) VALUES ('s1', 1.0, 't'), ('s2', 2.0, 'u')",
            [],
        )
        .unwrap();
        add(&conn, "s1", "user", "hello AKIAABCDEFGHIJKLMNOP");
        add(&conn, "s1", "assistant", "\u{0}json:{\"parts\":[1,2]}");
        add(&conn, "s2", "user", "other");

        // The active session owns the highest message id.
        let out = stdout(&run(&p, &[]));
        assert!(out.contains("uploaded part-00000-"), "{out}");
        let meta = p.json("sessions/hermes/s2/meta.json").unwrap();
        assert_eq!(meta["parts"][0]["cursor_range"], json!([0, 3]));

        let out = stdout(&run(&p, &["--session-id", "s1"]));
        assert!(out.contains("redactions=aws_access_key:1"), "{out}");
        let rows = lines(&p, "s1");
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0]["id"], 1);
        assert_eq!(rows[0]["session_id"], "s1");
        assert_eq!(rows[0]["content"], "hello [REDACTED:aws_access_key]");
        assert_eq!(rows[0]["timestamp"], 1700000000.5);
        assert_eq!(rows[0]["token_count"], 7);
        assert!(rows[0]["tool_calls"].is_null());
        assert_eq!(rows[1]["content"], json!({"parts": [1, 2]}));
        let meta = p.json("sessions/hermes/s1/meta.json").unwrap();
        assert_eq!(meta["parts"][0]["cursor_range"], json!([0, 2]));

        add(&conn, "s1", "user", "more");
        let out = stdout(&run(&p, &["--session-id", "s1"]));
        assert!(out.contains("uploaded part-00001-"), "{out}");
        let meta = p.json("sessions/hermes/s1/meta.json").unwrap();
        assert_eq!(meta["parts"][1]["cursor_range"], json!([2, 4]));
        assert_eq!(lines(&p, "s1")[2]["content"], "more");

        let out = stdout(&run(&p, &["--session-id", "s1"]));
        assert!(out.contains("nothing new"), "{out}");
        let out = stdout(&run(&p, &["--all"]));
        assert!(
            out.contains("mirrored 0 part(s) from 2 session(s)"),
            "{out}"
        );
    }
}
