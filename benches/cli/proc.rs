//! Runs child processes and measures them as an agent experiences them: wall time from
//! start to exit, the exit code, and the peak resident set from the kernel's rusage.
//!
//! Every child is started through this driver's own `measure` mode, a fresh small process
//! that forks the real command, reaps it with `wait4` and writes a one-line report. The
//! detour is for the memory figure: Linux starts a child's `ru_maxrss` at the RSS of the
//! process it was forked from (vfork: that process's peak), so children forked straight
//! from this driver, which holds an S3 client and transcripts in memory, would all report
//! at least the driver's size. The shim is small, and it also starts the clock right at
//! the fork, so its own start-up is not counted. With a start time it first sleeps until
//! then, so children spawned one by one start together.
//!
//! Output goes to files rather than pipes, so a child printing 10,000 lines never blocks
//! on a full pipe and no reader thread competes with it for the 2 cores.

use std::fs::File;
use std::io;
use std::mem::MaybeUninit;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

/// The driver's argument that selects [`measure_main`].
pub const MEASURE: &str = "measure";

/// One finished process.
#[derive(Debug)]
pub struct Finished {
    /// The exit code; 128 + the signal number when a signal ended it.
    pub exit: i32,
    pub wall_ms: f64,
    pub rss_kib: u64,
    /// When it exited, on the monotonic clock, in nanoseconds.
    pub ended_ns: u128,
    pub stdout: String,
    pub stderr: String,
}

/// A process started by [`spawn`], not yet reaped.
pub struct Spawned {
    shim: Child,
    start_ns: Option<u128>,
    out: PathBuf,
    err: PathBuf,
    report: PathBuf,
}

/// The monotonic clock in nanoseconds: the clock `Instant` reads, shared by every process.
pub fn monotonic_ns() -> u128 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is valid for writes; CLOCK_MONOTONIC always exists on Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u128 * 1_000_000_000 + ts.tv_nsec as u128
}

/// Starts `cmd` (its program, arguments, environment and working directory) with stdout
/// and stderr going to `<base>.out` and `<base>.err`. With `start_at` it starts then, and
/// wall time counts from then.
pub fn spawn(cmd: Command, base: &Path, start_at: Option<Instant>) -> io::Result<Spawned> {
    spawn_reading(cmd, base, start_at, Stdio::null())
}

/// Like [`spawn`], with `stdin` as the command's standard input (a hook's payload, say).
pub fn spawn_reading(
    cmd: Command,
    base: &Path,
    start_at: Option<Instant>,
    stdin: Stdio,
) -> io::Result<Spawned> {
    let out = base.with_extension("out");
    let err = base.with_extension("err");
    let report = base.with_extension("rusage");
    let start_ns = start_at.map(|at| {
        let now = Instant::now();
        monotonic_ns() + at.saturating_duration_since(now).as_nanos()
    });
    let mut shim = Command::new(std::env::current_exe()?);
    shim.arg(MEASURE).arg(&report);
    if let Some(ns) = start_ns {
        shim.arg("--at").arg(ns.to_string());
    }
    shim.arg("--").arg(cmd.get_program()).args(cmd.get_args());
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => shim.env(k, v),
            None => shim.env_remove(k),
        };
    }
    if let Some(dir) = cmd.get_current_dir() {
        shim.current_dir(dir);
    }
    shim.stdin(stdin)
        .stdout(File::create(&out)?)
        .stderr(File::create(&err)?);
    Ok(Spawned {
        shim: shim.spawn()?,
        start_ns,
        out,
        err,
        report,
    })
}

impl Spawned {
    /// Waits for the process to exit and collects its report and what it printed.
    pub fn wait(mut self) -> io::Result<Finished> {
        let status = self.shim.wait()?;
        let take = |p: &Path| {
            let text = std::fs::read(p).map(|b| String::from_utf8_lossy(&b).into_owned());
            let _ = std::fs::remove_file(p);
            text
        };
        let stdout = take(&self.out)?;
        let stderr = take(&self.err)?;
        let report = take(&self.report).map_err(|e| {
            io::Error::other(format!(
                "the measuring shim left no report ({status}; {e}): {stderr}"
            ))
        })?;
        let nums: Vec<u128> = report
            .split_whitespace()
            .filter_map(|n| n.parse().ok())
            .collect();
        let [exit, forked_ns, ended_ns, rss_kib] = nums[..] else {
            return Err(io::Error::other(format!("bad shim report: {report:?}")));
        };
        let from = self.start_ns.unwrap_or(forked_ns);
        Ok(Finished {
            exit: exit as i32,
            wall_ms: ended_ns.saturating_sub(from) as f64 / 1e6,
            rss_kib: rss_kib as u64,
            ended_ns,
            stdout,
            stderr,
        })
    }
}

