//! What every scenario shares: where the tools and the server are, the plan fixed before
//! the run, a scratch directory, fresh projects, and the recorder that appends each
//! measurement to the JSON Lines file as soon as it is taken (a run cut short keeps what
//! it measured).

pub mod burst;
pub mod contention;
pub mod hooks;
pub mod inbox;
pub mod inbox_wait;
pub mod latency;
pub mod mirror;
pub mod plan;
pub mod reserve;
pub mod scale;
pub mod wait;

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::floor::Floor;
use crate::record::{self, Plan, Record};
use crate::stats::summarize;
use crate::tools::{Backend, Ours, Python, S3};

/// All s3 projects share one bucket: SeaweedFS gives every bucket its own volumes.
pub const BUCKET: &str = "tc-bench";

pub struct Ctx {
    pub ours_bin: PathBuf,
    pub python_bin: PathBuf,
    pub s3: S3,
    pub scratch: PathBuf,
    pub plan: Plan,
    /// Distinguishes this run's projects from any earlier run's in the same bucket.
    pub run_id: String,
}

impl Ctx {
    /// A fresh project name for one scenario (and backend).
    pub fn project(&self, scenario: &str) -> String {
        format!("bench-{}-{scenario}", self.run_id)
    }

    /// A new directory under the scratch directory.
    pub fn dir(&self, name: &str) -> PathBuf {
        self.scratch.join(name)
    }

    pub fn s3_backend(&self) -> Backend {
        Backend::S3 {
            s3: self.s3.clone(),
            bucket: BUCKET.into(),
        }
    }

    pub fn fs_backend(&self, name: &str) -> Backend {
        Backend::Fs {
            root: self.dir(&format!("{name}-fsroot")),
        }
    }

    /// Our binary initialised on `project` in `backend`, as `agent`.
    pub fn ours(&self, backend: Backend, project: &str, agent: &str) -> anyhow::Result<Ours> {
        let dir = self.dir(&format!("{project}-{}-ours", backend.name()));
        Ours::init(&self.ours_bin, dir, backend, project, agent)
    }

    pub fn python(&self, project: &str, agent: &str) -> anyhow::Result<Python> {
        Python::init(
            &self.python_bin,
            self.dir(&format!("{project}-python")),
            &self.s3,
            BUCKET,
            project,
            agent,
        )
    }

    pub fn floor(&self, project: &str) -> anyhow::Result<Floor> {
        Floor::new(&self.s3, BUCKET, project)
    }
}

/// Appends records to the results file, one line each, flushed at once.
pub struct Recorder {
    file: File,
}

impl Recorder {
    pub fn create(path: &Path) -> anyhow::Result<Recorder> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        Ok(Recorder {
            file: File::create(path)?,
        })
    }

    pub fn push(&mut self, r: Record) -> anyhow::Result<()> {
        writeln!(self.file, "{}", record::line(&r))?;
        Ok(())
    }
}

pub fn say(line: impl AsRef<str>) {
    eprintln!("bench: {}", line.as_ref());
}

/// `median X ms (min–max)` for progress lines.
pub fn brief(values: impl IntoIterator<Item = f64>) -> String {
    match summarize(values) {
        Some(s) => format!(
            "median {:.1} ms (min {:.1}, max {:.1}, n={})",
            s.median, s.min, s.max, s.count
        ),
        None => "no successful runs".into(),
    }
}
