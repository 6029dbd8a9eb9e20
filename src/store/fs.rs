//! The embedded default backend: objects are plain files under `<root>/<bucket>/<key>`,
//! so the bucket can be browsed with `ls` and `cat`. Every write goes to a temp file in
//! `<root>/<bucket>/.tracecraft/tmp/` first, so readers never see half an object. Create
//! hard-links the temp file into place (the kernel refuses if the name exists, which is
//! the cross-process atomicity); overwrite, compare-and-swap and delete hold one of a
//! fixed set of lock files (`.tracecraft/locks/NN.lock`) across compare and rename.
//! Versions are derived from content (a SHA-256 prefix).

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;

use super::{
    BucketSetup, Capabilities, ListEntry, Object, ObjectMeta, PutMode, PutOptions, Reader, Store,
    StoreError, StoreResult, Version, check_key, check_prefix,
};
use crate::keys;

/// Lock striping keeps the number of lock files fixed however many keys exist.
const LOCK_STRIPES: u64 = 64;
/// The bookkeeping directory inside the bucket; not a valid project name.
const INTERNAL_DIR: &str = ".tracecraft";

pub struct FsStore {
    root: PathBuf,
    bucket: String,
    /// `<root>/<bucket>`
    bucket_dir: PathBuf,
    project: String,
}

impl FsStore {
    pub fn new(root: impl Into<PathBuf>, bucket: &str, project: &str) -> Self {
        let root = root.into();
        let bucket_dir = root.join(bucket);
        FsStore {
            root,
            bucket: bucket.to_string(),
            bucket_dir,
            project: project.to_string(),
        }
    }

    fn path_of(&self, key: &str) -> StoreResult<PathBuf> {
        check_key(key)?;
        Ok(self.bucket_dir.join(keys::scoped(&self.project, key)))
    }

    fn require_bucket(&self) -> StoreResult<()> {
        if self.bucket_dir.is_dir() {
            Ok(())
        } else {
            Err(StoreError::BucketMissing {
                bucket: self.bucket.clone(),
            })
        }
    }

    fn tmp_path(&self) -> PathBuf {
        self.bucket_dir
            .join(INTERNAL_DIR)
            .join("tmp")
            .join(format!("{}.tmp", uuid::Uuid::new_v4().simple()))
    }

