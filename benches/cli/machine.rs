//! Facts about the machine and the tools, for the `run` record: CPU, cores, memory,
//! kernel, compiler and tool versions, the commit measured, and the load average (another
//! build on a 2-core machine shows up there and in the numbers).

use std::path::Path;
use std::process::Command;

use crate::record::Machine;

fn first_line(cmd: &mut Command) -> String {
    cmd.output()
        .ok()
        .map(|o| {
            let text = if o.stdout.is_empty() {
                o.stderr
            } else {
                o.stdout
            };
            String::from_utf8_lossy(&text)
                .lines()
                .next()
                .unwrap_or("")
                .trim()
                .to_string()
        })
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

pub fn loadavg() -> String {
    read("/proc/loadavg")
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

pub struct Tools<'a> {
    pub ours: &'a Path,
    pub python_tool: &'a Path,
    pub weed: Option<&'a Path>,
    pub repo: &'a Path,
}

pub fn describe(t: &Tools) -> Machine {
    let cpuinfo = read("/proc/cpuinfo");
    let cpu = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    let mem_kib: f64 = read("/proc/meminfo")
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0);
    let os = read("/etc/os-release")
        .lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))
        .map(|v| v.trim_matches('"').to_string())
        .unwrap_or_else(|| "unknown".into());
    let python = t
        .python_tool
        .parent()
        .map(|d| first_line(Command::new(d.join("python")).arg("--version")))
        .unwrap_or_else(|| "unknown".into());
    let mut commit = first_line(Command::new("git").arg("-C").arg(t.repo).args([
        "rev-parse",
        "--short=12",
        "HEAD",
    ]));
    let dirty = Command::new("git")
        .arg("-C")
        .arg(t.repo)
        .args(["status", "--porcelain", "--untracked-files=no"])
        .output()
        .map(|o| !o.stdout.is_empty())
        .unwrap_or(false);
    if dirty {
        commit.push_str(" with uncommitted changes");
    }
    Machine {
        cpu,
        cores: std::thread::available_parallelism()
            .map(|n| n.get() as u32)
            .unwrap_or(0),
        memory_gib: (mem_kib / 1024.0 / 1024.0 * 10.0).round() / 10.0,
        kernel: read("/proc/sys/kernel/osrelease").trim().to_string(),
        os,
        rustc: first_line(Command::new("rustc").arg("--version")),
        tracecraft: first_line(Command::new(t.ours).arg("--version")),
        commit,
        python_tool: first_line(
            Command::new(t.python_tool)
                .arg("--version")
                .env("HOME", "/nonexistent-tracecraft-home"),
        ),
        python,
        seaweedfs: t
            .weed
            .map(|w| first_line(Command::new(w).arg("version")))
            .unwrap_or_else(|| "unknown".into()),
        loadavg: loadavg(),
        shim_rss_kib: 0,
    }
}
