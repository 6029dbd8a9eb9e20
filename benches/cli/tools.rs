//! The two tools under test, each configured with its own `init` in its own temporary
//! HOME and working directory (as `tests/support/cli.rs` and `tests/interop.rs` do), so
//! neither reads the user's config, AWS profile or state. Our binary may also run on the
//! `fs` backend; the Python tool only speaks S3 here.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context;

use crate::python_tool;

use crate::proc;

/// The SeaweedFS server `scripts/lib/seaweedfs.sh` started.
#[derive(Clone, Debug)]
pub struct S3 {
    pub endpoint: String,
    pub access_key: String,
    pub secret_key: String,
    pub region: String,
}

impl S3 {
    pub fn from_env() -> anyhow::Result<S3> {
        let get = |k: &str| {
            std::env::var(k)
                .ok()
                .filter(|v| !v.is_empty())
                .with_context(|| format!("{k} is not set: run the benchmarks with scripts/bench"))
        };
        Ok(S3 {
            endpoint: get("TRACECRAFT_TEST_S3_ENDPOINT")?,
            access_key: get("TRACECRAFT_TEST_S3_ACCESS_KEY")?,
            secret_key: get("TRACECRAFT_TEST_S3_SECRET_KEY")?,
            region: get("TRACECRAFT_TEST_S3_REGION").unwrap_or_else(|_| "us-east-1".into()),
        })
    }
}

/// Where a project of our binary lives.
#[derive(Clone, Debug)]
pub enum Backend {
    S3 {
        s3: S3,
        bucket: String,
    },
    /// Objects under `<root>/tracecraft/<project>/`.
    Fs {
        root: PathBuf,
    },
}

impl Backend {
    pub fn name(&self) -> &'static str {
        match self {
            Backend::S3 { .. } => "s3",
            Backend::Fs { .. } => "fs",
        }
    }
}

/// Our binary, initialised on one project.
pub struct Ours {
    bin: PathBuf,
    pub dir: PathBuf,
    config: PathBuf,
    pub project: String,
    pub backend: Backend,
}

impl Ours {
    /// Runs `init` as `agent` in a new directory `dir` (which must not exist).
    pub fn init(
        bin: &Path,
        dir: PathBuf,
        backend: Backend,
        project: &str,
        agent: &str,
    ) -> anyhow::Result<Ours> {
        std::fs::create_dir_all(&dir)?;
        let ours = Ours {
            bin: bin.to_path_buf(),
            config: dir.join(".tracecraft.json"),
            dir,
            project: project.to_string(),
            backend,
        };
        let mut init = ours.isolated();
        init.args(["init", "--project", project, "--agent", agent]);
        match &ours.backend {
            Backend::S3 { s3, bucket } => {
                init.args([
                    "--endpoint",
                    &s3.endpoint,
                    "--bucket",
                    bucket,
                    "--region",
                    &s3.region,
                    "--access-key",
                    &s3.access_key,
                    "--secret-key",
                    &s3.secret_key,
                ]);
            }
            Backend::Fs { root } => {
                init.args(["--backend", "fs", "--root"]).arg(root);
            }
        }
        proc::must(init, &ours.dir.join("init"))?;
        Ok(ours)
    }

    fn isolated(&self) -> Command {
        let mut cmd = Command::new(&self.bin);
        cmd.current_dir(&self.dir)
            .env("HOME", &self.dir)
            .env_remove("TRACECRAFT_AGENT")
            .env_remove("TRACECRAFT_CONFIG")
            .env_remove("XDG_STATE_HOME")
            .env_remove("XDG_DATA_HOME")
            .env_remove("AWS_PROFILE")
            .env_remove("HF_TOKEN");
        cmd
    }

    /// A command of this project run as `agent`.
    pub fn cmd(&self, agent: &str) -> Command {
        let mut cmd = self.isolated();
        cmd.env("TRACECRAFT_CONFIG", &self.config)
            .env("TRACECRAFT_AGENT", agent);
        cmd
    }

    pub fn run(&self, agent: &str, args: &[&str]) -> anyhow::Result<proc::Finished> {
        let mut cmd = self.cmd(agent);
        cmd.args(args);
        proc::must(cmd, &self.dir.join("setup"))
    }
}

/// The Python tool `tracecraft-ai`, initialised on one project of the S3 bucket.
pub struct Python {
    bin: PathBuf,
    pub dir: PathBuf,
    region: String,
}

impl Python {
    pub fn init(
        bin: &Path,
        dir: PathBuf,
        s3: &S3,
        bucket: &str,
        project: &str,
        agent: &str,
    ) -> anyhow::Result<Python> {
        std::fs::create_dir_all(&dir)?;
        let py = Python {
            bin: bin.to_path_buf(),
            dir,
            region: s3.region.clone(),
        };
        let mut init = py.cmd(agent);
        init.args([
            "init",
            "--backend",
            "s3",
            "--endpoint",
            &s3.endpoint,
            "--bucket",
            bucket,
            "--project",
            project,
            "--agent",
            agent,
            "--access-key",
            &s3.access_key,
            "--secret-key",
            &s3.secret_key,
        ]);
        proc::must(init, &py.dir.join("init"))?;
        Ok(py)
    }

    /// A command run as `agent`, isolated from the caller's config and AWS settings.
    pub fn cmd(&self, agent: &str) -> Command {
        python_tool::command(&self.bin, &self.dir, agent, &self.region)
    }
}

/// Either tool, for scenarios that run both alike.
pub enum Tool<'a> {
    Ours(&'a Ours),
    Python(&'a Python),
}

impl Tool<'_> {
    pub fn name(&self) -> &'static str {
        match self {
            Tool::Ours(_) => "ours",
            Tool::Python(_) => "python",
        }
    }

    pub fn cmd(&self, agent: &str) -> Command {
        match self {
            Tool::Ours(o) => o.cmd(agent),
            Tool::Python(p) => p.cmd(agent),
        }
    }

    pub fn dir(&self) -> &Path {
        match self {
            Tool::Ours(o) => &o.dir,
            Tool::Python(p) => &p.dir,
        }
    }
}
