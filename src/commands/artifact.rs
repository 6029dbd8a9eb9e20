//! `artifact`: shared files under `artifacts/<sid>/<file>` or `artifacts/shared/<file>`
//! (contract sections 2, 5 and 6). Bytes are streamed both ways, never held whole in
//! memory. Uploads record the file's SHA-256 in the object's metadata where the backend
//! keeps metadata; downloads verify it, write into a temp file next to the destination
//! and rename it into place, so a failed download leaves nothing behind.

use std::io::{self, IsTerminal};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context as TaskContext, Poll};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncSeekExt, AsyncWriteExt, ReadBuf};

use crate::app::App;
use crate::cli::ArtifactCommand;
use crate::events::{self, Event};
use crate::ids::{self, InvalidId};
use crate::keys;
use crate::outcome::{Failure, Interrupted, Outcome, UsageError};
use crate::store::{ListEntry, PutMode, PutOptions, Reader, StoreError};
use crate::time;

/// The object metadata entry holding the hex SHA-256 of an artifact's bytes (sent as
/// `x-amz-meta-sha256` on S3). The Python tool records no checksum.
const SHA256_META: &str = "sha256";
const BUF_SIZE: usize = 256 * 1024;

pub async fn run(app: &App, cmd: ArtifactCommand) -> anyhow::Result<Outcome> {
    match cmd {
        ArtifactCommand::Upload { path, step } => upload(app, &path, step.as_deref()).await,
        ArtifactCommand::Download {
            name,
            step,
            output,
            force,
        } => download(app, &name, step.as_deref(), output, force).await,
        ArtifactCommand::List { step } => list(app, step.as_deref()).await,
    }
}

// --- upload -------------------------------------------------------------------------

async fn upload(app: &App, path: &Path, step: Option<&str>) -> anyhow::Result<Outcome> {
    let sid = step.map(ids::normalize_step).transpose()?;
    let name = path
        .file_name()
        .ok_or_else(|| UsageError::new(format!("'{}' does not name a file", path.display())))?
        .to_str()
        .ok_or_else(|| {
            UsageError::new(format!(
                "the file name of '{}' is not UTF-8",
                path.display()
            ))
        })?
        .to_string();
    check_name(&name)?;
    let key = keys::artifact(sid.as_deref(), &name);
    if let (Some(step), Some(sid)) = (step, &sid)
        && let Some(outcome) = super::fence(app, step, sid, "upload").await?
    {
        return Ok(outcome);
    }

    let mut file = match tokio::fs::File::open(path).await {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(UsageError::new(format!("no such file: '{}'", path.display())).into());
        }
        Err(e) => return Err(e).with_context(|| format!("cannot open '{}'", path.display())),
    };
    let meta = file
        .metadata()
        .await
        .with_context(|| format!("cannot read '{}'", path.display()))?;
    if !meta.is_file() {
        return Err(UsageError::new(format!("'{}' is not a regular file", path.display())).into());
    }

    // Metadata goes up before the bytes, so the checksum needs a pass of its own first.
    let mut opts = PutOptions {
        content_type: Some("application/octet-stream".into()),
        ..Default::default()
    };
    let (len, first_hash) = if app.store.capabilities().user_metadata {
        let bar = progress_bar(app, meta.len(), "hashing");
        let (hash, len) = hash_reader(&mut file, &bar)
            .await
            .with_context(|| format!("cannot read '{}'", path.display()))?;
        bar.finish_and_clear();
        file.seek(io::SeekFrom::Start(0))
            .await
            .with_context(|| format!("cannot read '{}'", path.display()))?;
        opts.metadata.insert(SHA256_META.into(), hash.clone());
        (len, Some(hash))
    } else {
        (meta.len(), None)
    };

    let bar = progress_bar(app, len, "uploading");
    let hasher = Arc::new(Mutex::new(Sha256::new()));
    let reader = Tallied {
        inner: file,
        hasher: Arc::clone(&hasher),
        bar: bar.clone(),
    };
    let event = Event::new("artifact.upload")
        .step(step)
        .key(key.clone())
        .with("name", &name)
        .with("size", len);
    let (put, ()) = tokio::join!(
        events::alongside(
            app,
            event,
            app.store
                .put_stream(&key, Box::pin(reader), len, PutMode::Overwrite, &opts)
        ),
        app.refresh_presence(None, None),
    );
    bar.finish_and_clear();
    put.with_context(|| format!("cannot upload '{}' to {key}", path.display()))?;

    let sent = hex::encode(std::mem::take(&mut *hasher.lock().expect("hasher lock")).finalize());
    if first_hash.as_ref().is_some_and(|h| *h != sent) {
        // The file changed between the two passes: the stored checksum would be wrong and
        // every download would fail, so the object is not kept.
        let _ = app.store.delete(&key).await;
        anyhow::bail!(
            "'{}' changed while it was being uploaded; nothing was kept, upload it again",
            path.display()
        );
    }
    app.printer.result(
        format!("Uploaded {name} -> {key}"),
        &json!({"key": key, "name": name, "size": len, "sha256": sent}),
    );
    Ok(Outcome::Success)
}

