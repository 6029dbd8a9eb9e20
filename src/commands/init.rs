//! `init`: validate every flag, set up the bucket, prove the store round-trips a write,
//! and only then write the config (contract section 4), so a failed init changes nothing.

use std::path::{Path, PathBuf};

use anyhow::Context;
use bytes::Bytes;
use serde_json::json;

use crate::app::App;
use crate::cli::InitArgs;
use crate::config::{self, BackendKind, Config, LOCAL_FILE, TtlSetting};
use crate::ids;
use crate::keys;
use crate::outcome::{Outcome, UsageError};
use crate::output::Printer;
use crate::store::{PutMode, PutOptions, Store};

pub async fn run(args: InitArgs, p: &Printer) -> anyhow::Result<Outcome> {
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let backend = args.backend.unwrap_or(if args.endpoint.is_some() {
        BackendKind::S3
    } else {
        BackendKind::Fs
    });
    check_flags(&args, backend)?;

    let project = match &args.project {
        Some(p) => p.clone(),
        None => {
            let name = cwd
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
                .to_string();
            p.info(format!(
                "Project name defaults to the directory name: '{name}' (set it with --project)"
            ));
            name
        }
    };
    ids::check_project(&project)?;
    let agent = match &args.agent {
        Some(a) => a.clone(),
        None => {
            let user = std::env::var("TRACECRAFT_AGENT")
                .ok()
                .filter(|a| !a.is_empty())
                .or_else(crate::config::os_user)
                .unwrap_or_else(|| "agent".into());
            p.info(format!(
                "Agent id defaults to the user name: '{user}' (set it with --agent)"
            ));
            user
        }
    };
    ids::check_agent(&agent)?;

    let bucket = match (&args.bucket, backend) {
        (Some(b), _) => b.clone(),
        (None, BackendKind::Fs) => "tracecraft".to_string(),
        (None, BackendKind::S3) => {
            return Err(usage("--bucket is required with the s3 backend").into());
        }
        (None, BackendKind::Hf) => {
            return Err(usage("--bucket namespace/name is required with the hf backend").into());
        }
    };
    check_bucket(&bucket, backend)?;

    let config = Config {
        backend: Some(backend),
        bucket,
        project,
        agent_id: agent,
        root: match backend {
            BackendKind::Fs => Some(absolute(
                &cwd,
                &args.root.clone().unwrap_or_else(config::default_fs_root),
            ))
            .map(|p| p.display().to_string()),
            _ => None,
        },
        endpoint: args.endpoint.clone(),
        region: args.region.clone(),
        profile: args.profile.clone(),
        access_key: args.access_key.clone(),
        secret_key: args.secret_key.clone(),
        hf_token: args.hf_token.clone(),
        gateway_endpoint: args.gateway_endpoint.clone(),
        claim_ttl: args.claim_ttl.clone().map(TtlSetting::Text),
        reserve_ttl: None,
        mirror_sessions: None,
        extra: Default::default(),
    };

    let store = open_for_init(&config, &args).await?;
    let setup = store
        .ensure_bucket()
        .await
        .with_context(|| format!("cannot set up {}", store.location()))?;
    self_check(store.as_ref()).await?;
    let app = App {
        config: config.clone(),
        store,
        printer: *p,
    };
    app.refresh_presence(Some(None), Some("Initialized".into()))
        .await;
    let store = &app.store;

    let path = if args.global {
        config::global_path()
    } else {
        cwd.join(LOCAL_FILE)
    };
    config.write(&path)?;
    if !args.global
        && let Some(note) = ignore_in_git(&cwd)?
    {
        p.info(note);
    }

    let mut backend_line = format!("Backend: {} — {}", store.backend(), store.location());
    for note in &setup.notes {
        match note.strip_prefix("warning:") {
            Some(warning) => p.warn(warning.trim()),
            None => backend_line.push_str(&format!(" ({note})")),
        }
    }
    let caps = store.capabilities();
    let human = format!(
        "Initialized project '{}' as agent '{}'\n{backend_line}",
        config.project, config.agent_id
    );
    p.result(
        human,
        &json!({
            "project": config.project,
            "agent": config.agent_id,
            "backend": store.backend(),
            "location": store.location(),
            "bucket": config.bucket,
            "bucket_created": setup.created,
            "notes": setup.notes,
            "capabilities": caps,
            "config_path": path.display().to_string(),
        }),
    );
    if backend == BackendKind::Fs {
        p.info(
            "The fs backend keeps everything on this machine: agents on other hosts cannot see it. \
             To share across hosts, run `tracecraft init --endpoint URL --bucket NAME` (any S3-compatible store).",
        );
    }
    if !caps.atomic_create {
        p.warn(
            "this backend has no conditional writes, so claims are best-effort; for atomic claims use an \
             S3-compatible backend or the Hugging Face S3 gateway (--access-key/--secret-key)",
        );
    }
    Ok(Outcome::Success)
}

fn usage(message: &str) -> UsageError {
    UsageError::new(message)
}

