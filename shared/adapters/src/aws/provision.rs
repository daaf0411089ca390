//! Local set-up from the SAM template: creates every `AWS::DynamoDB::Table`, `AWS::SQS::Queue`
//! and `AWS::SNS::Topic` that `infra/template.yaml` declares, on whatever endpoint the SDK
//! configuration points at (moto, LocalStack). The template stays the single list of
//! resources; nothing here names a table.
//!
//! The intrinsics resources use are evaluated: `Ref`, `Fn::Sub`, `Fn::GetAtt`, `Fn::Join`, in
//! long form or as CloudFormation short tags (`!Sub`, `!Ref`, `!GetAtt`, which serde_yaml
//! keeps as tagged values). Resources are created in dependency order (a queue's redrive
//! policy names its dead-letter queue's ARN). Other resource types (functions, schedules,
//! alarms) are skipped: the emulators here do not run them.
//!
//! Point-in-time recovery is applied (the restore path in docs/operations.md is tested on it).
//! What only matters in AWS is not applied ([`NOT_APPLIED`]): deletion protection, encryption
//! settings (the topic's customer key is not created locally), tags and SNS subscriptions
//! (CloudFormation applies them on deploy; no code relies on them).

use super::error::describe;
use aws_config::SdkConfig;
use aws_sdk_dynamodb::client::Waiters;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType,
    PointInTimeRecoverySpecification, Projection, ProjectionType, ProvisionedThroughput, ScalarAttributeType,
    StreamSpecification, StreamViewType, TimeToLiveSpecification, TimeToLiveStatus,
};
use aws_sdk_sqs::types::QueueAttributeName;
use serde_yaml::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;
use thiserror::Error;

/// The template's path relative to the repository root.
pub const TEMPLATE_PATH: &str = "infra/template.yaml";

/// Why: a new on-demand table is usually ACTIVE within seconds in AWS; emulators are instant.
const TABLE_ACTIVE_TIMEOUT: Duration = Duration::from_secs(300);

/// Properties left out locally, per kind: they are not evaluated (they may refer to resources
/// this set-up does not create, like the topic's KMS key, or use conditions) nor sent.
pub const NOT_APPLIED: &[(ResourceKind, &[&str])] = &[
    (
        ResourceKind::Table,
        &["DeletionProtectionEnabled", "SSESpecification", "Tags"],
    ),
    (
        ResourceKind::Queue,
        &["KmsMasterKeyId", "KmsDataKeyReusePeriodSeconds", "Tags"],
    ),
    (ResourceKind::Topic, &["KmsMasterKeyId", "Tags"]),
];

/// `properties` without what [`NOT_APPLIED`] leaves out for `kind`.
fn applied(kind: ResourceKind, properties: &Value) -> Value {
    let skipped = NOT_APPLIED
        .iter()
        .find(|(k, _)| *k == kind)
        .map_or(&[][..], |(_, names)| *names);
    match properties {
        Value::Mapping(map) => Value::Mapping(
            map.iter()
                .filter(|(k, _)| !k.as_str().is_some_and(|k| skipped.contains(&k)))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// How names are made unique.
#[derive(Debug, Clone, Default)]
pub struct ProvisionOptions {
    /// Values for template parameters; parameters not given here take their `Default`.
    pub parameters: BTreeMap<String, String>,
    /// Put before every physical name.
    pub prefix: String,
    /// Put after every physical name (before `.fifo` on FIFO queues and topics). Keep it short:
    /// SQS queue names are at most 80 characters.
    pub suffix: String,
}

impl ProvisionOptions {
    /// Options that append `suffix` to every name (one per test run), other values default.
    pub fn with_suffix(suffix: impl Into<String>) -> Self {
        Self {
            suffix: suffix.into(),
            ..Self::default()
        }
    }

    fn physical(&self, name: &str) -> String {
        match name.strip_suffix(".fifo") {
            Some(stem) => format!("{}{stem}{}.fifo", self.prefix, self.suffix),
            None => format!("{}{name}{}", self.prefix, self.suffix),
        }
    }
}

/// The kinds of resource [`provision`] creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ResourceKind {
    /// `AWS::DynamoDB::Table`.
    Table,
    /// `AWS::SQS::Queue`.
    Queue,
    /// `AWS::SNS::Topic`.
    Topic,
}

impl ResourceKind {
    fn from_type(kind: &str) -> Option<Self> {
        match kind {
            "AWS::DynamoDB::Table" => Some(Self::Table),
            "AWS::SQS::Queue" => Some(Self::Queue),
            "AWS::SNS::Topic" => Some(Self::Topic),
            _ => None,
        }
    }
}

/// One created resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvisionedResource {
    /// What it is.
    pub kind: ResourceKind,
    /// Physical name (table, queue or topic name).
    pub name: String,
    /// ARN.
    pub arn: String,
    /// Queue URL (queues only).
    pub url: Option<String>,
}

impl ProvisionedResource {
    /// What `Ref` returns for it in CloudFormation: a table's name, a queue's URL, a topic's ARN.
    fn reference(&self) -> String {
        match self.kind {
            ResourceKind::Table => self.name.clone(),
            ResourceKind::Queue => self.url.clone().unwrap_or_default(),
            ResourceKind::Topic => self.arn.clone(),
        }
    }
}

/// Everything [`provision`] created, by logical id (`LedgerTable`, `SyncQueue`, ...).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Provisioned {
    /// Created resources by logical id.
    pub resources: BTreeMap<String, ProvisionedResource>,
}

