//! Functions under their own roles, on the IAM-enforcing emulator.
//!
//! `scripts/test.sh` starts a second moto server with IAM enforcement and bootstraps an
//! administrator (`scripts/lib.sh`, `start_iam_emulator`), exporting [`ENDPOINT_VAR`],
//! [`KEY_VAR`] and [`SECRET_VAR`]. Set-up runs as that administrator. A function runs as a
//! [`FunctionSession`]: an IAM role on the emulator whose policy is the function's role policy
//! read from `infra/template.yaml`, actions exactly as written, assumed through STS.
//!
//! Two departures from the template, both forced by the emulator: resources are widened to `*`
//! (moto matches a statement's `Resource` against `*` for DynamoDB and SNS calls, so real ARNs
//! would refuse everything), and where AWS authorizes a batch API under its single action
//! (`SendMessageBatch` under `sqs:SendMessage`) the policy also names the API, which is what
//! moto checks ([`API_ACTIONS`]). The resources are then checked here instead: every call a
//! session made must name a table, queue or topic its statements grant that action on
//! ([`FunctionSession::ungranted_calls`]).

use crate::calls::{Call, RecordCalls};
use anyhow::{anyhow, Context as _};
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::Credentials;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use template_check::roles::{action_matches, role_statements};

/// One statement of a role policy in the template (what [`template_statements`] returns).
pub use template_check::roles::RoleStatement;

/// The IAM-enforcing emulator's endpoint.
pub const ENDPOINT_VAR: &str = "INVSYNC_IAM_ENDPOINT_URL";
/// Its administrator's access key id.
pub const KEY_VAR: &str = "INVSYNC_IAM_ADMIN_ACCESS_KEY_ID";
/// Its administrator's secret key.
pub const SECRET_VAR: &str = "INVSYNC_IAM_ADMIN_SECRET_ACCESS_KEY";

/// API names moto checks where AWS checks another IAM action: `(API, IAM action)`.
/// Why: AWS authorizes SQS batch calls as their single action
/// (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-api-permissions-reference.html);
/// moto 5.2 checks `sqs:SendMessageBatch` itself.
pub const API_ACTIONS: &[(&str, &str)] = &[
    ("sqs:SendMessageBatch", "sqs:SendMessage"),
    ("sqs:DeleteMessageBatch", "sqs:DeleteMessage"),
    ("sqs:ChangeMessageVisibilityBatch", "sqs:ChangeMessageVisibility"),
];

/// The IAM action that authorizes API call `api` (`service:Action`).
pub fn iam_action(api: &str) -> String {
    API_ACTIONS
        .iter()
        .find(|(a, _)| a.eq_ignore_ascii_case(api))
        .map_or_else(|| api.to_string(), |(_, iam)| iam.to_string())
}

/// The IAM-enforcing emulator and its administrator, from the environment.
#[derive(Debug, Clone)]
pub struct IamEndpoint {
    url: String,
    key: String,
    secret: String,
}

impl IamEndpoint {
    /// From [`ENDPOINT_VAR`], [`KEY_VAR`] and [`SECRET_VAR`]; fails loudly when unset.
    pub fn from_env() -> anyhow::Result<Self> {
        let var = |name: &str| {
            std::env::var(name)
                .ok()
                .filter(|v| !v.trim().is_empty())
                .ok_or_else(|| {
                    anyhow!(
                    "{name} is not set: run the tests with scripts/test.sh, which starts an IAM-enforcing moto server \
                     and bootstraps its administrator (scripts/lib.sh, start_iam_emulator)"
                )
                })
        };
        Ok(Self {
            url: var(ENDPOINT_VAR)?,
            key: var(KEY_VAR)?,
            secret: var(SECRET_VAR)?,
        })
    }

    /// The administrator's SDK configuration on the endpoint, through `http`.
    pub async fn admin_sdk(&self, http: RecordCalls) -> SdkConfig {
        let region = std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".into());
        aws_config::defaults(BehaviorVersion::latest())
            .endpoint_url(&self.url)
            .region(Region::new(region))
            .credentials_provider(Credentials::new(&self.key, &self.secret, None, None, "invsync-admin"))
            .http_client(http)
            .load()
            .await
    }
}

/// A function's role statements as `infra/template.yaml` writes them: `(role id, statements)`.
pub fn template_statements(template: &Path, function: &str) -> anyhow::Result<(String, Vec<RoleStatement>)> {
    let text = std::fs::read_to_string(template).with_context(|| format!("read {}", template.display()))?;
    let yaml: serde_yaml::Value = serde_yaml::from_str(&text)?;
    role_statements(&yaml, function).map_err(|e| anyhow!("{e}"))
}

