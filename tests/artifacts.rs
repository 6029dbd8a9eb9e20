//! `artifact upload/download/list` against every available backend: exit codes, output,
//! the bytes and metadata in the bucket, and the local files left behind (contract
//! sections 2, 5, 6 and 7).

mod support;

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;
use sha2::{Digest, Sha256};
use support::cli::{Kind, Project, block_on, code, ok, stderr, stdout};
use tracecraft::store::{PutMode, PutOptions};

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Deterministic bytes that do not compress or repeat on any power-of-two boundary.
fn content(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// The user metadata stored with an object, and whether the backend keeps any.
fn metadata(p: &Project, key: &str) -> (bool, BTreeMap<String, String>) {
    let config = p.config();
    block_on(async move {
        let store = config.open_store().await.unwrap();
        let keeps = store.capabilities().user_metadata;
        (keeps, store.head(key).await.unwrap().metadata)
    })
}

/// Replaces an object's bytes while keeping the given metadata, as a corrupted or
/// tampered object would look.
fn put_with_metadata(p: &Project, key: &str, body: &[u8], meta: BTreeMap<String, String>) {
    let config = p.config();
    let body = bytes::Bytes::copy_from_slice(body);
    block_on(async move {
        let store = config.open_store().await.unwrap();
        let opts = PutOptions {
            content_type: None,
            metadata: meta,
        };
        store
            .put(key, body, PutMode::Overwrite, &opts)
            .await
            .unwrap();
    })
}

/// Names in `dir`, so a test can tell that no temp file was left behind.
fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_multi_mib_file_round_trips_with_its_sha256() {
    // Larger than the S3 backend's single-PUT limit (16 MiB), so it goes up in parts.
    let data = content(17 * 1024 * 1024 + 123, 1);
    let digest = sha256(&data);
    for p in Project::all() {
        let src = p.path().join("big.bin");
        std::fs::write(&src, &data).unwrap();

        let out = p.run("bob", &["artifact", "upload", "big.bin"]);
        assert_eq!(
            ok(&out),
            "Uploaded big.bin -> artifacts/shared/big.bin\n",
            "{:?}",
            p.kind
        );
        assert_eq!(
            stderr(&out),
            "",
            "no progress bar when stderr is not a terminal"
        );
        let stored = p.object("artifacts/shared/big.bin").expect("uploaded");
        assert!(stored == data, "stored bytes differ ({:?})", p.kind);
        let (keeps, meta) = metadata(&p, "artifacts/shared/big.bin");
        if keeps {
            assert_eq!(meta.get("sha256"), Some(&digest), "{:?}", p.kind);
        }
        if p.kind == Kind::S3 {
            assert!(keeps, "the s3 backend keeps metadata");
        }
        // The uploader's presence is refreshed alongside.
        assert_eq!(p.json("agents/bob.json").expect("presence")["id"], "bob");

        std::fs::create_dir(p.path().join("out")).unwrap();
        let out = p.run(
            "alice",
            &["artifact", "download", "big.bin", "-o", "out/copy.bin"],
        );
        assert_eq!(
            ok(&out),
            "Downloaded artifacts/shared/big.bin -> out/copy.bin\n"
        );
        let copy = std::fs::read(p.path().join("out/copy.bin")).unwrap();
        assert!(copy == data, "downloaded bytes differ ({:?})", p.kind);
        assert_eq!(files_in(&p.path().join("out")), ["copy.bin"]);

        // `-o DIR` keeps the artifact's name; --json reports what was written.
        let out = p.run(
            "alice",
            &["--json", "artifact", "download", "big.bin", "-o", "out"],
        );
        let v: Value = serde_json::from_str(&ok(&out)).unwrap();
        assert_eq!(v["key"], "artifacts/shared/big.bin");
        assert_eq!(v["path"], "out/big.bin");
        assert_eq!(v["size"], data.len() as u64);
        assert_eq!(v["sha256"], digest.as_str());
        assert_eq!(v["verified"], keeps);
        assert!(std::fs::read(p.path().join("out/big.bin")).unwrap() == data);
        assert_eq!(files_in(&p.path().join("out")), ["big.bin", "copy.bin"]);
    }
}

#[test]
fn upload_to_a_step_and_list() {
    for p in Project::all() {
        assert_eq!(ok(&p.run("alice", &["artifact", "list"])), "");
        let v: Value =
            serde_json::from_str(&ok(&p.run("alice", &["artifact", "list", "--json"]))).unwrap();
        assert_eq!(v, serde_json::json!({"artifacts": []}));

        std::fs::create_dir(p.path().join("sub")).unwrap();
        std::fs::write(p.path().join("sub/report.txt"), b"report").unwrap();
        std::fs::write(p.path().join("notes.md"), b"notes!").unwrap();
        std::fs::write(p.path().join("_config.yml"), b"x: 1").unwrap();

        let out = p.run(
            "alice",
            &[
                "artifact",
                "upload",
                "sub/report.txt",
                "--step",
                "Phase.One",
            ],
        );
        assert_eq!(
            ok(&out),
            "Uploaded report.txt -> artifacts/phase-one/report.txt\n",
            "{:?}",
            p.kind
        );
        assert_eq!(
            p.object("artifacts/phase-one/report.txt").unwrap(),
            b"report"
        );

        let out = p.run("alice", &["--json", "artifact", "upload", "notes.md"]);
        let v: Value = serde_json::from_str(&ok(&out)).unwrap();
        assert_eq!(v["key"], "artifacts/shared/notes.md");
        assert_eq!(v["name"], "notes.md");
        assert_eq!(v["size"], 6);
        assert_eq!(v["sha256"], sha256(b"notes!").as_str());
        ok(&p.run(
            "alice",
            &["artifact", "upload", "_config.yml", "--step", "b"],
        ));

        assert_eq!(
            ok(&p.run("alice", &["artifact", "list"])),
            "artifacts/b/_config.yml\nartifacts/phase-one/report.txt\nartifacts/shared/notes.md\n"
        );
        assert_eq!(
            ok(&p.run("alice", &["artifact", "list", "--step", "PHASE.one"])),
            "artifacts/phase-one/report.txt\n"
        );
        assert_eq!(
            ok(&p.run("alice", &["artifact", "list", "--step", "other"])),
            ""
        );

        let v: Value = serde_json::from_str(&ok(&p.run(
            "alice",
            &["artifact", "list", "--step", "phase-one", "--json"],
        )))
        .unwrap();
        let rows = v["artifacts"].as_array().unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0]["key"], "artifacts/phase-one/report.txt");
        assert_eq!(rows[0]["name"], "report.txt");
        assert_eq!(rows[0]["size"], 6);
        let lm = rows[0]["last_modified"].as_str().expect("last_modified");
        assert!(chrono::DateTime::parse_from_rfc3339(lm).is_ok(), "{lm}");

        // Download from the step into the current directory by default.
        std::fs::remove_file(p.path().join("sub/report.txt")).unwrap();
        let out = p.run(
            "bob",
            &["artifact", "download", "report.txt", "--step", "Phase.One"],
        );
        assert_eq!(
            ok(&out),
            "Downloaded artifacts/phase-one/report.txt -> report.txt\n"
        );
        assert_eq!(
            std::fs::read(p.path().join("report.txt")).unwrap(),
            b"report"
        );
    }
}

