//! Exit codes of contract section 7, and the one mapping from a command's result to them.
//! Expected outcomes (a held claim, a timeout) are values, not errors; errors are mapped by
//! their type, found anywhere in the `anyhow` context chain.

use crate::app::CorruptDocument;
use crate::claims::ClaimError;
use crate::config::ConfigError;
use crate::ids::InvalidId;
use crate::output::Printer;
use crate::reservations::ReservationError;
use crate::store::StoreError;

/// A command's expected ending.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Success,
    /// The step is held by another agent, the caller does not own it, a race was lost.
    Conflict,
    /// `wait-for` ran out of time.
    TimedOut,
    /// `wait-for` found a blocked step; `claim --next` found nothing can become ready.
    Blocked,
    /// `doctor` found that claims would be unsafe on this store.
    Unsafe,
    /// `claim --next`: every step of the plan is complete, nothing is left to do.
    PlanComplete,
}

impl Outcome {
    pub fn code(self) -> i32 {
        match self {
            Outcome::Success => 0,
            Outcome::Conflict => 3,
            Outcome::TimedOut => 4,
            Outcome::Blocked => 5,
            Outcome::Unsafe => 1,
            Outcome::PlanComplete => 6,
        }
    }
}

/// Bad flags or arguments found by a command itself (clap reports its own).
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct UsageError {
    pub message: String,
    pub hint: Option<String>,
}

impl UsageError {
    pub fn new(message: impl Into<String>) -> Self {
        UsageError {
            message: message.into(),
            hint: None,
        }
    }
}

/// An error (exit 1) with a likely fix.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Failure {
    pub message: String,
    pub hint: Option<String>,
}

/// The user pressed Ctrl-C.
#[derive(Debug, thiserror::Error)]
#[error("interrupted")]
pub struct Interrupted;

const CORRUPT_HINT: &str = "the object is not valid JSON: inspect it, fix or delete it";

pub const EXIT_ERROR: i32 = 1;
pub const EXIT_USAGE: i32 = 2;
pub const EXIT_INTERRUPTED: i32 = 130;

/// Prints an error (one `Error:` line, a hint when there is an obvious fix) and returns
/// its exit code.
pub fn report(printer: &Printer, err: &anyhow::Error) -> i32 {
    let mut code = EXIT_ERROR;
    let mut hint = None;
    for cause in err.chain() {
        if let Some(e) = cause.downcast_ref::<UsageError>() {
            code = EXIT_USAGE;
            hint = e.hint.clone();
        } else if cause.downcast_ref::<InvalidId>().is_some()
            || cause.downcast_ref::<crate::plan::PlanError>().is_some()
        {
            code = EXIT_USAGE;
        } else if let Some(e) = cause.downcast_ref::<Failure>() {
            hint = hint.or_else(|| e.hint.clone());
        } else if cause.downcast_ref::<Interrupted>().is_some() {
            code = EXIT_INTERRUPTED;
        } else if let Some(e) = cause.downcast_ref::<StoreError>() {
            hint = hint.or_else(|| e.hint());
        } else if let Some(ClaimError::Store(e)) = cause.downcast_ref::<ClaimError>() {
            hint = hint.or_else(|| e.hint());
        } else if let Some(ClaimError::Corrupt(_)) = cause.downcast_ref::<ClaimError>() {
            hint = hint.or_else(|| Some(CORRUPT_HINT.into()));
        } else if let Some(ReservationError::Store(e)) = cause.downcast_ref::<ReservationError>() {
            hint = hint.or_else(|| e.hint());
        } else if let Some(ReservationError::Corrupt(_)) = cause.downcast_ref::<ReservationError>()
        {
            hint = hint.or_else(|| Some(CORRUPT_HINT.into()));
        } else if cause.downcast_ref::<CorruptDocument>().is_some() {
            hint = hint.or_else(|| Some(CORRUPT_HINT.into()));
        } else if let Some(e) = cause.downcast_ref::<ConfigError>() {
            hint = hint.or_else(|| e.hint().map(str::to_string));
        }
    }
    // `{:#}` joins the context chain into one readable line.
    printer.error(format!("{err:#}"), hint.as_deref());
    code
}