/// The emulator policy of `statements`: actions as written plus the API names moto checks for
/// them, every resource `*`. A statement left without actions (a test removed them) is left
/// out, as IAM refuses it.
pub fn emulator_policy(statements: &[RoleStatement]) -> serde_json::Value {
    let statements: Vec<serde_json::Value> = statements
        .iter()
        .filter(|s| !s.actions.is_empty())
        .map(|s| {
            let mut actions = s.actions.clone();
            for (api, iam) in API_ACTIONS {
                if s.actions.iter().any(|a| action_matches(a, iam)) {
                    actions.push((*api).to_string());
                }
            }
            serde_json::json!({"Effect": s.effect, "Action": actions, "Resource": "*"})
        })
        .collect();
    serde_json::json!({"Version": "2012-10-17", "Statement": statements})
}

/// A function running under its role.
#[derive(Debug, Clone)]
pub struct FunctionSession {
    /// The function binary.
    pub function: String,
    /// The role's logical id in the template.
    pub role: String,
    /// The statements the session's policy was made from.
    pub statements: Vec<RoleStatement>,
    /// SDK configuration with the session's credentials (same HTTP client as the set-up).
    pub sdk: SdkConfig,
    /// The session's access key id, which its recorded calls carry.
    pub access_key: String,
}

impl FunctionSession {
    /// Creates role `<function><suffix>` on the emulator with the policy of `statements`, trusted
    /// by the administrator `admin` signs as, and assumes it.
    pub async fn start(
        admin: &SdkConfig,
        function: &str,
        role: &str,
        statements: Vec<RoleStatement>,
        suffix: &str,
    ) -> anyhow::Result<Self> {
        let caller = aws_sdk_sts::Client::new(admin)
            .get_caller_identity()
            .send()
            .await
            .context("GetCallerIdentity of the administrator")?;
        let admin_arn = caller.arn().ok_or_else(|| anyhow!("no caller ARN"))?;
        let trust = serde_json::json!({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"AWS": admin_arn}, "Action": "sts:AssumeRole"}],
        });
        let name = format!("{function}{suffix}");
        let iam = aws_sdk_iam::Client::new(admin);
        let created = iam
            .create_role()
            .role_name(&name)
            .assume_role_policy_document(trust.to_string())
            .send()
            .await
            .with_context(|| format!("CreateRole {name}"))?;
        let arn = created
            .role()
            .map(|r| r.arn().to_string())
            .ok_or_else(|| anyhow!("no role ARN"))?;
        iam.put_role_policy()
            .role_name(&name)
            .policy_name(role)
            .policy_document(emulator_policy(&statements).to_string())
            .send()
            .await
            .with_context(|| format!("PutRolePolicy {name}"))?;
        let assumed = aws_sdk_sts::Client::new(admin)
            .assume_role()
            .role_arn(&arn)
            .role_session_name(function)
            .send()
            .await
            .with_context(|| format!("AssumeRole {name}"))?;
        let c = assumed
            .credentials()
            .ok_or_else(|| anyhow!("AssumeRole gave no credentials"))?;
        let access_key = c.access_key_id().to_string();
        let credentials = Credentials::new(
            &access_key,
            c.secret_access_key(),
            Some(c.session_token().to_string()),
            None,
            "function-role",
        );
        Ok(Self {
            function: function.to_string(),
            role: role.to_string(),
            statements,
            sdk: admin
                .to_builder()
                .credentials_provider(SharedCredentialsProvider::new(credentials))
                .build(),
            access_key,
        })
    }

    /// The calls of `all` this session made.
    pub fn calls(&self, all: &[Call]) -> Vec<Call> {
        all.iter()
            .filter(|c| c.access_key == self.access_key)
            .cloned()
            .collect()
    }

    /// Actions the emulator refused this session, each once, in order.
    pub fn denied(&self, all: &[Call]) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for action in self.calls(all).into_iter().filter_map(|c| c.denied) {
            if !out.contains(&action) {
                out.push(action);
            }
        }
        out
    }

    /// `(resource key, IAM action)` of every call this session made, resources named by their
    /// logical ids through `logical` (physical name or ARN -> logical id).
    pub fn exercised(&self, all: &[Call], logical: &BTreeMap<String, String>) -> BTreeSet<(String, String)> {
        self.calls(all)
            .iter()
            .map(|c| (resource_key(c, logical), iam_action(&c.api())))
            .collect()
    }

    /// Calls this session made on a resource its statements do not grant that action on, as
    /// `action on resource`: what moto lets through because it does not check resources.
    pub fn ungranted_calls(&self, all: &[Call], logical: &BTreeMap<String, String>) -> Vec<String> {
        let granted = |key: &str, action: &str| {
            let allows = |effect: &str| {
                self.statements.iter().any(|s| {
                    s.effect == effect
                        && (s.resources.contains(key) || s.resources.contains("*"))
                        && s.actions.iter().any(|a| action_matches(a, action))
                })
            };
            allows("Allow") && !allows("Deny")
        };
        self.exercised(all, logical)
            .into_iter()
            .filter(|(key, action)| !granted(key, action))
            .map(|(key, action)| format!("{action} on {key}"))
            .collect()
    }

    /// What this session needed beyond its role, naming every refused action and every call
    /// on a resource the role does not name; `None` when it only did what the role allows.
    pub fn beyond_role(&self, all: &[Call], logical: &BTreeMap<String, String>) -> Option<String> {
        let denied = self.denied(all);
        let ungranted = self.ungranted_calls(all, logical);
        (!denied.is_empty() || !ungranted.is_empty()).then(|| {
            format!(
                "{} ran under {} and needed what the role does not grant:\n  refused by IAM: {denied:?}\n  \
                 on resources the role does not name: {ungranted:?}",
                self.function, self.role
            )
        })
    }

    /// Panics with [`FunctionSession::beyond_role`] unless this session only did what its role
    /// allows.
    pub fn assert_only_granted(&self, all: &[Call], logical: &BTreeMap<String, String>) {
        if let Some(message) = self.beyond_role(all, logical) {
            panic!("{message}");
        }
    }
}