impl Provisioned {
    fn find(&self, id: &str, kind: ResourceKind) -> Result<&ProvisionedResource, ProvisionError> {
        self.resources
            .get(id)
            .filter(|r| r.kind == kind)
            .ok_or_else(|| ProvisionError::Missing {
                id: id.to_string(),
                kind,
            })
    }

    /// The physical name of table `id`.
    pub fn table(&self, id: &str) -> Result<&str, ProvisionError> {
        Ok(&self.find(id, ResourceKind::Table)?.name)
    }

    /// The URL of queue `id`.
    pub fn queue_url(&self, id: &str) -> Result<&str, ProvisionError> {
        let queue = self.find(id, ResourceKind::Queue)?;
        queue.url.as_deref().ok_or_else(|| ProvisionError::Missing {
            id: id.to_string(),
            kind: ResourceKind::Queue,
        })
    }

    /// The ARN of queue or topic `id`.
    pub fn arn(&self, id: &str) -> Result<&str, ProvisionError> {
        self.resources
            .get(id)
            .map(|r| r.arn.as_str())
            .ok_or_else(|| ProvisionError::Template(format!("no resource {id} was provisioned")))
    }

    /// The ARN of topic `id`.
    pub fn topic_arn(&self, id: &str) -> Result<&str, ProvisionError> {
        Ok(&self.find(id, ResourceKind::Topic)?.arn)
    }
}

/// Local set-up failed.
#[derive(Debug, Error)]
pub enum ProvisionError {
    /// The template file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The path tried.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The template is not YAML.
    #[error("template is not valid YAML: {0}")]
    Yaml(#[from] serde_yaml::Error),
    /// The template is YAML but not something this set-up understands.
    #[error("template: {0}")]
    Template(String),
    /// An AWS call failed.
    #[error("{action} {resource}: {message}")]
    Aws {
        /// The API call.
        action: &'static str,
        /// The physical name.
        resource: String,
        /// The service's answer.
        message: String,
    },
    /// A logical id asked of [`Provisioned`] was not created (or is another kind).
    #[error("no {kind:?} with logical id {id} was provisioned")]
    Missing {
        /// The logical id.
        id: String,
        /// The kind asked for.
        kind: ResourceKind,
    },
}

/// A parsed template: parameter defaults and the resources of the kinds [`provision`] creates.
#[derive(Debug, Clone)]
pub struct Template {
    defaults: BTreeMap<String, String>,
    resources: BTreeMap<String, (ResourceKind, Value)>,
}

impl Template {
    /// Reads and parses a template file.
    pub fn load(path: &Path) -> Result<Self, ProvisionError> {
        let text = std::fs::read_to_string(path).map_err(|source| ProvisionError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text)
    }