/// A reader that hashes what passes through it and advances a progress bar.
struct Tallied<R> {
    inner: R,
    hasher: Arc<Mutex<Sha256>>,
    bar: ProgressBar,
}

impl<R: AsyncRead + Unpin> AsyncRead for Tallied<R> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let poll = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = &poll {
            let new = &buf.filled()[before..];
            if !new.is_empty() {
                this.hasher.lock().expect("hasher lock").update(new);
                this.bar.inc(new.len() as u64);
            }
        }
        poll
    }
}

async fn hash_reader<R: AsyncRead + Unpin>(
    reader: &mut R,
    bar: &ProgressBar,
) -> io::Result<(String, u64)> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; BUF_SIZE];
    let mut total = 0u64;
    loop {
        let n = reader.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        total += n as u64;
        bar.inc(n as u64);
    }
    Ok((hex::encode(hasher.finalize()), total))
}

// --- download -----------------------------------------------------------------------

async fn download(
    app: &App,
    name: &str,
    step: Option<&str>,
    output: Option<PathBuf>,
    force: bool,
) -> anyhow::Result<Outcome> {
    check_name(name)?;
    let sid = step.map(ids::normalize_step).transpose()?;
    let key = keys::artifact(sid.as_deref(), name);
    let dest = match output {
        // `-o DIR` puts the file in that directory under its own name, like `cp`.
        Some(o) if tokio::fs::metadata(&o).await.is_ok_and(|m| m.is_dir()) => o.join(name),
        Some(o) => o,
        None => PathBuf::from(name),
    };
    if let Ok(m) = tokio::fs::symlink_metadata(&dest).await {
        if m.is_dir() {
            return Err(UsageError::new(format!("'{}' is a directory", dest.display())).into());
        }
        if !force {
            return Err(exists_error(&dest));
        }
    }

    let (meta, mut body) = match app.store.get_stream(&key).await {
        Ok(found) => found,
        Err(StoreError::NotFound { .. }) => {
            let place = match &sid {
                Some(_) => format!("step '{}'", step.unwrap_or_default()),
                None => "the shared artifacts".to_string(),
            };
            anyhow::bail!("no artifact '{name}' in {place} (key {key})");
        }
        Err(e) => return Err(e).with_context(|| format!("cannot download {key}")),
    };

    let dir = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let (tmp, mut file) = TempFile::create(&dir, name).await?;
    let bar = progress_bar(app, meta.size, "downloading");
    // Ctrl-C drops the temp file rather than leaving a partial download behind.
    let copied = tokio::select! {
        r = copy_into(&mut body, &mut file, &bar) => r,
        _ = tokio::signal::ctrl_c() => return Err(Interrupted.into()),
    };
    bar.finish_and_clear();
    let (actual, received) = copied.with_context(|| format!("cannot download {key}"))?;
    drop(file);

    if received != meta.size {
        anyhow::bail!(
            "download of {key} was cut short: got {received} of {} bytes; nothing was written",
            meta.size
        );
    }
    let expected = meta
        .metadata
        .get(SHA256_META)
        .map(|s| s.trim().to_lowercase());
    if let Some(expected) = &expected
        && *expected != actual
    {
        anyhow::bail!(
            "checksum mismatch for {key}: stored sha256 {expected}, downloaded bytes hash to \
             {actual}; nothing was written"
        );
    }
    if expected.is_none() {
        app.printer
            .debug(format!("{key} carries no sha256: not verified"));
    }
    tmp.persist(&dest, force).await?;
    app.printer.result(
        format!("Downloaded {key} -> {}", dest.display()),
        &json!({
            "key": key,
            "path": dest.display().to_string(),
            "size": received,
            "sha256": actual,
            "verified": expected.is_some(),
        }),
    );
    Ok(Outcome::Success)
}