/// Physical names and ARNs of `provisioned` resources -> their logical ids.
pub fn logical_ids(provisioned: &crate::provision::Provisioned) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (id, r) in &provisioned.resources {
        out.insert(r.name.clone(), id.clone());
        out.insert(r.arn.clone(), id.clone());
    }
    out
}

/// The resource key of a call: the logical id of its table, queue or topic, `<id>/index` for a
/// DynamoDB call on an index, or the name itself when it is not one of the template's.
fn resource_key(call: &Call, logical: &BTreeMap<String, String>) -> String {
    let Some(name) = &call.resource else {
        return "*".to_string();
    };
    let id = logical.get(name).cloned().unwrap_or_else(|| name.clone());
    match call.index {
        Some(_) => format!("{id}/index"),
        None => id,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn statement(actions: &[&str], resources: &[&str]) -> RoleStatement {
        RoleStatement {
            sid: "S".into(),
            effect: "Allow".into(),
            actions: actions.iter().map(|a| a.to_string()).collect(),
            resources: resources.iter().map(|r| r.to_string()).collect(),
        }
    }

    #[test]
    fn the_emulator_policy_keeps_the_actions_and_adds_only_batch_api_names() {
        let policy = emulator_policy(&[
            statement(&["sqs:SendMessage"], &["SyncQueue"]),
            statement(&["dynamodb:GetItem", "dynamodb:PutItem"], &["LedgerTable"]),
        ]);
        assert_eq!(
            policy["Statement"][0]["Action"],
            serde_json::json!(["sqs:SendMessage", "sqs:SendMessageBatch"])
        );
        assert_eq!(
            policy["Statement"][1]["Action"],
            serde_json::json!(["dynamodb:GetItem", "dynamodb:PutItem"])
        );
        assert_eq!(policy["Statement"][1]["Resource"], "*");
        assert_eq!(iam_action("sqs:SendMessageBatch"), "sqs:SendMessage");
        assert_eq!(iam_action("dynamodb:Query"), "dynamodb:Query");
    }

    #[test]
    fn calls_on_resources_the_role_does_not_name_are_found() {
        let session_statements = vec![
            statement(&["dynamodb:PutItem", "dynamodb:UpdateItem"], &["IncidentTable"]),
            statement(&["dynamodb:Query"], &["ReviewTaskTable"]),
        ];
        let call = |action: &str, table: &str| Call {
            access_key: "ASIA1".into(),
            service: "dynamodb".into(),
            action: action.into(),
            resource: Some(table.into()),
            index: None,
            status: 200,
            denied: None,
            error: None,
        };
        let all = vec![
            call("Query", "invsync-dev-incidents-x"),
            call("PutItem", "invsync-dev-incidents-x"),
            call("Query", "invsync-dev-review-tasks-x"),
        ];
        let logical = [
            ("invsync-dev-incidents-x".to_string(), "IncidentTable".to_string()),
            ("invsync-dev-review-tasks-x".to_string(), "ReviewTaskTable".to_string()),
        ]
        .into();
        let session = FunctionSession {
            function: "reconcile-stock".into(),
            role: "ReconcileStockRole".into(),
            statements: session_statements,
            sdk: SdkConfig::builder().build(),
            access_key: "ASIA1".into(),
        };
        assert_eq!(
            session.ungranted_calls(&all, &logical),
            vec!["dynamodb:Query on IncidentTable".to_string()]
        );
    }
}
