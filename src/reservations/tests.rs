//! Unit tests of the reservation protocol on a local store wrapped by a fake that can lose
//! the response of a conditional write that landed, move the store's clock (advanced,
//! never slept), and pretend to have no conditional writes.

use std::sync::atomic::Ordering;

use super::*;
use crate::lease::Standing;
use crate::store::fake::{Fake, block_on};

fn fake(dir: &tempfile::TempDir, exact: bool) -> Fake {
    Fake::new(dir.path(), exact)
}

fn request(patterns: &[&str], exclusive: bool, ttl_s: u64) -> Request {
    Request {
        patterns: patterns
            .iter()
            .map(|p| Pattern::parse(p).unwrap())
            .collect(),
        exclusive,
        ttl: Duration::from_secs(ttl_s),
        reason: Some("testing".into()),
        step: None,
    }
}

async fn reserve(store: &Fake, who: &str, req: Request) -> Reserve {
    Reservations::new(store, who).reserve(&req).await.unwrap()
}

fn granted(r: Reserve) -> Reservation {
    match r {
        Reserve::Granted { reservation, .. } => *reservation,
        Reserve::Refused(b) => panic!("refused by {:?}", b[0].holder.reservation),
    }
}

async fn stored(store: &Fake) -> Index {
    let key = keys::reservations_index();
    decode(&key, &store.get(&key).await.unwrap().body).unwrap()
}

#[test]
fn exclusive_refuses_overlaps_and_shared_ones_coexist() {
    let dir = tempfile::tempdir().unwrap();
    let store = fake(&dir, true);
    block_on(async {
        let a = granted(reserve(&store, "alice", request(&["src/api.rs"], true, 60)).await);
        assert_eq!(a.id.len(), 8);
        assert_eq!(a.ttl_s, 60);
        match reserve(&store, "bob", request(&["src/**", "docs"], true, 60)).await {
            Reserve::Refused(b) => {
                assert_eq!(b.len(), 1);
                assert_eq!(b[0].pattern, "src/api.rs");
                assert_eq!(b[0].wanted, "src/**");
                assert_eq!(b[0].holder.reservation.agent, "alice");
                assert!(matches!(b[0].holder.standing, Standing::Leased { .. }));
            }
            other => panic!("{other:?}"),
        }
        // All or nothing: `docs` was not granted either.
        assert_eq!(stored(&store).await.reservations, vec![a.clone()]);
        // The caller's own reservations never block it; the same set again renews.
        let again = reserve(&store, "alice", request(&["src/api.rs"], true, 90)).await;
        let Reserve::Granted {
            reservation,
            renewed: true,
        } = again
        else {
            panic!("{again:?}")
        };
        assert_eq!(
            (reservation.id.as_str(), reservation.ttl_s),
            (a.id.as_str(), 90)
        );

        granted(reserve(&store, "bob", request(&["docs"], false, 60)).await);
        granted(reserve(&store, "carol", request(&["docs/*.md"], false, 60)).await);
        assert!(matches!(
            reserve(&store, "dave", request(&["docs/a.md"], true, 60)).await,
            Reserve::Refused(b) if b.len() == 2
        ));
        assert_eq!(stored(&store).await.reservations.len(), 3);

        let res = Reservations::new(&store, "erin");
        let hits = res
            .check(&["docs/a.md".into(), "src/api.rs".into()])
            .await
            .unwrap();
        assert_eq!(hits.len(), 1, "shared reservations do not block a commit");
        assert_eq!(hits[0].wanted, "src/api.rs");
        assert!(
            Reservations::new(&store, "alice")
                .check(&["src/api.rs".into()])
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(res.covering("./docs/x/../a.md").await.unwrap().len(), 2);
    });
}

#[test]
fn expiry_is_judged_on_the_store_clock_with_the_skew_allowance() {
    let dir = tempfile::tempdir().unwrap();
    let store = fake(&dir, true);
    block_on(async {
        granted(reserve(&store, "alice", request(&["a"], true, 10)).await);
        *store.advanced.lock().unwrap() = chrono::Duration::seconds(11);
        // Expired one second ago: still in force for the allowance.
        let live = Reservations::new(&store, "bob").live().await.unwrap();
        assert!(matches!(live[0].standing, Standing::Expired { .. }));
        assert!(matches!(
            reserve(&store, "bob", request(&["a"], true, 10)).await,
            Reserve::Refused(_)
        ));
        *store.advanced.lock().unwrap() = chrono::Duration::seconds(13);
        assert!(
            Reservations::new(&store, "bob")
                .live()
                .await
                .unwrap()
                .is_empty()
        );
        let b = granted(reserve(&store, "bob", request(&["a"], true, 10)).await);
        // The expired entry was dropped by the write.
        assert_eq!(stored(&store).await.reservations, vec![b]);
    });
}

#[test]
fn renew_extends_only_the_callers_and_release_is_all_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = fake(&dir, true);
    block_on(async {
        let a = granted(reserve(&store, "alice", request(&["a", "b"], true, 10)).await);
        let c = granted(reserve(&store, "carol", request(&["c"], true, 10)).await);
        *store.advanced.lock().unwrap() = chrono::Duration::seconds(8);
        let renewed = Reservations::new(&store, "alice")
            .renew_mine()
            .await
            .unwrap();
        assert_eq!(renewed.len(), 1);
        assert!(renewed[0].expires_at > a.expires_at);
        assert!(renewed[0].extra.contains_key("renewed_at"));
        *store.advanced.lock().unwrap() = chrono::Duration::seconds(11);
        let live = Reservations::new(&store, "x").live().await.unwrap();
        assert_eq!(live.len(), 2, "carol's is expired but within the allowance");
        assert!(
            Reservations::new(&store, "nobody")
                .renew_mine()
                .await
                .unwrap()
                .is_empty()
        );

        let alice = Reservations::new(&store, "alice");
        let r = alice
            .release(&Selector::Items(vec!["b".into(), c.id.clone()]), false)
            .await
            .unwrap();
        assert_eq!(r.refused, vec![(c.id.clone(), "carol".to_string())]);
        assert!(r.released.is_empty());
        assert_eq!(stored(&store).await.reservations[0].patterns, ["a", "b"]);
        let r = alice
            .release(&Selector::Items(vec!["./b/".into()]), false)
            .await
            .unwrap();
        assert_eq!(r.released[0].patterns, ["b"]);
        assert_eq!(stored(&store).await.reservations[0].patterns, ["a"]);
        let r = alice
            .release(&Selector::Items(vec!["zzz".into()]), false)
            .await
            .unwrap();
        assert_eq!(r.unknown, ["zzz"]);
        let r = alice
            .release(&Selector::Items(vec![c.id.clone()]), true)
            .await
            .unwrap();
        assert_eq!(r.released[0].agent, "carol");
        let r = alice.release(&Selector::All, false).await.unwrap();
        assert_eq!(r.released.len(), 1);
        assert!(stored(&store).await.reservations.is_empty());
    });
}

