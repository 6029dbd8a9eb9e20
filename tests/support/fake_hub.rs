//! A fake Hugging Face Hub for tests: the bucket endpoints that hf-hub 1.0 calls, served by
//! axum on 127.0.0.1, with xet-client's CAS simulation server behind the Xet data path.
//! Both run on a thread of their own with their own tokio runtime, so sync and async tests
//! can use the fake alike; dropping the [`FakeHub`] stops them.
//!
//! What it mirrors of the real Hub, as hf-hub and huggingface_hub show it: every request
//! needs the bearer token (401 otherwise); creating an existing bucket answers 409 and
//! keeps its visibility; tree entries carry `xetHash`, `mtime` and `uploadedAt`; the tree
//! listing matches its prefix as a raw string and pages through `Link` headers
//! ([`PAGE_SIZE`] entries a page: few, so that tests exercise paging).
//! Where the real answer is not known, the fake gives the one harder on the client: a
//! listing prefix that matches nothing is a 404; someone else's private bucket looks
//! missing and their public one is read-only. Requests for routes it does not know are
//! answered 404 and recorded ([`FakeHub::unexpected_requests`]), which flags API drift.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr, TcpListener as StdListener};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{SecondsFormat, Utc};
use serde_json::{Value, json};
use tokio::sync::oneshot;
#[cfg(feature = "hf")]
use tracecraft::store::Store;
#[cfg(feature = "hf")]
use tracecraft::store::hf::{HfSettings, open};
use xet_client::cas_client::{DirectAccessClient, LocalServer, MemoryClient};
use xet_core_structures::merklehash::{MerkleHash, compute_data_hash};
use xet_runtime::core::XetContext;

/// Entries per tree-listing page: small, so that listings page.
pub const PAGE_SIZE: usize = 100;

/// The bucket [`hf_store`] uses, created private on first use.
pub const TEST_BUCKET: &str = "tester/coordination";

