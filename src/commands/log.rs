//! `log [--since D|TIME] [--agent A] [--step S] [--type T] [--limit N] [--follow]`: the
//! event log of contract section 13, oldest first, one `[at] agent type step detail` line
//! per event (JSON Lines with `--json`). `--since` lists only the days it needs and the
//! agent filter works on keys, before anything is read.

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Value, json};

use crate::app::App;
use crate::cli::LogArgs;
use crate::events::{self, EventDoc};
use crate::ids;
use crate::lease;
use crate::messaging::Poll;
use crate::outcome::{Interrupted, Outcome, UsageError};
use crate::time;

/// How far back each `--follow` look reaches: an event whose writer's clock lags by up to
/// this much is still shown (once).
const FOLLOW_WINDOW: Duration = Duration::from_secs(60);

struct Filters {
    agent: Option<String>,
    sid: Option<String>,
    kind: Option<String>,
}

impl Filters {
    fn keep(&self, doc: &EventDoc) -> bool {
        self.kind.as_ref().is_none_or(|k| doc.kind == *k)
            && self.sid.as_ref().is_none_or(|s| {
                doc.step
                    .as_deref()
                    .and_then(|t| ids::normalize_step(t).ok())
                    .is_some_and(|t| t == *s)
            })
            && self.agent.as_ref().is_none_or(|a| doc.agent == *a)
    }

    /// Only the key is needed to decide.
    fn by_key_only(&self) -> bool {
        self.sid.is_none() && self.kind.is_none()
    }
}

/// `30m`, `2h`, `7d` back from now, or a time (`2026-12-03`, any ISO 8601).
pub fn parse_since(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, UsageError> {
    if let Some(t) = time::parse(text) {
        return Ok(t);
    }
    if let Ok(day) = NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d") {
        return Ok(day.and_hms_opt(0, 0, 0).expect("midnight").and_utc());
    }
    match lease::parse_ttl(text) {
        Ok(d) => Ok(now - chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)),
        Err(_) => {
            let mut e =
                UsageError::new(format!("--since '{text}' is neither a duration nor a time"));
            e.hint = Some("write it like 30m, 2h, 7d, 2026-12-03 or 2026-12-03T09:00:00Z".into());
            Err(e)
        }
    }
}

pub async fn run(app: &App, args: LogArgs) -> anyhow::Result<Outcome> {
    let now = time::now();
    let since = args
        .since
        .as_deref()
        .map(|s| parse_since(s, now))
        .transpose()?;
    if let Some(a) = &args.agent {
        ids::check_agent(a)?;
    }
    let filters = Filters {
        agent: args.agent.clone(),
        sid: args.step.as_deref().map(ids::normalize_step).transpose()?,
        kind: args.kind.clone(),
    };
    let since_ns = since.and_then(|t| t.timestamp_nanos_opt());
    let listed = events::list(app, &events::listings(since, now)).await?;
    let mut wanted: Vec<String> = listed
        .iter()
        .filter(|(_, ts, agent)| {
            since_ns.is_none_or(|s| *ts >= s) && filters.agent.as_ref().is_none_or(|a| a == agent)
        })
        .map(|(k, _, _)| k.clone())
        .collect();
    if let Some(n) = args.limit
        && filters.by_key_only()
    {
        wanted.drain(..wanted.len().saturating_sub(n));
    }
    let mut shown: Vec<(String, EventDoc)> = events::read(app, &wanted)
        .await?
        .into_iter()
        .filter(|(_, d)| filters.keep(d))
        .collect();
    if let Some(n) = args.limit {
        shown.drain(..shown.len().saturating_sub(n));
    }
    for (key, doc) in &shown {
        print(app, key, doc);
    }
    if shown.is_empty() && !args.follow && !app.printer.json {
        app.printer.result("No events.", &Value::Null);
    }
    if !args.follow {
        return Ok(Outcome::Success);
    }

    // --follow: look again on the inbox's polling schedule, over a trailing window.
    let mut seen: BTreeSet<String> = listed.into_iter().map(|(k, _, _)| k).collect();
    let mut poll = Poll::default();
    let mut last_activity = tokio::time::Instant::now();
    loop {
        let delay = poll.next_delay(last_activity.elapsed());
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = tokio::signal::ctrl_c() => return Err(Interrupted.into()),
        }
        let now = time::now();
        let window = now - chrono::Duration::from_std(FOLLOW_WINDOW).expect("a minute");
        let from = since.map_or(window, |s| s.max(window));
        let listings = events::listings(Some(from), now);
        let listed = tokio::select! {
            l = events::list(app, &listings) => l?,
            _ = tokio::signal::ctrl_c() => return Err(Interrupted.into()),
        };
        let fresh: Vec<String> = listed
            .iter()
            .filter(|(k, _, agent)| {
                !seen.contains(k) && filters.agent.as_ref().is_none_or(|a| a == agent)
            })
            .map(|(k, _, _)| k.clone())
            .collect();
        // Keys that fell out of the window can no longer be listed again.
        let floor = listings.first().and_then(|(_, after)| after.clone());
        if let Some(floor) = floor {
            seen.retain(|k| *k > floor);
        }
        seen.extend(listed.into_iter().map(|(k, _, _)| k));
        if fresh.is_empty() {
            continue;
        }
        for (key, doc) in events::read(app, &fresh).await? {
            if filters.keep(&doc) {
                print(app, &key, &doc);
            }
        }
        last_activity = tokio::time::Instant::now();
        poll.reset();
    }
}

fn print(app: &App, key: &str, doc: &EventDoc) {
    let detail: Vec<String> = doc
        .detail
        .iter()
        .map(|(k, v)| match v {
            Value::String(s) => format!("{k}={s}"),
            other => format!("{k}={other}"),
        })
        .collect();
    let mut line = format!(
        "[{}] {} {} {}",
        doc.at,
        doc.agent,
        doc.kind,
        doc.step.as_deref().unwrap_or("-")
    );
    if !detail.is_empty() {
        line.push(' ');
        line.push_str(&detail.join(" "));
    }
    let mut json = serde_json::to_value(doc).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut json {
        map.insert("event".into(), json!(key));
    }
    app.printer.result(line, &json);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_durations_dates_and_times() {
        let now = time::parse("2026-12-03T09:30:00+00:00").unwrap();
        assert_eq!(
            parse_since("1h", now).unwrap(),
            time::parse("2026-12-03T08:30:00+00:00").unwrap()
        );
        assert_eq!(
            parse_since("2026-12-01", now).unwrap(),
            time::parse("2026-12-01T00:00:00+00:00").unwrap()
        );
        assert_eq!(
            parse_since("2026-12-02T10:00:00Z", now).unwrap(),
            time::parse("2026-12-02T10:00:00+00:00").unwrap()
        );
        assert!(parse_since("yesterday", now).is_err());
    }
}
