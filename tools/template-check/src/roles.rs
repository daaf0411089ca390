//! Each function's role against what the function needs, exactly.
//!
//! What a function needs is what its code declares (the adapters' `PERMISSIONS`, wired per
//! function in `app::permissions`, passed in as [`crate::Sources::function_uses`]) plus
//! what Lambda does with the role, derived from the template ([`platform_needs`]): write its own
//! log group, send X-Ray traces when tracing is active, poll its SQS event sources, deliver to
//! its failure destination, and use the key of an encrypted topic it publishes to. The role must
//! grant every one of those and nothing else.
//!
//! Resources are compared by logical id (`<table id>/index` for a table's secondary indexes,
//! `*` for a literal `"*"`); actions case-insensitively, with IAM's `*` wildcard in granted
//! actions. [`role_statements`] gives the role's statements as written, which the IAM-enforced
//! tests turn into the policy of the principal a function runs under.

use crate::{as_list, binary, events, globals_function, of_type, props, references, resources, strings};
use serde_yaml::Value;
use std::collections::{BTreeMap, BTreeSet};

/// One need: an action on a resource, and who needs it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Need {
    /// Logical id, `<table id>/index`, or `*`.
    pub resource: String,
    /// IAM action.
    pub action: String,
    /// Why (`the code`, `its log group`, ...), for messages.
    pub why: &'static str,
}

/// A statement of a role as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleStatement {
    /// `Sid`, or `(no Sid)`.
    pub sid: String,
    /// `Allow` or `Deny`.
    pub effect: String,
    /// Actions as written.
    pub actions: Vec<String>,
    /// Resource keys (logical ids, `<id>/index`, `*`, or literal ARNs).
    pub resources: BTreeSet<String>,
}

/// IAM's action matching: case-insensitive, `*` matches any run of characters.
pub fn action_matches(pattern: &str, action: &str) -> bool {
    fn go(p: &[u8], a: &[u8]) -> bool {
        match (p.first(), a.first()) {
            (None, None) => true,
            (Some(b'*'), _) => go(&p[1..], a) || (!a.is_empty() && go(p, &a[1..])),
            (Some(x), Some(y)) if x.eq_ignore_ascii_case(y) => go(&p[1..], &a[1..]),
            _ => false,
        }
    }
    go(pattern.as_bytes(), action.as_bytes())
}

/// The text of a `!Sub` (short or long form) or a plain string.
pub(crate) fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Tagged(t) => match &t.value {
            Value::String(s) => Some(s.clone()),
            Value::Sequence(parts) => parts.first().and_then(Value::as_str).map(str::to_string),
            _ => None,
        },
        Value::Mapping(m) => m.get("Fn::Sub").and_then(text),
        _ => None,
    }
}

/// The keys a statement's `Resource` names.
fn resource_keys(template: &Value, resource: Option<&Value>) -> BTreeSet<String> {
    let declared: BTreeSet<String> = resources(template).into_iter().map(|(id, _)| id).collect();
    let mut out = BTreeSet::new();
    for r in as_list(resource) {
        if r.as_str() == Some("*") {
            out.insert("*".to_string());
            continue;
        }
        let index = text(r).is_some_and(|t| t.contains("/index/"));
        let ids: Vec<String> = references(r).into_iter().filter(|id| declared.contains(id)).collect();
        if ids.is_empty() {
            out.extend(text(r));
        }
        for id in ids {
            out.insert(if index { format!("{id}/index") } else { id });
        }
    }
    out
}

/// The function resource whose binary is `function`.
fn function<'a>(template: &'a Value, function: &str) -> Option<(String, &'a Value)> {
    of_type(template, "AWS::Serverless::Function")
        .into_iter()
        .find(|(id, f)| binary(id, f) == function)
}

/// The logical id of the `AWS::IAM::Role` a function runs under (`Role: !GetAtt X.Arn`).
fn role_of(template: &Value, function: &Value) -> Option<String> {
    let roles: BTreeSet<String> = of_type(template, "AWS::IAM::Role")
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    props(function)
        .get("Role")
        .map(references)
        .unwrap_or_default()
        .into_iter()
        .find(|r| roles.contains(r))
}

