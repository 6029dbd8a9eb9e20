//! Building the client for one bucket: where the region comes from, the timeouts and SDK
//! retries of reads, path-style addressing and checksums for S3-compatible gateways, and
//! a TLS-free HTTP client for plain-HTTP endpoints.

use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::meta::region::RegionProviderChain;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_credential_types::Credentials;
use aws_sdk_s3::Client;
use aws_sdk_s3::config::{Region, RequestChecksumCalculation, ResponseChecksumValidation};

use super::{S3Settings, S3Store};
use crate::store::StoreResult;

impl S3Store {
    pub async fn connect(settings: S3Settings) -> StoreResult<S3Store> {
        // Region from the flag, the environment or the profile, and never from instance
        // metadata: probing IMDS off EC2 costs seconds on every call.
        let region = RegionProviderChain::first_try(settings.region.clone().map(Region::new))
            .or_else(aws_config::environment::EnvironmentVariableRegionProvider::new())
            .or_else(
                aws_config::profile::ProfileFileRegionProvider::builder()
                    .profile_name(settings.profile.clone().unwrap_or_else(|| "default".into()))
                    .build(),
            )
            .or_else(Region::new("us-east-1"));
        let mut loader = aws_config::defaults(BehaviorVersion::latest()).region(region);
        // A plain-HTTP endpoint (a local MinIO or SeaweedFS) needs no TLS: the default
        // client would still load and parse the system's root certificates, some 3.6 ms of
        // every call.
        if settings
            .endpoint
            .as_deref()
            .is_some_and(|e| e.starts_with("http://"))
        {
            loader = loader.http_client(plain_http_client());
        }
        let mut loader = loader
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(3))
                    .read_timeout(Duration::from_secs(30))
                    .build(),
            )
            .retry_config(RetryConfig::standard().with_max_attempts(3));
        if let Some(profile) = &settings.profile {
            loader = loader.profile_name(profile);
        }
        if let (Some(ak), Some(sk)) = (&settings.access_key, &settings.secret_key) {
            loader = loader.credentials_provider(Credentials::new(
                ak.clone(),
                sk.clone(),
                None,
                None,
                "tracecraft-config",
            ));
        }
        let shared = loader.load().await;
        let region = shared
            .region()
            .map(|r| r.to_string())
            .unwrap_or_else(|| "us-east-1".into());
        // Some S3-compatible gateways reject the SDK's default trailing checksums.
        let mut config = aws_sdk_s3::config::Builder::from(&shared)
            .force_path_style(settings.force_path_style || settings.endpoint.is_some())
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired);
        if let Some(endpoint) = &settings.endpoint {
            config = config.endpoint_url(endpoint);
        }
        Ok(S3Store {
            client: Client::from_conf(config.build()),
            bucket: settings.bucket,
            project: settings.project,
            endpoint: settings.endpoint,
            region,
            backend_name: if settings.backend_name.is_empty() {
                "s3"
            } else {
                settings.backend_name
            },
        })
    }
}

/// An HTTP client without TLS, configured from the SDK's settings and runtime as the
/// default one is.
fn plain_http_client() -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    aws_smithy_http_client::Builder::new().build_with_connector_fn(|settings, components| {
        let mut builder = aws_smithy_http_client::Connector::builder();
        builder.set_connector_settings(settings.cloned());
        if let Some(components) = components {
            builder.set_sleep_impl(components.sleep_impl());
        }
        builder.build_http()
    })
}
