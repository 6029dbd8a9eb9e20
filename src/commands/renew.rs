//! `renew [STEP...] [--ttl D]`: extend the caller's leases by compare-and-swap with a
//! changed body, so the version always changes. Without steps, every claim the caller
//! holds with a lease, found through its own-claims index rather than by listing every
//! step, and every path reservation it holds. A step the caller no longer holds is exit 3,
//! naming who does.

use std::time::Duration;

use serde_json::{Value, json};

use super::claim::claim_json;
use crate::app::App;
use crate::claims::{Claims, Current, Renew, index};
use crate::cli::RenewArgs;
use crate::ids;
use crate::lease;
use crate::outcome::{Outcome, UsageError};

pub async fn run(app: &App, args: RenewArgs) -> anyhow::Result<Outcome> {
    let sids = args
        .steps
        .iter()
        .map(|s| ids::normalize_step(s))
        .collect::<Result<Vec<_>, _>>()?;
    let ttl = args.ttl.as_deref().map(lease::parse_ttl).transpose()?;
    let report = renew(app, &sids, ttl, None).await?;
    if !args.steps.is_empty() && report.no_lease == sids.len() {
        return Err(UsageError {
            message: "nothing to renew: these claims have no lease".into(),
            hint: Some("pass --ttl to give them one".into()),
        }
        .into());
    }
    let human =
        if report.renewed.is_empty() && report.lost.is_empty() && report.reservations.is_empty() {
            "No leases to renew.".to_string()
        } else {
            report.lines().join("\n")
        };
    report.refuse_lost(app);
    app.printer.result(human, &report.to_json());
    Ok(report.outcome())
}

/// What renewing a set of claims came to.
#[derive(Default)]
pub struct RenewReport {
    /// `(step id, claim)` renewed.
    pub renewed: Vec<(String, crate::docs::Claim)>,
    /// `(step id, holder now)` no longer held by the caller.
    pub lost: Vec<(String, Option<String>)>,
    /// Claims held without a lease and no TTL given.
    pub no_lease: usize,
    /// The caller's path reservations, renewed (only when no steps were named).
    pub reservations: Vec<crate::reservations::Reservation>,
}

impl RenewReport {
    pub fn outcome(&self) -> Outcome {
        if self.lost.is_empty() {
            Outcome::Success
        } else {
            Outcome::Conflict
        }
    }

    pub fn lines(&self) -> Vec<String> {
        let mut lines: Vec<String> = self
            .renewed
            .iter()
            .map(|(sid, c)| {
                let ttl = c.lease.as_ref().map(|l| l.ttl_s).unwrap_or_default();
                format!(
                    "Renewed {sid} for {} (generation {})",
                    crate::time::age_secs(ttl as i64),
                    c.generation()
                )
            })
            .collect();
        lines.extend(self.reservations.iter().map(|r| {
            format!(
                "Renewed reservation {} ({}) for {}",
                r.id,
                r.patterns.join(", "),
                crate::time::age_secs(r.ttl_s as i64)
            )
        }));
        lines.extend(self.lost.iter().map(|(sid, holder)| match holder {
            Some(h) => format!("Lost {sid}: now held by {h}"),
            None => format!("Lost {sid}: nobody holds it"),
        }));
        lines
    }

    /// Each lost claim as an `Error:` line on stderr.
    pub fn refuse_lost(&self, app: &App) {
        for (sid, holder) in &self.lost {
            app.printer.error(
                format!(
                    "you no longer hold step {sid}{}",
                    holder
                        .as_deref()
                        .map(|h| format!(": {h} does"))
                        .unwrap_or_default()
                ),
                Some("stop working on it; its next writes by you would be refused"),
            );
        }
    }

    pub fn to_json(&self) -> Value {
        json!({
            "renewed": self.renewed.iter().map(|(sid, c)| {
                let mut v = claim_json(c, None);
                v["id"] = json!(sid);
                v
            }).collect::<Vec<_>>(),
            "reservations": self.reservations.iter().map(|r| json!({
                "id": r.id, "patterns": r.patterns, "expires_at": r.expires_at, "ttl_s": r.ttl_s,
            })).collect::<Vec<_>>(),
            "lost": self.lost.iter().map(|(sid, holder)| json!({"id": sid, "holder": holder})).collect::<Vec<_>>(),
        })
    }
}

/// Renews `sids`, or every leased claim and path reservation the caller holds when `sids`
/// is empty (claims found through the own-claims index, see `claims/index.rs`: the
/// requests made do not grow with the project). `also` is a step the caller believes it
/// holds (its presence record's): if someone else holds it now, it is reported lost.
pub async fn renew(
    app: &App,
    sids: &[String],
    ttl: Option<Duration>,
    also: Option<&str>,
) -> anyhow::Result<RenewReport> {
    let claims = Claims::new(app.store.as_ref(), app.agent());
    let default_ttl = app.config.claim_ttl()?;
    // Each target with the claim as just read, where it was.
    let mut targets: Vec<(String, Option<Option<Current>>)> = if sids.is_empty() {
        let mut cache = app.doc_cache("steps");
        let found = claims
            .own(&mut cache, index::scan_every(default_ttl))
            .await?;
        if let Some(fetched) = found.scanned {
            app.printer.debug(format!(
                "own claims: full scan ({fetched} claim(s) fetched, the rest from the cache)"
            ));
        }
        app.save_cache(&mut cache);
        found
            .held
            .into_iter()
            .filter(|(_, cur)| cur.claim.lease.is_some())
            .map(|(sid, cur)| (sid, Some(Some(cur))))
            .collect()
    } else {
        sids.iter().map(|s| (s.clone(), None)).collect()
    };
    let also = also.filter(|sid| !targets.iter().any(|(t, _)| t == sid));
    targets.extend(also.map(|s| (s.to_string(), None)));
    let reservations = crate::reservations::Reservations::new(app.store.as_ref(), app.agent());
    let (results, reserved) = tokio::join!(
        futures::future::join_all(targets.iter().map(|(sid, read)| async {
            let current = match read {
                // Read through the cache (no store time) or the index: fresh enough to try,
                // as the compare-and-swap decides.
                Some(current) => current.clone(),
                None => claims.read(sid).await?,
            };
            claims.renew_from(sid, current, ttl, default_ttl).await
        })),
        async {
            match sids.is_empty() {
                true => reservations.renew_mine().await,
                false => Ok(Vec::new()),
            }
        }
    );
    let mut report = RenewReport {
        reservations: reserved?,
        ..Default::default()
    };
    for ((sid, _), result) in targets.into_iter().zip(results) {
        match result? {
            Renew::Renewed(claim) => report.renewed.push((sid, claim)),
            // A believed step that nobody holds (or the caller itself, unleased) is no loss.
            Renew::NotHeld(n) if Some(sid.as_str()) == also && n.holder.is_none() => {}
            Renew::NotHeld(n) => report.lost.push((sid, n.holder)),
            Renew::NoLease if Some(sid.as_str()) == also => {}
            Renew::NoLease => report.no_lease += 1,
        }
    }
    Ok(report)
}
