//! Unit tests of the claim protocol on a local store wrapped by a fake that can lose the
//! response of a conditional write that landed, move the store's clock forward (time is
//! advanced, never slept), and pretend to have no conditional writes.

use std::sync::atomic::Ordering;

use super::*;
use crate::store::fake::{Fake, block_on};

/// A fake over a fresh local bucket.
fn fake(dir: &tempfile::TempDir, exact: bool) -> Fake {
    Fake::new(dir.path(), exact)
}

const TEN_S: Option<Duration> = Some(Duration::from_secs(10));

/// `who` claims `sid` with a 10 s lease.
async fn claim(store: &Fake, who: &str, sid: &str) -> Acquire {
    Claims::new(store, who).acquire(sid, TEN_S).await.unwrap()
}

async fn stored(store: &Fake, sid: &str) -> Claim {
    Claims::new(store, "reader")
        .read(sid)
        .await
        .unwrap()
        .unwrap()
        .claim
}

fn won(a: Acquire) -> (Claim, Option<TakenOver>) {
    match a {
        Acquire::Won { claim, took_over } => (claim, took_over),
        other => panic!("expected a win, got {other:?}"),
    }
}

#[test]
fn a_fresh_claim_carries_generation_token_and_lease() {
    let dir = tempfile::tempdir().unwrap();
    let store = fake(&dir, true);
    block_on(async {
        let (claim, took) = won(claim(&store, "ana", "s").await);
        assert!(took.is_none());
        assert_eq!(claim.generation, Some(1));
        assert_eq!(claim.token.as_ref().map(String::len), Some(32));
        assert_eq!(claim.lease.as_ref().map(|l| l.ttl_s), Some(10));
        assert_eq!(stored(&store, "s").await, claim);
        // A live lease blocks others, and the caller itself.
        for who in ["bob", "ana"] {
            match Claims::new(&store, who).acquire("s", TEN_S).await.unwrap() {
                Acquire::Held { holder, current } => {
                    assert_eq!(holder, "ana");
                    assert!(matches!(current.standing, Standing::Leased { .. }));
                }
                other => panic!("{other:?}"),
            }
        }
    });
}

#[test]
fn a_claim_without_a_ttl_is_the_python_tools_document() {
    let dir = tempfile::tempdir().unwrap();
    let store = fake(&dir, true);
    block_on(async {
        let (claim, _) = won(Claims::new(&store, "ana").acquire("s", None).await.unwrap());
        assert!(claim.is_plain());
        let body = store.get("steps/s/claim.json").await.unwrap().body;
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let fields: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(fields, ["agent", "claimed_at"]);
        // Renewing it with a TTL makes it a leased claim.
        let renewed = Claims::new(&store, "ana")
            .renew("s", TEN_S, None)
            .await
            .unwrap();
        let Renew::Renewed(c) = renewed else {
            panic!("{renewed:?}")
        };
        assert_eq!((c.generation, c.token.is_some()), (Some(1), true));
    });
}

#[test]
fn a_lost_response_to_a_winning_create_is_still_a_win() {
    let dir = tempfile::tempdir().unwrap();
    let store = fake(&dir, true);
    block_on(async {
        store.lose_next.store(true, Ordering::SeqCst);
        let (claim, _) = won(claim(&store, "ana", "s").await);
        assert!(
            !store.lose_next.load(Ordering::SeqCst),
            "the loss was injected"
        );
        assert_eq!(stored(&store, "s").await.token, claim.token);
        // A real conflict still loses.
        store.lose_next.store(false, Ordering::SeqCst);
        let other = Claims::new(&store, "bob").acquire("s", None).await.unwrap();
        assert!(matches!(other, Acquire::Held { holder, .. } if holder == "ana"));
    });
}