    fn lock_for(&self, key: &str) -> StoreResult<File> {
        let digest = Sha256::digest(keys::scoped(&self.project, key).as_bytes());
        let stripe = u64::from_le_bytes(digest[..8].try_into().expect("8 bytes")) % LOCK_STRIPES;
        let dir = self.bucket_dir.join(INTERNAL_DIR).join("locks");
        let path = dir.join(format!("{stripe:02}.lock"));
        let file = match OpenOptions::new().create(true).append(true).open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                fs::create_dir_all(&dir).map_err(|e| io_error(e, key))?;
                OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&path)
                    .map_err(|e| io_error(e, key))?
            }
            Err(e) => return Err(io_error(e, key)),
        };
        file.lock().map_err(|e| io_error(e, key))?;
        Ok(file)
    }

    /// Streams `body` into a fresh temp file, returning its path and content version.
    async fn spool(
        &self,
        mut body: Reader,
        len: u64,
        key: &str,
    ) -> StoreResult<(PathBuf, Version)> {
        let tmp = self.tmp_path();
        let guard = TempGuard(Some(tmp.clone()));
        let mut file = create_tmp(&tmp, key)?;
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 256 * 1024];
        let mut written = 0u64;
        loop {
            let n = body.read(&mut buf).await.map_err(|e| {
                StoreError::transport(format!("reading upload for '{key}': {e}"), false)
            })?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            file.write_all(&buf[..n]).map_err(|e| io_error(e, key))?;
            written += n as u64;
        }
        if written != len {
            return Err(StoreError::transport(
                format!("upload for '{key}' was {written} bytes, expected {len}"),
                false,
            ));
        }
        file.sync_data().map_err(|e| io_error(e, key))?;
        Ok((guard.keep(), version_of(hasher)))
    }

    fn spool_bytes(&self, body: &[u8], key: &str) -> StoreResult<(PathBuf, Version)> {
        let tmp = self.tmp_path();
        let guard = TempGuard(Some(tmp.clone()));
        let mut file = create_tmp(&tmp, key)?;
        file.write_all(body).map_err(|e| io_error(e, key))?;
        let mut hasher = Sha256::new();
        hasher.update(body);
        Ok((guard.keep(), version_of(hasher)))
    }

    /// Moves a finished temp file to `key` according to `mode`.
    fn commit(&self, tmp: PathBuf, key: &str, mode: &PutMode) -> StoreResult<()> {
        let guard = TempGuard(Some(tmp.clone()));
        let dest = self.path_of(key)?;
        match mode {
            PutMode::Create => {
                with_parent(&dest, || fs::hard_link(&tmp, &dest)).map_err(|e| {
                    if e.kind() == io::ErrorKind::AlreadyExists {
                        StoreError::AlreadyExists {
                            key: key.to_string(),
                        }
                    } else {
                        io_error(e, key)
                    }
                })?;
                drop(guard);
            }
            PutMode::Overwrite => {
                let _lock = self.lock_for(key)?;
                with_parent(&dest, || fs::rename(&tmp, &dest)).map_err(|e| io_error(e, key))?;
                guard.keep();
            }
            PutMode::UpdateIfVersion(expected) => {
                let _lock = self.lock_for(key)?;
                let current = match File::open(&dest) {
                    Ok(f) => hash_file(f).map_err(|e| io_error(e, key))?,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {
                        return Err(StoreError::PreconditionFailed {
                            key: key.to_string(),
                        });
                    }
                    Err(e) => return Err(io_error(e, key)),
                };
                if &current != expected {
                    return Err(StoreError::PreconditionFailed {
                        key: key.to_string(),
                    });
                }
                fs::rename(&tmp, &dest).map_err(|e| io_error(e, key))?;
                guard.keep();
            }
        }
        Ok(())
    }

    fn meta_of(&self, key: &str, file: &File) -> StoreResult<(u64, Option<DateTime<Utc>>)> {
        let md = file.metadata().map_err(|e| io_error(e, key))?;
        Ok((md.len(), md.modified().ok().map(DateTime::<Utc>::from)))
    }

    /// The listing version of the open file: the same handle the body is read from, so it
    /// describes exactly those bytes.
    fn list_version_of(&self, key: &str, file: &File) -> StoreResult<Version> {
        let md = file.metadata().map_err(|e| io_error(e, key))?;
        Ok(stat_version(&md))
    }

    fn open(&self, key: &str) -> StoreResult<File> {
        let path = self.path_of(key)?;
        match File::open(&path) {
            Ok(f) if f.metadata().map(|m| m.is_file()).unwrap_or(false) => Ok(f),
            Ok(_) => Err(StoreError::NotFound {
                key: key.to_string(),
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                self.require_bucket()?;
                Err(StoreError::NotFound {
                    key: key.to_string(),
                })
            }
            Err(e) => Err(io_error(e, key)),
        }
    }

    fn list_sync(&self, prefix: &str, start_after: Option<&str>) -> StoreResult<Vec<ListEntry>> {
        check_prefix(prefix)?;
        self.require_bucket()?;
        let project_dir = self.bucket_dir.join(&self.project);
        // Only the directory named by the prefix up to its last `/` can hold matches.
        let dir_part = prefix.rfind('/').map(|i| &prefix[..i]).unwrap_or("");
        let start = if dir_part.is_empty() {
            project_dir.clone()
        } else {
            project_dir.join(dir_part)
        };
        let mut out = Vec::new();
        walk(&start, &project_dir, &mut |rel, md| {
            if rel.starts_with(prefix) && start_after.is_none_or(|s| rel.as_str() > s) {
                out.push(ListEntry {
                    key: rel,
                    size: md.len(),
                    last_modified: md.modified().ok().map(DateTime::<Utc>::from),
                    version: Some(stat_version(&md)),
                });
            }
        })
        .map_err(|e| io_error(e, prefix))?;
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    fn delete_sync(&self, key: &str) -> StoreResult<()> {
        let path = self.path_of(key)?;
        let _lock = self.lock_for(key)?;
        match fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io_error(e, key)),
        }
        // Tidy empty directories so `ls` stays honest; a concurrent writer that loses its
        // directory here recreates it (see `with_parent`).
        let stop = self.bucket_dir.join(&self.project);
        let mut dir = path.parent();
        while let Some(d) = dir {
            if d == stop || !d.starts_with(&stop) || fs::remove_dir(d).is_err() {
                break;
            }
            dir = d.parent();
        }
        Ok(())
    }
}

