//! Project rules for `infra/template.yaml` that generic linters (cfn-lint, `sam validate`)
//! cannot know, checked by `tests/template_rules.rs` on every test run:
//!
//! - every schedule expression is a well-formed `rate(...)` or six-field `cron(...)`;
//! - every SQS event source reports batch item failures, and its queue's visibility timeout is
//!   above the function's timeout;
//! - every queue has a dead-letter queue (`RedrivePolicy`) unless it is one;
//! - no IAM statement allows a `*` action, and no data action is allowed on `*`;
//! - every environment variable a function needs is set for it, none the code does not read is,
//!   and no secret is passed in plain environment;
//! - each role grants the DynamoDB actions the adapter of every table it touches declares;
//! - each function's role grants exactly what its code declares plus what Lambda needs with it,
//!   nothing missing and nothing extra ([`roles`]);
//! - tables and secrets survive the stack, tables have point-in-time recovery and, in the prod
//!   configuration, deletion protection; the topic is encrypted with a customer key alarms and
//!   functions can use; single-instance functions have a reserved concurrency of 1; scheduled
//!   functions have an alarmed failure destination; every function is traced ([`hardening`]).
//!
//! The checks work on the YAML as written (CloudFormation short tags included) and report every
//! violation, not just the first. What the code reads and declares comes from [`Sources`], which
//! the test fills from the repository's source files and the adapters' permission declarations,
//! so the rules follow the code.

pub mod hardening;
pub mod roles;

use serde_yaml::{Mapping, Value};
use std::collections::{BTreeMap, BTreeSet};

/// Lambda's default timeout in seconds, when neither the function nor `Globals` sets one.
const DEFAULT_TIMEOUT: u64 = 3;
/// SQS's default visibility timeout in seconds.
const DEFAULT_VISIBILITY: u64 = 30;

/// What the code says, gathered from its source files.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    /// Every environment variable name the configuration code reads.
    pub env_read: BTreeSet<String>,
    /// Environment variables each function binary cannot start without (or must get from the
    /// stack rather than a default), by binary name.
    pub env_required: BTreeMap<String, Vec<String>>,
    /// DynamoDB actions each table's adapter declares on the table itself, by the table's
    /// logical id, and whether it queries a secondary index.
    pub table_actions: BTreeMap<String, (BTreeSet<String>, bool)>,
    /// What each function binary's code declares it calls: `(resource, action)` pairs, where the
    /// resource is a logical id, or `<table id>/index` for a table's secondary indexes. Empty:
    /// the exact role rule is not checked.
    pub function_uses: BTreeMap<String, BTreeSet<(String, String)>>,
    /// Parameter values of the prod configuration (samconfig.toml `[prod.deploy.parameters]`).
    /// `None`: the prod-only rules are not checked.
    pub prod_parameters: Option<BTreeMap<String, String>>,
}

/// Variables that hold a secret's value: the template passes secret ARNs instead.
const SECRET_VALUES: &[&str] = &[
    "FUSION_PASSWORD",
    "FUSION_CLIENT_SECRET",
    "WMS_API_KEY",
    "WMS_BEARER_TOKEN",
];

/// Service prefixes whose actions touch data, which must never be granted on `*`.
const DATA_SERVICES: &[&str] = &["dynamodb", "sqs", "sns", "secretsmanager", "s3", "kms", "ssm"];

/// Runs every rule; an empty answer means the template passes.
pub fn check(template: &Value, sources: &Sources) -> Vec<String> {
    let mut out = Vec::new();
    out.extend(schedules(template));
    out.extend(sqs_event_sources(template));
    out.extend(dead_letter_queues(template));
    out.extend(iam_scope(template));
    out.extend(environment(template, sources));
    out.extend(table_grants(template, sources));
    out.extend(roles::exact_grants(template, &sources.function_uses));
    out.extend(hardening::check(template, sources.prod_parameters.as_ref()));
    out
}

