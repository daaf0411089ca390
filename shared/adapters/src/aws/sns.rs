//! [`SnsAlertSink`]: alerts published to the `AlertTopic` of `infra/template.yaml`.

use super::error::{classify, describe, Fault};
use super::permissions::Permissions;
use aws_sdk_sns::types::MessageAttributeValue;
use aws_sdk_sns::Client;
use domain::ports::{Alert, AlertError, AlertSink};

/// Longest subject sent. Why: SNS refuses subjects of 100 characters or more
/// (https://docs.aws.amazon.com/sns/latest/api/API_Publish.html, `Subject`).
pub const MAX_SUBJECT_CHARS: usize = 99;

/// The IAM action [`AlertSink::publish`] needs on the topic. (A topic encrypted with a customer
/// key also needs `kms:GenerateDataKey*` and `kms:Decrypt` on that key: the template's, not this
/// adapter's, choice; tools/template-check derives them.)
pub const PERMISSIONS: Permissions = Permissions::on_resource(&["sns:Publish"]);

/// Publishes alerts to an SNS topic: `Subject` (made SNS-safe), `Message` = the body, and
/// String message attributes `dc` and `severity`, so each manager's subscription filters on
/// its DC and urgency.
#[derive(Debug, Clone)]
pub struct SnsAlertSink {
    client: Client,
    topic_arn: String,
}

impl SnsAlertSink {
    /// A sink publishing to `topic_arn`.
    pub fn new(client: Client, topic_arn: impl Into<String>) -> Self {
        Self {
            client,
            topic_arn: topic_arn.into(),
        }
    }
}

/// The subject SNS will accept: printable ASCII only (anything else becomes `?`, line breaks
/// become spaces), at most [`MAX_SUBJECT_CHARS`] characters, cut with `...`.
pub fn sns_subject(subject: &str) -> String {
    let clean: String = subject
        .trim()
        .chars()
        .map(|c| match c {
            ' '..='~' => c,
            c if c.is_whitespace() => ' ',
            _ => '?',
        })
        .collect();
    if clean.is_empty() {
        return "invsync alert".into();
    }
    if clean.len() <= MAX_SUBJECT_CHARS {
        return clean;
    }
    let mut cut: String = clean.chars().take(MAX_SUBJECT_CHARS - 3).collect();
    cut.truncate(cut.trim_end().len());
    cut.push_str("...");
    cut
}

fn string_attribute(value: &str) -> Result<MessageAttributeValue, AlertError> {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(value)
        .build()
        .map_err(|e| AlertError::Rejected(format!("message attribute: {e}")))
}

impl AlertSink for SnsAlertSink {
    async fn publish(&self, alert: &Alert) -> Result<(), AlertError> {
        let result = self
            .client
            .publish()
            .topic_arn(&self.topic_arn)
            .subject(sns_subject(&alert.subject))
            .message(alert.body.as_str())
            .message_attributes("dc", string_attribute(alert.dc.as_str())?)
            .message_attributes("severity", string_attribute(alert.severity.as_str())?)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) => {
                let text = format!("Publish {}: {}", self.topic_arn, describe(&e));
                match classify(&e) {
                    Fault::Transient => Err(AlertError::Unavailable(text)),
                    Fault::ConditionFailed | Fault::Invalid => Err(AlertError::Rejected(text)),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_are_cut_below_the_sns_limit_and_cleaned() {
        let long = "Variance of 120 EA ".repeat(10);
        let subject = sns_subject(&long);
        assert!(subject.len() < 100 && subject.ends_with("..."), "{subject}");
        assert_eq!(sns_subject("DC01:\nhold placed – ITM-1"), "DC01: hold placed ? ITM-1");
        assert_eq!(sns_subject(" \n"), "invsync alert");
        assert_eq!(sns_subject(&"x".repeat(99)).len(), 99);
    }
}
