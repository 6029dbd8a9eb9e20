//! Race workers as separate OS processes: the test binary re-runs itself filtered to
//! `worker_process_entry`, with the job in its environment. Every worker waits for one
//! shared start instant so they really collide, then prints one `TCRESULT` line.

use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use tracecraft::store::{PutMode, PutOptions, StoreError};

use crate::backends::{Target, open};

const RESULT_TAG: &str = "TCRESULT ";

pub enum Job {
    /// Try once to create `key` with a body naming this worker.
    Create { key: String },
    /// Increment the counter at `key` `times` times by compare-and-swap.
    Increment { key: String, times: u32 },
}

/// Starts `count` workers on `job` against `target` and returns each one's result line.
pub fn spawn(target: &Target, job: &Job, count: usize, timeout: Duration) -> Vec<String> {
    let exe = std::env::current_exe().unwrap();
    // Far enough ahead for every process to start and open its store first.
    let start_at = now_ms() + 1500;
    let children: Vec<_> = (0..count)
        .map(|i| {
            let mut cmd = Command::new(&exe);
            cmd.args([
                "--exact",
                "worker_process_entry",
                "--nocapture",
                "--test-threads=1",
            ])
            .envs(target.to_env())
            .env("TC_W_ID", format!("worker-{i:02}"))
            .env("TC_W_START_AT", start_at.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
            match job {
                Job::Create { key } => cmd.env("TC_W_JOB", "create").env("TC_W_KEY", key),
                Job::Increment { key, times } => cmd
                    .env("TC_W_JOB", "increment")
                    .env("TC_W_KEY", key)
                    .env("TC_W_TIMES", times.to_string()),
            };
            cmd.spawn().expect("spawn worker")
        })
        .collect();
    let deadline = std::time::Instant::now() + timeout;
    children
        .into_iter()
        .map(|mut child| {
            loop {
                if child.try_wait().unwrap().is_some() {
                    break;
                }
                if std::time::Instant::now() > deadline {
                    let _ = child.kill();
                    panic!("a race worker did not finish within {timeout:?}");
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let out = child.wait_with_output().unwrap();
            assert!(out.status.success(), "worker failed: {:?}", out.status);
            let stdout = String::from_utf8_lossy(&out.stdout);
            stdout
                .lines()
                .find_map(|l| l.split_once(RESULT_TAG).map(|(_, r)| r))
                .unwrap_or_else(|| panic!("worker printed no result:\n{stdout}"))
                .to_string()
        })
        .collect()
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// Runs the job described by the environment, if any.
pub fn entry() {
    let Ok(job) = std::env::var("TC_W_JOB") else {
        return;
    };
    let id = std::env::var("TC_W_ID").unwrap();
    let key = std::env::var("TC_W_KEY").unwrap();
    let start_at: u64 = std::env::var("TC_W_START_AT").unwrap().parse().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // The harness prints `test worker_process_entry ... ` before the test's own output, so
    // the result is tagged and searched for rather than expected on a line of its own.
    let result = rt.block_on(async {
        let store = open(&Target::from_env()).await;
        // A warm-up request so connection set-up is not part of the race.
        let _ = store.head("warm-up").await;
        let wait = start_at.saturating_sub(now_ms());
        tokio::time::sleep(Duration::from_millis(wait)).await;
        match job.as_str() {
            "create" => {
                let body = Bytes::from(format!("{{\"winner\":\"{id}\"}}"));
                match store
                    .put(&key, body, PutMode::Create, &PutOptions::json())
                    .await
                {
                    Ok(_) => format!("won {id}"),
                    Err(StoreError::AlreadyExists { .. }) => format!("lost {id}"),
                    Err(e) => format!("error {id} {e}"),
                }
            }
            "increment" => {
                let times: u32 = std::env::var("TC_W_TIMES").unwrap().parse().unwrap();
                let mut retries = 0u32;
                for _ in 0..times {
                    loop {
                        let obj = store.get(&key).await.expect("read counter");
                        let n: u64 = std::str::from_utf8(&obj.body)
                            .unwrap()
                            .trim()
                            .parse()
                            .unwrap();
                        let next = Bytes::from((n + 1).to_string());
                        match store
                            .put(
                                &key,
                                next,
                                PutMode::UpdateIfVersion(obj.meta.version),
                                &PutOptions::default(),
                            )
                            .await
                        {
                            Ok(_) => break,
                            Err(StoreError::PreconditionFailed { .. }) => retries += 1,
                            Err(e) => panic!("increment failed: {e}"),
                        }
                    }
                }
                format!("done {id} retries={retries}")
            }
            other => panic!("unknown job {other}"),
        }
    });
    println!("{RESULT_TAG}{result}");
}
