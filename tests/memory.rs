//! `memory set/get/list/history` against every available backend: exit codes, output and
//! the stored documents checked together (contract sections 2, 3, 5, 6 and 7).

mod support;

use serde_json::Value;
use support::cli::{Project, code, is_append_name, ok, stderr, stdout, valid_time};

#[test]
fn set_writes_the_live_value_and_a_history_snapshot() {
    for p in Project::all() {
        let out = p.run("bob", &["memory", "set", "design.api", "REST v1"]);
        assert_eq!(ok(&out), "Set design.api = REST v1\n", "{:?}", p.kind);

        let live = p.json("memory/design/api.json").expect("live value");
        assert_eq!(live["value"], "REST v1");
        assert_eq!(live["set_by"], "bob");
        assert!(valid_time(&live["set_at"]), "{live}");
        assert!(
            live.get("key").is_none(),
            "the live value has no key field: {live}"
        );

        let dir = "memory/_history/design/api/";
        let snaps = p.keys(dir);
        assert_eq!(snaps.len(), 1, "{snaps:?}");
        let name = snaps[0].strip_prefix(dir).unwrap();
        assert!(is_append_name(name, "bob"), "{name}");
        let snap = p.json(&snaps[0]).unwrap();
        assert_eq!(snap["key"], "design.api");
        assert_eq!(snap["value"], "REST v1");
        assert_eq!(snap["set_by"], "bob");
        assert_eq!(snap["set_at"], live["set_at"]);

        // The presence record of the writer is refreshed alongside.
        assert_eq!(p.json("agents/bob.json").expect("presence")["id"], "bob");

        // A second set overwrites the live value and adds a snapshot.
        ok(&p.run("alice", &["memory", "set", "design.api", "gRPC"]));
        assert_eq!(p.json("memory/design/api.json").unwrap()["value"], "gRPC");
        assert_eq!(p.keys(dir).len(), 2);

        let out = p.run("bob", &["--json", "memory", "set", "top", "x y"]);
        let v: Value = serde_json::from_str(&ok(&out)).unwrap();
        assert_eq!(v["key"], "top");
        assert_eq!(v["value"], "x y");
        assert_eq!(v["set_by"], "bob");
        assert!(valid_time(&v["set_at"]));
        assert_eq!(p.json("memory/top.json").unwrap()["value"], "x y");
    }
}

#[test]
fn get_prints_the_value_meta_and_json_and_fails_when_unset() {
    for p in Project::all() {
        ok(&p.run("bob", &["memory", "set", "a.b", "hello world"]));
        let live = p.json("memory/a/b.json").unwrap();
        let set_at = live["set_at"].as_str().unwrap();

        assert_eq!(
            ok(&p.run("alice", &["memory", "get", "a.b"])),
            "hello world\n"
        );

        // The Python tool's `--with-meta`: a JSON object scripts parse, indented by 2.
        let meta = ok(&p.run("alice", &["memory", "get", "a.b", "--with-meta"]));
        let parsed: Value = serde_json::from_str(&meta).unwrap();
        assert_eq!(
            parsed,
            serde_json::json!({"key": "a.b", "value": "hello world", "set_by": "bob", "set_at": set_at})
        );
        assert!(meta.starts_with("{\n  \"key\": \"a.b\",\n"), "{meta}");

        let out = p.run("alice", &["memory", "get", "a.b", "--json"]);
        let v: Value = serde_json::from_str(&ok(&out)).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"key": "a.b", "value": "hello world", "set_by": "bob", "set_at": set_at})
        );

        let out = p.run("alice", &["memory", "get", "a.missing"]);
        assert_eq!(code(&out), 1, "{:?}: {}", p.kind, stderr(&out));
        assert_eq!(stdout(&out), "");
        assert!(
            stderr(&out).contains("Error: memory key 'a.missing' is not set"),
            "{}",
            stderr(&out)
        );

        // `a` is a directory of values, not a value.
        assert_eq!(code(&p.run("alice", &["memory", "get", "a"])), 1);

        // A value written by the Python tool (same layout, extra fields) reads back.
        p.put_object(
            "memory/py/key.json",
            br#"{"value": "from python", "set_by": "py", "set_at": "2026-11-21T10:28:42.017355+00:00", "extra": 1}"#,
        );
        assert_eq!(
            ok(&p.run("alice", &["memory", "get", "py.key"])),
            "from python\n"
        );

        // A corrupt document is an error that names its key.
        p.put_object("memory/bad.json", b"not json");
        let out = p.run("alice", &["memory", "get", "bad"]);
        assert_eq!(code(&out), 1);
        assert!(stderr(&out).contains("memory/bad.json"), "{}", stderr(&out));
    }
}

