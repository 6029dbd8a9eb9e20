//! The physical floor of scenario 1: one warm `aws-sdk-s3` client (the SDK our binary
//! uses, set up the same way: path-style, checksums only when required) on a
//! current-thread runtime, making exactly the requests our binary makes for each command
//! (listed in `commands.rs`), in the same order and concurrency, with bodies of the same
//! shape. No process start, no config, no client set-up, connections kept alive: what is
//! left is the round trips the command cannot avoid.
//!
//! The same client also fills inboxes for scenario 4 and reads claims back for scenario 2
//! (there from a client created afresh for each trial).

use anyhow::Context;
use aws_config::BehaviorVersion;
use aws_credential_types::Credentials;
use aws_sdk_s3::Client;
use aws_sdk_s3::config::{Region, RequestChecksumCalculation, ResponseChecksumValidation};
use aws_sdk_s3::primitives::ByteStream;
use futures::stream::{self, StreamExt, TryStreamExt};
use serde_json::json;
use tokio::runtime::Runtime;
use tracecraft::{keys, time};

use crate::tools::S3;

/// Bodies fetched or written at once, as our binary's inbox does.
const CONCURRENCY: usize = 32;

pub struct Floor {
    rt: Runtime,
    client: Client,
    bucket: String,
    project: String,
}

