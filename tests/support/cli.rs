//! Fixtures for the integration tests that drive the built binary: a project initialised
//! on a fresh bucket of one backend (fs in a temp dir, or s3 on the SeaweedFS server that
//! `scripts/test` starts), commands run as any agent, and direct reads of the bucket so a
//! test checks exit code, output and stored state together.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use tracecraft::config::Config;

/// All s3 fixtures share one bucket (each under its own project): SeaweedFS gives every
/// bucket its own volumes, and a bucket per test would exhaust them.
pub const S3_BUCKET: &str = "tc-integration";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Fs,
    S3,
}

pub struct Project {
    pub kind: Kind,
    /// Unique per fixture, so fixtures sharing a bucket never see each other.
    pub name: String,
    pub dir: tempfile::TempDir,
    pub config_path: PathBuf,
}

/// Prints past the harness's capture, so skip reasons show in every run.
pub fn announce(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{line}");
}

pub fn s3_env() -> Option<(String, String, String)> {
    let get = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    match (
        get("TRACECRAFT_TEST_S3_ENDPOINT"),
        get("TRACECRAFT_TEST_S3_ACCESS_KEY"),
        get("TRACECRAFT_TEST_S3_SECRET_KEY"),
    ) {
        (Some(e), Some(a), Some(s)) => Some((e, a, s)),
        _ => {
            let reason =
                "no S3 test server: TRACECRAFT_TEST_S3_ENDPOINT is not set (run scripts/test)";
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("{reason}; under CI=true every backend must run");
            }
            announce(&format!("SKIPPED (s3): {reason}"));
            None
        }
    }
}

