//! Evaluation of the CloudFormation intrinsics resources use (`Ref`, `Fn::Sub`, `Fn::GetAtt`,
//! `Fn::Join`, long form or short tag) against parameters and the resources created so far.

use super::template::scalar;
use super::{Provisioned, ResourceKind};
use serde_yaml::Value;
use std::collections::BTreeMap;

/// Why evaluating an intrinsic stopped.
pub(super) enum Eval {
    /// It refers to a resource not created yet.
    Waiting(String),
    /// It cannot be evaluated at all.
    Bad(String),
}

pub(super) struct Scope<'a> {
    pub(super) params: &'a BTreeMap<String, String>,
    pub(super) done: &'a Provisioned,
    pub(super) declared: &'a BTreeMap<String, (ResourceKind, Value)>,
}

impl Scope<'_> {
    pub(super) fn eval(&self, value: &Value) -> Result<Value, Eval> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provision::template::{attribute_text, prop, prop_text};
    use crate::provision::{ProvisionedResource, Template};

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
}
