//! `wait-for STEP...`: polls the steps' status documents until all are complete (exit 0),
//! one is blocked (exit 5, at once) or the timeout passes (exit 4). The first poll comes
//! quickly and the interval backs off, and each poll is a conditional GET where the backend
//! supports one, so an idle wait costs little. `wait-for --plan` waits the same way for
//! every step of the plan (`plan.rs` does the polling).

use std::time::Duration;

use serde_json::json;
use tokio::time::Instant;

use crate::app::{App, decode};
use crate::cli::WaitForArgs;
use crate::docs::{self, Status};
use crate::ids;
use crate::keys;
use crate::outcome::{Outcome, UsageError};
use crate::store::{StoreError, Version};

const FIRST_INTERVAL: Duration = Duration::from_millis(100);
/// The cap for the first minutes: an agent waiting on a teammate reacts in about a
/// quarter of a second on average, for two cheap conditional GETs a second per step.
const MAX_INTERVAL: Duration = Duration::from_millis(500);
/// Past this much waiting, the cap relaxes to [`LONG_WAIT_INTERVAL`]: a wait of hours
/// costs less, and reacting in a second is still prompt after it.
const LONG_WAIT: Duration = Duration::from_secs(15 * 60);
const LONG_WAIT_INTERVAL: Duration = Duration::from_secs(2);

/// The polling schedule: a fixed interval, or one that grows by half each time to a cap
/// (a higher one once the wait has been long).
#[derive(Clone, Copy, Debug)]
pub struct Backoff {
    next: Duration,
    fixed: bool,
}

impl Backoff {
    pub fn new(fixed: Option<Duration>) -> Self {
        match fixed {
            Some(d) => Backoff {
                next: d,
                fixed: true,
            },
            None => Backoff {
                next: FIRST_INTERVAL,
                fixed: false,
            },
        }
    }

    /// The delay before the next poll, `waited` into the wait.
    pub fn next_delay(&mut self, waited: Duration) -> Duration {
        let d = self.next;
        if !self.fixed {
            let cap = if waited >= LONG_WAIT {
                LONG_WAIT_INTERVAL
            } else {
                MAX_INTERVAL
            };
            self.next = (self.next * 3 / 2).min(cap);
        }
        d
    }
}

struct Watched {
    typed: String,
    sid: String,
    version: Option<Version>,
    state: String,
    agent: Option<String>,
}

pub async fn run(app: &App, args: WaitForArgs) -> anyhow::Result<Outcome> {
    let seconds = |flag: &str, v: Option<f64>| -> Result<Option<Duration>, UsageError> {
        match v {
            None => Ok(None),
            Some(s) if s.is_finite() && s >= 0.0 => Ok(Some(Duration::from_secs_f64(s))),
            Some(s) => Err(UsageError::new(format!(
                "{flag} must be a number of seconds >= 0, not {s}"
            ))),
        }
    };
    let timeout = seconds("--timeout", args.timeout)?;
    let interval = seconds("--interval", args.interval)?.map(|d| d.max(Duration::from_millis(10)));
    if args.plan {
        return wait_plan(app, timeout).await;
    }
    let mut watched = args
        .steps
        .iter()
        .map(|typed| {
            Ok(Watched {
                typed: typed.clone(),
                sid: ids::normalize_step(typed)?,
                version: None,
                state: docs::PENDING.into(),
                agent: None,
            })
        })
        .collect::<Result<Vec<_>, ids::InvalidId>>()?;

    let started = Instant::now();
    let deadline = timeout.map(|t| started + t);
    let mut backoff = Backoff::new(interval);
    let mut last_progress = String::new();
    loop {
        poll(app, &mut watched).await?;
        if let Some(w) = watched.iter().find(|w| w.state == docs::BLOCKED) {
            app.printer.refusal(
                format!(
                    "Step {} is blocked{}: it will not complete without intervention",
                    w.typed,
                    w.agent
                        .as_deref()
                        .map(|a| format!(" (agent: {a})"))
                        .unwrap_or_default()
                ),
                Some("resolve it (see `tracecraft handoff STEP`) and run wait-for again"),
                &summary(&watched, "blocked"),
            );
            return Ok(Outcome::Blocked);
        }
        if watched.iter().all(|w| w.state == docs::COMPLETE) {
            let names: Vec<&str> = watched.iter().map(|w| w.typed.as_str()).collect();
            app.printer.result(
                format!("All steps complete: {}", names.join(", ")),
                &summary(&watched, "complete"),
            );
            return Ok(Outcome::Success);
        }
        let progress = progress_line(&watched);
        if progress != last_progress {
            app.printer.info(&progress);
            last_progress = progress;
        }
        let delay = backoff.next_delay(started.elapsed());
        if let Some(deadline) = deadline {
            let now = Instant::now();
            if now >= deadline {
                app.printer.refusal(
                    format!(
                        "Timed out; not all steps complete: {}",
                        pending_names(&watched)
                    ),
                    None,
                    &summary(&watched, "timeout"),
                );
                return Ok(Outcome::TimedOut);
            }
            tokio::time::sleep(delay.min(deadline - now)).await;
        } else {
            tokio::time::sleep(delay).await;
        }
    }
}