/// Spawns `cmd` and waits for it.
pub fn run(cmd: Command, base: &Path) -> io::Result<Finished> {
    spawn(cmd, base, None)?.wait()
}

/// Spawns `cmd` with the file `input` as its standard input, and waits for it.
pub fn run_reading(cmd: Command, base: &Path, input: &Path) -> io::Result<Finished> {
    spawn_reading(cmd, base, None, File::open(input)?.into())?.wait()
}

/// Like [`run`], but an exit other than 0 is an error carrying both streams: for set-up
/// steps, which must work for the measurements to mean anything.
pub fn must(cmd: Command, base: &Path) -> anyhow::Result<Finished> {
    let shown = format!("{cmd:?}");
    let done = run(cmd, base)?;
    if done.exit != 0 {
        anyhow::bail!(
            "{shown} exited with {}\nstdout: {}\nstderr: {}",
            done.exit,
            done.stdout,
            done.stderr
        );
    }
    Ok(done)
}

/// `measure REPORT [--at NS] -- PROGRAM ARGS`: sleeps until the monotonic clock reads
/// `NS` (if given), runs the program with this process's environment and streams, reaps
/// it with `wait4`, and writes `exit forked_ns ended_ns maxrss_kib` to REPORT. Returns
/// the shim's exit code: 0 once a report is written.
pub fn measure_main(args: &[String]) -> i32 {
    match measure(args) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("measure: {e}");
            127
        }
    }
}

fn measure(args: &[String]) -> io::Result<()> {
    let bad = || io::Error::other("usage: measure REPORT [--at NS] -- PROGRAM ARGS");
    let (report, mut rest) = args.split_first().ok_or_else(bad)?;
    let mut at = None;
    if rest.first().map(String::as_str) == Some("--at") {
        at = Some(
            rest.get(1)
                .and_then(|n| n.parse::<u128>().ok())
                .ok_or_else(bad)?,
        );
        rest = &rest[2..];
    }
    let (dashes, rest) = rest.split_first().ok_or_else(bad)?;
    let (program, program_args) = rest.split_first().ok_or_else(bad)?;
    if dashes != "--" {
        return Err(bad());
    }
    if let Some(ns) = at {
        let ts = libc::timespec {
            tv_sec: (ns / 1_000_000_000) as libc::time_t,
            tv_nsec: (ns % 1_000_000_000) as libc::c_long,
        };
        // SAFETY: `ts` is a valid absolute time, and a null remainder is allowed with
        // TIMER_ABSTIME; an early wake-up by a signal only starts the child sooner.
        unsafe {
            libc::clock_nanosleep(
                libc::CLOCK_MONOTONIC,
                libc::TIMER_ABSTIME,
                &ts,
                std::ptr::null_mut(),
            )
        };
    }
    let forked_ns = monotonic_ns();
    let child = Command::new(program).args(program_args).spawn()?;
    let pid = child.id() as libc::pid_t;
    let mut status: libc::c_int = 0;
    let mut usage = MaybeUninit::<libc::rusage>::zeroed();
    loop {
        // SAFETY: `status` and `usage` are valid for writes; `pid` is our own child,
        // which nothing else reaps (the `Child` handle is never waited on).
        let r = unsafe { libc::wait4(pid, &mut status, 0, usage.as_mut_ptr()) };
        if r == pid {
            break;
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
    let ended_ns = monotonic_ns();
    // SAFETY: wait4 succeeded, so it filled the rusage.
    let usage = unsafe { usage.assume_init() };
    let exit = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        128 + libc::WTERMSIG(status)
    };
    // Linux reports ru_maxrss in KiB.
    std::fs::write(
        report,
        format!("{exit} {forked_ns} {ended_ns} {}\n", usage.ru_maxrss),
    )
}