/// Streams `body` into `file`, returning the SHA-256 (hex) and length of what was written,
/// flushed and synced to disk.
async fn copy_into(
    body: &mut Reader,
    file: &mut tokio::fs::File,
    bar: &ProgressBar,
) -> io::Result<(String, u64)> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; BUF_SIZE];
    let mut received = 0u64;
    loop {
        let n = body.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        file.write_all(&buf[..n]).await?;
        received += n as u64;
        bar.inc(n as u64);
    }
    file.flush().await?;
    file.sync_all().await?;
    Ok((hex::encode(hasher.finalize()), received))
}

fn exists_error(dest: &Path) -> anyhow::Error {
    failure(
        format!("'{}' already exists", dest.display()),
        "pass --force to overwrite it, or -o PATH to write elsewhere",
    )
}

/// An error (exit 1) with a hint line. `outcome::report` takes hints from a few typed
/// errors only; a non-retryable transport error prints exactly `Error: <message>` and
/// `Hint: <hint>`.
fn failure(message: String, hint: &str) -> anyhow::Error {
    Failure {
        message,
        hint: Some(hint.to_string()),
    }
    .into()
}

/// A download in progress, next to its destination; removed on drop unless persisted.
struct TempFile(Option<PathBuf>);

impl TempFile {
    async fn create(dir: &Path, name: &str) -> anyhow::Result<(TempFile, tokio::fs::File)> {
        let uuid = uuid::Uuid::new_v4().simple().to_string();
        let path = dir.join(format!(".{name}.{}.tracecraft-part", &uuid[..8]));
        let file = tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .await
            .with_context(|| format!("cannot create a file in '{}'", dir.display()))?;
        Ok((TempFile(Some(path)), file))
    }

    fn path(&self) -> &Path {
        self.0.as_deref().expect("temp file not yet persisted")
    }

    /// Moves the file into place. Without `force` an existing destination is never
    /// replaced, even one that appeared during the download.
    async fn persist(mut self, dest: &Path, force: bool) -> anyhow::Result<()> {
        let tmp = self.path().to_path_buf();
        if !force {
            // A hard link fails when the destination exists, unlike a rename.
            match tokio::fs::hard_link(&tmp, dest).await {
                Ok(()) => {
                    let _ = tokio::fs::remove_file(&tmp).await;
                    self.0 = None;
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    return Err(exists_error(dest));
                }
                // File systems without hard links: check, then rename.
                Err(_) => {
                    if tokio::fs::symlink_metadata(dest).await.is_ok() {
                        return Err(exists_error(dest));
                    }
                }
            }
        }
        tokio::fs::rename(&tmp, dest)
            .await
            .with_context(|| format!("cannot write '{}'", dest.display()))?;
        self.0 = None;
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            let _ = std::fs::remove_file(path);
        }
    }
}

// --- list ---------------------------------------------------------------------------

