//! [`SnsAlertSink`]: alerts published to the `AlertTopic` of `infra/template.yaml`.

use super::error::{classify, describe, Fault};
use super::permissions::Permissions;
use aws_sdk_sns::types::MessageAttributeValue;
use aws_sdk_sns::Client;
use domain::ports::{Alert, AlertError, AlertSink};

/// Longest subject sent. Why: SNS refuses subjects of 100 characters or more
/// (https://docs.aws.amazon.com/sns/latest/api/API_Publish.html, `Subject`).
pub const MAX_SUBJECT_CHARS: usize = 99;

/// Longest first line of a message whose alert has an elastic part: one SMS (the managers'
/// phones subscribe to the same topic and read the first line).
pub const SMS_MAX_CHARS: usize = 140;

/// The IAM action [`AlertSink::publish`] needs on the topic. (A topic encrypted with a customer
/// key also needs `kms:GenerateDataKey*` and `kms:Decrypt` on that key: the template's, not this
/// adapter's, choice; tools/template-check derives them.)
pub const PERMISSIONS: Permissions = Permissions::on_resource(&["sns:Publish"]);

/// Publishes alerts to an SNS topic: `Subject` ([`alert_subject`]), `Message`
/// ([`alert_message`]: the body, its first line one SMS for a variance alert), and
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

/// The subject SNS accepts for `alert`: cleaned as [`sns_subject`] does, with the alert's
/// elastic part (the item number) shortened with `...` first so the rest of the subject
/// (what was done) survives, then cut as [`sns_subject`] does if still too long.
pub fn alert_subject(alert: &Alert) -> String {
    match &alert.elastic {
        Some(elastic) => {
            let clean = clean_subject(&alert.subject);
            sns_subject(&fit(&clean, &clean_subject(elastic), MAX_SUBJECT_CHARS))
        }
        None => sns_subject(&alert.subject),
    }
}

/// The message SNS sends for `alert`: its body, and when the alert has an elastic part, the
/// first line fitted to one SMS ([`SMS_MAX_CHARS`]) by shortening that part first.
pub fn alert_message(alert: &Alert) -> String {
    let Some(elastic) = &alert.elastic else {
        return alert.body.clone();
    };
    match alert.body.split_once('\n') {
        Some((first, rest)) => format!("{}\n{rest}", fit(first, elastic, SMS_MAX_CHARS)),
        None => fit(&alert.body, elastic, SMS_MAX_CHARS),
    }
}

/// `line` within `max` characters: the first occurrence of `elastic` shortened with `...`
/// first, and the whole line cut only if that is not enough.
fn fit(line: &str, elastic: &str, max: usize) -> String {
    let len = line.chars().count();
    if len <= max {
        return line.to_string();
    }
    let Some(at) = line.find(elastic).filter(|_| !elastic.is_empty()) else {
        return line.chars().take(max).collect();
    };
    let with = |middle: &str| format!("{}{middle}{}", &line[..at], &line[at + elastic.len()..]);
    let elastic_len = elastic.chars().count();
    let over = len - max;
    let shortened = if elastic_len > over + 3 {
        let keep: String = elastic.chars().take(elastic_len - over - 3).collect();
        with(&format!("{keep}..."))
    } else {
        with("...")
    };
    if shortened.chars().count() <= max {
        shortened
    } else {
        shortened.chars().take(max).collect()
    }
}

fn clean_subject(subject: &str) -> String {
    subject
        .trim()
        .chars()
        .map(|c| match c {
            ' '..='~' => c,
            c if c.is_whitespace() => ' ',
            _ => '?',
        })
        .collect()
}

/// The subject SNS will accept: printable ASCII only (anything else becomes `?`, line breaks
/// become spaces), at most [`MAX_SUBJECT_CHARS`] characters, cut with `...`.
pub fn sns_subject(subject: &str) -> String {
    let clean = clean_subject(subject);
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
            .subject(alert_subject(alert))
            .message(alert_message(alert))
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
    use domain::ids::{DcCode, ItemNumber, LotNumber, SubinventoryCode, Uom};
    use domain::ports::Severity;
    use domain::reconciliation::alert_for;
    use domain::variance::{BalanceKey, Thresholds, Variance};
    use rust_decimal::Decimal;
    use rust_decimal_macros::dec;

    fn variance(key: BalanceKey, wms: Decimal, fusion: Decimal, in_flight: Decimal) -> Variance {
        let v = wms - (fusion + in_flight);
        Variance {
            key,
            wms,
            fusion,
            in_flight,
            variance: v,
            tier: Thresholds::default().classify(v),
        }
    }

    fn long_variance() -> Variance {
        variance(
            BalanceKey::new(
                DcCode::parse("DC-WITH-LONG-NAME").unwrap(),
                ItemNumber::parse(format!("ITEM-Ü{}", "X".repeat(294))).unwrap(),
                SubinventoryCode::parse("BULK-STORE").unwrap(),
                Some(LotNumber::parse("L".repeat(80)).unwrap()),
            ),
            dec!(1234567.891),
            dec!(100.5),
            dec!(-12.25),
        )
    }

    #[test]
    fn alert_subject_is_short_ascii_even_for_a_300_character_item() {
        let v = long_variance();
        let a = alert_for(
            &v,
            &"INC-0123456789abcdef".parse().unwrap(),
            Some(&Uom::parse("EA").unwrap()),
            true,
        );
        let subject = alert_subject(&a);
        assert!(subject.chars().count() < 100, "{} chars", subject.chars().count());
        assert!(subject.is_ascii());
        assert!(subject.contains("CRITICAL"));
        assert!(subject.contains("releases held"));
        let message = alert_message(&a);
        let first = message.lines().next().unwrap();
        assert!(
            first.chars().count() <= SMS_MAX_CHARS,
            "{} chars",
            first.chars().count()
        );
        assert_eq!(a.severity, Severity::Critical);
        assert!(message.contains(v.key.item.as_str()));
    }

    #[test]
    fn a_short_alert_reaches_sns_as_the_domain_wrote_it() {
        let key = BalanceKey::new(
            DcCode::parse("DC03").unwrap(),
            ItemNumber::parse("ITM-000042").unwrap(),
            SubinventoryCode::parse("STORES").unwrap(),
            Some(LotNumber::parse("LOT-7").unwrap()),
        );
        let a = alert_for(
            &variance(key, dec!(27), dec!(100), dec!(0)),
            &"INC-1".parse().unwrap(),
            None,
            true,
        );
        assert_eq!(alert_subject(&a), a.subject);
        assert_eq!(alert_message(&a), a.body);
    }

    #[test]
    fn alerts_without_an_elastic_part_keep_their_first_line() {
        let long_first = format!("invsync DC01: run {} stopped at once", "r".repeat(200));
        let a = Alert {
            dc: DcCode::parse("DC01").unwrap(),
            severity: Severity::Critical,
            subject: "invsync DC01: sync stopped".into(),
            body: format!("{long_first}\n\nmore"),
            elastic: None,
        };
        assert_eq!(alert_message(&a), a.body);
    }

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
