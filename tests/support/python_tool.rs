//! How the Python tool (`tracecraft-ai`) is run beside ours, in the interop tests and in
//! the benchmarks (which include this file by path): in its own HOME and working
//! directory, isolated from the caller's config and AWS settings.

#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

/// Variables that would point the Python tool at the caller's config or credentials.
const ISOLATED: [&str; 12] = [
    "TRACECRAFT_CONFIG",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
    "AWS_REGION",
    "HF_TOKEN",
];

/// `bin` run as `agent` with `dir` as its HOME and working directory.
pub fn command(bin: &Path, dir: &Path, agent: &str, region: &str) -> Command {
    let mut cmd = Command::new(bin);
    cmd.current_dir(dir)
        .env("HOME", dir)
        .env("TRACECRAFT_AGENT", agent)
        .env("AWS_DEFAULT_REGION", region)
        .env("PYTHONUTF8", "1")
        .env("PYTHONDONTWRITEBYTECODE", "1");
    for var in ISOLATED {
        cmd.env_remove(var);
    }
    cmd
}