/// The statements of role `role`: its inline `Policies` and every `AWS::IAM::Policy` attached
/// to it in the template.
fn statements_of_role(template: &Value, role: &str) -> Vec<RoleStatement> {
    let mut docs = Vec::new();
    for (id, r) in resources(template) {
        let p = props(r);
        match r.get("Type").and_then(Value::as_str) {
            Some("AWS::IAM::Role") if id == role => {
                docs.extend(
                    as_list(p.get("Policies"))
                        .into_iter()
                        .filter_map(|x| x.get("PolicyDocument")),
                );
            }
            Some("AWS::IAM::Policy") if p.get("Roles").map(references).unwrap_or_default().contains(role) => {
                docs.extend(p.get("PolicyDocument"));
            }
            _ => {}
        }
    }
    docs.into_iter()
        .flat_map(|doc| as_list(doc.get("Statement")))
        .map(|s| RoleStatement {
            sid: s.get("Sid").and_then(Value::as_str).unwrap_or("(no Sid)").to_string(),
            effect: s.get("Effect").and_then(Value::as_str).unwrap_or("Allow").to_string(),
            actions: strings(s.get("Action")),
            resources: resource_keys(template, s.get("Resource")),
        })
        .collect()
}

/// The statements of the role the function binary `function` runs under, as written.
pub fn role_statements(template: &Value, function_name: &str) -> Result<(String, Vec<RoleStatement>), String> {
    let (id, f) = function(template, function_name)
        .ok_or_else(|| format!("no AWS::Serverless::Function runs the binary {function_name}"))?;
    let role = role_of(template, f).ok_or_else(|| format!("{id} has no Role of this template"))?;
    let statements = statements_of_role(template, &role);
    Ok((role, statements))
}

fn tracing_active(template: &Value, function: &Value) -> bool {
    props(function)
        .get("Tracing")
        .or_else(|| globals_function(template).and_then(|g| g.get("Tracing")))
        .and_then(Value::as_str)
        == Some("Active")
}

/// The log group Lambda writes the function's logs to: `/aws/lambda/<FunctionName>`.
fn log_group(template: &Value, function: &Value) -> Option<String> {
    let name = text(props(function).get("FunctionName")?)?;
    of_type(template, "AWS::Logs::LogGroup")
        .into_iter()
        .find(|(_, g)| props(g).get("LogGroupName").and_then(text) == Some(format!("/aws/lambda/{name}")))
        .map(|(id, _)| id)
}

/// Where Lambda delivers the function's failed (and succeeded) asynchronous events, with the
/// action that takes.
fn destinations(function: &Value) -> Vec<(String, &'static str)> {
    let action = |kind: Option<&str>| match kind {
        Some("SQS") => Some("sqs:SendMessage"),
        Some("SNS") => Some("sns:Publish"),
        Some("Lambda") => Some("lambda:InvokeFunction"),
        Some("EventBridge") => Some("events:PutEvents"),
        _ => None,
    };
    let p = props(function);
    let mut out = Vec::new();
    let config = p.get("EventInvokeConfig").and_then(|c| c.get("DestinationConfig"));
    for on in ["OnFailure", "OnSuccess"] {
        if let Some(d) = config.and_then(|c| c.get(on)) {
            if let Some(action) = action(d.get("Type").and_then(Value::as_str)) {
                out.extend(
                    d.get("Destination")
                        .map(references)
                        .unwrap_or_default()
                        .into_iter()
                        .map(|r| (r, action)),
                );
            }
        }
    }
    if let Some(d) = p.get("DeadLetterQueue") {
        if let Some(action) = action(d.get("Type").and_then(Value::as_str)) {
            out.extend(
                d.get("TargetArn")
                    .map(references)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|r| (r, action)),
            );
        }
    }
    out
}

/// The customer key an SNS topic of this template is encrypted with.
pub(crate) fn topic_key(template: &Value, topic: &str) -> Option<String> {
    let keys: BTreeSet<String> = of_type(template, "AWS::KMS::Key")
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    of_type(template, "AWS::SNS::Topic")
        .into_iter()
        .find(|(id, _)| id == topic)
        .and_then(|(_, t)| props(t).get("KmsMasterKeyId").map(references))
        .and_then(|refs| refs.into_iter().find(|r| keys.contains(r)))
}

