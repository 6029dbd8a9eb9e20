//! `reply ID MSG [--ack]`: answers the sender of message ID in its thread (contract
//! section 13). A message with no thread starts one named by its id, and gets a pointer
//! in it too, so `thread` shows the question with its answers.

use crate::app::App;
use crate::cli::ReplyArgs;
use crate::messaging::{self, outbox};
use crate::outcome::Outcome;

pub async fn run(app: &App, args: ReplyArgs) -> anyhow::Result<Outcome> {
    let me = app.agent().to_string();
    let listed = messaging::resolve(app, &me, &args.id).await?;
    let original = messaging::read_one(app, &me, &listed).await?;
    let id = original.id().to_string();
    let (thread, answered) = match original.message.thread.clone() {
        Some(t) => (t, None),
        None => (
            id.clone(),
            Some((original.key.clone(), original.message.clone())),
        ),
    };
    let sent = outbox::send(
        app,
        outbox::Outgoing {
            to: original.message.from.clone(),
            message: args.message,
            step: original.message.step.clone(),
            thread: Some(thread),
            reply_to: Some(id),
            ack: args.ack,
            answered,
            kind: None,
        },
    )
    .await?;
    super::send::print_sent(app, &sent);
    Ok(Outcome::Success)
}
