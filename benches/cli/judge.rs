//! Who won a claim contention trial, and whether the trial broke the claim invariant:
//! exactly one claimer reports success (exit 0), the stored claim names it, and every
//! refused claimer (exit 3) was told that it is the holder. This is the counting logic the
//! contention scenario reports; it only looks at what the claimers reported and what a
//! fresh reader found, so it judges a real store and a fake one alike.

use crate::record::{ClaimTrial, Claimer};

/// The exit code of a claim refused because another agent holds the step.
const EXIT_HELD: i32 = 3;

/// Judges one trial: its claimers (all for the same step) and the claim's holder as a
/// fresh reader found it afterwards.
pub fn judge(
    backend: &str,
    n: u32,
    trial: u32,
    claimers: &[Claimer],
    holder: Option<&str>,
) -> ClaimTrial {
    let winners: Vec<String> = claimers
        .iter()
        .filter(|c| c.exit == 0)
        .map(|c| c.agent.clone())
        .collect();
    let errors: Vec<String> = claimers
        .iter()
        .filter(|c| c.exit != 0 && c.exit != EXIT_HELD)
        .map(|c| format!("{} exited with {}", c.agent, c.exit))
        .collect();
    let mut violations = Vec::new();
    match winners.as_slice() {
        [] if errors.is_empty() => {
            violations.push(format!(
                "no claimer reported success, yet all {} were refused",
                claimers.len()
            ));
        }
        // A claimer that failed may have been the winner: a liveness problem, reported
        // under errors, not evidence of a double grant.
        [] => {}
        [one] => match holder {
            Some(h) if h == one => {}
            Some(h) => violations.push(format!(
                "{one} reported success but the stored claim names {h}"
            )),
            None => violations.push(format!("{one} reported success but no claim is stored")),
        },
        many => violations.push(format!(
            "{} claimers reported success: {}",
            many.len(),
            many.join(", ")
        )),
    }
    for c in claimers.iter().filter(|c| c.exit == EXIT_HELD) {
        if let (Some(told), Some(h)) = (c.told_holder.as_deref(), holder)
            && told != h
        {
            violations.push(format!(
                "{} was refused in favour of {told}, but the stored claim names {h}",
                c.agent
            ));
        }
    }
    ClaimTrial {
        backend: backend.to_string(),
        n,
        trial,
        winners,
        holder: holder.map(str::to_string),
        violations,
        errors,
    }
}

/// The claimers of one trial that won (exit 0) and that were refused (exit 3).
pub fn split_latencies<'a>(
    claimers: impl IntoIterator<Item = &'a Claimer>,
) -> (Vec<f64>, Vec<f64>) {
    let mut winners = Vec::new();
    let mut losers = Vec::new();
    for c in claimers {
        match c.exit {
            0 => winners.push(c.wall_ms),
            EXIT_HELD => losers.push(c.wall_ms),
            _ => {}
        }
    }
    (winners, losers)
}