pub(crate) fn resources(template: &Value) -> Vec<(String, &Value)> {
    match template.get("Resources") {
        Some(Value::Mapping(map)) => map
            .iter()
            .filter_map(|(k, v)| k.as_str().map(|k| (k.to_string(), v)))
            .collect(),
        _ => Vec::new(),
    }
}

pub(crate) fn of_type<'a>(template: &'a Value, kind: &str) -> Vec<(String, &'a Value)> {
    resources(template)
        .into_iter()
        .filter(|(_, r)| r.get("Type").and_then(Value::as_str) == Some(kind))
        .collect()
}

pub(crate) fn props(resource: &Value) -> &Value {
    static NULL: Value = Value::Null;
    resource.get("Properties").unwrap_or(&NULL)
}

fn tag_name(tag: &serde_yaml::value::Tag) -> String {
    tag.to_string().trim_start_matches('!').to_string()
}

/// The logical ids a value refers to: `Ref`, `GetAtt` and `${Id}` / `${Id.Attr}` in `Sub`.
pub fn references(value: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    collect_references(value, &mut out);
    out
}

fn intrinsic(name: &str, arg: &Value, out: &mut BTreeSet<String>) {
    match name {
        "Ref" => {
            if let Some(id) = arg.as_str() {
                out.insert(id.to_string());
            }
        }
        "GetAtt" | "Fn::GetAtt" => match arg {
            Value::String(s) => {
                out.insert(s.split('.').next().unwrap_or_default().to_string());
            }
            Value::Sequence(parts) => {
                if let Some(id) = parts.first().and_then(Value::as_str) {
                    out.insert(id.to_string());
                }
            }
            _ => {}
        },
        "Sub" | "Fn::Sub" => {
            let text = match arg {
                Value::Sequence(parts) => parts.first().and_then(Value::as_str).unwrap_or_default(),
                other => other.as_str().unwrap_or_default(),
            };
            for piece in text.split("${").skip(1) {
                if let Some(name) = piece.split('}').next().filter(|n| !n.starts_with('!')) {
                    out.insert(name.split('.').next().unwrap_or_default().to_string());
                }
            }
            if let Value::Sequence(parts) = arg {
                for p in parts.iter().skip(1) {
                    collect_references(p, out);
                }
            }
        }
        _ => collect_references(arg, out),
    }
}

fn collect_references(value: &Value, out: &mut BTreeSet<String>) {
    match value {
        Value::Tagged(t) => intrinsic(&tag_name(&t.tag), &t.value, out),
        Value::Mapping(map) => {
            for (k, v) in map {
                match k.as_str() {
                    Some(key @ ("Ref" | "Fn::GetAtt" | "Fn::Sub")) => intrinsic(key, v, out),
                    _ => collect_references(v, out),
                }
            }
        }
        Value::Sequence(items) => items.iter().for_each(|v| collect_references(v, out)),
        _ => {}
    }
}

