//! `ack ID...` and `acks [--pending]` (contract section 13). Acknowledging is create-once
//! and idempotent; the protocol is in [`crate::messaging::acks`].

use serde_json::json;

use crate::app::App;
use crate::cli::{AckArgs, AcksArgs};
use crate::events::{self, Event};
use crate::messaging::{self, acks};
use crate::outcome::Outcome;

pub async fn ack(app: &App, args: AckArgs) -> anyhow::Result<Outcome> {
    let me = app.agent().to_string();
    // Every id is resolved before anything is written: a typo acknowledges nothing.
    let found = messaging::resolve_all(app, &me, &args.ids).await?;
    // Every acknowledgement (with its event) at once: one round trip for any number.
    let all = futures::future::join_all(found.iter().map(|listed| async move {
        let id = crate::keys::message_id(&listed.key)
            .unwrap_or_default()
            .to_string();
        let event = Event::new("ack")
            .key(crate::keys::ack(&id, app.agent()))
            .with("message", &id)
            .with("from", &listed.sender);
        // The event is only worth keeping for a first acknowledgement, but waiting to
        // know would add a round trip: write it alongside, withdraw it for a repeat.
        let (fresh, written) = tokio::join!(
            acks::acknowledge(app, &id, &listed.key),
            events::record(app, event)
        );
        if !matches!(fresh, Ok(true))
            && let Some(k) = written
        {
            let _ = app.store.delete(&k).await;
        }
        fresh.map(|f| (id, listed.sender.clone(), f))
    }));
    let (recorded, ()) = tokio::join!(all, app.refresh_presence(None, None));
    let mut lines = Vec::new();
    let mut rows = Vec::new();
    for r in recorded {
        let (id, from, fresh) = r?;
        let short = messaging::short_id(&id);
        lines.push(if fresh {
            format!("Acknowledged {short} from {from}")
        } else {
            format!("Already acknowledged {short} from {from}")
        });
        rows.push(json!({"id": id, "from": from, "new": fresh}));
    }
    app.printer
        .result(lines.join("\n"), &json!({"acknowledged": rows}));
    Ok(Outcome::Success)
}

pub async fn acks(app: &App, args: AcksArgs) -> anyhow::Result<Outcome> {
    let me = app.agent().to_string();
    let list = if args.pending {
        acks::pending_for(app, &me).await?
    } else {
        acks::sent_by(app, &me).await?
    };
    let text = |a: &acks::Awaiting| {
        a.message
            .clone()
            .unwrap_or_else(|| "(message deleted)".into())
    };
    let human = if list.is_empty() {
        if args.pending {
            "No messages await your acknowledgement.".to_string()
        } else {
            "No messages sent with --ack.".to_string()
        }
    } else if args.pending {
        list.iter()
            .map(|a| {
                format!(
                    "[{}] {} from {}: {}  (tracecraft ack {})",
                    a.request.sent_at.as_deref().unwrap_or("?"),
                    messaging::short_id(&a.id),
                    a.request.from,
                    text(a),
                    messaging::short_id(&a.id)
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    } else {
        list.iter()
            .map(|a| {
                let state = if a.waiting.is_empty() {
                    "acknowledged by all".to_string()
                } else {
                    format!("waiting for {}", a.waiting.join(", "))
                };
                let by = if a.acked_by.is_empty() {
                    String::new()
                } else {
                    format!("; acknowledged by {}", a.acked_by.join(", "))
                };
                format!(
                    "[{}] {} to {}: {} — {state}{by}",
                    a.request.sent_at.as_deref().unwrap_or("?"),
                    messaging::short_id(&a.id),
                    a.request.to,
                    text(a),
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    let json = json!({
        "pending": args.pending,
        "messages": list.iter().map(|a| json!({
            "id": a.id,
            "key": a.request.key,
            "from": a.request.from,
            "to": a.request.to,
            "sent_at": a.request.sent_at,
            "message": a.message,
            "acknowledged_by": a.acked_by,
            "waiting_for": a.waiting,
        })).collect::<Vec<_>>(),
        "count": list.len(),
    });
    app.printer.result(human, &json);
    Ok(Outcome::Success)
}