/// `wait-for --plan`: until every step of the plan is complete (contract section 10).
async fn wait_plan(app: &App, timeout: Option<Duration>) -> anyhow::Result<Outcome> {
    let mut last_progress = String::new();
    let (end, view) = crate::plan::wait_complete(app, None, timeout, |view| {
        let progress = format!("Waiting for the plan: {}", view.counts.line());
        if progress != last_progress {
            app.printer.info(&progress);
            last_progress = progress;
        }
    })
    .await?;
    let json = |result: &str| json!({"result": result, "plan": true, "counts": view.counts});
    match end {
        crate::plan::PlanEnd::Complete => {
            if view.is_empty() {
                app.printer
                    .warn("the project has no plan (plan add / plan apply): nothing to wait for");
            }
            app.printer.result(
                format!("Plan complete: {}", view.counts.line()),
                &json("complete"),
            );
            Ok(Outcome::Success)
        }
        crate::plan::PlanEnd::Blocked => {
            let blocked: Vec<&str> = view
                .steps
                .iter()
                .filter(|s| s.category == crate::plan::Category::Blocked)
                .map(|s| s.spec.display_name())
                .collect();
            let stuck = match view.outlook(None) {
                crate::plan::Outlook::Stuck { stuck_on } => stuck_on,
                _ => blocked.iter().map(|s| s.to_string()).collect(),
            };
            app.printer.refusal(
                format!(
                    "The plan cannot complete without intervention: blocked on {} ({})",
                    stuck.join(", "),
                    view.counts.line()
                ),
                Some("resolve it (see `tracecraft handoff STEP`) and run wait-for again"),
                &json("blocked"),
            );
            Ok(Outcome::Blocked)
        }
        crate::plan::PlanEnd::TimedOut => {
            app.printer.refusal(
                format!(
                    "Timed out; the plan is not complete: {}",
                    view.counts.line()
                ),
                None,
                &json("timeout"),
            );
            Ok(Outcome::TimedOut)
        }
    }
}

/// Refreshes every step not yet complete, concurrently.
async fn poll(app: &App, watched: &mut [Watched]) -> anyhow::Result<()> {
    let reads = watched
        .iter()
        .filter(|w| w.state != docs::COMPLETE)
        .map(|w| async move {
            let key = keys::step_status(&w.sid);
            match app.store.get_if_changed(&key, w.version.as_ref()).await {
                Ok(Some(obj)) => {
                    let status: Status = decode(&key, &obj.body)?;
                    Ok::<_, anyhow::Error>((w.sid.clone(), Some((status, obj.meta.version))))
                }
                Ok(None) => Ok((w.sid.clone(), None)),
                // No status yet: pending, or claimed inside the crash window.
                Err(StoreError::NotFound { .. }) => Ok((w.sid.clone(), None)),
                Err(e) => Err(e.into()),
            }
        });
    for result in futures::future::join_all(reads).await {
        let (sid, update) = result?;
        if let Some((status, version)) = update
            && let Some(w) = watched.iter_mut().find(|w| w.sid == sid)
        {
            w.state = status.status;
            w.agent = status.agent;
            w.version = Some(version);
        }
    }
    Ok(())
}

fn progress_line(watched: &[Watched]) -> String {
    let parts: Vec<String> = watched
        .iter()
        .filter(|w| w.state != docs::COMPLETE)
        .map(|w| match (&w.agent, w.state.as_str()) {
            (Some(a), docs::NEEDS_REVIEW) => format!("{} (needs_review by {a})", w.typed),
            (Some(a), state) => format!("{} ({state} by {a})", w.typed),
            (None, state) => format!("{} ({state})", w.typed),
        })
        .collect();
    format!("Waiting for: {}", parts.join(", "))
}

fn pending_names(watched: &[Watched]) -> String {
    watched
        .iter()
        .filter(|w| w.state != docs::COMPLETE)
        .map(|w| format!("{} ({})", w.typed, w.state))
        .collect::<Vec<_>>()
        .join(", ")
}

fn summary(watched: &[Watched], result: &str) -> serde_json::Value {
    json!({
        "result": result,
        "steps": watched.iter().map(|w| json!({
            "step": w.typed, "id": w.sid, "status": w.state, "agent": w.agent,
        })).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_starts_fast_and_caps() {
        let mut b = Backoff::new(None);
        let early = Duration::from_secs(1);
        let delays: Vec<u128> = (0..8).map(|_| b.next_delay(early).as_millis()).collect();
        assert_eq!(delays[0], 100);
        assert!(delays.windows(2).all(|w| w[1] >= w[0]));
        assert_eq!(*delays.last().unwrap(), 500);
        let late = Duration::from_secs(16 * 60);
        let delays: Vec<u128> = (0..8).map(|_| b.next_delay(late).as_millis()).collect();
        assert_eq!(
            *delays.last().unwrap(),
            2000,
            "long waits poll less: {delays:?}"
        );
        let mut fixed = Backoff::new(Some(Duration::from_millis(700)));
        assert!((0..5).all(|_| fixed.next_delay(late) == Duration::from_millis(700)));
    }
}