/// Flags that belong to another backend are mistakes, not silently ignored options.
fn check_flags(args: &InitArgs, backend: BackendKind) -> Result<(), UsageError> {
    let misplaced: &[(&str, bool, &[BackendKind])] = &[
        ("--root", args.root.is_some(), &[BackendKind::Fs]),
        (
            "--endpoint",
            args.endpoint.is_some(),
            &[BackendKind::S3, BackendKind::Hf],
        ),
        ("--region", args.region.is_some(), &[BackendKind::S3]),
        ("--profile", args.profile.is_some(), &[BackendKind::S3]),
        (
            "--access-key",
            args.access_key.is_some(),
            &[BackendKind::S3, BackendKind::Hf],
        ),
        ("--hf-token", args.hf_token.is_some(), &[BackendKind::Hf]),
        (
            "--gateway-endpoint",
            args.gateway_endpoint.is_some(),
            &[BackendKind::Hf],
        ),
        ("--private", args.private, &[BackendKind::Hf]),
        ("--public", args.public, &[BackendKind::Hf]),
    ];
    for (flag, given, allowed) in misplaced {
        if *given && !allowed.contains(&backend) {
            return Err(UsageError {
                message: format!("{flag} does not apply to the {} backend", backend.name()),
                hint: Some(format!(
                    "{flag} is for the {} backend",
                    allowed
                        .iter()
                        .map(|b| b.name())
                        .collect::<Vec<_>>()
                        .join(" or ")
                )),
            });
        }
    }
    Ok(())
}

fn check_bucket(bucket: &str, backend: BackendKind) -> Result<(), UsageError> {
    let ok = match backend {
        // S3's rules, which also keep fs bucket names safe as directory names.
        BackendKind::Fs | BackendKind::S3 => {
            (3..=63).contains(&bucket.len())
                && bucket
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
                && bucket.starts_with(|c: char| c.is_ascii_alphanumeric())
                && bucket.ends_with(|c: char| c.is_ascii_alphanumeric())
                && !bucket.contains("..")
        }
        BackendKind::Hf => {
            let mut parts = bucket.split('/');
            matches!((parts.next(), parts.next(), parts.next()), (Some(ns), Some(name), None)
                if ids::check_name("namespace", ns).is_ok() && ids::check_name("bucket", name).is_ok())
        }
    };
    if ok {
        Ok(())
    } else {
        Err(UsageError {
            message: format!("invalid bucket name '{bucket}'"),
            hint: Some(match backend {
                BackendKind::Hf => "use namespace/name, e.g. my-org/agents".into(),
                _ => {
                    "use 3 to 63 of a-z 0-9 . -, starting and ending with a letter or digit".into()
                }
            }),
        })
    }
}

async fn open_for_init(config: &Config, args: &InitArgs) -> anyhow::Result<Box<dyn Store>> {
    #[cfg(feature = "hf")]
    if config.backend_kind() == BackendKind::Hf {
        return Ok(crate::store::hf::open(config.hf_settings(!args.public)).await?);
    }
    let _ = args;
    config.open_store().await
}

/// Writes, reads back and deletes a scratch object, so a misconfigured store fails here
/// rather than at the first claim.
async fn self_check(store: &dyn Store) -> anyhow::Result<()> {
    let key = keys::doctor_scratch(&format!("init-{}.json", uuid::Uuid::new_v4().simple()));
    let body = Bytes::from(format!("{{\"check\":\"{}\"}}", uuid::Uuid::new_v4()));
    let what = || format!("storage self-check on {}", store.location());
    let mode = if store.capabilities().atomic_create {
        PutMode::Create
    } else {
        PutMode::Overwrite
    };
    store
        .put(&key, body.clone(), mode, &PutOptions::json())
        .await
        .with_context(what)?;
    let read = store.get(&key).await.with_context(what)?;
    let _ = store.delete(&key).await;
    anyhow::ensure!(
        read.body == body,
        "{}: the object read back differs from the one written",
        what()
    );
    Ok(())
}

/// Adds `.tracecraft.json` to the work tree's `.gitignore` once, when in a git work tree.
fn ignore_in_git(cwd: &Path) -> anyhow::Result<Option<String>> {
    let Some(top) = cwd.ancestors().find(|d| d.join(".git").exists()) else {
        return Ok(None);
    };
    let path = top.join(".gitignore");
    let existing = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let listed = existing.lines().any(|l| {
        let l = l.trim();
        l == LOCAL_FILE || l == format!("/{LOCAL_FILE}") || l == format!("**/{LOCAL_FILE}")
    });
    if listed {
        return Ok(None);
    }
    let mut text = existing;
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(LOCAL_FILE);
    text.push('\n');
    std::fs::write(&path, text).with_context(|| format!("cannot update {}", path.display()))?;
    Ok(Some(format!("Added {LOCAL_FILE} to {}", path.display())))
}

fn absolute(cwd: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        cwd.join(p)
    }
}