    /// Parses template text.
    pub fn parse(yaml: &str) -> Result<Self, ProvisionError> {
        let doc: Value = serde_yaml::from_str(yaml)?;
        let mut defaults = BTreeMap::new();
        if let Some(Value::Mapping(params)) = doc.get("Parameters") {
            for (name, spec) in params {
                let name = scalar(name).map_err(ProvisionError::Template)?;
                if let Some(default) = spec.get("Default") {
                    defaults.insert(name, scalar(default).map_err(ProvisionError::Template)?);
                }
            }
        }
        let Some(Value::Mapping(declared)) = doc.get("Resources") else {
            return Err(ProvisionError::Template("no Resources section".into()));
        };
        let mut resources = BTreeMap::new();
        for (id, resource) in declared {
            let id = scalar(id).map_err(ProvisionError::Template)?;
            let kind = resource.get("Type").and_then(Value::as_str).unwrap_or_default();
            if let Some(kind) = ResourceKind::from_type(kind) {
                let properties = resource.get("Properties").cloned().unwrap_or(Value::Null);
                resources.insert(id, (kind, properties));
            }
        }
        Ok(Self { defaults, resources })
    }

    /// Logical ids of the resources of `kind` the template declares.
    pub fn logical_ids(&self, kind: ResourceKind) -> Vec<&str> {
        self.resources
            .iter()
            .filter(|(_, (k, _))| *k == kind)
            .map(|(id, _)| id.as_str())
            .collect()
    }
}

/// Creates the tables, queues and topics `template` declares, named with `options`, on the
/// endpoint of `sdk`. Idempotent: resources that already exist are looked up, not recreated
/// (a queue that exists with other attributes is an error, as in SQS).
pub async fn provision(
    sdk: &SdkConfig,
    template: &Path,
    options: &ProvisionOptions,
) -> Result<Provisioned, ProvisionError> {
    provision_template(sdk, &Template::load(template)?, options).await
}

/// [`provision`] for an already parsed template.
pub async fn provision_template(
    sdk: &SdkConfig,
    template: &Template,
    options: &ProvisionOptions,
) -> Result<Provisioned, ProvisionError> {
    let mut params = template.defaults.clone();
    params.extend(options.parameters.clone());
    let stack = format!(
        "invsync-{}",
        params.get("EnvironmentName").map_or("local", String::as_str)
    );
    params.insert("AWS::StackName".into(), stack.clone());
    params.insert("AWS::Partition".into(), "aws".into());
    params.insert("AWS::URLSuffix".into(), "amazonaws.com".into());
    if let Some(region) = sdk.region() {
        params.insert("AWS::Region".into(), region.to_string());
    }
    let aws = Clients {
        dynamodb: aws_sdk_dynamodb::Client::new(sdk),
        sqs: aws_sdk_sqs::Client::new(sdk),
        sns: aws_sdk_sns::Client::new(sdk),
    };
    let mut done = Provisioned::default();
    let mut todo: BTreeSet<&String> = template.resources.keys().collect();
    while !todo.is_empty() {
        let mut waiting = BTreeMap::new();
        let mut progressed = false;
        for id in todo.clone() {
            let Some((kind, raw)) = template.resources.get(id) else {
                continue;
            };
            let scope = Scope {
                params: &params,
                done: &done,
                declared: &template.resources,
            };
            let props = match scope.eval(&applied(*kind, raw)) {
                Ok(props) => props,
                Err(Eval::Waiting(on)) => {
                    waiting.insert(id.clone(), on);
                    continue;
                }
                Err(Eval::Bad(why)) => return Err(ProvisionError::Template(format!("{id}: {why}"))),
            };
            let default_name = format!("{stack}-{id}");
            let created = match kind {
                ResourceKind::Table => aws.table(&props, &default_name, options).await?,
                ResourceKind::Queue => aws.queue(&props, &default_name, options).await?,
                ResourceKind::Topic => aws.topic(&props, &default_name, options).await?,
            };
            tracing::info!(logical_id = %id, name = %created.name, "provisioned");
            done.resources.insert(id.clone(), created);
            todo.remove(id);
            progressed = true;
        }
        if !progressed {
            return Err(ProvisionError::Template(format!(
                "resources wait on each other or on resources this set-up does not create: {waiting:?}"
            )));
        }
    }
    Ok(done)
}

/// Renders a scalar as CloudFormation would pass it to an API (`true`, `3`, text).
fn scalar(value: &Value) -> Result<String, String> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Number(n) => Ok(n.to_string()),
        other => Err(format!("expected a scalar, found {other:?}")),
    }
}