async fn list(app: &App, step: Option<&str>) -> anyhow::Result<Outcome> {
    let sid = step.map(ids::normalize_step).transpose()?;
    let prefix = match &sid {
        Some(sid) => keys::artifacts_dir(Some(sid)),
        None => artifacts_root(),
    };
    let entries = app
        .store
        .list(&prefix, None)
        .await
        .context("cannot list artifacts")?;
    let found: Vec<(&ListEntry, &str)> = entries
        .iter()
        .filter_map(|e| Some((e, artifact_name(&prefix, &e.key, sid.is_some())?)))
        .collect();
    if app.printer.json {
        let rows: Vec<_> = found
            .iter()
            .map(|(e, name)| {
                json!({
                    "key": e.key,
                    "name": name,
                    "size": e.size,
                    "last_modified": e.last_modified.map(time::format),
                })
            })
            .collect();
        app.printer.result("", &json!({"artifacts": rows}));
    } else if found.is_empty() {
        app.printer.info("No artifacts found.");
    } else {
        let lines: Vec<&str> = found.iter().map(|(e, _)| e.key.as_str()).collect();
        app.printer.result(lines.join("\n"), &json!({}));
    }
    Ok(Outcome::Success)
}

/// `artifacts/`: the parent of every artifact directory.
fn artifacts_root() -> String {
    keys::ARTIFACTS_DIR.to_string()
}

/// The file name of a listed key: `<prefix><file>` in one step's listing, or
/// `<prefix><dir>/<file>` across all of them. Deeper keys are not artifacts.
fn artifact_name<'a>(prefix: &str, key: &'a str, in_step: bool) -> Option<&'a str> {
    let rest = key.strip_prefix(prefix)?;
    let name = if in_step {
        rest
    } else {
        let (dir, name) = rest.split_once('/')?;
        if dir.is_empty() {
            return None;
        }
        name
    };
    (!name.is_empty() && !name.contains('/')).then_some(name)
}

// --- shared -------------------------------------------------------------------------

/// Artifact names (contract section 5): a plain file name: no `/`, `\`, control
/// characters, not `.` or `..`.
fn check_name(name: &str) -> Result<(), InvalidId> {
    let invalid = |reason| InvalidId {
        what: "artifact name",
        value: name.to_string(),
        reason,
    };
    if name.is_empty() {
        return Err(invalid("may not be empty"));
    }
    if name == "." || name == ".." {
        return Err(invalid("may not be '.' or '..'"));
    }
    if name
        .chars()
        .any(|c| c == '/' || c == '\\' || c.is_control())
    {
        return Err(invalid(
            "must be a plain file name: no '/', '\\' or control characters",
        ));
    }
    Ok(())
}

/// A byte progress bar on stderr, shown only to a person watching a terminal.
fn progress_bar(app: &App, len: u64, what: &str) -> ProgressBar {
    let p = &app.printer;
    if p.quiet || p.json || !io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(
        "{msg:>11} [{bar:30}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what.to_string());
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_plain_file_names() {
        for ok in ["r.txt", "_config.yml", ".env", "a b", "..x"] {
            check_name(ok).unwrap();
        }
        for bad in ["", ".", "..", "../x", "a/b", "a\\b", "a\nb", "a\u{7}"] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn listing_keeps_one_level_of_files() {
        assert_eq!(artifacts_root(), "artifacts/");
        let root = artifacts_root();
        assert_eq!(
            artifact_name(&root, "artifacts/shared/r.txt", false),
            Some("r.txt")
        );
        assert_eq!(
            artifact_name(&root, "artifacts/s1/r.txt", false),
            Some("r.txt")
        );
        assert_eq!(artifact_name(&root, "artifacts/s1/x/r.txt", false), None);
        assert_eq!(artifact_name(&root, "artifacts/r.txt", false), None);
        let dir = keys::artifacts_dir(Some("s1"));
        assert_eq!(
            artifact_name(&dir, "artifacts/s1/r.txt", true),
            Some("r.txt")
        );
        assert_eq!(artifact_name(&dir, "artifacts/s1/x/r.txt", true), None);
    }
}
