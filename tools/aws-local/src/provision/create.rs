//! Creating one table, queue or topic from its evaluated properties, and reading back what
//! CloudFormation would return for it (name, ARN, URL). Every create is idempotent.

use super::template::{attribute_text, is_true, prop, prop_list, prop_text, required, scalar};
use super::{ProvisionError, ProvisionOptions, ProvisionedResource, ResourceKind};
use aws_sdk_dynamodb::client::Waiters;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType,
    PointInTimeRecoverySpecification, Projection, ProjectionType, ProvisionedThroughput, ScalarAttributeType,
    StreamSpecification, StreamViewType, TimeToLiveSpecification, TimeToLiveStatus,
};
use aws_sdk_sqs::types::QueueAttributeName;
use serde_yaml::Value;
use std::collections::HashMap;
use std::time::Duration;

/// Why: a new on-demand table is usually ACTIVE within seconds in AWS; emulators are instant.
const TABLE_ACTIVE_TIMEOUT: Duration = Duration::from_secs(300);

pub(super) struct Clients {
    pub(super) dynamodb: aws_sdk_dynamodb::Client,
    pub(super) sqs: aws_sdk_sqs::Client,
    pub(super) sns: aws_sdk_sns::Client,
}

/// `"<code>: <message>"` for service errors, the full source chain otherwise.
fn describe<E>(err: &SdkError<E>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match err {
        SdkError::ServiceError(ctx) => format!(
            "{}: {}",
            ctx.err().code().unwrap_or("unknown error"),
            ctx.err().message().unwrap_or("no message")
        ),
        other => DisplayErrorContext(other).to_string(),
    }
}

fn build_error(what: &str, e: impl std::fmt::Display) -> ProvisionError {
    ProvisionError::Template(format!("{what}: {e}"))
}

fn key_schema(props: &Value) -> Result<Vec<KeySchemaElement>, ProvisionError> {
    prop_list(props, "KeySchema")
        .iter()
        .map(|k| {
            KeySchemaElement::builder()
                .attribute_name(required(k, "AttributeName")?)
                .key_type(KeyType::from(required(k, "KeyType")?.as_str()))
                .build()
                .map_err(|e| build_error("KeySchema", e))
        })
        .collect()
}

fn throughput(props: &Value) -> Result<Option<ProvisionedThroughput>, ProvisionError> {
    let Some(t) = prop(props, "ProvisionedThroughput") else {
        return Ok(None);
    };
    let units = |name: &str| -> Result<i64, ProvisionError> {
        required(t, name)?
            .parse()
            .map_err(|e| build_error(&format!("ProvisionedThroughput.{name}"), e))
    };
    ProvisionedThroughput::builder()
        .read_capacity_units(units("ReadCapacityUnits")?)
        .write_capacity_units(units("WriteCapacityUnits")?)
        .build()
        .map(Some)
        .map_err(|e| build_error("ProvisionedThroughput", e))
}