/// Why evaluating an intrinsic stopped.
enum Eval {
    /// It refers to a resource not created yet.
    Waiting(String),
    /// It cannot be evaluated at all.
    Bad(String),
}

struct Scope<'a> {
    params: &'a BTreeMap<String, String>,
    done: &'a Provisioned,
    declared: &'a BTreeMap<String, (ResourceKind, Value)>,
}

impl Scope<'_> {
    fn eval(&self, value: &Value) -> Result<Value, Eval> {
        match value {
            Value::Tagged(tagged) => {
                let tag = tagged.tag.to_string();
                let name = tag.trim_start_matches('!');
                let function = if name == "Ref" {
                    "Ref".to_string()
                } else {
                    format!("Fn::{name}")
                };
                self.intrinsic(&function, &tagged.value)
            }
            Value::Mapping(map) => {
                if map.len() == 1 {
                    if let Some((Value::String(key), arg)) = map.iter().next() {
                        if key == "Ref" || key.starts_with("Fn::") {
                            return self.intrinsic(key, arg);
                        }
                    }
                }
                let mut out = serde_yaml::Mapping::new();
                for (k, v) in map {
                    out.insert(k.clone(), self.eval(v)?);
                }
                Ok(Value::Mapping(out))
            }
            Value::Sequence(items) => items
                .iter()
                .map(|v| self.eval(v))
                .collect::<Result<_, _>>()
                .map(Value::Sequence),
            other => Ok(other.clone()),
        }
    }

    fn text(&self, value: &Value) -> Result<String, Eval> {
        scalar(&self.eval(value)?).map_err(Eval::Bad)
    }

    fn intrinsic(&self, function: &str, arg: &Value) -> Result<Value, Eval> {
        match function {
            "Ref" => self.reference(&self.text(arg)?).map(Value::String),
            "Fn::GetAtt" => {
                let (id, attribute) = match self.eval(arg)? {
                    Value::String(s) => s
                        .split_once('.')
                        .map(|(a, b)| (a.to_string(), b.to_string()))
                        .ok_or_else(|| Eval::Bad(format!("GetAtt {s:?} is not Resource.Attribute")))?,
                    Value::Sequence(parts) if parts.len() == 2 => (
                        scalar(&parts[0]).map_err(Eval::Bad)?,
                        scalar(&parts[1]).map_err(Eval::Bad)?,
                    ),
                    other => return Err(Eval::Bad(format!("GetAtt of {other:?}"))),
                };
                self.attribute(&id, &attribute).map(Value::String)
            }
            "Fn::Sub" => match arg {
                Value::Sequence(parts) if parts.len() == 2 => {
                    let template = scalar(&parts[0]).map_err(Eval::Bad)?;
                    let mut vars = BTreeMap::new();
                    if let Value::Mapping(map) = &parts[1] {
                        for (k, v) in map {
                            vars.insert(scalar(k).map_err(Eval::Bad)?, self.text(v)?);
                        }
                    }
                    self.substitute(&template, &vars).map(Value::String)
                }
                other => self.substitute(&self.text(other)?, &BTreeMap::new()).map(Value::String),
            },
            "Fn::Join" => match self.eval(arg)? {
                Value::Sequence(parts) if parts.len() == 2 => {
                    let separator = scalar(&parts[0]).map_err(Eval::Bad)?;
                    let Value::Sequence(items) = &parts[1] else {
                        return Err(Eval::Bad("Join needs a list".into()));
                    };
                    let items: Vec<String> = items.iter().map(scalar).collect::<Result<_, _>>().map_err(Eval::Bad)?;
                    Ok(Value::String(items.join(&separator)))
                }
                other => Err(Eval::Bad(format!("Join of {other:?}"))),
            },
            other => Err(Eval::Bad(format!("intrinsic {other} is not supported by local set-up"))),
        }
    }

    fn reference(&self, name: &str) -> Result<String, Eval> {
        if let Some(value) = self.params.get(name) {
            return Ok(value.clone());
        }
        if let Some(resource) = self.done.resources.get(name) {
            return Ok(resource.reference());
        }
        if self.declared.contains_key(name) {
            return Err(Eval::Waiting(name.to_string()));
        }
        Err(Eval::Bad(format!(
            "{name} is neither a parameter with a value nor a resource created locally"
        )))
    }

    fn attribute(&self, id: &str, attribute: &str) -> Result<String, Eval> {
        let Some(resource) = self.done.resources.get(id) else {
            return Err(if self.declared.contains_key(id) {
                Eval::Waiting(id.to_string())
            } else {
                Eval::Bad(format!("GetAtt {id}.{attribute}: no such resource created locally"))
            });
        };
        match attribute {
            "Arn" => Ok(resource.arn.clone()),
            "QueueName" | "TopicName" | "TableName" => Ok(resource.name.clone()),
            "QueueUrl" => resource
                .url
                .clone()
                .ok_or_else(|| Eval::Bad(format!("{id} has no URL"))),
            other => Err(Eval::Bad(format!(
                "GetAtt {id}.{other} is not supported by local set-up"
            ))),
        }
    }

    /// `${Name}` and `${Resource.Attribute}` substitution; `${!Literal}` stays `${Literal}`.
    fn substitute(&self, template: &str, vars: &BTreeMap<String, String>) -> Result<String, Eval> {
        let mut out = String::new();
        let mut rest = template;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after
                .find('}')
                .ok_or_else(|| Eval::Bad(format!("unclosed ${{ in Sub {template:?}")))?;
            let name = &after[..end];
            if let Some(literal) = name.strip_prefix('!') {
                out.push_str(&format!("${{{literal}}}"));
            } else if let Some(value) = vars.get(name) {
                out.push_str(value);
            } else if let Some((id, attribute)) = name.split_once('.').filter(|_| !self.params.contains_key(name)) {
                out.push_str(&self.attribute(id, attribute)?);
            } else {
                out.push_str(&self.reference(name)?);
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

struct Clients {
    dynamodb: aws_sdk_dynamodb::Client,
    sqs: aws_sdk_sqs::Client,
    sns: aws_sdk_sns::Client,
}

fn prop<'v>(props: &'v Value, name: &str) -> Option<&'v Value> {
    props.get(name).filter(|v| !v.is_null())
}