/// What Lambda does with the function's role, read from the template. Problems (no log group)
/// come back as the error list.
pub fn platform_needs(template: &Value, function_id: &str, function: &Value) -> (Vec<Need>, Vec<String>) {
    let need = |resource: &str, action: &str, why| Need {
        resource: resource.to_string(),
        action: action.to_string(),
        why,
    };
    let mut needs = Vec::new();
    let mut problems = Vec::new();
    match log_group(template, function) {
        Some(group) => {
            needs.push(need(&group, "logs:CreateLogStream", "its log group"));
            needs.push(need(&group, "logs:PutLogEvents", "its log group"));
        }
        None => problems.push(format!(
            "{function_id}: no AWS::Logs::LogGroup named /aws/lambda/<its FunctionName>, so its role cannot be limited to its own logs"
        )),
    }
    if tracing_active(template, function) {
        needs.push(need("*", "xray:PutTraceSegments", "active tracing"));
        needs.push(need("*", "xray:PutTelemetryRecords", "active tracing"));
    }
    for (_, event) in events(function) {
        if event.get("Type").and_then(Value::as_str) == Some("SQS") {
            for queue in props(event).get("Queue").map(references).unwrap_or_default() {
                for action in ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"] {
                    needs.push(need(&queue, action, "its SQS event source"));
                }
            }
        }
    }
    for (target, action) in destinations(function) {
        needs.push(need(&target, action, "its failure destination"));
    }
    (needs, problems)
}

/// Adds the key needs of encrypted topics the function publishes to.
fn key_needs(template: &Value, needs: &mut Vec<Need>) {
    let topics: BTreeSet<String> = needs
        .iter()
        .filter(|n| action_matches(&n.action, "sns:Publish"))
        .map(|n| n.resource.clone())
        .collect();
    for key in topics.iter().filter_map(|t| topic_key(template, t)) {
        for action in ["kms:GenerateDataKey*", "kms:Decrypt"] {
            needs.push(Need {
                resource: key.clone(),
                action: action.to_string(),
                why: "the key of a topic it publishes to",
            });
        }
    }
}

