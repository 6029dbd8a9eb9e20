//! `reservations [PATH] [--mine]`: the live path reservations (id, agent, mode, patterns,
//! time left, reason); with PATH, those covering it. Also how a reservation and a refusal
//! read, for `reserve`, `unreserve`, `guard` and `status`.

use serde_json::{Value, json};

use crate::app::App;
use crate::cli::ReservationsArgs;
use crate::guard;
use crate::outcome::Outcome;
use crate::reservations::{Blocker, Live, Reservations};

pub async fn run(app: &App, args: ReservationsArgs) -> anyhow::Result<Outcome> {
    let res = Reservations::new(app.store.as_ref(), app.agent());
    let path = match &args.path {
        Some(typed) => Some(guard::repo_relative(&std::env::current_dir()?, typed)),
        None => None,
    };
    let mut live = match &path {
        Some(p) => res.covering(p).await?,
        None => res.live().await?,
    };
    if args.mine {
        live.retain(|l| l.reservation.agent == app.agent());
    }
    let human = if live.is_empty() {
        match &path {
            Some(p) => format!("No reservations cover {p}."),
            None => "No reservations.".to_string(),
        }
    } else {
        let mut lines = vec![format!("RESERVATIONS ({})", live.len())];
        lines.extend(live.iter().map(row));
        lines.join("\n")
    };
    app.printer.result(
        human,
        &json!({
            "path": path,
            "reservations": live.iter().map(live_json).collect::<Vec<_>>(),
        }),
    );
    Ok(Outcome::Success)
}

/// One reservation as a line: `  1a2b3c4d  bob  exclusive  src/api.rs, docs  58m left  (why)`.
pub fn row(l: &Live) -> String {
    let r = &l.reservation;
    format!(
        "  {}  {:<16} {:<9}  {}  · {}{}{}",
        r.id,
        r.agent,
        r.mode(),
        r.patterns.join(", "),
        l.standing.describe(),
        r.step
            .as_deref()
            .map(|s| format!(" · step {s}"))
            .unwrap_or_default(),
        r.reason
            .as_deref()
            .map(|s| format!(" · {s}"))
            .unwrap_or_default(),
    )
}

pub fn live_json(l: &Live) -> Value {
    let r = &l.reservation;
    json!({
        "id": r.id,
        "agent": r.agent,
        "mode": r.mode(),
        "exclusive": r.exclusive,
        "patterns": r.patterns,
        "reason": r.reason,
        "step": r.step,
        "created_at": r.created_at,
        "expires_at": r.expires_at,
        "ttl_s": r.ttl_s,
        "state": l.standing.name(),
        "left_s": l.standing.left_s(),
    })
}

/// Why `wanted` is refused: `src/api.rs: reserved by bob (exclusive reservation 1a2b3c4d,
/// pattern src/**, 58m left, reason: refactoring the API)`.
pub fn blocker_line(b: &Blocker) -> String {
    let r = &b.holder.reservation;
    format!(
        "{}: reserved by {} ({} reservation {}, pattern {}, {}, reason: {})",
        b.wanted,
        r.agent,
        r.mode(),
        r.id,
        b.pattern,
        b.holder.standing.describe(),
        r.reason.as_deref().unwrap_or("none given"),
    )
}

pub fn blocker_json(b: &Blocker) -> Value {
    json!({
        "wanted": b.wanted,
        "holder": b.holder.reservation.agent,
        "pattern": b.pattern,
        "reservation": live_json(&b.holder),
    })
}
