//! `handoff STEP`: prints the step's handoff record; none is "not found" (exit 1).

use anyhow::anyhow;

use crate::app::App;
use crate::cli::StepArgs;
use crate::docs::Handoff;
use crate::ids;
use crate::keys;
use crate::outcome::Outcome;

pub async fn run(app: &App, args: StepArgs) -> anyhow::Result<Outcome> {
    let sid = ids::normalize_step(&args.step)?;
    let key = keys::step_handoff(&sid);
    let doc = app
        .read::<Handoff>(&key)
        .await?
        .ok_or_else(|| anyhow!("no handoff for step {} (no object at '{key}')", args.step))?;
    let h = &doc.value;
    let mut lines = vec![
        format!("Handoff for step {}", h.from_step),
        format!("  from:        {}", h.from_agent),
        format!("  state:       {}", h.state),
    ];
    if let Some(next) = &h.next_agent {
        lines.push(format!("  next agent:  {next}"));
    }
    if let Some(action) = &h.next_action {
        lines.push(format!("  next action: {action}"));
    }
    if !h.note.is_empty() {
        lines.push(format!("  note:        {}", h.note));
    }
    if let Some(at) = &h.created_at {
        lines.push(format!("  created at:  {at}"));
    }
    if let Some(files) = &h.changed_files {
        lines.push(format!("  changed files ({}):", files.len()));
        lines.extend(files.iter().map(|f| format!("    {f}")));
    }
    app.printer
        .result(lines.join("\n"), &serde_json::to_value(h)?);
    Ok(Outcome::Success)
}
