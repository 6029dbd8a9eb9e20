//! A conditional write whose response is lost: the S3 backend retries, the retry comes
//! back as a conflict although the first attempt won, and the backend must see its own
//! nonce in the stored object and report success. A loopback proxy in front of the
//! SeaweedFS test server swallows the response to the first PUT and drops the connection.

#![cfg(feature = "s3")]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tracecraft::store::s3::{S3Settings, S3Store};
use tracecraft::store::{PutMode, PutOptions, Store, StoreError};

/// Forwards connections to `upstream`; while armed, the next PUT's response is swallowed
/// and its connection closed, as if the network lost it after the server acted.
struct LossyProxy {
    addr: String,
    armed: Arc<AtomicBool>,
    dropped: Arc<AtomicUsize>,
}

impl LossyProxy {
    async fn start(upstream: String) -> LossyProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = format!("http://{}", listener.local_addr().unwrap());
        let armed = Arc::new(AtomicBool::new(false));
        let dropped = Arc::new(AtomicUsize::new(0));
        let (a, d) = (armed.clone(), dropped.clone());
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let server = TcpStream::connect(&upstream).await.unwrap();
                tokio::spawn(relay(client, server, a.clone(), d.clone()));
            }
        });
        LossyProxy {
            addr,
            armed,
            dropped,
        }
    }
}

async fn relay(
    client: TcpStream,
    server: TcpStream,
    armed: Arc<AtomicBool>,
    dropped: Arc<AtomicUsize>,
) {
    let (mut cr, mut cw) = client.into_split();
    let (mut sr, mut sw) = server.into_split();
    let swallow = Arc::new(AtomicBool::new(false));
    let s2 = swallow.clone();
    let upstream = tokio::spawn(async move {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match cr.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            if buf[..n].starts_with(b"PUT ") && armed.swap(false, Ordering::SeqCst) {
                s2.store(true, Ordering::SeqCst);
            }
            if sw.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
    });
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match sr.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if swallow.load(Ordering::SeqCst) {
            // The server has answered the PUT; the client never hears of it.
            dropped.fetch_add(1, Ordering::SeqCst);
            break;
        }
        if cw.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    upstream.abort();
}

async fn store_via(
    proxy: &LossyProxy,
    endpoint_env: &(String, String, String),
    project: &str,
) -> S3Store {
    let store = S3Store::connect(S3Settings {
        bucket: "tc-conformance".into(),
        project: project.into(),
        endpoint: Some(proxy.addr.clone()),
        region: Some("us-east-1".into()),
        access_key: Some(endpoint_env.1.clone()),
        secret_key: Some(endpoint_env.2.clone()),
        force_path_style: true,
        backend_name: "s3",
        ..S3Settings::default()
    })
    .await
    .unwrap();
    store.ensure_bucket().await.unwrap();
    store
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_response_to_a_winning_conditional_write_is_still_a_win() {
    let Some(env) = support::cli::s3_env() else {
        return;
    };
    let upstream = env.0.trim_start_matches("http://").to_string();
    let proxy = LossyProxy::start(upstream).await;
    let project = format!("lost-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let store = store_via(&proxy, &env, &project).await;

    // Create: the first attempt lands, its response is lost, the retry gets 412.
    proxy.armed.store(true, Ordering::SeqCst);
    let v1 = store
        .put(
            "steps/x/claim.json",
            Bytes::from_static(b"{\"agent\":\"me\"}"),
            PutMode::Create,
            &PutOptions::json(),
        )
        .await
        .expect("the first attempt won; the retry's conflict must be recognised as ours");
    assert_eq!(
        proxy.dropped.load(Ordering::SeqCst),
        1,
        "a response was really lost"
    );
    let stored = store.get("steps/x/claim.json").await.unwrap();
    assert_eq!(stored.body, Bytes::from_static(b"{\"agent\":\"me\"}"));
    assert_eq!(stored.meta.version, v1);

    // Compare-and-swap: same story with If-Match.
    proxy.armed.store(true, Ordering::SeqCst);
    let v2 = store
        .put(
            "steps/x/claim.json",
            Bytes::from_static(b"{\"agent\":\"me\",\"n\":2}"),
            PutMode::UpdateIfVersion(v1.clone()),
            &PutOptions::json(),
        )
        .await
        .expect("the swap won before its response was lost");
    assert_eq!(proxy.dropped.load(Ordering::SeqCst), 2);
    assert_eq!(store.head("steps/x/claim.json").await.unwrap().version, v2);

    // A real loss stays a loss: someone else's object is not mistaken for ours.
    let other = store
        .put(
            "steps/x/claim.json",
            Bytes::from_static(b"{\"agent\":\"other\"}"),
            PutMode::Create,
            &PutOptions::json(),
        )
        .await;
    assert!(
        matches!(other, Err(StoreError::AlreadyExists { .. })),
        "{other:?}"
    );
    let stale = store
        .put(
            "steps/x/claim.json",
            Bytes::from_static(b"{}"),
            PutMode::UpdateIfVersion(v1),
            &PutOptions::json(),
        )
        .await;
    assert!(
        matches!(stale, Err(StoreError::PreconditionFailed { .. })),
        "{stale:?}"
    );
}