#[test]
fn download_never_overwrites_without_force() {
    for p in Project::all() {
        std::fs::write(p.path().join("r.txt"), b"new contents").unwrap();
        ok(&p.run("alice", &["artifact", "upload", "r.txt"]));
        std::fs::write(p.path().join("r.txt"), b"local edits").unwrap();

        let out = p.run("alice", &["artifact", "download", "r.txt"]);
        assert_eq!(code(&out), 1, "{:?}: {}", p.kind, stderr(&out));
        assert_eq!(stdout(&out), "");
        let err = stderr(&out);
        assert!(err.contains("Error: 'r.txt' already exists"), "{err}");
        let hint = err
            .lines()
            .find(|l| l.starts_with("Hint:"))
            .expect("a hint line");
        assert!(hint.contains("--force"), "{hint}");
        assert_eq!(
            std::fs::read(p.path().join("r.txt")).unwrap(),
            b"local edits"
        );

        // A dangling symlink is an existing file too.
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink("nowhere", p.path().join("link.txt")).unwrap();
            let out = p.run(
                "alice",
                &["artifact", "download", "r.txt", "-o", "link.txt"],
            );
            assert_eq!(code(&out), 1);
            assert!(
                std::fs::symlink_metadata(p.path().join("link.txt"))
                    .unwrap()
                    .file_type()
                    .is_symlink()
            );
        }

        let out = p.run("alice", &["artifact", "download", "r.txt", "--force"]);
        assert_eq!(ok(&out), "Downloaded artifacts/shared/r.txt -> r.txt\n");
        assert_eq!(
            std::fs::read(p.path().join("r.txt")).unwrap(),
            b"new contents"
        );
        let leftovers: Vec<String> = files_in(p.path())
            .into_iter()
            .filter(|n| n.contains("tracecraft-part"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }
}

#[test]
fn a_missing_artifact_is_exit_1_and_leaves_nothing() {
    for p in Project::all() {
        let before = files_in(p.path());
        let out = p.run("alice", &["artifact", "download", "nope.bin"]);
        assert_eq!(code(&out), 1, "{:?}: {}", p.kind, stderr(&out));
        assert!(
            stderr(&out).contains("no artifact 'nope.bin'"),
            "{}",
            stderr(&out)
        );
        assert_eq!(stdout(&out), "");
        let out = p.run(
            "alice",
            &["artifact", "download", "nope.bin", "--step", "s1"],
        );
        assert_eq!(code(&out), 1);
        assert!(
            stderr(&out).contains("artifacts/s1/nope.bin"),
            "{}",
            stderr(&out)
        );
        assert_eq!(files_in(p.path()), before);
    }
}

#[test]
fn bad_names_paths_and_steps_are_rejected_before_anything_happens() {
    for p in Project::all() {
        for name in ["../x", "..", ".", "a/b", "a\\b", "x\ny", ""] {
            let out = p.run("alice", &["artifact", "download", name]);
            assert_eq!(code(&out), 2, "{name:?}: {}", stderr(&out));
            assert!(
                stderr(&out).contains("invalid artifact name"),
                "{}",
                stderr(&out)
            );
        }
        std::fs::write(p.path().join("ok.txt"), b"x").unwrap();
        for step in ["../x", "a/b", "_x", ".."] {
            let out = p.run("alice", &["artifact", "upload", "ok.txt", "--step", step]);
            assert_eq!(code(&out), 2, "{step}: {}", stderr(&out));
            let out = p.run("alice", &["artifact", "download", "ok.txt", "--step", step]);
            assert_eq!(code(&out), 2, "{step}: {}", stderr(&out));
            assert_eq!(
                code(&p.run("alice", &["artifact", "list", "--step", step])),
                2
            );
        }
        // A path that names no file, a directory, a missing file.
        for path in ["..", ".", "missing.txt"] {
            let out = p.run("alice", &["artifact", "upload", path]);
            assert_eq!(code(&out), 2, "{path}: {}", stderr(&out));
        }
        std::fs::create_dir(p.path().join("adir")).unwrap();
        assert_eq!(code(&p.run("alice", &["artifact", "upload", "adir"])), 2);
        #[cfg(unix)]
        {
            std::fs::write(p.path().join("back\\slash"), b"x").unwrap();
            let out = p.run("alice", &["artifact", "upload", "back\\slash"]);
            assert_eq!(code(&out), 2, "{}", stderr(&out));
        }
        assert_eq!(p.keys("artifacts/"), Vec::<String>::new(), "{:?}", p.kind);

        // `../x` as a path uploads the file under its own name.
        std::fs::write(
            p.path().parent().unwrap().join(format!(
                "{}-up.txt",
                p.path().file_name().unwrap().to_string_lossy()
            )),
            b"up",
        )
        .unwrap();
        let rel = format!(
            "../{}-up.txt",
            p.path().file_name().unwrap().to_string_lossy()
        );
        let out = p.run("alice", &["artifact", "upload", &rel]);
        let name = &rel[3..];
        assert_eq!(
            ok(&out),
            format!("Uploaded {name} -> artifacts/shared/{name}\n")
        );
        std::fs::remove_file(p.path().parent().unwrap().join(name)).unwrap();
    }
}

#[test]
fn a_corrupted_download_is_detected_and_leaves_nothing() {
    let data = content(3 * 1024 * 1024 + 7, 2);
    for p in Project::all() {
        std::fs::write(p.path().join("data.bin"), &data).unwrap();
        ok(&p.run("alice", &["artifact", "upload", "data.bin"]));
        std::fs::remove_file(p.path().join("data.bin")).unwrap();
        let key = "artifacts/shared/data.bin";
        let (keeps, meta) = metadata(&p, key);
        assert_eq!(keeps, p.kind == Kind::S3, "fs keeps no metadata, s3 does");
        if !keeps {
            // Nothing to verify against on this backend (fs keeps no metadata).
            continue;
        }
        let mut bad = data.clone();
        bad[1_000_000] ^= 0x55;
        put_with_metadata(&p, key, &bad, meta);

        let before = files_in(p.path());
        let out = p.run("bob", &["artifact", "download", "data.bin"]);
        assert_eq!(code(&out), 1, "{:?}: {}", p.kind, stderr(&out));
        assert!(
            stderr(&out).contains("checksum mismatch"),
            "{}",
            stderr(&out)
        );
        assert_eq!(stdout(&out), "");
        assert_eq!(files_in(p.path()), before, "no file and no temp file left");

        // --force does not skip the check either.
        std::fs::write(p.path().join("data.bin"), b"mine").unwrap();
        let out = p.run("bob", &["artifact", "download", "data.bin", "--force"]);
        assert_eq!(code(&out), 1);
        assert_eq!(std::fs::read(p.path().join("data.bin")).unwrap(), b"mine");
    }
}

#[test]
fn objects_without_a_checksum_still_download() {
    // What the Python tool uploads: raw bytes, no metadata.
    for p in Project::all() {
        p.put_object("artifacts/s2/plain.txt", b"from python");
        let out = p.run(
            "alice",
            &[
                "--json",
                "artifact",
                "download",
                "plain.txt",
                "--step",
                "s2",
            ],
        );
        let v: Value = serde_json::from_str(&ok(&out)).unwrap();
        assert_eq!(v["verified"], false);
        assert_eq!(v["path"], "plain.txt");
        assert_eq!(
            std::fs::read(p.path().join("plain.txt")).unwrap(),
            b"from python"
        );
    }
}