impl Project {
    /// A project on `kind`, initialised as agent `alice`; `None` when s3 is unavailable
    /// outside CI (the reason is printed).
    pub fn new(kind: Kind) -> Option<Project> {
        let dir = tempfile::tempdir().unwrap();
        let config_path = dir.path().join(".tracecraft.json");
        let project = Project {
            kind,
            name: format!("demo-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]),
            dir,
            config_path,
        };
        let mut init = project.raw();
        init.args(["init", "--project", &project.name, "--agent", "alice"]);
        match kind {
            Kind::Fs => {
                init.arg("--root").arg(project.dir.path().join("data"));
            }
            Kind::S3 => {
                let (endpoint, ak, sk) = s3_env()?;
                init.args([
                    "--endpoint",
                    &endpoint,
                    "--bucket",
                    S3_BUCKET,
                    "--access-key",
                    &ak,
                    "--secret-key",
                    &sk,
                ]);
            }
        }
        let out = init.output().unwrap();
        assert!(
            out.status.success(),
            "init failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Some(project)
    }

    pub fn fs() -> Project {
        Project::new(Kind::Fs).unwrap()
    }

    /// Every backend available to this run.
    pub fn all() -> Vec<Project> {
        [Kind::Fs, Kind::S3]
            .into_iter()
            .filter_map(Project::new)
            .collect()
    }

    fn raw(&self) -> Command {
        Command::from_std(self.raw_std())
    }

    fn raw_std(&self) -> std::process::Command {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_tracecraft"));
        cmd.current_dir(self.dir.path())
            .env("HOME", self.dir.path())
            // The document cache lives under this test's HOME.
            .env_remove("XDG_CACHE_HOME")
            .env_remove("TRACECRAFT_AGENT")
            .env_remove("TRACECRAFT_CONFIG")
            .env_remove("AWS_PROFILE")
            .env_remove("HF_TOKEN");
        cmd
    }

    /// The command run as `agent`.
    pub fn cmd(&self, agent: &str) -> Command {
        Command::from_std(self.std_cmd(agent))
    }

    /// The same as a plain `std::process::Command`, for spawning concurrent processes.
    pub fn std_cmd(&self, agent: &str) -> std::process::Command {
        let mut cmd = self.raw_std();
        cmd.env("TRACECRAFT_CONFIG", &self.config_path)
            .env("TRACECRAFT_AGENT", agent);
        cmd
    }

    /// Runs `args` once per agent, all processes at once; outputs in `agents` order.
    pub fn race(&self, agents: &[String], args: &[&str]) -> Vec<Output> {
        let children: Vec<_> = agents
            .iter()
            .map(|agent| {
                let mut cmd = self.std_cmd(agent);
                cmd.args(args)
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped());
                cmd.spawn().unwrap()
            })
            .collect();
        children
            .into_iter()
            .map(|c| c.wait_with_output().unwrap())
            .collect()
    }

    /// Runs `args` as `agent` and returns the output.
    pub fn run(&self, agent: &str, args: &[&str]) -> Output {
        self.cmd(agent).args(args).output().unwrap()
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn config(&self) -> Config {
        serde_json::from_slice(&std::fs::read(&self.config_path).unwrap()).unwrap()
    }

    /// The bytes stored at a project-relative key, read through the library.
    pub fn object(&self, key: &str) -> Option<Vec<u8>> {
        let config = self.config();
        block_on(async move {
            let store = config.open_store().await.unwrap();
            match store.get(key).await {
                Ok(obj) => Some(obj.body.to_vec()),
                Err(tracecraft::store::StoreError::NotFound { .. }) => None,
                Err(e) => panic!("reading {key}: {e}"),
            }
        })
    }

    pub fn json(&self, key: &str) -> Option<serde_json::Value> {
        self.object(key)
            .map(|b| serde_json::from_slice(&b).unwrap())
    }

    /// Writes raw bytes at a key, e.g. to plant a corrupt document.
    pub fn put_object(&self, key: &str, body: &[u8]) {
        let config = self.config();
        let body = bytes::Bytes::copy_from_slice(body);
        block_on(async move {
            let store = config.open_store().await.unwrap();
            store
                .put(
                    key,
                    body,
                    tracecraft::store::PutMode::Overwrite,
                    &Default::default(),
                )
                .await
                .unwrap();
        })
    }

    pub fn delete_object(&self, key: &str) {
        let config = self.config();
        block_on(async move {
            config
                .open_store()
                .await
                .unwrap()
                .delete(key)
                .await
                .unwrap();
        })
    }

    /// Project-relative keys under `prefix`.
    pub fn keys(&self, prefix: &str) -> Vec<String> {
        let config = self.config();
        block_on(async move {
            let store = config.open_store().await.unwrap();
            store
                .list(prefix, None)
                .await
                .unwrap()
                .into_iter()
                .map(|e| e.key)
                .collect()
        })
    }
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn code(out: &Output) -> i32 {
    out.status.code().expect("exit code")
}

/// Asserts exit 0 and returns stdout, showing both streams on failure.
#[track_caller]
pub fn ok(out: &Output) -> String {
    assert_eq!(
        code(out),
        0,
        "stdout: {}\nstderr: {}",
        stdout(out),
        stderr(out)
    );
    stdout(out)
}

/// True for `<19-digit ns time>_<who>_<8 lower-case hex>.json`, the name of every
/// append-only record (messages, memory history snapshots).
pub fn is_append_name(name: &str, who: &str) -> bool {
    let Some(stem) = name.strip_suffix(".json") else {
        return false;
    };
    let Some((ts, rest)) = stem.split_once('_') else {
        return false;
    };
    let Some((sender, uuid8)) = rest.rsplit_once('_') else {
        return false;
    };
    ts.len() == 19
        && ts.bytes().all(|b| b.is_ascii_digit())
        && sender == who
        && uuid8.len() == 8
        && uuid8
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

/// True for a stored timestamp in UTC.
pub fn valid_time(v: &serde_json::Value) -> bool {
    v.as_str()
        .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
        .is_some_and(|t| t.offset().local_minus_utc() == 0)
}

/// Runs a future to completion on a fresh current-thread runtime (for sync tests).
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}
