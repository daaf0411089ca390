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
//!
//! Split by what it does: `template` reads the file, `intrinsics` evaluates, `create`
//! makes each resource; this module orders the work and names what was made.

mod create;
mod intrinsics;
mod template;

use aws_config::SdkConfig;
use create::Clients;
use intrinsics::{Eval, Scope};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use template::applied;
use thiserror::Error;

pub use template::{Template, NOT_APPLIED};

/// The template's path relative to the repository root.
pub const TEMPLATE_PATH: &str = "infra/template.yaml";

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
