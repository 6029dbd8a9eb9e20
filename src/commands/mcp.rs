//! `mcp`: a Model Context Protocol server on stdin/stdout (contract section 11). The
//! server and its tools live in [`crate::mcp`].

use crate::app::App;
use crate::outcome::Outcome;

pub async fn run(app: App) -> anyhow::Result<Outcome> {
    crate::mcp::serve(app).await?;
    Ok(Outcome::Success)
}