#[test]
fn expiry_then_exactly_one_takeover_with_the_next_generation() {
    let dir = tempfile::tempdir().unwrap();
    let store = fake(&dir, true);
    block_on(async {
        won(claim(&store, "ana", "s").await);
        // Expired, but within the skew allowance: still ana's.
        store.advance(11);
        let early = claim(&store, "bob", "s").await;
        assert!(matches!(early, Acquire::Held { holder, .. } if holder == "ana"));
        store.advance(3);
        let takers = ["bob", "cy", "dee", "eve", "fay"];
        let results = futures::future::join_all(
            takers
                .iter()
                .map(|who| async { Claims::new(&store, who).acquire("s", TEN_S).await }),
        )
        .await;
        let winners: Vec<_> = results
            .iter()
            .filter_map(|r| match r.as_ref().unwrap() {
                Acquire::Won { claim, took_over } => Some((claim.clone(), took_over.clone())),
                _ => None,
            })
            .collect();
        assert_eq!(winners.len(), 1, "{results:?}");
        let (claim, took) = &winners[0];
        let took = took.as_ref().unwrap();
        assert_eq!((took.from.as_str(), took.generation), ("ana", 1));
        assert!(matches!(took.standing, Standing::Expired { ago } if ago.as_secs() >= 4));
        assert_eq!(claim.generation, Some(2));
        assert_eq!(claim.previous_holder.as_deref(), Some("ana"));
        for r in &results {
            if let Acquire::Held { holder, .. } = r.as_ref().unwrap() {
                assert_eq!(holder, &claim.agent, "losers name the new holder");
            }
        }
        assert_eq!(stored(&store, "s").await, *claim);
    });
}

#[test]
fn a_lost_response_to_a_winning_takeover_is_still_a_win() {
    let dir = tempfile::tempdir().unwrap();
    let store = fake(&dir, true);
    block_on(async {
        won(claim(&store, "ana", "s").await);
        store.advance(60);
        store.lose_next.store(true, Ordering::SeqCst);
        let (claim, took) = won(claim(&store, "bob", "s").await);
        assert!(
            !store.lose_next.load(Ordering::SeqCst),
            "the loss was injected"
        );
        assert_eq!(took.unwrap().from, "ana");
        assert_eq!(stored(&store, "s").await.token, claim.token);
    });
}

#[test]
fn renew_by_holder_changes_the_version_and_a_stranger_learns_the_holder() {
    let dir = tempfile::tempdir().unwrap();
    let store = fake(&dir, true);
    block_on(async {
        won(claim(&store, "ana", "s").await);
        let before = Claims::new(&store, "ana").read("s").await.unwrap().unwrap();
        store.advance(8);
        store.lose_next.store(true, Ordering::SeqCst);
        let renewed = match Claims::new(&store, "ana")
            .renew("s", None, None)
            .await
            .unwrap()
        {
            Renew::Renewed(c) => c,
            other => panic!("{other:?}"),
        };
        let after = Claims::new(&store, "ana").read("s").await.unwrap().unwrap();
        assert_ne!(before.meta.version, after.meta.version);
        assert_eq!(after.claim, renewed);
        assert_eq!(after.claim.token, before.claim.token, "same holding");
        // Measured from the renewal, the lease runs its full TTL again.
        assert!(matches!(after.standing, Standing::Leased { left } if left.as_secs() >= 9));
        match Claims::new(&store, "bob")
            .renew("s", TEN_S, None)
            .await
            .unwrap()
        {
            Renew::NotHeld(n) => assert_eq!(n.holder.as_deref(), Some("ana")),
            other => panic!("{other:?}"),
        }
        // Without a lease and without a TTL there is nothing to renew.
        won(Claims::new(&store, "ana").acquire("t", None).await.unwrap());
        assert!(matches!(
            Claims::new(&store, "ana")
                .renew("t", None, None)
                .await
                .unwrap(),
            Renew::NoLease
        ));
    });
}

#[test]
fn release_then_claim_is_a_takeover_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = fake(&dir, true);
    block_on(async {
        won(claim(&store, "ana", "s").await);
        let stranger = Claims::new(&store, "bob").release("s").await.unwrap();
        assert_eq!(stranger.unwrap_err().holder.as_deref(), Some("ana"));
        let released = Claims::new(&store, "ana")
            .release("s")
            .await
            .unwrap()
            .unwrap();
        assert!(released.released_at.is_some() && released.lease.is_none());
        let (claim, took) = won(claim(&store, "bob", "s").await);
        let took = took.unwrap();
        assert_eq!(took.standing, Standing::Released);
        assert_eq!(claim.generation, Some(2));
    });
}

