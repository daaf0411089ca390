//! Hardening rules of issue 11: data survives the stack, the alert topic is encrypted with a key
//! its publishers can use, scheduled runs do not overlap and their failures are kept, and every
//! function is traced. Each rule is a public function, so the tests can name what they check.

use crate::roles::{action_matches, text, topic_key};
use crate::{as_list, as_u64, binary, events, globals_function, of_type, props, references, strings};
use serde_yaml::Value;
use std::collections::{BTreeMap, BTreeSet};

/// Function binaries whose runs must never overlap. reconcile-stock: Lambda's retry of a failed
/// run must not overlap the next scheduled run. Scheduled directly, that takes
/// ReservedConcurrentExecutions 1; fed by a FIFO queue (one DC per message, MessageGroupId =
/// DC), the queue already hands a DC to one invocation at a time while DCs run in parallel.
pub const SINGLE_INSTANCE: &[&str] = &["reconcile-stock"];

/// Resource types whose data must outlive the stack.
const KEPT: &[&str] = &["AWS::DynamoDB::Table", "AWS::SecretsManager::Secret"];

/// Every hardening rule; the prod-only ones when `prod` (the prod parameter values) is given.
pub fn check(template: &Value, prod: Option<&BTreeMap<String, String>>) -> Vec<String> {
    let mut out = Vec::new();
    out.extend(retained(template));
    out.extend(point_in_time_recovery(template));
    if let Some(prod) = prod {
        out.extend(deletion_protection(template, prod));
    }
    out.extend(encrypted_topics(template));
    out.extend(encrypted_queues(template));
    out.extend(single_instance(template));
    out.extend(failure_destinations(template));
    out.extend(tracing(template));
    out
}

/// Tables and secrets are kept when the stack is deleted or the resource replaced.
pub fn retained(template: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for kind in KEPT {
        for (id, r) in of_type(template, kind) {
            for policy in ["DeletionPolicy", "UpdateReplacePolicy"] {
                if r.get(policy).and_then(Value::as_str) != Some("Retain") {
                    out.push(format!(
                        "{id}: {policy} is not Retain; its data would go with the stack"
                    ));
                }
            }
        }
    }
    out
}

fn is_true(value: Option<&Value>) -> bool {
    matches!(value, Some(Value::Bool(true))) || value.and_then(Value::as_str) == Some("true")
}

/// Every table has point-in-time recovery.
pub fn point_in_time_recovery(template: &Value) -> Vec<String> {
    of_type(template, "AWS::DynamoDB::Table")
        .into_iter()
        .filter(|(_, t)| {
            !is_true(
                props(t)
                    .get("PointInTimeRecoverySpecification")
                    .and_then(|p| p.get("PointInTimeRecoveryEnabled")),
            )
        })
        .map(|(id, _)| format!("{id}: no point-in-time recovery"))
        .collect()
}

/// An intrinsic function call: its name without `Fn::` and its argument.
fn intrinsic(value: &Value) -> Option<(String, &Value)> {
    match value {
        Value::Tagged(t) => Some((t.tag.to_string().trim_start_matches('!').to_string(), &t.value)),
        Value::Mapping(m) if m.len() == 1 => m.iter().next().and_then(|(k, v)| {
            let k = k.as_str()?;
            (k == "Ref" || k == "Condition" || k.starts_with("Fn::"))
                .then(|| (k.trim_start_matches("Fn::").to_string(), v))
        }),
        _ => None,
    }
}

/// Evaluates conditions and `Fn::If` with given parameter values (others take their Default).
struct Evaluator<'a> {
    template: &'a Value,
    params: BTreeMap<String, String>,
}

impl<'a> Evaluator<'a> {
    fn new(template: &'a Value, given: &BTreeMap<String, String>) -> Self {
        let mut params: BTreeMap<String, String> = match template.get("Parameters") {
            Some(Value::Mapping(m)) => m
                .iter()
                .filter_map(|(k, v)| Some((k.as_str()?.to_string(), scalar(v.get("Default")?)?)))
                .collect(),
            _ => BTreeMap::new(),
        };
        params.extend(given.clone());
        Self { template, params }
    }

    fn value(&self, v: &Value) -> Option<String> {
        match intrinsic(v) {
            Some((name, arg)) if name == "Ref" => self.params.get(arg.as_str()?).cloned(),
            Some(_) => None,
            None => scalar(v),
        }
    }

    fn condition(&self, name: &str) -> Option<bool> {
        self.expression(self.template.get("Conditions")?.get(name)?)
    }