#[test]
fn a_lost_response_to_a_winning_write_is_still_a_win() {
    let dir = tempfile::tempdir().unwrap();
    let store = fake(&dir, true);
    block_on(async {
        granted(reserve(&store, "alice", request(&["x"], true, 60)).await);
        store.lose_next.store(true, Ordering::SeqCst);
        let b = granted(reserve(&store, "bob", request(&["y"], true, 60)).await);
        assert!(
            !store.lose_next.load(Ordering::SeqCst),
            "the loss was exercised"
        );
        let index = stored(&store).await;
        assert_eq!(index.reservations.len(), 2, "written once: {index:?}");
        assert_eq!(index.reservations[1], b);

        store.lose_next.store(true, Ordering::SeqCst);
        let renewed = Reservations::new(&store, "bob").renew_mine().await.unwrap();
        assert_eq!(stored(&store).await.reservations[1], renewed[0]);
        store.lose_next.store(true, Ordering::SeqCst);
        let r = Reservations::new(&store, "bob")
            .release(&Selector::All, false)
            .await
            .unwrap();
        assert_eq!(r.released.len(), 1);
        assert_eq!(stored(&store).await.reservations.len(), 1);
    });
}

#[test]
fn without_conditional_writes_reservations_are_best_effort_but_work() {
    let dir = tempfile::tempdir().unwrap();
    let store = fake(&dir, false);
    block_on(async {
        assert!(!Reservations::new(&store, "a").exact());
        granted(reserve(&store, "alice", request(&["src"], true, 60)).await);
        assert!(matches!(
            reserve(&store, "bob", request(&["src/a.rs"], true, 60)).await,
            Reserve::Refused(_)
        ));
        granted(reserve(&store, "bob", request(&["lib"], true, 60)).await);
        assert_eq!(stored(&store).await.reservations.len(), 2);
    });
}

#[test]
fn concurrent_reservers_of_one_path_have_exactly_one_winner() {
    let dir = tempfile::tempdir().unwrap();
    let store = fake(&dir, true);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        for round in 0..3 {
            let path = format!("r{round}/file.rs");
            let agents: Vec<String> = (0..8).map(|i| format!("agent-{i}")).collect();
            let results = futures::future::join_all(agents.iter().enumerate().map(|(i, a)| {
                let pattern = if i % 2 == 0 {
                    path.clone()
                } else {
                    format!("r{round}/**")
                };
                let store = &store;
                async move {
                    Reservations::new(store, a)
                        .reserve(&request(&[&pattern], true, 60))
                        .await
                        .unwrap()
                }
            }))
            .await;
            let won = results
                .iter()
                .filter(|r| matches!(r, Reserve::Granted { .. }))
                .count();
            assert_eq!(won, 1, "round {round}");
        }
        assert_eq!(stored(&store).await.reservations.len(), 3);
    });
}

#[test]
fn reading_and_renewing_nothing_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = fake(&dir, true);
    block_on(async {
        let res = Reservations::new(&store, "alice");
        assert!(res.live().await.unwrap().is_empty());
        assert!(res.renew_mine().await.unwrap().is_empty());
        let r = res.release(&Selector::All, false).await.unwrap();
        assert!(r.released.is_empty());
        // A heartbeat in a project that never reserved anything leaves no index behind.
        let missing = store.get(&keys::reservations_index()).await;
        assert!(matches!(missing, Err(StoreError::NotFound { .. })));
    });
}
