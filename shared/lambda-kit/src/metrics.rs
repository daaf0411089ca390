//! CloudWatch embedded metric format (EMF): metrics written as structured log lines that
//! CloudWatch Logs turns into metrics, with no API calls from the function.

use chrono::Utc;
use serde_json::{json, Map, Value};

/// CloudWatch namespace of every invsync metric.
pub const NAMESPACE: &str = "invsync";

/// Units EMF understands that invsync uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// A count.
    Count,
    /// Milliseconds.
    Milliseconds,
    /// A percentage.
    Percent,
}

impl Unit {
    fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Milliseconds => "Milliseconds",
            Unit::Percent => "Percent",
        }
    }
}

/// One EMF document: metrics sharing a set of dimensions (e.g. `dc`, `function`).
#[derive(Debug, Clone)]
pub struct MetricSet {
    dimensions: Vec<(String, String)>,
    metrics: Vec<(String, Unit, f64)>,
    properties: Map<String, Value>,
}

impl MetricSet {
    /// An empty set with these dimensions (CloudWatch allows at most 30 per set).
    pub fn new(dimensions: &[(&str, &str)]) -> Self {
        Self {
            dimensions: dimensions.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            metrics: Vec::new(),
            properties: Map::new(),
        }
    }

    /// Adds a metric value. EMF values are JSON numbers, so counts are carried as f64 here;
    /// quantities of stock never pass through metrics.
    pub fn metric(mut self, name: &str, unit: Unit, value: f64) -> Self {
        self.metrics.push((name.to_string(), unit, value));
        self
    }

    /// Adds a count.
    pub fn count(self, name: &str, value: u64) -> Self {
        self.metric(name, Unit::Count, value as f64)
    }

    /// Adds a non-metric property (searchable in Logs Insights, e.g. `run_id`).
    pub fn property(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.properties.insert(name.to_string(), value.into());
        self
    }

    /// The EMF JSON document.
    pub fn to_json(&self) -> Value {
        let mut root = self.properties.clone();
        for (k, v) in &self.dimensions {
            root.insert(k.clone(), Value::String(v.clone()));
        }
        for (name, _, value) in &self.metrics {
            root.insert(name.clone(), json!(value));
        }
        let dims: Vec<&str> = self.dimensions.iter().map(|(k, _)| k.as_str()).collect();
        let defs: Vec<Value> = self
            .metrics
            .iter()
            .map(|(name, unit, _)| json!({"Name": name, "Unit": unit.as_str()}))
            .collect();
        root.insert(
            "_aws".into(),
            json!({
                "Timestamp": Utc::now().timestamp_millis(),
                "CloudWatchMetrics": [{"Namespace": NAMESPACE, "Dimensions": [dims], "Metrics": defs}]
            }),
        );
        Value::Object(root)
    }

    /// Writes the document to stdout as one line (where the Lambda runtime ships it to
    /// CloudWatch Logs).
    pub fn emit(&self) {
        println!("{}", self.to_json());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emf_document_declares_every_metric_and_dimension() {
        let doc = MetricSet::new(&[("dc", "DC01"), ("function", "sync")])
            .count("TransactionsSynced", 12)
            .metric("FusionLatency", Unit::Milliseconds, 104.5)
            .property("run_id", "sync:DC01:2026-11-26T23:00Z")
            .to_json();
        assert_eq!(doc["dc"], "DC01");
        assert_eq!(doc["TransactionsSynced"], 12.0);
        assert_eq!(doc["run_id"], "sync:DC01:2026-11-26T23:00Z");
        let cw = &doc["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(cw["Namespace"], "invsync");
        assert_eq!(cw["Dimensions"][0], json!(["dc", "function"]));
        assert_eq!(
            cw["Metrics"][1],
            json!({"Name": "FusionLatency", "Unit": "Milliseconds"})
        );
        assert!(doc["_aws"]["Timestamp"].as_i64().unwrap_or_default() > 0);
    }
}
