//! `doctor` passes on stores that honour conditional writes (fs, SeaweedFS), and fails with
//! exit 1 and a plain statement where claims would be unsafe: native Hugging Face (no
//! conditional writes) and an S3 endpoint that accepts every PUT whatever its headers say.

#![cfg(feature = "hf")]

mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use support::cli::{Project, code, ok, stderr, stdout};

#[test]
fn doctor_passes_where_conditional_writes_are_honoured() {
    for p in Project::all() {
        let text = ok(&p.run("alice", &["doctor"]));
        assert!(text.contains("second create rejected: ok"), "{text}");
        assert!(
            text.contains("stale compare-and-swap rejected: ok"),
            "{text}"
        );
        assert!(text.contains("exactly one winner"), "{text}");
        assert!(text.contains("conditional writes: honoured"), "{text}");
        let v: serde_json::Value =
            serde_json::from_str(ok(&p.run("alice", &["--json", "doctor"])).trim()).unwrap();
        assert_eq!(v["claims_safe"], true);
        assert_eq!(v["capabilities"]["atomic_create"], true);
        assert_eq!(v["probe"]["race_winners"], 1);
        assert!(
            p.keys("_doctor/").is_empty(),
            "scratch keys cleaned up: {:?}",
            p.keys("_doctor/")
        );
    }
}

#[test]
fn doctor_fails_on_native_hugging_face() {
    let hub = support::fake_hub::FakeHub::start("hf_doctor_token_0123456789abcdef");
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        assert_cmd::Command::new(env!("CARGO_BIN_EXE_tracecraft"))
            .current_dir(dir.path())
            .env("HOME", dir.path())
            .env_remove("TRACECRAFT_CONFIG")
            .env_remove("HF_TOKEN")
            .args(args)
            .output()
            .unwrap()
    };
    let init = run(&[
        "init",
        "--backend",
        "hf",
        "--bucket",
        "tester/doc",
        "--endpoint",
        hub.endpoint(),
        "--hf-token",
        "hf_doctor_token_0123456789abcdef",
        "--project",
        "demo",
        "--agent",
        "alice",
    ]);
    assert_eq!(code(&init), 0, "{}", stderr(&init));
    let out = run(&["doctor"]);
    assert_eq!(code(&out), 1, "claims would be unsafe: exit 1");
    assert!(
        stdout(&out).contains("claims are UNSAFE"),
        "{}",
        stdout(&out)
    );
}

/// An S3 endpoint that stores every PUT and ignores `If-None-Match` / `If-Match`, as some
/// S3-compatible services do.
type Objects = Arc<Mutex<HashMap<String, (Bytes, String)>>>;

async fn careless_s3(
    State(objects): State<Objects>,
    method: Method,
    uri: Uri,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let mut objects = objects.lock().unwrap();
    let xml = |status: StatusCode, body: String| {
        (status, [("content-type", "application/xml")], body).into_response()
    };
    match method {
        Method::PUT => {
            let etag = format!("\"{}\"", uuid::Uuid::new_v4().simple());
            objects.insert(path, (body, etag.clone()));
            (StatusCode::OK, [("etag", etag)]).into_response()
        }
        Method::GET if uri.query().is_some_and(|q| q.contains("list-type=2")) => xml(
            StatusCode::OK,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\
             <Name>b</Name><Prefix></Prefix><KeyCount>0</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated></ListBucketResult>"
                .into(),
        ),
        Method::GET | Method::HEAD => match objects.get(&path) {
            Some((body, etag)) => {
                let mut headers = HeaderMap::new();
                headers.insert("etag", etag.parse().unwrap());
                let body = if method == Method::HEAD { Bytes::new() } else { body.clone() };
                (StatusCode::OK, headers, body).into_response()
            }
            None => xml(
                StatusCode::NOT_FOUND,
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>NoSuchKey</Code><Message>none</Message></Error>".into(),
            ),
        },
        Method::DELETE => {
            objects.remove(&path);
            StatusCode::NO_CONTENT.into_response()
        }
        _ => StatusCode::NOT_IMPLEMENTED.into_response(),
    }
}

#[test]
fn doctor_fails_on_a_store_that_ignores_conditional_headers() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    let objects: Objects = Arc::default();
    let state = objects.clone();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let app = Router::new().fallback(careless_s3).with_state(state);
            axum::serve(listener, app).await.unwrap();
        });
    });
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("c.json");
    std::fs::write(
        &config,
        format!(
            r#"{{"backend":"s3","bucket":"careless","project":"p","agent_id":"alice","endpoint":"http://{addr}","access_key":"k","secret_key":"s"}}"#
        ),
    )
    .unwrap();
    let out = assert_cmd::Command::new(env!("CARGO_BIN_EXE_tracecraft"))
        .env("TRACECRAFT_CONFIG", &config)
        .env("HOME", dir.path())
        .args(["doctor"])
        .output()
        .unwrap();
    assert_eq!(
        code(&out),
        1,
        "stdout: {}\nstderr: {}",
        stdout(&out),
        stderr(&out)
    );
    let text = stdout(&out);
    assert!(text.contains("second create rejected: FAILED"), "{text}");
    assert!(text.contains("NOT honoured"), "{text}");
    assert!(
        objects.lock().unwrap().is_empty(),
        "scratch keys cleaned up even on failure"
    );
}