    fn expression(&self, v: &Value) -> Option<bool> {
        let (name, arg) = intrinsic(v)?;
        let args = arg.as_sequence();
        match name.as_str() {
            "Equals" => Some(self.value(args?.first()?)? == self.value(args?.get(1)?)?),
            "Not" => self.expression(args?.first()?).map(|b| !b),
            "And" => args?
                .iter()
                .map(|a| self.expression(a))
                .collect::<Option<Vec<_>>>()
                .map(|v| v.iter().all(|b| *b)),
            "Or" => args?
                .iter()
                .map(|a| self.expression(a))
                .collect::<Option<Vec<_>>>()
                .map(|v| v.iter().any(|b| *b)),
            "Condition" => self.condition(arg.as_str()?),
            _ => None,
        }
    }

    /// A boolean property: a literal or an `Fn::If` on a condition.
    fn boolean(&self, v: &Value) -> Option<bool> {
        match intrinsic(v) {
            Some((name, arg)) if name == "If" => {
                let parts = arg.as_sequence()?;
                let pick = if self.condition(parts.first()?.as_str()?)? {
                    1
                } else {
                    2
                };
                self.boolean(parts.get(pick)?)
            }
            Some(_) => None,
            None => scalar(v).map(|s| s == "true"),
        }
    }
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// With the prod parameter values, every table has deletion protection.
pub fn deletion_protection(template: &Value, prod: &BTreeMap<String, String>) -> Vec<String> {
    let eval = Evaluator::new(template, prod);
    of_type(template, "AWS::DynamoDB::Table")
        .into_iter()
        .filter(|(_, t)| props(t).get("DeletionProtectionEnabled").and_then(|v| eval.boolean(v)) != Some(true))
        .map(|(id, _)| format!("{id}: no deletion protection in the prod configuration"))
        .collect()
}

/// Whether some statement of `policy` allows `principal` (checked by `is_principal`) both
/// publishing actions on the key.
fn allows_publishing(policy: Option<&Value>, is_principal: impl Fn(&Value) -> bool) -> bool {
    as_list(policy.and_then(|p| p.get("Statement"))).into_iter().any(|s| {
        let actions = strings(s.get("Action"));
        s.get("Effect").and_then(Value::as_str) == Some("Allow")
            && s.get("Principal").is_some_and(&is_principal)
            && ["kms:GenerateDataKey", "kms:Decrypt"]
                .iter()
                .all(|needed| actions.iter().any(|a| action_matches(a, needed)))
    })
}

/// Every topic is encrypted with a rotated customer key of this template whose policy lets the
/// account's IAM policies grant its use (the functions' roles) and, when alarms notify the
/// topic, lets CloudWatch use it.
pub fn encrypted_topics(template: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let keys: BTreeMap<String, &Value> = of_type(template, "AWS::KMS::Key").into_iter().collect();
    for (topic, _) in of_type(template, "AWS::SNS::Topic") {
        let Some(key) = topic_key(template, &topic).and_then(|k| keys.get(&k).map(|v| (k, *v))) else {
            out.push(format!(
                "{topic}: not encrypted with a customer key of this template (KmsMasterKeyId)"
            ));
            continue;
        };
        let (key_id, key) = key;
        if !is_true(props(key).get("EnableKeyRotation")) {
            out.push(format!("{key_id}: key rotation is off"));
        }
        let policy = props(key).get("KeyPolicy");
        let account = |p: &Value| {
            as_list(p.get("AWS"))
                .into_iter()
                .any(|a| text(a).is_some_and(|t| t.ends_with(":root")))
        };
        if !allows_publishing(policy, account) {
            out.push(format!(
                "{key_id}: the key policy does not let the account's IAM policies grant kms:GenerateDataKey* and kms:Decrypt, so the functions cannot publish to {topic}"
            ));
        }
        let alarmed = of_type(template, "AWS::CloudWatch::Alarm").into_iter().any(|(_, a)| {
            ["AlarmActions", "OKActions", "InsufficientDataActions"]
                .iter()
                .any(|k| props(a).get(*k).map(references).unwrap_or_default().contains(&topic))
        });
        let cloudwatch = |p: &Value| {
            strings(p.get("Service"))
                .iter()
                .any(|s| s == "cloudwatch.amazonaws.com")
        };
        if alarmed && !allows_publishing(policy, cloudwatch) {
            out.push(format!(
                "{key_id}: alarms notify {topic}, but the key policy does not let cloudwatch.amazonaws.com use the key"
            ));
        }
    }
    out
}

/// Every queue is encrypted at rest: SQS-managed SSE or a KMS key.
pub fn encrypted_queues(template: &Value) -> Vec<String> {
    of_type(template, "AWS::SQS::Queue")
        .into_iter()
        .filter(|(_, q)| !is_true(props(q).get("SqsManagedSseEnabled")) && props(q).get("KmsMasterKeyId").is_none())
        .map(|(id, _)| format!("{id}: not encrypted at rest (SqsManagedSseEnabled or KmsMasterKeyId)"))
        .collect()
}

/// The functions in [`SINGLE_INSTANCE`] have a reserved concurrency of 1 when a schedule
/// invokes them, and every queue that feeds them is FIFO.
pub fn single_instance(template: &Value) -> Vec<String> {
    let queues: BTreeMap<String, &Value> = of_type(template, "AWS::SQS::Queue").into_iter().collect();
    let mut out = Vec::new();
    for (id, f) in of_type(template, "AWS::Serverless::Function") {
        if !SINGLE_INSTANCE.contains(&binary(&id, f).as_str()) {
            continue;
        }
        let kinds: Vec<(String, &Value)> = events(f);
        let scheduled = kinds
            .iter()
            .any(|(_, e)| matches!(e.get("Type").and_then(Value::as_str), Some("Schedule" | "ScheduleV2")));
        if scheduled && as_u64(props(f).get("ReservedConcurrentExecutions")) != Some(1) {
            out.push(format!(
                "{id}: ReservedConcurrentExecutions must be 1, so a retry never overlaps the next run"
            ));
        }
        for (name, e) in &kinds {
            if e.get("Type").and_then(Value::as_str) != Some("SQS") {
                continue;
            }
            let fifo = props(e)
                .get("Queue")
                .map(references)
                .unwrap_or_default()
                .iter()
                .filter_map(|q| queues.get(q))
                .any(|q| is_true(props(q).get("FifoQueue")));
            if !fifo {
                out.push(format!(
                    "{id}.Events.{name}: its queue must be FIFO (MessageGroupId = DC), so two runs of a DC never overlap"
                ));
            }
        }
    }
    out
}

/// Where a function's failed asynchronous events go: `EventInvokeConfig` OnFailure, or a
/// `DeadLetterQueue`.
fn failure_targets(function: &Value) -> BTreeSet<String> {
    let p = props(function);
    let on_failure = p
        .get("EventInvokeConfig")
        .and_then(|c| c.get("DestinationConfig"))
        .and_then(|d| d.get("OnFailure"))
        .and_then(|o| o.get("Destination"));
    let dlq = p.get("DeadLetterQueue").and_then(|d| d.get("TargetArn"));
    on_failure.into_iter().chain(dlq).flat_map(references).collect()
}

/// Queues that receive what failed: redrive targets and function failure destinations.
pub fn failure_queues(template: &Value) -> BTreeSet<String> {
    let queues: BTreeSet<String> = of_type(template, "AWS::SQS::Queue")
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    let redrive = of_type(template, "AWS::SQS::Queue")
        .into_iter()
        .filter_map(|(_, q)| props(q).get("RedrivePolicy").and_then(|r| r.get("deadLetterTargetArn")))
        .flat_map(references);
    let destinations = of_type(template, "AWS::Serverless::Function")
        .into_iter()
        .flat_map(|(_, f)| failure_targets(f));
    redrive.chain(destinations).filter(|q| queues.contains(q)).collect()
}

/// Every scheduled function has a failure destination, and every queue of failures has an
/// alarm (on any metric of that queue).
pub fn failure_destinations(template: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for (id, f) in of_type(template, "AWS::Serverless::Function") {
        let scheduled = events(f)
            .iter()
            .any(|(_, e)| matches!(e.get("Type").and_then(Value::as_str), Some("Schedule" | "ScheduleV2")));
        if scheduled && failure_targets(f).is_empty() {
            out.push(format!(
                "{id}: scheduled, but no failure destination (EventInvokeConfig OnFailure or DeadLetterQueue)"
            ));
        }
    }
    let watched: BTreeSet<String> = of_type(template, "AWS::CloudWatch::Alarm")
        .into_iter()
        .flat_map(|(_, a)| {
            as_list(props(a).get("Dimensions"))
                .into_iter()
                .filter_map(|d| d.get("Value"))
                .flat_map(references)
                .collect::<Vec<_>>()
        })
        .collect();
    for queue in failure_queues(template).difference(&watched) {
        out.push(format!("{queue}: receives failures, but no alarm watches it"));
    }
    out
}

/// Every function has active X-Ray tracing (its own `Tracing` or `Globals`).
pub fn tracing(template: &Value) -> Vec<String> {
    let global = globals_function(template).and_then(|g| g.get("Tracing"));
    of_type(template, "AWS::Serverless::Function")
        .into_iter()
        .filter(|(_, f)| props(f).get("Tracing").or(global).and_then(Value::as_str) != Some("Active"))
        .map(|(id, _)| format!("{id}: Tracing is not Active"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const BAD: &str = r#"
Parameters:
  EnvironmentName: {Type: String, Default: dev}
Conditions:
  IsProd: !Equals [!Ref EnvironmentName, prod]
  IsDev: !Not [!Condition IsProd]
Resources:
  Kept:
    Type: AWS::DynamoDB::Table
    DeletionPolicy: Retain
    UpdateReplacePolicy: Retain
    Properties:
      DeletionProtectionEnabled: !If [IsProd, true, false]
      PointInTimeRecoverySpecification: {PointInTimeRecoveryEnabled: true}
  Lost:
    Type: AWS::DynamoDB::Table
    DeletionPolicy: Delete
    Properties:
      DeletionProtectionEnabled: !If [IsDev, true, false]
  Secret: {Type: AWS::SecretsManager::Secret}
  Key:
    Type: AWS::KMS::Key
    Properties:
      KeyPolicy:
        Statement:
          - Effect: Allow
            Principal: {AWS: !Sub "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}
            Action: kms:Decrypt
            Resource: "*"
  Topic:
    Type: AWS::SNS::Topic
    Properties: {KmsMasterKeyId: !Ref Key}
  Plain: {Type: AWS::SNS::Topic}
  Dlq: {Type: AWS::SQS::Queue}
  Alarm:
    Type: AWS::CloudWatch::Alarm
    Properties: {AlarmActions: [!Ref Topic]}
  Reconcile:
    Type: AWS::Serverless::Function
    Metadata: {BuildProperties: {Binary: reconcile-stock}}
    Properties:
      DeadLetterQueue: {Type: SQS, TargetArn: !GetAtt Dlq.Arn}
      Events:
        Every15Minutes: {Type: Schedule, Properties: {Schedule: rate(15 minutes)}}
  Fanout:
    Type: AWS::Serverless::Function
    Properties:
      Tracing: Active
      Events:
        Hourly: {Type: Schedule, Properties: {Schedule: rate(1 hour)}}
  Unordered: {Type: AWS::SQS::Queue, Properties: {SqsManagedSseEnabled: true}}
  Ordered: {Type: AWS::SQS::Queue, Properties: {FifoQueue: true, SqsManagedSseEnabled: true}}
  PerDc:
    Type: AWS::Serverless::Function
    Metadata: {BuildProperties: {Binary: reconcile-stock}}
    Properties:
      Tracing: Active
      Events:
        Requests: {Type: SQS, Properties: {Queue: !GetAtt Unordered.Arn}}
        Ordered: {Type: SQS, Properties: {Queue: !GetAtt Ordered.Arn}}
"#;

    #[test]
    fn every_hardening_rule_reports_what_it_finds() {
        let t: Value = serde_yaml::from_str(BAD).unwrap_or_else(|e| panic!("{e}"));
        let prod = [("EnvironmentName".to_string(), "prod".to_string())].into();
        let found = check(&t, Some(&prod)).join("\n");
        for expected in [
            "Lost: DeletionPolicy is not Retain",
            "Lost: UpdateReplacePolicy is not Retain",
            "Secret: DeletionPolicy is not Retain",
            "Lost: no point-in-time recovery",
            "Lost: no deletion protection in the prod configuration",
            "Plain: not encrypted with a customer key",
            "Key: key rotation is off",
            "Key: the key policy does not let the account's IAM policies grant",
            "Key: alarms notify Topic, but the key policy does not let cloudwatch.amazonaws.com use the key",
            "Reconcile: ReservedConcurrentExecutions must be 1",
            "PerDc.Events.Requests: its queue must be FIFO",
            "Fanout: scheduled, but no failure destination",
            "Dlq: receives failures, but no alarm watches it",
            "Dlq: not encrypted at rest",
            "Reconcile: Tracing is not Active",
        ] {
            assert!(found.contains(expected), "missing {expected:?} in:\n{found}");
        }
        for fine in [
            "Kept:",
            "Fanout: Tracing",
            "Reconcile: scheduled",
            "PerDc: ReservedConcurrentExecutions",
            "PerDc.Events.Ordered",
        ] {
            assert!(!found.contains(fine), "{fine:?} reported in:\n{found}");
        }
        let dev = check(&t, None).join("\n");
        assert!(
            !dev.contains("deletion protection"),
            "prod-only rule ran without prod values"
        );
    }
}
