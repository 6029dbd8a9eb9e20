//! `reserve PATTERN... [--ttl D] [--shared] [--reason R] [--step S]`: reserve paths before
//! editing them, all or none. Exit 3 naming each holder, their pattern and time left when
//! another agent's reservation overlaps; nothing is written then. The protocol is in
//! `reservations.rs`.

use serde_json::json;

use super::reservations::{blocker_json, blocker_line, live_json};
use crate::app::App;
use crate::cli::ReserveArgs;
use crate::events::{self, Event};
use crate::ids;
use crate::keys;
use crate::lease::{self, Standing};
use crate::outcome::Outcome;
use crate::reservations::{Live, Pattern, Request, Reservations, Reserve};
use crate::time;

pub async fn run(app: &App, args: ReserveArgs) -> anyhow::Result<Outcome> {
    let mut patterns: Vec<Pattern> = Vec::new();
    for raw in &args.patterns {
        let p = Pattern::parse(raw)?;
        if !patterns.contains(&p) {
            patterns.push(p);
        }
    }
    let ttl = match &args.ttl {
        Some(text) => lease::parse_ttl(text)?,
        None => app.config.reserve_ttl()?,
    };
    let step = args.step.as_deref().map(ids::normalize_step).transpose()?;
    let res = Reservations::new(app.store.as_ref(), app.agent());
    if !res.exact() {
        app.printer.warn(format!(
            "the {} backend has no conditional writes, so reservations are best-effort: two \
             agents reserving overlapping paths at the same moment could both succeed. Use an \
             S3-compatible backend or the Hugging Face S3 gateway for exact reservations.",
            app.store.backend()
        ));
    }
    let request = Request {
        patterns,
        exclusive: !args.shared,
        ttl,
        reason: args.reason.clone(),
        step,
    };
    let event = Event::new("reserve")
        .step(args.step.as_deref())
        .key(keys::reservations_index())
        .with("patterns", &args.patterns)
        .with("exclusive", !args.shared)
        .with("ttl_s", ttl.as_secs())
        .with("reason", &args.reason);
    let granted = |r: &anyhow::Result<Reserve>| matches!(r, Ok(Reserve::Granted { .. }));
    let (reserved, ()) = tokio::join!(
        events::alongside_if(
            app,
            event,
            async { res.reserve(&request).await.map_err(anyhow::Error::from) },
            granted
        ),
        app.refresh_presence(None, None)
    );
    match reserved? {
        Reserve::Granted {
            reservation,
            renewed,
        } => {
            let verb = if renewed { "Renewed" } else { "Reserved" };
            let line = format!(
                "{verb} {} ({}, id {}, {}; `renew` or `heartbeat` extends it)",
                reservation.patterns.join(", "),
                reservation.mode(),
                reservation.id,
                time::age_secs(reservation.ttl_s as i64),
            );
            let live = Live {
                standing: Standing::Leased { left: ttl },
                reservation: *reservation,
            };
            let mut json = live_json(&live);
            json["reserved"] = json!(true);
            json["renewed"] = json!(renewed);
            app.printer.result(line, &json);
            Ok(Outcome::Success)
        }
        Reserve::Refused(blockers) => {
            let mut lines = vec!["cannot reserve; nothing was reserved:".to_string()];
            lines.extend(blockers.iter().map(|b| format!("  {}", blocker_line(b))));
            let holders: Vec<&str> = blockers
                .iter()
                .map(|b| b.holder.reservation.agent.as_str())
                .collect();
            app.printer.refusal(
                lines.join("\n"),
                Some(&format!(
                    "wait for it to be released or expire, or ask {} (`tracecraft send`)",
                    holders[0]
                )),
                &json!({
                    "reserved": false,
                    "conflicts": blockers.iter().map(blocker_json).collect::<Vec<_>>(),
                }),
            );
            Ok(Outcome::Conflict)
        }
    }
}
