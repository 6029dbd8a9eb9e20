//! `thread T [--ids]`: a conversation in time order, read from its one prefix
//! `threads/<T>/` (contract section 13). Each line is an inbox line, with the recipient.

use serde_json::json;

use crate::app::App;
use crate::cli::ThreadArgs;
use crate::ids;
use crate::messaging::{Shown, threads};
use crate::outcome::{Failure, Outcome};

pub async fn run(app: &App, args: ThreadArgs) -> anyhow::Result<Outcome> {
    ids::check_thread(&args.thread)?;
    let shown = threads::read(app, &args.thread).await?;
    if shown.is_empty() {
        return Err(Failure {
            message: format!("no thread '{}'", args.thread),
            hint: Some("`tracecraft inbox` shows each message's thread as [thread T]".into()),
        }
        .into());
    }
    let human = shown
        .iter()
        .map(|s| s.conversation_line(args.ids))
        .collect::<Vec<_>>()
        .join("\n");
    let json = json!({
        "thread": args.thread,
        "messages": shown.iter().map(Shown::json).collect::<Vec<_>>(),
        "count": shown.len(),
    });
    app.printer.result(human, &json);
    Ok(Outcome::Success)
}