impl Clients {
    pub(super) async fn table(
        &self,
        props: &Value,
        default_name: &str,
        options: &ProvisionOptions,
    ) -> Result<ProvisionedResource, ProvisionError> {
        let name = options.physical(&prop_text(props, "TableName")?.unwrap_or_else(|| default_name.to_string()));
        let aws = |action: &'static str, message: String| ProvisionError::Aws {
            action,
            resource: name.clone(),
            message,
        };
        let mut create = self
            .dynamodb
            .create_table()
            .table_name(&name)
            .billing_mode(BillingMode::from(
                prop_text(props, "BillingMode")?.as_deref().unwrap_or("PROVISIONED"),
            ))
            .set_key_schema(Some(key_schema(props)?))
            .set_provisioned_throughput(throughput(props)?);
        for definition in prop_list(props, "AttributeDefinitions") {
            create = create.attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(required(definition, "AttributeName")?)
                    .attribute_type(ScalarAttributeType::from(
                        required(definition, "AttributeType")?.as_str(),
                    ))
                    .build()
                    .map_err(|e| build_error("AttributeDefinitions", e))?,
            );
        }
        for index in prop_list(props, "GlobalSecondaryIndexes") {
            let projection = prop(index, "Projection");
            let projection = Projection::builder()
                .set_projection_type(
                    projection
                        .map(|p| prop_text(p, "ProjectionType"))
                        .transpose()?
                        .flatten()
                        .map(|t| ProjectionType::from(t.as_str())),
                )
                .set_non_key_attributes(projection.map(|p| {
                    prop_list(p, "NonKeyAttributes")
                        .iter()
                        .filter_map(|a| a.as_str().map(str::to_string))
                        .collect()
                }))
                .build();
            create = create.global_secondary_indexes(
                GlobalSecondaryIndex::builder()
                    .index_name(required(index, "IndexName")?)
                    .set_key_schema(Some(key_schema(index)?))
                    .projection(projection)
                    .set_provisioned_throughput(throughput(index)?)
                    .build()
                    .map_err(|e| build_error("GlobalSecondaryIndexes", e))?,
            );
        }
        if let Some(stream) = prop(props, "StreamSpecification") {
            create = create.stream_specification(
                StreamSpecification::builder()
                    .stream_enabled(true)
                    .stream_view_type(StreamViewType::from(required(stream, "StreamViewType")?.as_str()))
                    .build()
                    .map_err(|e| build_error("StreamSpecification", e))?,
            );
        }
        let arn = match create.send().await {
            Ok(out) => out.table_description().and_then(|d| d.table_arn()).map(str::to_string),
            Err(e) if e.code() == Some("ResourceInUseException") => None,
            Err(e) => return Err(aws("CreateTable", describe(&e))),
        };
        self.dynamodb
            .wait_until_table_exists()
            .table_name(&name)
            .wait(TABLE_ACTIVE_TIMEOUT)
            .await
            .map_err(|e| aws("DescribeTable", e.to_string()))?;
        let arn = match arn {
            Some(arn) => arn,
            None => self
                .dynamodb
                .describe_table()
                .table_name(&name)
                .send()
                .await
                .map_err(|e| aws("DescribeTable", describe(&e)))?
                .table()
                .and_then(|t| t.table_arn())
                .map(str::to_string)
                .unwrap_or_default(),
        };
        if let Some(ttl) = prop(props, "TimeToLiveSpecification").filter(|t| is_true(t, "Enabled")) {
            let attribute = required(ttl, "AttributeName")?;
            let status = self
                .dynamodb
                .describe_time_to_live()
                .table_name(&name)
                .send()
                .await
                .map_err(|e| aws("DescribeTimeToLive", describe(&e)))?;
            let current = status.time_to_live_description().and_then(|d| d.time_to_live_status());
            // Why: UpdateTimeToLive fails with ValidationException when TTL is already on.
            if !matches!(current, Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)) {
                self.dynamodb
                    .update_time_to_live()
                    .table_name(&name)
                    .time_to_live_specification(
                        TimeToLiveSpecification::builder()
                            .attribute_name(attribute)
                            .enabled(true)
                            .build()
                            .map_err(|e| build_error("TimeToLiveSpecification", e))?,
                    )
                    .send()
                    .await
                    .map_err(|e| aws("UpdateTimeToLive", describe(&e)))?;
            }
        }
        let pitr =
            prop(props, "PointInTimeRecoverySpecification").is_some_and(|p| is_true(p, "PointInTimeRecoveryEnabled"));
        if pitr {
            self.dynamodb
                .update_continuous_backups()
                .table_name(&name)
                .point_in_time_recovery_specification(
                    PointInTimeRecoverySpecification::builder()
                        .point_in_time_recovery_enabled(true)
                        .build()
                        .map_err(|e| build_error("PointInTimeRecoverySpecification", e))?,
                )
                .send()
                .await
                .map_err(|e| aws("UpdateContinuousBackups", describe(&e)))?;
        }
        Ok(ProvisionedResource {
            kind: ResourceKind::Table,
            name,
            arn,
            url: None,
        })
    }

    pub(super) async fn queue(
        &self,
        props: &Value,
        default_name: &str,
        options: &ProvisionOptions,
    ) -> Result<ProvisionedResource, ProvisionError> {
        let fifo = is_true(props, "FifoQueue");
        let mut name = prop_text(props, "QueueName")?.unwrap_or_else(|| default_name.to_string());
        if fifo && !name.ends_with(".fifo") {
            name.push_str(".fifo");
        }
        let name = options.physical(&name);
        let aws = |action: &'static str, message: String| ProvisionError::Aws {
            action,
            resource: name.clone(),
            message,
        };
        let mut attributes = HashMap::new();
        if let Value::Mapping(map) = props {
            for (key, value) in map {
                let key = scalar(key).map_err(ProvisionError::Template)?;
                if key == "QueueName" || value.is_null() {
                    continue;
                }
                attributes.insert(QueueAttributeName::from(key.as_str()), attribute_text(value)?);
            }
        }
        let url = self
            .sqs
            .create_queue()
            .queue_name(&name)
            .set_attributes(Some(attributes))
            .send()
            .await
            .map_err(|e| aws("CreateQueue", describe(&e)))?
            .queue_url()
            .map(str::to_string)
            .ok_or_else(|| aws("CreateQueue", "no queue URL in the answer".into()))?;
        let arn = self
            .sqs
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .map_err(|e| aws("GetQueueAttributes", describe(&e)))?
            .attributes()
            .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
            .ok_or_else(|| aws("GetQueueAttributes", "no QueueArn in the answer".into()))?;
        Ok(ProvisionedResource {
            kind: ResourceKind::Queue,
            name,
            arn,
            url: Some(url),
        })
    }

    pub(super) async fn topic(
        &self,
        props: &Value,
        default_name: &str,
        options: &ProvisionOptions,
    ) -> Result<ProvisionedResource, ProvisionError> {
        const ATTRIBUTES: &[&str] = &["DisplayName", "FifoTopic", "ContentBasedDeduplication"];
        let mut name = prop_text(props, "TopicName")?.unwrap_or_else(|| default_name.to_string());
        if is_true(props, "FifoTopic") && !name.ends_with(".fifo") {
            name.push_str(".fifo");
        }
        let name = options.physical(&name);
        let mut attributes = HashMap::new();
        for key in ATTRIBUTES {
            if let Some(value) = prop(props, key) {
                attributes.insert((*key).to_string(), attribute_text(value)?);
            }
        }
        let arn = self
            .sns
            .create_topic()
            .name(&name)
            .set_attributes(Some(attributes))
            .send()
            .await
            .map_err(|e| ProvisionError::Aws {
                action: "CreateTopic",
                resource: name.clone(),
                message: describe(&e),
            })?
            .topic_arn()
            .map(str::to_string)
            .unwrap_or_default();
        Ok(ProvisionedResource {
            kind: ResourceKind::Topic,
            name,
            arn,
            url: None,
        })
    }
}
