//! Backend-specific pieces of the suite that need more than a target: the fake Hub for the
//! hf backend, and stores that must fail (missing bucket, wrong credentials).

use tracecraft::store::Store;

use crate::backends::{Env, Target, open};

#[path = "../support/mod.rs"]
mod shared;

use shared::fake_hub::{FakeHub, hf_settings, hf_store};

const TOKEN: &str = "hf_conformance_test_token_0123456789";

/// A native hf store on a fresh fake Hub; the Hub lives as long as the returned keeper.
pub async fn hf_test_store(project: &str) -> (Box<dyn Store>, Vec<Box<dyn std::any::Any + Send>>) {
    let hub = FakeHub::start(TOKEN);
    let store = hf_store(&hub, project).await;
    (store, vec![Box::new(hub)])
}

fn hub(env: &Env) -> &FakeHub {
    env._keep
        .iter()
        .find_map(|k| k.downcast_ref::<FakeHub>())
        .expect("hf cases keep their fake Hub")
}

/// The hf store of a bucket the Hub does not have.
pub async fn hf_missing_bucket_store(env: &Env) -> Box<dyn Store> {
    let settings = hf_settings(hub(env), "tester/no-such-bucket", "p");
    tracecraft::store::hf::open(settings).await.unwrap()
}

/// The same store with credentials the server rejects; `None` for fs, which has none.
pub async fn wrong_credentials_store(env: &Env) -> Option<Box<dyn Store>> {
    match &env.target {
        Target::Fs { .. } => None,
        Target::S3 { .. } => {
            let mut t = env.target.clone();
            if let Target::S3 { secret_key, .. } = &mut t {
                *secret_key = "not-the-secret".into();
            }
            Some(open(&t).await)
        }
        Target::InProcess => {
            let mut settings = hf_settings(hub(env), shared::fake_hub::TEST_BUCKET, "p");
            settings.token = Some("hf_wrong_token_000000000000000000000".into());
            Some(tracecraft::store::hf::open(settings).await.unwrap())
        }
    }
}