#[test]
fn invalid_keys_are_usage_errors_and_write_nothing() {
    for p in Project::all() {
        let bad = [
            "",
            "a/b",
            "../x",
            "a..b",
            ".a",
            "a.",
            "a b",
            "é",
            "a*b",
            "_history",
            "_history.x",
        ];
        for key in bad {
            for args in [
                vec!["memory", "set", key, "v"],
                vec!["memory", "get", key],
                vec!["memory", "history", key],
            ] {
                let out = p.run("alice", &args);
                assert_eq!(code(&out), 2, "{:?} {args:?}: {}", p.kind, stderr(&out));
                assert!(
                    stderr(&out).contains("invalid memory key"),
                    "{}",
                    stderr(&out)
                );
                assert_eq!(stdout(&out), "");
            }
        }
        // A last segment starting with `_` names a bookkeeping object, never a value.
        for key in ["_x", "a._b", "a._history"] {
            let out = p.run("alice", &["memory", "set", key, "v"]);
            assert_eq!(code(&out), 2, "{key}: {}", stderr(&out));
        }
        for prefix in ["a/b", "design.", "_history"] {
            assert_eq!(
                code(&p.run("alice", &["memory", "list", prefix])),
                2,
                "{prefix}"
            );
        }
        assert_eq!(p.keys("memory/"), Vec::<String>::new(), "{:?}", p.kind);

        // Segments starting with `_` are fine elsewhere, as is `_history` further down.
        ok(&p.run("alice", &["memory", "set", "_team.notes", "n"]));
        ok(&p.run("alice", &["memory", "set", "a._history.b", "h"]));
        assert_eq!(p.json("memory/_team/notes.json").unwrap()["value"], "n");
        assert_eq!(p.json("memory/a/_history/b.json").unwrap()["value"], "h");
    }
}

#[test]
fn list_is_segment_bounded_sorted_and_skips_history_and_bookkeeping() {
    for p in Project::all() {
        let out = p.run("alice", &["memory", "list"]);
        assert_eq!(ok(&out), "", "no keys yet");
        let v: Value =
            serde_json::from_str(&ok(&p.run("alice", &["memory", "list", "--json"]))).unwrap();
        assert_eq!(v["keys"], serde_json::json!([]));

        for key in [
            "design.x",
            "design",
            "designer",
            "des.y",
            "design.x.deep",
            "Zeta",
            "_team.notes",
        ] {
            ok(&p.run("alice", &["memory", "set", key, "v"]));
        }
        // Bookkeeping and foreign objects are not keys.
        p.put_object("memory/design/_lock.json", b"{}");
        p.put_object("memory/design/readme.txt", b"x");

        let all = ok(&p.run("alice", &["memory", "list"]));
        assert_eq!(
            all, "Zeta\n_team.notes\ndes.y\ndesign\ndesign.x\ndesign.x.deep\ndesigner\n",
            "{:?}",
            p.kind
        );
        assert!(!all.contains("_history"));

        assert_eq!(
            ok(&p.run("alice", &["memory", "list", "design"])),
            "design\ndesign.x\ndesign.x.deep\n"
        );
        assert_eq!(ok(&p.run("alice", &["memory", "list", "des"])), "des.y\n");
        assert_eq!(
            ok(&p.run("alice", &["memory", "list", "design.x"])),
            "design.x\ndesign.x.deep\n"
        );
        assert_eq!(ok(&p.run("alice", &["memory", "list", "nothing"])), "");

        let v: Value =
            serde_json::from_str(&ok(&p.run("alice", &["memory", "list", "design", "--json"])))
                .unwrap();
        assert_eq!(
            v["keys"],
            serde_json::json!(["design", "design.x", "design.x.deep"])
        );
        assert_eq!(v["prefix"], "design");
    }
}