pub(crate) fn as_u64(value: Option<&Value>) -> Option<u64> {
    match value? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

pub(crate) fn globals_function(template: &Value) -> Option<&Value> {
    template.get("Globals").and_then(|g| g.get("Function"))
}

/// Functions (`AWS::Serverless::Function`) with their event sources.
pub(crate) fn events(function: &Value) -> Vec<(String, &Value)> {
    match props(function).get("Events") {
        Some(Value::Mapping(map)) => map
            .iter()
            .filter_map(|(k, v)| k.as_str().map(|k| (k.to_string(), v)))
            .collect(),
        _ => Vec::new(),
    }
}

/// Whether `expression` is a valid EventBridge schedule expression.
pub fn schedule_problem(expression: &str) -> Option<String> {
    let expression = expression.trim();
    if let Some(inner) = expression.strip_prefix("rate(").and_then(|s| s.strip_suffix(')')) {
        let mut parts = inner.split_whitespace();
        let (Some(n), Some(unit), None) = (parts.next(), parts.next(), parts.next()) else {
            return Some(format!("{expression:?}: rate needs `rate(<value> <unit>)`"));
        };
        let Ok(n) = n.parse::<u64>() else {
            return Some(format!(
                "{expression:?}: rate value {n:?} is not a positive whole number"
            ));
        };
        let singular = ["minute", "hour", "day"];
        let plural = ["minutes", "hours", "days"];
        return match n {
            0 => Some(format!("{expression:?}: rate value must be above 0")),
            1 if !singular.contains(&unit) => Some(format!("{expression:?}: a rate of 1 takes minute, hour or day")),
            n if n > 1 && !plural.contains(&unit) => {
                Some(format!("{expression:?}: a rate above 1 takes minutes, hours or days"))
            }
            _ => None,
        };
    }
    if let Some(inner) = expression.strip_prefix("cron(").and_then(|s| s.strip_suffix(')')) {
        let fields: Vec<&str> = inner.split_whitespace().collect();
        if fields.len() != 6 {
            return Some(format!(
                "{expression:?}: cron needs 6 fields (minutes hours day-of-month month day-of-week year), found {}",
                fields.len()
            ));
        }
        if (fields[2] == "?") == (fields[4] == "?") {
            return Some(format!(
                "{expression:?}: exactly one of day-of-month and day-of-week must be `?`"
            ));
        }
        let allowed = |f: &str| f.chars().all(|c| c.is_ascii_alphanumeric() || ",-*/?LW#".contains(c));
        if let Some(bad) = fields.iter().find(|f| f.is_empty() || !allowed(f)) {
            return Some(format!(
                "{expression:?}: cron field {bad:?} has characters cron does not allow"
            ));
        }
        return None;
    }
    Some(format!("{expression:?} is neither rate(...) nor cron(...)"))
}

fn schedules(template: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let mut check = |owner: &str, value: Option<&Value>| match value.and_then(Value::as_str) {
        Some(expression) => out.extend(schedule_problem(expression).map(|p| format!("{owner}: {p}"))),
        None => out.push(format!("{owner}: no literal schedule expression")),
    };
    for (id, f) in of_type(template, "AWS::Serverless::Function") {
        for (name, event) in events(f) {
            if matches!(
                event.get("Type").and_then(Value::as_str),
                Some("Schedule" | "ScheduleV2")
            ) {
                let p = props(event);
                check(
                    &format!("{id}.Events.{name}"),
                    p.get("Schedule").or_else(|| p.get("ScheduleExpression")),
                );
            }
        }
    }
    for (id, r) in of_type(template, "AWS::Events::Rule") {
        if props(r).get("ScheduleExpression").is_some() {
            check(&id, props(r).get("ScheduleExpression"));
        }
    }
    for (id, r) in of_type(template, "AWS::Scheduler::Schedule") {
        check(&id, props(r).get("ScheduleExpression"));
    }
    out
}

fn function_timeout(template: &Value, function: &Value) -> u64 {
    as_u64(props(function).get("Timeout"))
        .or_else(|| as_u64(globals_function(template).and_then(|g| g.get("Timeout"))))
        .unwrap_or(DEFAULT_TIMEOUT)
}

fn sqs_event_sources(template: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let queues: BTreeMap<String, &Value> = of_type(template, "AWS::SQS::Queue").into_iter().collect();
    for (id, f) in of_type(template, "AWS::Serverless::Function") {
        for (name, event) in events(f) {
            if event.get("Type").and_then(Value::as_str) != Some("SQS") {
                continue;
            }
            let owner = format!("{id}.Events.{name}");
            let p = props(event);
            let reports = p
                .get("FunctionResponseTypes")
                .and_then(Value::as_sequence)
                .is_some_and(|types| types.iter().any(|t| t.as_str() == Some("ReportBatchItemFailures")));
            if !reports {
                out.push(format!(
                    "{owner}: SQS event source without FunctionResponseTypes [ReportBatchItemFailures]"
                ));
            }
            let queue = p.get("Queue").map(references).unwrap_or_default();
            let Some(queue) = queue.iter().find_map(|q| queues.get(q)) else {
                out.push(format!("{owner}: its queue is not an AWS::SQS::Queue of this template"));
                continue;
            };
            let visibility = as_u64(props(queue).get("VisibilityTimeout")).unwrap_or(DEFAULT_VISIBILITY);
            let timeout = function_timeout(template, f);
            if visibility <= timeout {
                out.push(format!(
                    "{owner}: the queue's VisibilityTimeout ({visibility} s) must be above the function's Timeout ({timeout} s)"
                ));
            }
        }
    }
    out
}

fn dead_letter_queues(template: &Value) -> Vec<String> {
    let queues = of_type(template, "AWS::SQS::Queue");
    let targets = hardening::failure_queues(template);
    queues
        .iter()
        .filter(|(id, q)| !targets.contains(id) && props(q).get("RedrivePolicy").is_none())
        .map(|(id, _)| format!("{id}: queue without a dead-letter queue (RedrivePolicy)"))
        .collect()
}

pub(crate) fn as_list(value: Option<&Value>) -> Vec<&Value> {
    match value {
        Some(Value::Sequence(items)) => items.iter().collect(),
        Some(other) => vec![other],
        None => Vec::new(),
    }
}

/// Every policy statement of roles, policies and SAM function `Policies`, with its owner.
fn statements(template: &Value) -> Vec<(String, &Value)> {
    fn from_document<'a>(out: &mut Vec<(String, &'a Value)>, owner: String, doc: &'a Value) {
        for s in as_list(doc.get("Statement")) {
            out.push((owner.clone(), s));
        }
    }
    let mut out = Vec::new();
    for (id, r) in resources(template) {
        let p = props(r);
        match r.get("Type").and_then(Value::as_str) {
            Some("AWS::IAM::Role") => {
                for policy in as_list(p.get("Policies")) {
                    if let Some(doc) = policy.get("PolicyDocument") {
                        from_document(&mut out, id.clone(), doc);
                    }
                }
            }
            Some("AWS::IAM::Policy" | "AWS::IAM::ManagedPolicy") => {
                if let Some(doc) = p.get("PolicyDocument") {
                    from_document(&mut out, id.clone(), doc);
                }
            }
            Some("AWS::Serverless::Function") => {
                for policy in as_list(p.get("Policies")) {
                    if policy.get("Statement").is_some() {
                        from_document(&mut out, id.clone(), policy);
                    }
                }
            }
            _ => {}
        }
    }
    out
}

