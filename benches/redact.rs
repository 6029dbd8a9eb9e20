//! Redaction throughput (`cargo bench --bench redact`): runs the session mirror's one-pass
//! redaction over a synthetic transcript and prints MB/s. A benchmark program, not a test:
//! it prints numbers and asserts only that the redactions it planted were all found.

use std::time::Instant;

use tracecraft::session::redact::{Counts, redact_into};

/// One JSON line of a plausible transcript; every `secret_every`-th line carries a token.
fn transcript(bytes: usize, secret_every: usize) -> (Vec<u8>, u64) {
    let mut out = Vec::with_capacity(bytes + 4096);
    let mut planted = 0;
    let mut i = 0usize;
    while out.len() < bytes {
        let secret = if i.is_multiple_of(secret_every) {
            planted += 1;
            " export AWS_ACCESS_KEY_ID=AKIAABCDEFGHIJKLMNOP"
        } else {
            ""
        };
        out.extend_from_slice(
            format!(
                "{{\"type\":\"assistant\",\"uuid\":\"{i:08x}-6f1e-4c1a-9d0b-2f3c4d5e6f70\",\"message\":{{\"role\":\"assistant\",\"content\":[{{\"type\":\"text\",\"text\":\"Running cargo test in /work/main; 58 passed, 0 failed. Next I will update the README and commit the change.{secret}\"}}]}},\"timestamp\":\"2026-11-21T10:28:42.017355Z\"}}\n"
            )
            .as_bytes(),
        );
        i += 1;
    }
    (out, planted)
}

fn main() {
    let size: usize = std::env::var("REDACT_BENCH_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256)
        << 20;
    let (data, planted) = transcript(size, 50);
    let mut best = f64::MAX;
    let mut counts = Counts::new();
    for round in 0..3 {
        let mut out = Vec::with_capacity(data.len() + data.len() / 8);
        counts = Counts::new();
        let started = Instant::now();
        // In chunks of the size the mirror uploads, as the mirror does.
        for chunk in data.chunks(4 << 20) {
            redact_into(chunk, &mut out, &mut counts);
        }
        let secs = started.elapsed().as_secs_f64();
        best = best.min(secs);
        println!(
            "round {round}: {:.0} MB in {:.3} s = {:.0} MB/s",
            data.len() as f64 / 1e6,
            secs,
            data.len() as f64 / 1e6 / secs
        );
    }
    let found: u64 = counts.values().sum();
    // Chunk boundaries can split a planted token; the mirror never does (it cuts at lines).
    assert!(
        found + 64 >= planted && found <= planted,
        "found {found} of {planted}"
    );
    println!(
        "redaction throughput (best of 3): {:.0} MB/s over {:.0} MB, {found} secrets redacted",
        data.len() as f64 / 1e6 / best,
        data.len() as f64 / 1e6
    );
}