pub struct FakeHub {
    endpoint: String,
    token: String,
    state: Arc<Hub>,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl FakeHub {
    /// Starts a Hub that accepts only `Bearer <token>`.
    pub fn start(token: &str) -> FakeHub {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (shutdown_tx, shutdown_rx) = oneshot::channel();
        let token_owned = token.to_string();
        let thread = std::thread::Builder::new()
            .name("fake-hub".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .expect("fake hub runtime");
                runtime.block_on(serve(token_owned, ready_tx, shutdown_rx));
            })
            .expect("fake hub thread");
        let (endpoint, state) = ready_rx.recv().expect("fake hub failed to start");
        FakeHub {
            endpoint,
            token: token.to_string(),
            state,
            shutdown: Some(shutdown_tx),
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT`, the Hub endpoint to give hf-hub.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    pub fn token(&self) -> &str {
        &self.token
    }

    /// Creates a bucket owned by the token's user, as if made on the website.
    pub fn create_bucket(&self, bucket_id: &str, private: bool) {
        self.state.insert_bucket(bucket_id, private, true);
    }

    /// Creates a bucket owned by someone else: hidden when private, read-only when public.
    pub fn create_foreign_bucket(&self, bucket_id: &str, private: bool) {
        self.state.insert_bucket(bucket_id, private, false);
    }

    pub fn has_bucket(&self, bucket_id: &str) -> bool {
        self.state.buckets.lock().unwrap().contains_key(bucket_id)
    }

    /// The bucket's visibility, or `None` when it does not exist.
    pub fn bucket_private(&self, bucket_id: &str) -> Option<bool> {
        self.state
            .buckets
            .lock()
            .unwrap()
            .get(bucket_id)
            .map(|b| b.private)
    }

    /// Every file path in the bucket, sorted.
    pub fn files(&self, bucket_id: &str) -> Vec<String> {
        let buckets = self.state.buckets.lock().unwrap();
        buckets
            .get(bucket_id)
            .map(|b| b.files.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// Copies a file server-side (by Xet hash, as the Hub's batch `copyFile` does) to each
    /// of `to`: a quick way to fill a bucket with readable objects.
    pub fn copy_file(&self, bucket_id: &str, from: &str, to: &[String]) {
        let mut buckets = self.state.buckets.lock().unwrap();
        let bucket = buckets.get_mut(bucket_id).expect("no such bucket");
        let mut entry = bucket.files.get(from).expect("no such file").clone();
        entry.uploaded_at = now();
        for path in to {
            bucket.files.insert(path.clone(), entry.clone());
        }
    }

    /// How many tree-listing pages were served, to check that listings page.
    pub fn tree_pages_served(&self) -> usize {
        self.state.tree_pages.load(Ordering::SeqCst)
    }

    /// Requests for routes the fake does not implement, as `METHOD /path`.
    pub fn unexpected_requests(&self) -> Vec<String> {
        self.state.unexpected.lock().unwrap().clone()
    }

    /// The `casUrl` handed out with Xet tokens.
    pub fn cas_url(&self) -> &str {
        &self.state.cas_url
    }
}

impl Drop for FakeHub {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        remove_xet_cache(&self.state.cas_url);
    }
}

/// Settings for the native backend against `hub`, with the hub's token.
#[cfg(feature = "hf")]
pub fn hf_settings(hub: &FakeHub, bucket_id: &str, project: &str) -> HfSettings {
    HfSettings {
        bucket_id: bucket_id.to_string(),
        project: project.to_string(),
        token: Some(hub.token().to_string()),
        endpoint: Some(hub.endpoint().to_string()),
        private: true,
        gateway: None,
    }
}

/// The native hf store for `project` in [`TEST_BUCKET`], which exists (private) afterwards.
#[cfg(feature = "hf")]
pub async fn hf_store(hub: &FakeHub, project: &str) -> Box<dyn Store> {
    if !hub.has_bucket(TEST_BUCKET) {
        hub.create_bucket(TEST_BUCKET, true);
    }
    open(hf_settings(hub, TEST_BUCKET, project))
        .await
        .expect("open the hf store")
}

// ---------------------------------------------------------------------------------------
// State

struct Hub {
    token: String,
    endpoint: String,
    cas_url: String,
    cas: Arc<dyn DirectAccessClient>,
    buckets: Mutex<BTreeMap<String, Bucket>>,
    tree_pages: AtomicUsize,
    unexpected: Mutex<Vec<String>>,
}

struct Bucket {
    private: bool,
    /// False for buckets of another user.
    mine: bool,
    created_at: String,
    files: BTreeMap<String, FileEntry>,
}

#[derive(Clone)]
struct FileEntry {
    xet_hash: String,
    size: u64,
    mtime: String,
    uploaded_at: String,
}

impl Hub {
    fn insert_bucket(&self, bucket_id: &str, private: bool, mine: bool) {
        self.buckets.lock().unwrap().insert(
            bucket_id.to_string(),
            Bucket {
                private,
                mine,
                created_at: now(),
                files: BTreeMap::new(),
            },
        );
    }
}

enum Access {
    Read,
    Write,
}

/// The Hub's answer for a bucket this caller cannot use in this way, if any.
fn refuse(bucket: Option<&Bucket>, access: Access) -> Option<Response> {
    match bucket {
        None => Some(error(StatusCode::NOT_FOUND, "Bucket not found")),
        Some(b) if b.mine => None,
        Some(b) if b.private => Some(error(StatusCode::NOT_FOUND, "Bucket not found")),
        Some(_) => match access {
            Access::Read => None,
            Access::Write => Some(error(
                StatusCode::FORBIDDEN,
                "You don't have the rights to write to this bucket",
            )),
        },
    }
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(json!({ "error": message }))).into_response()
}

fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn file_json(path: &str, f: &FileEntry) -> Value {
    json!({
        "type": "file",
        "path": path,
        "size": f.size,
        "xetHash": f.xet_hash,
        "mtime": f.mtime,
        "uploadedAt": f.uploaded_at,
    })
}

fn dir_json(path: &str, uploaded_at: &str) -> Value {
    json!({ "type": "directory", "path": path, "uploadedAt": uploaded_at })
}

// ---------------------------------------------------------------------------------------
// Server

type Shared = State<Arc<Hub>>;

async fn serve(
    token: String,
    ready: std::sync::mpsc::Sender<(String, Arc<Hub>)>,
    shutdown: oneshot::Receiver<()>,
) {
    // Xet keeps a shard cache per CAS endpoint and trusts it to name data the server
    // holds. A fresh in-memory CAS on a recycled port would inherit a stale cache, so each
    // fake's CAS gets an address of its own in 127.0.0.0/8 (falling back to 127.0.0.1).
    let ctx = XetContext::default().expect("xet context");
    let cas_client = MemoryClient::new(ctx);
    let cas_listener = bind_cas_listener();
    let cas_addr = cas_listener.local_addr().unwrap();
    let cas_url = format!("http://{cas_addr}");
    let cas_server = LocalServer::from_client(
        cas_client.clone(),
        None,
        cas_addr.ip().to_string(),
        cas_addr.port(),
    );
    let (cas_stop_tx, cas_stop_rx) = oneshot::channel();
    let cas_listener = tokio::net::TcpListener::from_std(cas_listener).unwrap();
    let cas_task = tokio::spawn(async move {
        let _ = cas_server
            .serve_until_stopped(cas_listener, cas_stop_rx)
            .await;
    });

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let hub = Arc::new(Hub {
        token,
        endpoint: endpoint.clone(),
        cas_url,
        cas: cas_client,
        buckets: Mutex::new(BTreeMap::new()),
        tree_pages: AtomicUsize::new(0),
        unexpected: Mutex::new(Vec::new()),
    });

    let bucket = "/api/buckets/{ns}/{name}";
    let app = Router::new()
        .route(
            bucket,
            post(create_bucket).get(bucket_info).delete(delete_bucket),
        )
        .route(&format!("{bucket}/tree"), get(tree_root))
        .route(&format!("{bucket}/tree/{{*prefix}}"), get(tree_prefix))
        .route(&format!("{bucket}/paths-info"), post(paths_info))
        .route(&format!("{bucket}/batch"), post(batch))
        .route(&format!("{bucket}/xet-write-token"), get(xet_write_token))
        .route(&format!("{bucket}/xet-read-token"), get(xet_read_token))
        .route("/buckets/{ns}/{name}/resolve/{*path}", get(resolve))
        .fallback(unexpected)
        .layer(middleware::from_fn_with_state(hub.clone(), require_token))
        .with_state(hub.clone());

    ready.send((endpoint, hub)).unwrap();
    let _ = axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = shutdown.await;
        })
        .await;
    let _ = cas_stop_tx.send(());
    let _ = cas_task.await;
}

fn bind_cas_listener() -> StdListener {
    let random = uuid::Uuid::new_v4().into_bytes();
    let ip = Ipv4Addr::new(127, random[0], random[1], random[2].max(1));
    let listener = StdListener::bind(SocketAddr::from((ip, 0)))
        .or_else(|_| StdListener::bind("127.0.0.1:0"))
        .expect("bind the CAS simulation server");
    listener.set_nonblocking(true).unwrap();
    listener
}

/// Removes the shard cache that Xet keyed on this fake's CAS address (see `serve`).
/// Mirrors xet-data's `compute_cache_path` and xet-runtime's cache root; best effort.
fn remove_xet_cache(cas_url: &str) {
    let root: Option<PathBuf> = if let Ok(dir) = std::env::var("HF_XET_CACHE") {
        Some(dir.into())
    } else if let Ok(home) = std::env::var("HF_HOME") {
        Some(PathBuf::from(home).join("xet"))
    } else if let Ok(xdg) = std::env::var("XDG_CACHE_HOME") {
        Some(PathBuf::from(xdg).join("huggingface").join("xet"))
    } else {
        std::env::var("HOME").ok().map(|home| {
            PathBuf::from(home)
                .join(".cache")
                .join("huggingface")
                .join("xet")
        })
    };
    let Some(root) = root else { return };
    let prefix: String = cas_url
        .chars()
        .take(16)
        .map(|c| if c.is_alphanumeric() { c } else { '_' })
        .collect();
    let hash = compute_data_hash(cas_url.as_bytes()).base64();
    let _ = std::fs::remove_dir_all(root.join(format!("{prefix}-{}", &hash[..16])));
}

async fn require_token(State(hub): Shared, request: Request, next: Next) -> Response {
    let expected = format!("Bearer {}", hub.token);
    let given = request.headers().get(header::AUTHORIZATION);
    if given.and_then(|v| v.to_str().ok()) != Some(expected.as_str()) {
        return error(
            StatusCode::UNAUTHORIZED,
            "Invalid credentials in Authorization header",
        );
    }
    next.run(request).await
}

async fn unexpected(State(hub): Shared, method: Method, uri: Uri) -> Response {
    let line = format!("{method} {}", uri.path());
    hub.unexpected.lock().unwrap().push(line.clone());
    error(
        StatusCode::NOT_FOUND,
        &format!("the fake hub does not implement {line}"),
    )
}

// ---------------------------------------------------------------------------------------
// Bucket endpoints

async fn create_bucket(
    State(hub): Shared,
    Path((ns, name)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let valid = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    if !valid(&ns) || !valid(&name) {
        return error(StatusCode::BAD_REQUEST, "Invalid bucket name");
    }
    let options: Value = serde_json::from_slice(&body).unwrap_or(json!({}));
    let private = options
        .get("private")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let id = format!("{ns}/{name}");
    if hub.buckets.lock().unwrap().contains_key(&id) {
        return error(StatusCode::CONFLICT, "You already created this bucket");
    }
    hub.insert_bucket(&id, private, true);
    axum::Json(json!({
        "url": format!("{}/buckets/{id}", hub.endpoint),
        "id": id,
        "name": name,
    }))
    .into_response()
}

async fn bucket_info(State(hub): Shared, Path((ns, name)): Path<(String, String)>) -> Response {
    let id = format!("{ns}/{name}");
    let buckets = hub.buckets.lock().unwrap();
    let bucket = buckets.get(&id);
    if let Some(refusal) = refuse(bucket, Access::Read) {
        return refusal;
    }
    let bucket = bucket.unwrap();
    axum::Json(json!({
        "id": id,
        "private": bucket.private,
        "createdAt": bucket.created_at,
        "size": bucket.files.values().map(|f| f.size).sum::<u64>(),
        "totalFiles": bucket.files.len(),
    }))
    .into_response()
}

async fn delete_bucket(State(hub): Shared, Path((ns, name)): Path<(String, String)>) -> Response {
    let id = format!("{ns}/{name}");
    let mut buckets = hub.buckets.lock().unwrap();
    if let Some(refusal) = refuse(buckets.get(&id), Access::Write) {
        return refusal;
    }
    buckets.remove(&id);
    StatusCode::OK.into_response()
}

#[derive(serde::Deserialize)]
struct TreeQuery {
    recursive: Option<bool>,
    cursor: Option<usize>,
}

async fn tree_root(
    state: Shared,
    Path((ns, name)): Path<(String, String)>,
    query: Query<TreeQuery>,
    uri: Uri,
) -> Response {
    tree(state, ns, name, String::new(), query.0, uri)
}

async fn tree_prefix(
    state: Shared,
    Path((ns, name, prefix)): Path<(String, String, String)>,
    query: Query<TreeQuery>,
    uri: Uri,
) -> Response {
    tree(state, ns, name, prefix, query.0, uri)
}

fn tree(
    State(hub): Shared,
    ns: String,
    name: String,
    prefix: String,
    query: TreeQuery,
    uri: Uri,
) -> Response {
    hub.tree_pages.fetch_add(1, Ordering::SeqCst);
    let id = format!("{ns}/{name}");
    let buckets = hub.buckets.lock().unwrap();
    let bucket = buckets.get(&id);
    if let Some(refusal) = refuse(bucket, Access::Read) {
        return refusal;
    }
    let bucket = bucket.unwrap();
    let recursive = query.recursive.unwrap_or(false);

    // Files and the directories above them, keyed by path (a path can be both a file and
    // a directory in a flat store, so files and directories are kept apart).
    let mut files: Vec<(&String, &FileEntry)> = Vec::new();
    let mut dirs: BTreeMap<String, String> = BTreeMap::new();
    for (path, entry) in &bucket.files {
        if recursive {
            // The Hub matches a listing prefix as a raw string, not as a directory.
            if !path.starts_with(&prefix) {
                continue;
            }
            files.push((path, entry));
            let mut end = 0;
            while let Some(slash) = path[end..].find('/') {
                end += slash;
                let dir = &path[..end];
                if dir.starts_with(&prefix) {
                    let newest = dirs.entry(dir.to_string()).or_default();
                    if *newest < entry.uploaded_at {
                        *newest = entry.uploaded_at.clone();
                    }
                }
                end += 1;
            }
        } else {
            let rest = if prefix.is_empty() {
                path.as_str()
            } else if let Some(rest) = path.strip_prefix(&format!("{prefix}/")) {
                rest
            } else {
                continue;
            };
            match rest.find('/') {
                None => files.push((path, entry)),
                Some(slash) => {
                    let dir = path[..path.len() - rest.len() + slash].to_string();
                    let newest = dirs.entry(dir).or_default();
                    if *newest < entry.uploaded_at {
                        *newest = entry.uploaded_at.clone();
                    }
                }
            }
        }
    }
    let mut entries: Vec<(String, Value)> = files
        .into_iter()
        .map(|(path, f)| (path.clone(), file_json(path, f)))
        .chain(
            dirs.iter()
                .map(|(path, at)| (path.clone(), dir_json(path, at))),
        )
        .collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    if entries.is_empty() && !prefix.is_empty() {
        return error(StatusCode::NOT_FOUND, "Entry not found");
    }

    let start = query.cursor.unwrap_or(0).min(entries.len());
    let end = (start + PAGE_SIZE).min(entries.len());
    let page: Vec<Value> = entries[start..end].iter().map(|(_, v)| v.clone()).collect();
    let mut response = axum::Json(page).into_response();
    if end < entries.len() {
        let next = format!(
            "<{}{}?recursive={recursive}&cursor={end}>; rel=\"next\"",
            hub.endpoint,
            uri.path()
        );
        response
            .headers_mut()
            .insert(header::LINK, HeaderValue::from_str(&next).unwrap());
    }
    response
}

async fn paths_info(
    State(hub): Shared,
    Path((ns, name)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let id = format!("{ns}/{name}");
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return error(StatusCode::BAD_REQUEST, "Invalid JSON body");
    };
    let Some(paths) = request.get("paths").and_then(Value::as_array) else {
        return error(StatusCode::BAD_REQUEST, "Missing 'paths'");
    };
    let buckets = hub.buckets.lock().unwrap();
    let bucket = buckets.get(&id);
    if let Some(refusal) = refuse(bucket, Access::Read) {
        return refusal;
    }
    let bucket = bucket.unwrap();
    let mut out = Vec::new();
    for path in paths.iter().filter_map(Value::as_str) {
        if let Some(f) = bucket.files.get(path) {
            out.push(file_json(path, f));
        } else if let Some(newest) = bucket
            .files
            .iter()
            .filter(|(p, _)| p.starts_with(&format!("{path}/")))
            .map(|(_, f)| f.uploaded_at.clone())
            .max()
        {
            out.push(dir_json(path, &newest));
        }
    }
    axum::Json(out).into_response()
}

enum Op {
    Add { path: String, entry: FileEntry },
    Delete(String),
}

async fn batch(
    State(hub): Shared,
    Path((ns, name)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let id = format!("{ns}/{name}");
    if headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        != Some("application/x-ndjson")
    {
        return error(StatusCode::BAD_REQUEST, "Expected application/x-ndjson");
    }
    {
        let buckets = hub.buckets.lock().unwrap();
        if let Some(refusal) = refuse(buckets.get(&id), Access::Write) {
            return refusal;
        }
    }
    // Validate the whole batch before applying any of it.
    let at = now();
    let mut ops = Vec::new();
    for line in String::from_utf8_lossy(&body)
        .lines()
        .filter(|l| !l.trim().is_empty())
    {
        let Ok(op) = serde_json::from_str::<Value>(line) else {
            return error(StatusCode::BAD_REQUEST, "Invalid NDJSON line");
        };
        let path = op
            .get("path")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        if path.is_empty() || path.starts_with('/') {
            return error(StatusCode::BAD_REQUEST, "Invalid path");
        }
        match op.get("type").and_then(Value::as_str) {
            Some("addFile") => {
                let (Some(hash), Some(size)) = (
                    op.get("xetHash").and_then(Value::as_str),
                    op.get("size").and_then(Value::as_u64),
                ) else {
                    return error(StatusCode::BAD_REQUEST, "addFile needs xetHash and size");
                };
                if let Err(message) = check_in_cas(&hub, hash, size).await {
                    return error(StatusCode::UNPROCESSABLE_ENTITY, &message);
                }
                // Python's client sends milliseconds; without one the Hub uses its clock.
                let mtime = op
                    .get("mtime")
                    .and_then(Value::as_i64)
                    .and_then(chrono::DateTime::from_timestamp_millis)
                    .map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true))
                    .unwrap_or_else(|| at.clone());
                ops.push(Op::Add {
                    path,
                    entry: FileEntry {
                        xet_hash: hash.to_string(),
                        size,
                        mtime,
                        uploaded_at: at.clone(),
                    },
                });
            }
            Some("deleteFile") => ops.push(Op::Delete(path)),
            Some(other) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    &format!("the fake hub does not support batch operation {other}"),
                );
            }
            None => return error(StatusCode::BAD_REQUEST, "Missing operation type"),
        }
    }
    let mut buckets = hub.buckets.lock().unwrap();
    let Some(bucket) = buckets.get_mut(&id) else {
        return error(StatusCode::NOT_FOUND, "Bucket not found");
    };
    for op in ops {
        match op {
            Op::Add { path, entry } => {
                bucket.files.insert(path, entry);
            }
            Op::Delete(path) => {
                bucket.files.remove(&path);
            }
        }
    }
    axum::Json(json!({ "success": true })).into_response()
}

/// Refuses an `addFile` whose bytes never reached Xet storage, as the Hub would.
async fn check_in_cas(hub: &Hub, hash: &str, size: u64) -> Result<(), String> {
    let Ok(merkle) = MerkleHash::from_hex(hash) else {
        return Err(format!("Invalid xet hash {hash}"));
    };
    if size == 0 {
        return Ok(());
    }
    match hub.cas.get_file_size(&merkle).await {
        Ok(stored) if stored == size => Ok(()),
        Ok(stored) => Err(format!("xet file {hash} has {stored} bytes, not {size}")),
        Err(_) => Err(format!("xet file {hash} was not uploaded")),
    }
}

async fn xet_write_token(state: Shared, path: Path<(String, String)>) -> Response {
    xet_token(state, path, Access::Write)
}

async fn xet_read_token(state: Shared, path: Path<(String, String)>) -> Response {
    xet_token(state, path, Access::Read)
}

fn xet_token(
    State(hub): Shared,
    Path((ns, name)): Path<(String, String)>,
    access: Access,
) -> Response {
    let id = format!("{ns}/{name}");
    let kind = match access {
        Access::Read => "read",
        Access::Write => "write",
    };
    if let Some(refusal) = refuse(hub.buckets.lock().unwrap().get(&id), access) {
        return refusal;
    }
    axum::Json(json!({
        "accessToken": format!("fake-cas-{kind}-token"),
        "exp": Utc::now().timestamp() + 3600,
        "casUrl": hub.cas_url,
    }))
    .into_response()
}

async fn resolve(
    State(hub): Shared,
    Path((ns, name, path)): Path<(String, String, String)>,
) -> Response {
    let id = format!("{ns}/{name}");
    let file = {
        let buckets = hub.buckets.lock().unwrap();
        let bucket = buckets.get(&id);
        if let Some(refusal) = refuse(bucket, Access::Read) {
            return refusal;
        }
        bucket.unwrap().files.get(&path).cloned()
    };
    let Some(file) = file else {
        return error(StatusCode::NOT_FOUND, "Entry not found");
    };
    let data = if file.size == 0 {
        Bytes::new()
    } else {
        let merkle = MerkleHash::from_hex(&file.xet_hash).unwrap();
        match hub.cas.get_file_data(&merkle, None).await {
            Ok(data) => data,
            Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
        }
    };
    let mut response = Response::new(Body::from(data));
    let headers = response.headers_mut();
    headers.insert("x-xet-hash", HeaderValue::from_str(&file.xet_hash).unwrap());
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(file.size));
    response
}
