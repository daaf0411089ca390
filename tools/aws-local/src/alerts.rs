//! An SQS queue subscribed to the alert topic, so tests and the local run read alerts back the
//! way a subscriber (the managers' email and SMS) receives them.

use anyhow::anyhow;
use aws_config::SdkConfig;
use aws_sdk_sqs::types::QueueAttributeName;

/// An alert as a subscriber received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedAlert {
    /// Email subject.
    pub subject: String,
    /// Body.
    pub message: String,
    /// `dc` message attribute.
    pub dc: String,
    /// `severity` message attribute.
    pub severity: String,
}

/// An SQS queue subscribed to one SNS topic.
#[derive(Debug, Clone)]
pub struct AlertInbox {
    sqs: aws_sdk_sqs::Client,
    url: String,
}

impl AlertInbox {
    /// Creates queue `queue_name` (unique per run: the caller names it) and subscribes it to
    /// `topic_arn`. Alerts published before this returns are not delivered to it.
    pub async fn subscribe(sdk: &SdkConfig, topic_arn: &str, queue_name: &str) -> anyhow::Result<Self> {
        let sqs = aws_sdk_sqs::Client::new(sdk);
        let url = sqs
            .create_queue()
            .queue_name(queue_name)
            .send()
            .await?
            .queue_url()
            .ok_or_else(|| anyhow!("no queue url"))?
            .to_string();
        let arn = sqs
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await?
            .attributes()
            .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
            .ok_or_else(|| anyhow!("no queue arn"))?;
        aws_sdk_sns::Client::new(sdk)
            .subscribe()
            .topic_arn(topic_arn)
            .protocol("sqs")
            .endpoint(arn)
            .send()
            .await?;
        Ok(Self { sqs, url })
    }

    /// Every alert delivered so far, each removed from the queue once read (reads until the
    /// queue answers empty twice).
    pub async fn drain(&self) -> anyhow::Result<Vec<ReceivedAlert>> {
        let mut out = Vec::new();
        let mut empty = 0;
        while empty < 2 {
            let got = self
                .sqs
                .receive_message()
                .queue_url(&self.url)
                .max_number_of_messages(10)
                .wait_time_seconds(0)
                .send()
                .await?;
            let messages = got.messages();
            if messages.is_empty() {
                empty += 1;
                continue;
            }
            for m in messages {
                out.push(received(m.body().unwrap_or("{}"))?);
                if let Some(h) = m.receipt_handle() {
                    self.sqs
                        .delete_message()
                        .queue_url(&self.url)
                        .receipt_handle(h)
                        .send()
                        .await?;
                }
            }
        }
        Ok(out)
    }
}

/// The alert inside the SNS envelope an SQS subscriber receives.
fn received(body: &str) -> anyhow::Result<ReceivedAlert> {
    let envelope: serde_json::Value = serde_json::from_str(body)?;
    let text = |v: &serde_json::Value| v.as_str().unwrap_or("").to_string();
    let attribute = |k: &str| text(&envelope["MessageAttributes"][k]["Value"]);
    Ok(ReceivedAlert {
        subject: text(&envelope["Subject"]),
        message: text(&envelope["Message"]),
        dc: attribute("dc"),
        severity: attribute("severity"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_sns_envelope_gives_subject_body_and_attributes() {
        let body = r#"{"Type":"Notification","Subject":"Stock variance","Message":"ITM-1 off by 80",
            "MessageAttributes":{"dc":{"Type":"String","Value":"DC02"},"severity":{"Type":"String","Value":"alert"}}}"#;
        let alert = received(body).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            alert,
            ReceivedAlert {
                subject: "Stock variance".into(),
                message: "ITM-1 off by 80".into(),
                dc: "DC02".into(),
                severity: "alert".into(),
            }
        );
    }
}