#[test]
fn history_is_oldest_first_direct_children_only_with_limit() {
    for p in Project::all() {
        let out = p.run("alice", &["memory", "history", "a"]);
        assert_eq!(code(&out), 1);
        assert!(
            stderr(&out).contains("no history for memory key 'a'"),
            "{}",
            stderr(&out)
        );
        assert_eq!(stdout(&out), "");

        ok(&p.run("alice", &["memory", "set", "a", "v1"]));
        ok(&p.run("bob", &["memory", "set", "a", "v2"]));
        ok(&p.run("carol", &["memory", "set", "a.b", "nested"]));
        ok(&p.run("alice", &["memory", "set", "a", "v3"]));

        let dir = "memory/_history/a/";
        let mut set_at = Vec::new();
        for k in p.keys(dir).iter().filter(|k| !k[dir.len()..].contains('/')) {
            let snap = p.json(k).unwrap();
            set_at.push((
                snap["value"].as_str().unwrap().to_string(),
                snap["set_at"].as_str().unwrap().to_string(),
            ));
        }
        set_at.sort_by(|a, b| a.0.cmp(&b.0));
        let expected = format!(
            "[{}] alice: v1\n[{}] bob: v2\n[{}] alice: v3\n",
            set_at[0].1, set_at[1].1, set_at[2].1
        );
        assert_eq!(
            ok(&p.run("dave", &["memory", "history", "a"])),
            expected,
            "{:?}",
            p.kind
        );

        let lines: Vec<&str> = expected.lines().collect();
        assert_eq!(
            ok(&p.run("dave", &["memory", "history", "a", "--limit", "2"])),
            format!("{}\n{}\n", lines[1], lines[2])
        );
        assert_eq!(
            ok(&p.run("dave", &["memory", "history", "a", "--limit", "1"])),
            format!("{}\n", lines[2])
        );
        assert_eq!(
            ok(&p.run("dave", &["memory", "history", "a", "--limit", "10"])),
            expected
        );

        let nested = ok(&p.run("dave", &["memory", "history", "a.b"]));
        assert!(nested.ends_with("] carol: nested\n"), "{nested}");
        assert_eq!(nested.lines().count(), 1);

        let v: Value = serde_json::from_str(&ok(&p.run(
            "dave",
            &["memory", "history", "a", "--limit", "2", "--json"],
        )))
        .unwrap();
        assert_eq!(v["key"], "a");
        let h = v["history"].as_array().unwrap();
        assert_eq!(h.len(), 2);
        assert_eq!(h[0]["value"], "v2");
        assert_eq!(h[0]["set_by"], "bob");
        assert_eq!(h[1]["value"], "v3");
        assert_eq!(h[1]["set_at"], set_at[2].1.as_str());
    }
}

#[test]
fn history_orders_by_the_key_timestamp_not_the_listing() {
    for p in Project::all() {
        // Planted snapshots: key order as strings differs from timestamp order, and the
        // body's set_at is not what orders them.
        let dir = "memory/_history/k/";
        let snap = |value: &str, at: &str| {
            format!(r#"{{"key":"k","value":"{value}","set_by":"py","set_at":"{at}"}}"#).into_bytes()
        };
        p.put_object(
            &format!("{dir}2000000000000000000_py_00000002.json"),
            &snap("second", "2033-05-18T03:33:20+00:00"),
        );
        p.put_object(
            &format!("{dir}999999999999999999_py_00000001.json"),
            &snap("first", "2099-01-01T00:00:00+00:00"),
        );
        p.put_object(
            &format!("{dir}2000000000000000001_py_00000003.json"),
            &snap("third", "2000-01-01T00:00:00+00:00"),
        );
        p.put_object(&format!("{dir}_note.json"), b"{}");
        p.put_object(&format!("{dir}not-a-snapshot.json"), &snap("junk", "x"));
        p.put_object(
            &format!("{dir}2000000000000000002_py_00000004.json"),
            b"corrupt",
        );

        let out = p.run("alice", &["memory", "history", "k"]);
        assert_eq!(
            ok(&out),
            "[2099-01-01T00:00:00+00:00] py: first\n[2033-05-18T03:33:20+00:00] py: second\n[2000-01-01T00:00:00+00:00] py: third\n",
            "{:?}",
            p.kind
        );
        assert!(
            stderr(&out).contains("2000000000000000002_py_00000004.json"),
            "{}",
            stderr(&out)
        );
    }
}