fn prop_text(props: &Value, name: &str) -> Result<Option<String>, ProvisionError> {
    prop(props, name)
        .map(|v| scalar(v).map_err(|e| ProvisionError::Template(format!("{name}: {e}"))))
        .transpose()
}

fn required(props: &Value, name: &str) -> Result<String, ProvisionError> {
    prop_text(props, name)?.ok_or_else(|| ProvisionError::Template(format!("missing {name}")))
}

fn prop_list<'v>(props: &'v Value, name: &str) -> &'v [Value] {
    prop(props, name)
        .and_then(Value::as_sequence)
        .map_or(&[], Vec::as_slice)
}

/// API parameters for queue and topic attributes are strings; structured ones (redrive
/// policies) are JSON text.
fn attribute_text(value: &Value) -> Result<String, ProvisionError> {
    match value {
        Value::Mapping(_) | Value::Sequence(_) => {
            serde_json::to_string(value).map_err(|e| ProvisionError::Template(e.to_string()))
        }
        other => scalar(other).map_err(ProvisionError::Template),
    }
}

fn is_true(props: &Value, name: &str) -> bool {
    matches!(prop(props, name), Some(Value::Bool(true))) || prop(props, name).and_then(Value::as_str) == Some("true")
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
    async fn table(
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

    async fn queue(
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

    async fn topic(
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

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str = r#"
Parameters:
  EnvironmentName: {Type: String, Default: dev}
Resources:
  Dlq:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: !Sub "app-${EnvironmentName}-dlq.fifo"
      FifoQueue: true
  Main:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: {"Fn::Sub": ["app-${Env}-${AWS::Region}", {Env: !Ref EnvironmentName}]}
      RedrivePolicy:
        deadLetterTargetArn: !GetAtt Dlq.Arn
        maxReceiveCount: 3
      Literal: !Sub "${!NotAVar}-${Dlq.QueueName}"
      Joined: !Join ["/", [a, !Ref EnvironmentName]]
  Fn:
    Type: AWS::Serverless::Function
"#;

    fn scope_with_dlq(params: &BTreeMap<String, String>, template: &Template) -> Provisioned {
        let _ = (params, template);
        let mut done = Provisioned::default();
        done.resources.insert(
            "Dlq".into(),
            ProvisionedResource {
                kind: ResourceKind::Queue,
                name: "app-dev-dlq.fifo".into(),
                arn: "arn:aws:sqs:us-east-1:1:app-dev-dlq.fifo".into(),
                url: Some("http://q/app-dev-dlq.fifo".into()),
            },
        );
        done
    }

    #[test]
    fn short_and_long_intrinsics_evaluate_and_dependencies_wait() {
        let template = Template::parse(TEMPLATE).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(template.logical_ids(ResourceKind::Queue), vec!["Dlq", "Main"]);
        let params: BTreeMap<String, String> = [
            ("EnvironmentName".to_string(), "dev".to_string()),
            ("AWS::Region".to_string(), "eu-west-1".to_string()),
        ]
        .into();
        let empty = Provisioned::default();
        let scope = Scope {
            params: &params,
            done: &empty,
            declared: &template.resources,
        };
        let main = &template.resources["Main"].1;
        assert!(matches!(scope.eval(main), Err(Eval::Waiting(id)) if id == "Dlq"));

        let done = scope_with_dlq(&params, &template);
        let scope = Scope {
            params: &params,
            done: &done,
            declared: &template.resources,
        };
        let props = scope.eval(main).unwrap_or_else(|_| panic!("evaluates"));
        assert_eq!(
            prop_text(&props, "QueueName").ok().flatten().as_deref(),
            Some("app-dev-eu-west-1")
        );
        assert_eq!(
            prop_text(&props, "Literal").ok().flatten().as_deref(),
            Some("${NotAVar}-app-dev-dlq.fifo")
        );
        assert_eq!(prop_text(&props, "Joined").ok().flatten().as_deref(), Some("a/dev"));
        let redrive = prop(&props, "RedrivePolicy").map(attribute_text);
        assert_eq!(
            redrive.and_then(Result::ok).as_deref(),
            Some(r#"{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:1:app-dev-dlq.fifo","maxReceiveCount":3}"#)
        );
    }

    #[test]
    fn suffixes_go_before_the_fifo_extension() {
        let options = ProvisionOptions {
            prefix: "p-".into(),
            suffix: "-x1".into(),
            ..Default::default()
        };
        assert_eq!(options.physical("invsync-dev-sync.fifo"), "p-invsync-dev-sync-x1.fifo");
        assert_eq!(options.physical("invsync-dev-ledger"), "p-invsync-dev-ledger-x1");
    }

    #[test]
    fn the_project_template_declares_every_store() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(TEMPLATE_PATH);
        let template = Template::load(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            template.logical_ids(ResourceKind::Table),
            vec![
                "IncidentTable",
                "LeaseTable",
                "LedgerTable",
                "LotMapTable",
                "ReviewTaskTable",
                "RunTable"
            ]
        );
        assert_eq!(
            template.logical_ids(ResourceKind::Queue),
            vec!["ScheduledFailureQueue", "SyncDeadLetterQueue", "SyncQueue"]
        );
        assert_eq!(template.logical_ids(ResourceKind::Topic), vec!["AlertTopic"]);
    }
}
