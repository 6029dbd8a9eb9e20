//! The S3 server's clock, as the `Date` header of a response: read by a per-request
//! interceptor because the SDK's typed outputs drop it. Lease expiry compares it with the
//! object's `Last-Modified`, so both ends of the measurement come from the same clock.

use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeDeserializationInterceptorContextRef;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use chrono::{DateTime, Utc};

/// Holds the `Date` of the last response of the one request it is attached to.
#[derive(Clone, Debug, Default)]
pub(super) struct ServerDate(Arc<Mutex<Option<DateTime<Utc>>>>);

impl ServerDate {
    pub(super) fn get(&self) -> Option<DateTime<Utc>> {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Intercept for ServerDate {
    fn name(&self) -> &'static str {
        "ServerDate"
    }

    fn read_after_transmit(
        &self,
        context: &BeforeDeserializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let date = context.response().headers().get("date").and_then(parse);
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = date;
        Ok(())
    }
}

/// An HTTP date (`Sat, 21 Nov 2026 10:28:42 GMT`, the IMF-fixdate of RFC 9110).
fn parse(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc2822(text.trim())
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_imf_fixdate() {
        let t = parse("Sat, 21 Nov 2026 10:28:42 GMT").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-11-21T10:28:42+00:00");
        assert_eq!(parse("not a date"), None);
    }
}