#[test]
fn a_fenced_completion_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = fake(&dir, true);
    block_on(async {
        won(claim(&store, "ana", "s").await);
        // ana read the claim before it expired, then stalled; bob took over.
        let stale_read = Claims::new(&store, "ana").read("s").await.unwrap();
        store.advance(60);
        won(claim(&store, "bob", "s").await);
        let after_takeover = stored(&store, "s").await;
        let ana = Claims::new(&store, "ana");
        assert_eq!(ana.fenced("s").await.unwrap().as_deref(), Some("bob"));
        assert_eq!(Claims::new(&store, "cy").fenced("s").await.unwrap(), None);
        // Completing with the version read before the takeover: the store refuses.
        match ana
            .finish("s", stale_read, docs::COMPLETE, false)
            .await
            .unwrap()
        {
            Finish::NotHeld(n) => assert_eq!(n.holder.as_deref(), Some("bob")),
            other => panic!("{other:?}"),
        }
        assert_eq!(stored(&store, "s").await, after_takeover);
        // --force still works, and says whom it overrode.
        let fresh = ana.read("s").await.unwrap();
        match ana.finish("s", fresh, docs::COMPLETE, true).await.unwrap() {
            Finish::Finished { claim, forced_from } => {
                let claim = claim.expect("a leased claim is marked");
                assert_eq!(forced_from.as_deref(), Some("bob"));
                assert_eq!(claim.generation, Some(3));
                assert_eq!(claim.finished_status.as_deref(), Some(docs::COMPLETE));
            }
            other => panic!("{other:?}"),
        }
        // A finished step is never taken over.
        store.advance(3600);
        let late = claim(&store, "dee", "s").await;
        assert!(matches!(late, Acquire::Finished { holder, .. } if holder == "ana"));
    });
}

#[test]
fn finishing_races_a_renewal_by_the_same_holder_and_survives_a_lost_response() {
    let dir = tempfile::tempdir().unwrap();
    let store = fake(&dir, true);
    block_on(async {
        let ana = Claims::new(&store, "ana");
        won(ana.acquire("s", TEN_S).await.unwrap());
        let read = ana.read("s").await.unwrap();
        // A heartbeat renews between complete's read and its write.
        assert!(matches!(
            ana.renew("s", None, None).await.unwrap(),
            Renew::Renewed(_)
        ));
        store.lose_next.store(true, Ordering::SeqCst);
        match ana.finish("s", read, docs::BLOCKED, false).await.unwrap() {
            Finish::Finished { claim, forced_from } => {
                assert!(forced_from.is_none());
                assert_eq!(Some(stored(&store, "s").await), claim);
            }
            other => panic!("{other:?}"),
        }
        // A step nobody claimed, and a plain claim, are left exactly as they are.
        let cy = Claims::new(&store, "cy");
        match cy.finish("t", None, docs::COMPLETE, false).await.unwrap() {
            Finish::Finished { claim, .. } => assert!(claim.is_none()),
            other => panic!("{other:?}"),
        }
        assert!(cy.read("t").await.unwrap().is_none());
        won(cy.acquire("p", None).await.unwrap());
        let plain = stored(&store, "p").await;
        let read = cy.read("p").await.unwrap();
        match cy.finish("p", read, docs::COMPLETE, false).await.unwrap() {
            Finish::Finished { claim, .. } => assert!(claim.is_none()),
            other => panic!("{other:?}"),
        }
        assert_eq!(stored(&store, "p").await, plain);
    });
}

