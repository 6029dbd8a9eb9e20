//! `heartbeat [--summary TEXT]`: one call for a harness hook to run every minute. It
//! rewrites the agent's presence record (always, unlike the refresh other commands do in
//! passing) and renews every lease and path reservation the agent holds. A lease that was taken over (found
//! through the step its presence record names) is exit 3.

use serde_json::json;

use super::renew;
use crate::app::App;
use crate::cli::HeartbeatArgs;
use crate::outcome::Outcome;

pub async fn run(app: &App, args: HeartbeatArgs) -> anyhow::Result<Outcome> {
    let record = app.presence().await?;
    let believed = record.as_ref().and_then(|a| a.step.clone());
    let (presence, report) = tokio::join!(
        app.put_presence(record, None, args.summary.clone()),
        renew::renew(app, &[], None, believed.as_deref())
    );
    let (heartbeat, report) = (presence?, report?);
    let mut lines = vec![format!("Heartbeat as {} at {heartbeat}", app.agent())];
    lines.extend(report.lines());
    report.refuse_lost(app);
    let mut json = report.to_json();
    json["agent"] = json!(app.agent());
    json["heartbeat"] = json!(heartbeat);
    json["summary"] = json!(args.summary);
    app.printer.result(lines.join("\n"), &json);
    Ok(report.outcome())
}
