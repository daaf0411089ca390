//! The template as local set-up reads it: parameter defaults, the resources of the kinds it
//! creates, what it leaves out ([`NOT_APPLIED`]) and the accessors for their YAML properties.

use super::{ProvisionError, ResourceKind};
use serde_yaml::Value;
use std::collections::BTreeMap;
use std::path::Path;

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
pub(super) fn applied(kind: ResourceKind, properties: &Value) -> Value {
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

/// A parsed template: parameter defaults and the resources of the kinds
/// [`provision`](super::provision()) creates.
#[derive(Debug, Clone)]
pub struct Template {
    pub(super) defaults: BTreeMap<String, String>,
    pub(super) resources: BTreeMap<String, (ResourceKind, Value)>,
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

/// Renders a scalar as CloudFormation would pass it to an API (`true`, `3`, text).
pub(super) fn scalar(value: &Value) -> Result<String, String> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Number(n) => Ok(n.to_string()),
        other => Err(format!("expected a scalar, found {other:?}")),
    }
}

pub(super) fn prop<'v>(props: &'v Value, name: &str) -> Option<&'v Value> {
    props.get(name).filter(|v| !v.is_null())
}

pub(super) fn prop_text(props: &Value, name: &str) -> Result<Option<String>, ProvisionError> {
    prop(props, name)
        .map(|v| scalar(v).map_err(|e| ProvisionError::Template(format!("{name}: {e}"))))
        .transpose()
}

pub(super) fn required(props: &Value, name: &str) -> Result<String, ProvisionError> {
    prop_text(props, name)?.ok_or_else(|| ProvisionError::Template(format!("missing {name}")))
}

pub(super) fn prop_list<'v>(props: &'v Value, name: &str) -> &'v [Value] {
    prop(props, name)
        .and_then(Value::as_sequence)
        .map_or(&[], Vec::as_slice)
}

/// API parameters for queue and topic attributes are strings; structured ones (redrive
/// policies) are JSON text.
pub(super) fn attribute_text(value: &Value) -> Result<String, ProvisionError> {
    match value {
        Value::Mapping(_) | Value::Sequence(_) => {
            serde_json::to_string(value).map_err(|e| ProvisionError::Template(e.to_string()))
        }
        other => scalar(other).map_err(ProvisionError::Template),
    }
}

pub(super) fn is_true(props: &Value, name: &str) -> bool {
    matches!(prop(props, name), Some(Value::Bool(true))) || prop(props, name).and_then(Value::as_str) == Some("true")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provision::TEMPLATE_PATH;

    #[test]
    fn the_project_template_declares_every_store() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(TEMPLATE_PATH);
        let template = Template::load(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            template.logical_ids(ResourceKind::Table),
            vec![
                "AuditTable",
                "BaselineTable",
                "DcStatusTable",
                "IncidentTable",
                "ItemCacheTable",
                "LeaseTable",
                "LedgerTable",
                "LotMapTable",
                "ReviewTaskTable",
                "RunTable"
            ]
        );
        assert_eq!(
            template.logical_ids(ResourceKind::Queue),
            vec![
                "BaselineDeadLetterQueue",
                "BaselineQueue",
                "ReconcileDeadLetterQueue",
                "ReconcileQueue",
                "ScheduledFailureQueue",
                "SyncDeadLetterQueue",
                "SyncQueue"
            ]
        );
        assert_eq!(template.logical_ids(ResourceKind::Topic), vec!["AlertTopic"]);
    }
}