pub(crate) fn strings(value: Option<&Value>) -> Vec<String> {
    as_list(value)
        .into_iter()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect()
}

fn iam_scope(template: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for (owner, statement) in statements(template) {
        if statement.get("Effect").and_then(Value::as_str) == Some("Deny") {
            continue;
        }
        let sid = statement.get("Sid").and_then(Value::as_str).unwrap_or("(no Sid)");
        if statement.get("NotAction").is_some() || statement.get("NotResource").is_some() {
            out.push(format!("{owner} {sid}: Allow with NotAction/NotResource"));
        }
        let actions = strings(statement.get("Action"));
        for action in &actions {
            if action == "*" || action.ends_with(":*") {
                out.push(format!("{owner} {sid}: wildcard action {action:?}"));
            }
        }
        let star_resource = strings(statement.get("Resource")).iter().any(|r| r == "*");
        let data = actions
            .iter()
            .any(|a| DATA_SERVICES.contains(&a.split(':').next().unwrap_or_default()));
        if star_resource && data {
            out.push(format!("{owner} {sid}: data actions on Resource \"*\""));
        }
    }
    out
}

/// The environment variables a function gets: `Globals` merged with its own.
fn function_env(template: &Value, function: &Value) -> BTreeMap<String, Value> {
    let vars = |v: Option<&Value>| -> Mapping {
        v.and_then(|v| v.get("Environment"))
            .and_then(|e| e.get("Variables"))
            .and_then(Value::as_mapping)
            .cloned()
            .unwrap_or_default()
    };
    let mut out = BTreeMap::new();
    for (k, v) in vars(globals_function(template))
        .into_iter()
        .chain(vars(Some(props(function))))
    {
        if let Some(k) = k.as_str() {
            out.insert(k.to_string(), v);
        }
    }
    out
}