impl Floor {
    pub fn new(s3: &S3, bucket: &str, project: &str) -> anyhow::Result<Floor> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let shared = rt.block_on(
            aws_config::defaults(BehaviorVersion::latest())
                .region(Region::new(s3.region.clone()))
                .credentials_provider(Credentials::new(
                    s3.access_key.clone(),
                    s3.secret_key.clone(),
                    None,
                    None,
                    "bench",
                ))
                .load(),
        );
        let config = aws_sdk_s3::config::Builder::from(&shared)
            .force_path_style(true)
            .endpoint_url(&s3.endpoint)
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
            .build();
        Ok(Floor {
            rt,
            client: Client::from_conf(config),
            bucket: bucket.to_string(),
            project: project.to_string(),
        })
    }

    fn full(&self, key: &str) -> String {
        keys::scoped(&self.project, key)
    }

    /// GET; a missing key is fine (it is still a round trip).
    async fn get(&self, key: &str) -> anyhow::Result<Option<Vec<u8>>> {
        match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(self.full(key))
            .send()
            .await
        {
            Ok(out) => Ok(Some(out.body.collect().await?.into_bytes().to_vec())),
            Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 404) => Ok(None),
            Err(e) => Err(anyhow::Error::new(e).context(format!("GET {key}"))),
        }
    }

    async fn put(&self, key: &str, body: serde_json::Value, create: bool) -> anyhow::Result<()> {
        let mut req = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(self.full(key))
            .content_type("application/json")
            .metadata("tc-nonce", uuid::Uuid::new_v4().simple().to_string())
            .body(ByteStream::from(serde_json::to_vec(&body)?));
        if create {
            req = req.if_none_match("*");
        }
        req.send()
            .await
            .with_context(|| format!("PUT {key}"))
            .map(drop)
    }

    async fn list(&self, prefix: &str) -> anyhow::Result<Vec<String>> {
        let mut keys = Vec::new();
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(self.full(prefix))
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.with_context(|| format!("LIST {prefix}"))?;
            for o in page.contents() {
                if let Some(k) = o.key().and_then(|k| keys::unscoped(&self.project, k)) {
                    keys.push(k.to_string());
                }
            }
        }
        Ok(keys)
    }

    fn agent_doc(agent: &str, step: Option<&str>) -> serde_json::Value {
        let now = time::now_iso();
        json!({"id": agent, "status": "active", "step": step, "started_at": now,
               "heartbeat": now, "summary": ""})
    }

    pub fn step_status(&self, sid: &str) -> anyhow::Result<()> {
        self.rt.block_on(async {
            let (claim, status) = (keys::step_claim(sid), keys::step_status(sid));
            let (a, b) = tokio::join!(self.get(&claim), self.get(&status));
            a?;
            b.map(drop)
        })
    }

    pub fn claim(&self, sid: &str, agent: &str) -> anyhow::Result<()> {
        self.rt.block_on(async {
            let now = time::now_iso();
            self.put(
                &keys::step_claim(sid),
                json!({"agent": agent, "claimed_at": now}),
                true,
            )
            .await?;
            let presence = async {
                self.get(&keys::agent(agent)).await?;
                self.put(
                    &keys::agent(agent),
                    Self::agent_doc(agent, Some(sid)),
                    false,
                )
                .await
            };
            let status = keys::step_status(sid);
            let (a, b) = tokio::join!(
                self.put(
                    &status,
                    json!({"status": "in_progress", "agent": agent, "started_at": now}),
                    false
                ),
                presence
            );
            a.and(b)
        })
    }

    pub fn send(&self, to: &str, from: &str, message: &str) -> anyhow::Result<()> {
        self.rt.block_on(async {
            let now = time::now();
            let uuid = uuid::Uuid::new_v4().simple().to_string();
            let key = keys::message(to, &time::ts_ns(now), from, &uuid[..8]);
            let doc = json!({"from": from, "to": to, "message": message,
                             "sent_at": time::format(now)});
            let presence = keys::agent(from);
            let (a, b) = tokio::join!(self.put(&key, doc, true), self.get(&presence));
            a.and(b.map(drop))
        })
    }

    /// Lists both mailboxes, then fetches every body; returns how many were read.
    pub fn inbox(&self, me: &str) -> anyhow::Result<usize> {
        self.rt.block_on(async {
            let (mine, all) = (keys::mailbox(me), keys::mailbox(keys::BROADCAST));
            let (direct, broadcast) = tokio::join!(self.list(&mine), self.list(&all));
            let keys: Vec<String> = direct?.into_iter().chain(broadcast?).collect();
            let bodies: Vec<Option<Vec<u8>>> = stream::iter(keys.iter())
                .map(|k| self.get(k))
                .buffered(CONCURRENCY)
                .try_collect()
                .await?;
            Ok(bodies.into_iter().flatten().count())
        })
    }

    pub fn memory_get(&self, key: &str) -> anyhow::Result<()> {
        self.rt.block_on(async {
            self.get(&keys::memory_value(key))
                .await?
                .with_context(|| format!("memory key {key} is not set"))
                .map(drop)
        })
    }

    /// Writes `n` messages to `to` in the contract's layout, as the Python tool and ours
    /// would, `CONCURRENCY` at a time.
    pub fn fill_mailbox(&self, to: &str, from: &str, n: usize) -> anyhow::Result<()> {
        self.rt.block_on(async {
            let base = time::now();
            stream::iter(0..n)
                .map(|i| {
                    let at = base + chrono::Duration::microseconds(i as i64);
                    let uuid = uuid::Uuid::new_v4().simple().to_string();
                    let key = keys::message(to, &time::ts_ns(at), from, &uuid[..8]);
                    let doc = json!({"from": from, "to": to, "sent_at": time::format(at),
                                     "message": format!("message {i} of {n}: the schema is in artifacts/shared/openapi.yaml")});
                    async move { self.put(&key, doc, true).await }
                })
                .buffer_unordered(CONCURRENCY)
                .try_collect::<Vec<()>>()
                .await
                .map(drop)
        })
    }

    /// `n` conditional creates of one step's claim at once, each as agent `racer-NN`:
    /// the server's arbitration without any process start. Per racer: the agent, the exit
    /// code the CLI would give (0 created, 3 refused, 1 anything else) and the latency.
    pub fn race(&self, sid: &str, n: u32) -> Vec<(String, i32, f64)> {
        self.rt.block_on(async {
            let key = self.full(&keys::step_claim(sid));
            let started = std::time::Instant::now();
            let racers = (0..n).map(|i| {
                let agent = format!("racer-{i:02}");
                let body = json!({"agent": agent, "claimed_at": time::now_iso()});
                let req = self
                    .client
                    .put_object()
                    .bucket(&self.bucket)
                    .key(&key)
                    .content_type("application/json")
                    .if_none_match("*")
                    .body(ByteStream::from(
                        serde_json::to_vec(&body).unwrap_or_default(),
                    ))
                    // No SDK retry, as our binary sends its writes: each latency is one
                    // request and one answer from the server.
                    .customize()
                    .config_override(
                        aws_sdk_s3::config::Builder::default()
                            .retry_config(aws_config::retry::RetryConfig::disabled()),
                    );
                async move {
                    let exit = match req.send().await {
                        Ok(_) => 0,
                        Err(e) => match e.raw_response().map(|r| r.status().as_u16()) {
                            Some(409 | 412) => 3,
                            _ => 1,
                        },
                    };
                    (agent, exit, started.elapsed().as_secs_f64() * 1000.0)
                }
            });
            futures::future::join_all(racers).await
        })
    }

    /// The agent named by a step's stored claim.
    pub fn claim_holder(&self, sid: &str) -> anyhow::Result<Option<String>> {
        self.rt.block_on(async {
            let Some(body) = self.get(&keys::step_claim(sid)).await? else {
                return Ok(None);
            };
            let doc: serde_json::Value = serde_json::from_slice(&body)?;
            Ok(doc["agent"].as_str().map(str::to_string))
        })
    }
}
