//! The AWS SDK configuration every adapter is built from.

use aws_config::{BehaviorVersion, SdkConfig};

/// Loads the SDK configuration from the standard AWS environment: region, credentials and
/// endpoint (`AWS_ENDPOINT_URL`, or per service `AWS_ENDPOINT_URL_DYNAMODB`, ...). Local runs
/// point the endpoint at an emulator; no code path differs between moto, LocalStack and AWS.
pub async fn load() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).load().await
}