/// The binary a function runs (`Metadata.BuildProperties.Binary`), or its logical id.
pub fn binary(id: &str, function: &Value) -> String {
    function
        .get("Metadata")
        .and_then(|m| m.get("BuildProperties"))
        .and_then(|b| b.get("Binary"))
        .and_then(Value::as_str)
        .unwrap_or(id)
        .to_string()
}

fn environment(template: &Value, sources: &Sources) -> Vec<String> {
    let mut out = Vec::new();
    let functions = of_type(template, "AWS::Serverless::Function");
    let binaries: BTreeSet<String> = functions.iter().map(|(id, f)| binary(id, f)).collect();
    for name in sources.env_required.keys().filter(|b| !binaries.contains(*b)) {
        out.push(format!("function {name} is not declared in the template"));
    }
    for (id, f) in &functions {
        let env = function_env(template, f);
        for required in sources.env_required.get(&binary(id, f)).into_iter().flatten() {
            match env.get(required) {
                None => out.push(format!("{id}: environment variable {required} is not set")),
                Some(Value::String(s)) if s.trim().is_empty() => {
                    out.push(format!("{id}: environment variable {required} is empty"))
                }
                Some(_) => {}
            }
        }
        for name in env.keys() {
            if SECRET_VALUES.contains(&name.as_str()) {
                out.push(format!(
                    "{id}: {name} passes a secret in plain environment; pass its Secrets Manager ARN"
                ));
            } else if name != "RUST_LOG" && !name.starts_with("AWS_") && !sources.env_read.contains(name) {
                out.push(format!("{id}: {name} is set but no code reads it"));
            }
        }
    }
    out
}

/// Resources of a statement that point at `table`: the table itself, or one of its indexes.
fn table_resources(statement: &Value, table: &str) -> (bool, bool) {
    let mut table_hit = false;
    let mut index_hit = false;
    for r in as_list(statement.get("Resource")) {
        if !references(r).contains(table) {
            continue;
        }
        let text = match r {
            Value::Tagged(t) => t.value.as_str().unwrap_or_default().to_string(),
            Value::Mapping(m) => m.get("Fn::Sub").and_then(Value::as_str).unwrap_or_default().to_string(),
            _ => String::new(),
        };
        if text.contains("/index/") {
            index_hit = true;
        } else {
            table_hit = true;
        }
    }
    (table_hit, index_hit)
}

