//! The storage conformance suite: the same cases against every backend (fs, s3 on the
//! SeaweedFS server that `scripts/test` starts, hf on the fake Hub), races included. A
//! backend that does not declare a capability must refuse the matching mode with
//! `NotSupported`; the cases that need it say so on stderr instead of passing silently.
//!
//! Cross-process races re-run this very test binary as worker processes (see
//! `workers.rs`): that is where the fs backend's atomicity lives.

mod backends;
mod cases;
mod support;
mod workers;

use backends::Backend;

/// Generates one `#[test]` per case for one backend.
macro_rules! suite {
    ($backend:ident: $($case:ident),* $(,)?) => {
        mod $backend {
            $(
                #[test]
                fn $case() {
                    crate::backends::run(crate::Backend::$backend, crate::cases::$case);
                }
            )*
        }
    };
}

macro_rules! all_backends {
    ($($case:ident),* $(,)?) => {
        #[allow(non_snake_case)]
        mod conformance {
            suite!(fs: $($case),*);
            suite!(s3: $($case),*);
            suite!(hf: $($case),*);
        }
    };
}

all_backends!(
    round_trip_and_versions,
    store_clock_measures_age,
    missing_keys_and_deletes,
    listing_order_prefix_and_start_after,
    listing_versions_follow_content,
    listing_paginates_past_1000_keys,
    create_is_exclusive,
    compare_and_swap,
    typed_errors,
    large_object_streams,
    race_16_creators_one_winner,
    race_8_workers_80_increments,
);

/// The entry point of worker processes; a no-op unless started by `workers::spawn`.
#[test]
fn worker_process_entry() {
    workers::entry();
}