#[async_trait]
impl Store for FsStore {
    fn backend(&self) -> &'static str {
        "fs"
    }

    fn location(&self) -> String {
        format!("bucket '{}' in {}", self.bucket, self.root.display())
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            atomic_create: true,
            compare_and_swap: true,
            server_last_modified: true,
            user_metadata: false,
        }
    }

    async fn ensure_bucket(&self) -> StoreResult<BucketSetup> {
        let created = !self.bucket_dir.is_dir();
        for dir in [
            self.bucket_dir.join(&self.project),
            self.bucket_dir.join(INTERNAL_DIR).join("tmp"),
            self.bucket_dir.join(INTERNAL_DIR).join("locks"),
        ] {
            fs::create_dir_all(&dir).map_err(|e| io_error(e, &dir.display().to_string()))?;
        }
        Ok(BucketSetup {
            created,
            notes: vec![],
        })
    }

    async fn get(&self, key: &str) -> StoreResult<Object> {
        let mut file = self.open(key)?;
        let (size, last_modified) = self.meta_of(key, &file)?;
        let list_version = self.list_version_of(key, &file)?;
        let mut body = Vec::with_capacity(size as usize);
        file.read_to_end(&mut body).map_err(|e| io_error(e, key))?;
        let mut hasher = Sha256::new();
        hasher.update(&body);
        Ok(Object {
            meta: ObjectMeta {
                key: key.to_string(),
                size: body.len() as u64,
                last_modified,
                version: version_of(hasher),
                metadata: BTreeMap::new(),
                // The local disk's clock is this machine's.
                server_time: Some(Utc::now()),
                list_version: Some(list_version),
            },
            body: Bytes::from(body),
        })
    }

    async fn head(&self, key: &str) -> StoreResult<ObjectMeta> {
        let file = self.open(key)?;
        let (size, last_modified) = self.meta_of(key, &file)?;
        let list_version = self.list_version_of(key, &file)?;
        let version = hash_file(file).map_err(|e| io_error(e, key))?;
        Ok(ObjectMeta {
            key: key.to_string(),
            size,
            last_modified,
            version,
            metadata: BTreeMap::new(),
            // The local disk's clock is this machine's.
            server_time: Some(Utc::now()),
            list_version: Some(list_version),
        })
    }

    async fn list(&self, prefix: &str, start_after: Option<&str>) -> StoreResult<Vec<ListEntry>> {
        self.list_sync(prefix, start_after)
    }

    async fn delete(&self, key: &str) -> StoreResult<()> {
        self.delete_sync(key)
    }

    async fn put(
        &self,
        key: &str,
        body: Bytes,
        mode: PutMode,
        _opts: &PutOptions,
    ) -> StoreResult<Version> {
        check_key(key)?;
        self.require_bucket()?;
        let (tmp, version) = self.spool_bytes(&body, key)?;
        self.commit(tmp, key, &mode)?;
        Ok(version)
    }

    async fn put_stream(
        &self,
        key: &str,
        body: Reader,
        len: u64,
        mode: PutMode,
        _opts: &PutOptions,
    ) -> StoreResult<Version> {
        check_key(key)?;
        self.require_bucket()?;
        let (tmp, version) = self.spool(body, len, key).await?;
        self.commit(tmp, key, &mode)?;
        Ok(version)
    }

    async fn get_stream(&self, key: &str) -> StoreResult<(ObjectMeta, Reader)> {
        let file = self.open(key)?;
        let (size, last_modified) = self.meta_of(key, &file)?;
        let list_version = self.list_version_of(key, &file)?;
        // The version needs a pass over the content; a second handle on the same inode
        // keeps it consistent with the bytes streamed even if the key is replaced meanwhile.
        let version = hash_file(file.try_clone().map_err(|e| io_error(e, key))?)
            .map_err(|e| io_error(e, key))?;
        let meta = ObjectMeta {
            key: key.to_string(),
            size,
            last_modified,
            version,
            metadata: BTreeMap::new(),
            // The local disk's clock is this machine's.
            server_time: Some(Utc::now()),
            list_version: Some(list_version),
        };
        let mut file = tokio::fs::File::from_std(file);
        use tokio::io::AsyncSeekExt;
        file.seek(io::SeekFrom::Start(0))
            .await
            .map_err(|e| io_error(e, key))?;
        Ok((meta, Box::pin(file)))
    }
}

