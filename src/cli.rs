//! The command line: global flags and one subcommand enum, parsed by clap. Each subcommand's
//! arguments live here so `--help` and shell completions see the whole surface.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::BackendKind;

#[derive(Debug, Parser)]
#[command(
    name = "tracecraft",
    version,
    about = "Coordinate AI coding agents through a bucket: atomic claims, handoffs, mailbox, memory, files."
)]
pub struct Cli {
    /// Print one JSON object on stdout (JSON Lines for streams).
    #[arg(long, global = true)]
    pub json: bool,
    /// Print only results; no progress or hints.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print extra detail on stderr.
    #[arg(short, long, global = true)]
    pub verbose: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Set up the bucket and write the config (.tracecraft.json, or ~/.tracecraft/config.json with --global).
    Init(InitArgs),
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Storage backend: fs (local disk, the default), s3, or hf (Hugging Face storage bucket).
    #[arg(long, value_enum)]
    pub backend: Option<BackendKind>,
    /// fs: the directory holding buckets [default: $XDG_DATA_HOME/tracecraft].
    #[arg(long)]
    pub root: Option<PathBuf>,
    /// s3: the endpoint URL of an S3-compatible store (implies --backend s3). hf: the Hub URL.
    #[arg(long)]
    pub endpoint: Option<String>,
    /// Bucket name (fs default: tracecraft; hf: namespace/name).
    #[arg(long)]
    pub bucket: Option<String>,
    /// s3: the region [default: from AWS_REGION or the profile, else us-east-1].
    #[arg(long)]
    pub region: Option<String>,
    /// s3: the AWS profile to take credentials from.
    #[arg(long)]
    pub profile: Option<String>,
    /// Project name [default: the current directory's name].
    #[arg(long)]
    pub project: Option<String>,
    /// Agent id [default: the OS user name].
    #[arg(long)]
    pub agent: Option<String>,
    /// s3 (or the hf S3 gateway): access key, stored in the config.
    #[arg(long, requires = "secret_key")]
    pub access_key: Option<String>,
    /// s3 (or the hf S3 gateway): secret key, stored in the config.
    #[arg(long, requires = "access_key")]
    pub secret_key: Option<String>,
    /// hf: the S3 gateway URL [default: https://s3.hf.co/<namespace>].
    #[arg(long)]
    pub gateway_endpoint: Option<String>,
    /// hf: the Hub token, stored in the config [default: HF_TOKEN at run time].
    #[arg(long)]
    pub hf_token: Option<String>,
    /// hf: create the bucket private (the default).
    #[arg(long, conflicts_with = "public")]
    pub private: bool,
    /// hf: create the bucket public.
    #[arg(long)]
    pub public: bool,
    /// Write ~/.tracecraft/config.json instead of ./.tracecraft.json.
    #[arg(long)]
    pub global: bool,
}