/// The rule: every function's role grants exactly its needs. `uses` maps a binary to its code's
/// `(resource, action)` declarations; empty skips the rule.
pub fn exact_grants(template: &Value, uses: &BTreeMap<String, BTreeSet<(String, String)>>) -> Vec<String> {
    if uses.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for (id, f) in of_type(template, "AWS::Serverless::Function") {
        let name = binary(&id, f);
        let Some(code) = uses.get(&name) else {
            out.push(format!("{id}: no declaration of what {name} calls (app::permissions)"));
            continue;
        };
        if props(f).get("Policies").is_some() {
            out.push(format!(
                "{id}: Policies next to Role; SAM ignores them, so grant in the role"
            ));
        }
        let Some(role) = role_of(template, f) else {
            out.push(format!(
                "{id}: no Role of this template; each function runs under its own role, written out here"
            ));
            continue;
        };
        let (mut needs, problems) = platform_needs(template, &id, f);
        out.extend(problems);
        needs.extend(code.iter().map(|(resource, action)| Need {
            resource: resource.clone(),
            action: action.clone(),
            why: "its code",
        }));
        key_needs(template, &mut needs);
        let statements = statements_of_role(template, &role);
        let granted: Vec<(&str, &str, &str)> = statements
            .iter()
            .filter(|s| s.effect == "Allow")
            .flat_map(|s| {
                s.resources
                    .iter()
                    .flat_map(move |r| s.actions.iter().map(move |a| (s.sid.as_str(), r.as_str(), a.as_str())))
            })
            .collect();
        for n in &needs {
            if !granted
                .iter()
                .any(|(_, r, a)| *r == n.resource && action_matches(a, &n.action))
            {
                out.push(format!(
                    "{role} ({name}): no {} on {}, which {} needs",
                    n.action, n.resource, n.why
                ));
            }
        }
        for (sid, r, a) in &granted {
            if !needs.iter().any(|n| n.resource == *r && action_matches(a, &n.action)) {
                out.push(format!(
                    "{role} {sid} ({name}): grants {a} on {r}, which neither its code nor Lambda needs"
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_match_like_iam() {
        assert!(action_matches("kms:GenerateDataKey*", "kms:GenerateDataKey"));
        assert!(action_matches(
            "kms:GenerateDataKey*",
            "kms:GenerateDataKeyWithoutPlaintext"
        ));
        assert!(action_matches("SQS:sendmessage", "sqs:SendMessage"));
        assert!(!action_matches("sqs:SendMessage", "sqs:SendMessageBatch"));
        assert!(!action_matches("dynamodb:Get*", "dynamodb:Query"));
    }

    const TEMPLATE: &str = r#"
Globals:
  Function:
    Tracing: Active
Resources:
  Table: {Type: AWS::DynamoDB::Table}
  Key: {Type: AWS::KMS::Key}
  Topic:
    Type: AWS::SNS::Topic
    Properties: {KmsMasterKeyId: !Ref Key}
  Failures: {Type: AWS::SQS::Queue}
  Logs:
    Type: AWS::Logs::LogGroup
    Properties: {LogGroupName: !Sub "/aws/lambda/app-${Env}-fn"}
  Role:
    Type: AWS::IAM::Role
    Properties:
      Policies:
        - PolicyName: p
          PolicyDocument:
            Statement:
              - Sid: Logs
                Effect: Allow
                Action: [logs:CreateLogStream, logs:PutLogEvents]
                Resource: !GetAtt Logs.Arn
              - Sid: Table
                Effect: Allow
                Action: [dynamodb:GetItem, dynamodb:DeleteItem]
                Resource: [!GetAtt Table.Arn, !Sub "${Table.Arn}/index/by-state"]
              - Sid: Publish
                Effect: Allow
                Action: sns:Publish
                Resource: !Ref Topic
  Fn:
    Type: AWS::Serverless::Function
    Metadata: {BuildProperties: {Binary: fn}}
    Properties:
      FunctionName: !Sub "app-${Env}-fn"
      Role: !GetAtt Role.Arn
      EventInvokeConfig:
        DestinationConfig:
          OnFailure: {Type: SQS, Destination: !GetAtt Failures.Arn}
"#;

    #[test]
    fn missing_and_extra_grants_are_both_reported_with_who_needs_what() {
        let t: Value = serde_yaml::from_str(TEMPLATE).unwrap_or_else(|e| panic!("{e}"));
        let uses = [(
            "fn".to_string(),
            [
                ("Table", "dynamodb:GetItem"),
                ("Table", "dynamodb:PutItem"),
                ("Table/index", "dynamodb:Query"),
                ("Topic", "sns:Publish"),
            ]
            .map(|(r, a)| (r.to_string(), a.to_string()))
            .into(),
        )]
        .into();
        let found = exact_grants(&t, &uses).join("\n");
        for expected in [
            "Role (fn): no dynamodb:PutItem on Table, which its code needs",
            "Role (fn): no dynamodb:Query on Table/index, which its code needs",
            "Role (fn): no xray:PutTraceSegments on *, which active tracing needs",
            "Role (fn): no sqs:SendMessage on Failures, which its failure destination needs",
            "Role (fn): no kms:GenerateDataKey* on Key, which the key of a topic it publishes to needs",
            "Role Table (fn): grants dynamodb:DeleteItem on Table, which neither its code nor Lambda needs",
            "Role Table (fn): grants dynamodb:GetItem on Table/index, which neither its code nor Lambda needs",
        ] {
            assert!(found.contains(expected), "missing {expected:?} in:\n{found}");
        }
        assert!(!found.contains("logs:"), "{found}");
        let (role, statements) = role_statements(&t, "fn").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((role.as_str(), statements.len()), ("Role", 3));
        assert_eq!(
            statements[1].resources,
            ["Table", "Table/index"].map(String::from).into()
        );
    }
}