fn table_grants(template: &Value, sources: &Sources) -> Vec<String> {
    let mut out = Vec::new();
    let mut granted: BTreeMap<(String, String), (BTreeSet<String>, bool)> = BTreeMap::new();
    for (owner, statement) in statements(template) {
        let actions: BTreeSet<String> = strings(statement.get("Action")).into_iter().collect();
        for table in sources.table_actions.keys() {
            let (table_hit, index_hit) = table_resources(statement, table);
            let entry = granted.entry((owner.clone(), table.clone())).or_default();
            if table_hit {
                entry.0.extend(actions.iter().cloned());
            }
            entry.1 |= index_hit && actions.contains("dynamodb:Query");
        }
    }
    for ((owner, table), (actions, index)) in granted {
        if actions.is_empty() && !index {
            continue;
        }
        let Some((needed, queries_index)) = sources.table_actions.get(&table) else {
            continue;
        };
        let missing: Vec<&String> = needed.difference(&actions).collect();
        if !missing.is_empty() {
            out.push(format!(
                "{owner}: grants {table} but not {missing:?}, which its adapter calls"
            ));
        }
        if *queries_index && !index {
            out.push(format!(
                "{owner}: its adapter queries an index of {table}, but no dynamodb:Query on {table}'s /index/ ARN"
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml(text: &str) -> Value {
        serde_yaml::from_str(text).unwrap()
    }

    #[test]
    fn schedule_expressions_are_checked_like_eventbridge() {
        for ok in [
            "rate(1 hour)",
            "rate(15 minutes)",
            "cron(0 * * * ? *)",
            "cron(5/15 * * * ? *)",
            "cron(0 6 ? * MON-FRI *)",
        ] {
            assert_eq!(schedule_problem(ok), None, "{ok}");
        }
        for bad in [
            "rate(1 hours)",
            "rate(2 hour)",
            "rate(0 minutes)",
            "rate(hourly)",
            "cron(0 * * * *)",
            "cron(0 * * * * *)",
            "cron(0 * ? * ? *)",
            "every hour",
        ] {
            assert!(schedule_problem(bad).is_some(), "{bad}");
        }
    }

    const BAD: &str = r#"
Globals:
  Function:
    Timeout: 900
    Environment:
      Variables:
        WMS_API_KEY: hunter2
Resources:
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      VisibilityTimeout: 300
  Fn:
    Type: AWS::Serverless::Function
    Metadata:
      BuildProperties:
        Binary: sync-inventory
    Properties:
      Environment:
        Variables:
          STALE_VAR: x
      Events:
        Q:
          Type: SQS
          Properties:
            Queue: !GetAtt Queue.Arn
        Hourly:
          Type: Schedule
          Properties:
            Schedule: cron(0 * * * *)
  Role:
    Type: AWS::IAM::Role
    Properties:
      Policies:
        - PolicyName: p
          PolicyDocument:
            Statement:
              - Sid: All
                Effect: Allow
                Action: dynamodb:*
                Resource: "*"
              - Sid: Ledger
                Effect: Allow
                Action: [dynamodb:GetItem, dynamodb:Query]
                Resource: !GetAtt LedgerTable.Arn
"#;

    fn sources() -> Sources {
        Sources {
            env_read: ["WMS_API_KEY", "LEDGER_TABLE"].map(String::from).into(),
            env_required: [("sync-inventory".to_string(), vec!["LEDGER_TABLE".to_string()])].into(),
            table_actions: [(
                "LedgerTable".to_string(),
                (
                    ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"]
                        .map(String::from)
                        .into(),
                    true,
                ),
            )]
            .into(),
            function_uses: BTreeMap::new(),
            prod_parameters: None,
        }
    }

    #[test]
    fn every_rule_reports_what_it_finds() {
        let found = check(&yaml(BAD), &sources()).join("\n");
        for expected in [
            "Fn.Events.Hourly: \"cron(0 * * * *)\": cron needs 6 fields",
            "Fn.Events.Q: SQS event source without FunctionResponseTypes",
            "VisibilityTimeout (300 s) must be above the function's Timeout (900 s)",
            "Queue: queue without a dead-letter queue",
            "Role All: wildcard action \"dynamodb:*\"",
            "Role All: data actions on Resource \"*\"",
            "Fn: environment variable LEDGER_TABLE is not set",
            "Fn: WMS_API_KEY passes a secret in plain environment",
            "Fn: STALE_VAR is set but no code reads it",
            "Role: grants LedgerTable but not [\"dynamodb:PutItem\"]",
            "no dynamodb:Query on LedgerTable's /index/ ARN",
        ] {
            assert!(found.contains(expected), "missing {expected:?} in:\n{found}");
        }
    }

    #[test]
    fn a_dead_letter_queue_needs_no_dead_letter_queue_of_its_own() {
        let t = yaml(
            r#"
Resources:
  Dlq: {Type: AWS::SQS::Queue}
  Main:
    Type: AWS::SQS::Queue
    Properties:
      RedrivePolicy: {deadLetterTargetArn: !GetAtt Dlq.Arn, maxReceiveCount: 3}
"#,
        );
        assert!(dead_letter_queues(&t).is_empty());
    }

    #[test]
    fn references_are_found_in_short_and_long_forms() {
        let v = yaml(r#"[!Ref A, {"Fn::GetAtt": [B, Arn]}, !Sub "${C.Arn}/index/x-${!Literal}", {"Fn::Sub": "${D}"}]"#);
        assert_eq!(references(&v), ["A", "B", "C", "D"].map(String::from).into());
    }
}
