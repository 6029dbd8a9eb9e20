//! `prime [--max-chars N]`: the bootstrap block of contract section 11 for an agent
//! starting or resuming work. It reads, and marks nothing read; the block is built by
//! [`crate::prime`], which the `session-start` hook shares.

use crate::app::App;
use crate::cli::PrimeArgs;
use crate::outcome::Outcome;
use crate::prime;

pub async fn run(app: &App, args: PrimeArgs) -> anyhow::Result<Outcome> {
    let block = prime::gather(app).await?;
    app.printer
        .result(block.text(args.max_chars), &block.to_json());
    Ok(Outcome::Success)
}