/// Deletes the temp file on drop unless it was kept (moved into place).
struct TempGuard(Option<PathBuf>);

impl TempGuard {
    fn keep(mut self) -> PathBuf {
        self.0.take().expect("kept once")
    }
}

impl Drop for TempGuard {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = fs::remove_file(p);
        }
    }
}

fn create_tmp(path: &Path, key: &str) -> StoreResult<File> {
    let open = || OpenOptions::new().write(true).create_new(true).open(path);
    match open() {
        Ok(f) => Ok(f),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            fs::create_dir_all(path.parent().expect("tmp has a parent"))
                .map_err(|e| io_error(e, key))?;
            open().map_err(|e| io_error(e, key))
        }
        Err(e) => Err(io_error(e, key)),
    }
}

/// Runs `op` on a path whose parent directory may not exist yet, or may be removed by a
/// concurrent delete's tidy-up between our `create_dir_all` and `op`.
fn with_parent(dest: &Path, op: impl Fn() -> io::Result<()>) -> io::Result<()> {
    let parent = dest.parent().expect("keys have a parent");
    let mut last = None;
    for _ in 0..5 {
        match op() {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                fs::create_dir_all(parent)?;
                last = Some(e);
            }
            other => return other,
        }
    }
    Err(last.expect("loop ran"))
}

fn hash_file(mut file: File) -> io::Result<Version> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(version_of(hasher))
}

/// A file's listing version: its inode, size and modification time in nanoseconds. Files
/// are never written in place (every write renames or links a fresh temp file over the
/// key), so new content always comes with a new inode and a new mtime; reading the content
/// to hash it would cost a listing a read per file.
fn stat_version(md: &fs::Metadata) -> Version {
    let mtime_ns = md
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(md);
    #[cfg(not(unix))]
    let inode = 0u64;
    Version::new(format!("{inode:x}-{}-{mtime_ns}", md.len()))
}

fn version_of(hasher: Sha256) -> Version {
    Version::new(hex::encode(&hasher.finalize()[..16]))
}

fn walk(dir: &Path, base: &Path, visit: &mut dyn FnMut(String, fs::Metadata)) -> io::Result<()> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        // A prefix naming a directory that does not exist simply matches nothing.
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
            ) =>
        {
            return Ok(());
        }
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        let path = entry.path();
        let md = match fs::metadata(&path) {
            Ok(md) => md,
            // Deleted between readdir and stat: it is simply gone.
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        if md.is_dir() {
            walk(&path, base, visit)?;
        } else if md.is_file() {
            let Ok(rel) = path.strip_prefix(base) else {
                continue;
            };
            let Some(rel) = rel.to_str() else { continue };
            visit(rel.replace(std::path::MAIN_SEPARATOR, "/"), md);
        }
    }
    Ok(())
}

fn io_error(e: io::Error, key: &str) -> StoreError {
    match e.kind() {
        io::ErrorKind::PermissionDenied => StoreError::PermissionDenied {
            message: format!("{key}: {e}"),
            hint: Some("check the permissions of the fs backend's root directory".into()),
        },
        _ => StoreError::transport(format!("{key}: {e}"), false),
    }
}
