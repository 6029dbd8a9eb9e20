//! Builds a fresh, empty store of each backend for one test case, and describes how a
//! worker process can open the same store. The s3 backend needs the SeaweedFS server that
//! `scripts/test` starts; without it a case skips with a printed reason, except under
//! `CI=true`, where a missing server fails the run.

use std::future::Future;

use tracecraft::store::Store;
use tracecraft::store::fs::FsStore;
use tracecraft::store::s3::{S3Settings, S3Store};

#[allow(non_camel_case_types)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    fs,
    s3,
    hf,
}

/// Enough to open the store again from another process.
#[derive(Clone, Debug)]
pub enum Target {
    Fs {
        root: String,
        bucket: String,
        project: String,
    },
    S3 {
        endpoint: String,
        access_key: String,
        secret_key: String,
        bucket: String,
        project: String,
    },
    /// In-process only (the fake Hub lives in the test process).
    InProcess,
}

pub struct Env {
    pub backend: Backend,
    pub store: Box<dyn Store>,
    pub target: Target,
    /// Keeps temp dirs and servers alive for the case's duration.
    pub _keep: Vec<Box<dyn std::any::Any + Send>>,
}

pub fn s3_from_env() -> Option<(String, String, String)> {
    let get = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    match (
        get("TRACECRAFT_TEST_S3_ENDPOINT"),
        get("TRACECRAFT_TEST_S3_ACCESS_KEY"),
        get("TRACECRAFT_TEST_S3_SECRET_KEY"),
    ) {
        (Some(e), Some(a), Some(s)) => Some((e, a, s)),
        _ => None,
    }
}

/// Prints past the test harness's output capture, so skips and race results show in every
/// run, not only in failing ones.
pub fn announce(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// Runs one case against a fresh store of `backend`.
pub fn run<F, Fut>(backend: Backend, case: F)
where
    F: FnOnce(Env) -> Fut,
    Fut: Future<Output = ()>,
{
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap();
    let Some(env) = rt.block_on(make(backend)) else {
        return;
    };
    rt.block_on(case(env));
}

async fn make(backend: Backend) -> Option<Env> {
    let project = format!("conf-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    match backend {
        Backend::fs => {
            let dir = tempfile::tempdir().unwrap();
            let root = dir.path().to_str().unwrap().to_string();
            let target = Target::Fs {
                root: root.clone(),
                bucket: "bucket".into(),
                project: project.clone(),
            };
            let store = open(&target).await;
            store.ensure_bucket().await.unwrap();
            Some(Env {
                backend,
                store,
                target,
                _keep: vec![Box::new(dir)],
            })
        }
        Backend::s3 => {
            let Some((endpoint, access_key, secret_key)) = s3_from_env() else {
                let reason = "no S3 test server: TRACECRAFT_TEST_S3_ENDPOINT is not set (run scripts/test, which starts SeaweedFS)";
                if std::env::var("CI").as_deref() == Ok("true") {
                    panic!("{reason}; under CI=true every backend must run");
                }
                announce(&format!("SKIPPED (s3 backend): {reason}"));
                return None;
            };
            let target = Target::S3 {
                endpoint,
                access_key,
                secret_key,
                // One bucket for the whole suite, a project per case: SeaweedFS gives every
                // bucket its own volumes, and a bucket per case would exhaust them.
                bucket: "tc-conformance".into(),
                project,
            };
            let store = open(&target).await;
            store.ensure_bucket().await.unwrap();
            Some(Env {
                backend,
                store,
                target,
                _keep: vec![],
            })
        }
        Backend::hf => {
            let (store, keep) = crate::support::hf_test_store(&project).await;
            Some(Env {
                backend,
                store,
                target: Target::InProcess,
                _keep: keep,
            })
        }
    }
}

pub async fn open(target: &Target) -> Box<dyn Store> {
    match target {
        Target::Fs {
            root,
            bucket,
            project,
        } => Box::new(FsStore::new(root, bucket, project)),
        Target::S3 {
            endpoint,
            access_key,
            secret_key,
            bucket,
            project,
        } => Box::new(
            S3Store::connect(S3Settings {
                bucket: bucket.clone(),
                project: project.clone(),
                endpoint: Some(endpoint.clone()),
                region: Some("us-east-1".into()),
                access_key: Some(access_key.clone()),
                secret_key: Some(secret_key.clone()),
                force_path_style: true,
                backend_name: "s3",
                ..S3Settings::default()
            })
            .await
            .unwrap(),
        ),
        Target::InProcess => panic!("in-process stores cannot be reopened"),
    }
}

/// The target as environment variables for a worker, and back.
impl Target {
    pub fn to_env(&self) -> Vec<(String, String)> {
        let v = |k: &str, val: &str| (k.to_string(), val.to_string());
        match self {
            Target::Fs {
                root,
                bucket,
                project,
            } => vec![
                v("TC_W_KIND", "fs"),
                v("TC_W_ROOT", root),
                v("TC_W_BUCKET", bucket),
                v("TC_W_PROJECT", project),
            ],
            Target::S3 {
                endpoint,
                access_key,
                secret_key,
                bucket,
                project,
            } => vec![
                v("TC_W_KIND", "s3"),
                v("TC_W_ENDPOINT", endpoint),
                v("TC_W_AK", access_key),
                v("TC_W_SK", secret_key),
                v("TC_W_BUCKET", bucket),
                v("TC_W_PROJECT", project),
            ],
            Target::InProcess => panic!("in-process stores have no worker form"),
        }
    }

    pub fn from_env() -> Target {
        let g = |k: &str| std::env::var(k).unwrap_or_else(|_| panic!("worker needs {k}"));
        match g("TC_W_KIND").as_str() {
            "fs" => Target::Fs {
                root: g("TC_W_ROOT"),
                bucket: g("TC_W_BUCKET"),
                project: g("TC_W_PROJECT"),
            },
            "s3" => Target::S3 {
                endpoint: g("TC_W_ENDPOINT"),
                access_key: g("TC_W_AK"),
                secret_key: g("TC_W_SK"),
                bucket: g("TC_W_BUCKET"),
                project: g("TC_W_PROJECT"),
            },
            other => panic!("unknown worker kind {other}"),
        }
    }
}