#[test]
fn without_conditional_writes_claims_are_best_effort_but_still_work() {
    let dir = tempfile::tempdir().unwrap();
    let store = fake(&dir, false);
    block_on(async {
        let ana = Claims::new(&store, "ana");
        assert!(!ana.exact());
        won(ana.acquire("s", TEN_S).await.unwrap());
        let bob = Claims::new(&store, "bob");
        assert!(matches!(
            bob.acquire("s", TEN_S).await.unwrap(),
            Acquire::Held { .. }
        ));
        store.advance(60);
        let (claim, took) = won(bob.acquire("s", TEN_S).await.unwrap());
        assert_eq!(
            (took.unwrap().from.as_str(), claim.generation),
            ("ana", Some(2))
        );
        assert!(matches!(
            bob.renew("s", None, None).await.unwrap(),
            Renew::Renewed(_)
        ));
        assert!(bob.release("s").await.unwrap().is_ok());
        assert!(held(&ana).await.is_empty());
    });
}

#[test]
fn held_lists_only_the_callers_live_claims() {
    let dir = tempfile::tempdir().unwrap();
    let store = fake(&dir, true);
    block_on(async {
        let ana = Claims::new(&store, "ana");
        for sid in ["a", "b", "c"] {
            won(ana.acquire(sid, TEN_S).await.unwrap());
        }
        won(claim(&store, "bob", "d").await);
        ana.release("b").await.unwrap().unwrap();
        let cur = ana.read("c").await.unwrap();
        ana.finish("c", cur, docs::COMPLETE, false).await.unwrap();
        // The first look is a full scan (no marker yet), the second goes by the index.
        assert_eq!(held(&ana).await, ["a"]);
        assert_eq!(held(&ana).await, ["a"]);
    });
}

/// The steps the caller holds, as `heartbeat` finds them.
async fn held(c: &Claims<'_>) -> Vec<String> {
    let found = c
        .own(&mut crate::cache::DocCache::disabled(), index::SCAN_EVERY)
        .await
        .unwrap();
    found.held.into_iter().map(|h| h.0).collect()
}

#[test]
fn the_index_finds_claims_without_a_scan_and_a_due_scan_finds_what_it_missed() {
    let dir = tempfile::tempdir().unwrap();
    let store = fake(&dir, true);
    block_on(async {
        let ana = Claims::new(&store, "ana");
        won(ana.acquire("a", TEN_S).await.unwrap());
        let mut cache = crate::cache::DocCache::disabled();
        let first = ana.own(&mut cache, index::SCAN_EVERY).await.unwrap();
        assert!(first.scanned.is_some(), "no marker yet: a full scan");
        won(ana.acquire("b", TEN_S).await.unwrap());
        // The entry of `b` is lost: the index alone does not see it...
        store.delete(&keys::own_claim("ana", "b")).await.unwrap();
        let by_index = ana.own(&mut cache, index::SCAN_EVERY).await.unwrap();
        assert!(by_index.scanned.is_none());
        assert_eq!(by_index.held.len(), 1);
        // ...until the scan is due, which finds it and restores its entry.
        let scan = ana.own(&mut cache, Duration::ZERO).await.unwrap();
        assert!(scan.scanned.is_some());
        assert_eq!(scan.held.len(), 2);
        assert_eq!(held(&ana).await, ["a", "b"]);
        // One marker is left, however many scans ran.
        let own = store.list(&keys::own_dir("ana"), None).await.unwrap();
        let markers = own
            .iter()
            .filter(|e| keys::own_scanned_at("ana", &e.key).is_some())
            .count();
        assert_eq!(markers, 1);
    });
}

#[test]
fn losing_a_claim_race_leaves_no_index_entry_and_finishing_removes_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = fake(&dir, true);
    block_on(async {
        won(claim(&store, "bob", "x").await);
        let ana = Claims::new(&store, "ana");
        assert!(matches!(
            ana.acquire("x", TEN_S).await.unwrap(),
            Acquire::Held { .. }
        ));
        won(ana.acquire("y", TEN_S).await.unwrap());
        let listed = ana.index_list().await.unwrap();
        assert_eq!(listed.steps.keys().collect::<Vec<_>>(), ["y"]);
        let cur = ana.read("y").await.unwrap();
        ana.finish("y", cur, docs::COMPLETE, false).await.unwrap();
        assert!(ana.index_list().await.unwrap().steps.is_empty());
    });
}
