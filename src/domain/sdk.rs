//! The Stream-SDK's control plane: what a client asks (config, heartbeat, reports) and what
//! the platform answers, plus the traffic and client views the console shows.

use super::{FieldError, Validator};
use serde::{Deserialize, Serialize};
use strum::{Display, EnumString, VariantArray};
pub use watershed_sdk::wire::*;

/// Checks a request of the SDK plane; errors name the field.
pub trait Validate {
    fn validate(&self) -> Result<(), Vec<FieldError>>;
}

fn bounded(v: &mut Validator, field: &str, value: &str, max: usize, required: bool) {
    if required && value.trim().is_empty() {
        v.push(FieldError::new(field, "is required"));
    } else if value.chars().count() > max {
        v.push(FieldError::new(field, format!("at most {max} characters")));
    } else if value.chars().any(char::is_control) {
        v.push(FieldError::new(
            field,
            "must not contain control characters",
        ));
    }
}

impl Validate for ConfigRequest {
    fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut v = Validator::default();
        bounded(&mut v, "project", &self.project, 100, true);
        bounded(&mut v, "queue", &self.queue, 100, true);
        bounded(&mut v, "app", &self.app, 100, true);
        bounded(&mut v, "client_id", &self.client_id, 200, true);
        bounded(&mut v, "host", &self.host, 255, true);
        bounded(&mut v, "sdk_version", &self.sdk_version, 50, false);
        match (&self.consumer_group, self.role) {
            (None, SdkRole::Consumer) => v.push(FieldError::new(
                "consumer_group",
                "a consumer needs its group",
            )),
            (Some(g), _) => bounded(&mut v, "consumer_group", g, 255, true),
            _ => {}
        }
        v.finish()
    }
}

impl Validate for HeartbeatRequest {
    fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut v = Validator::default();
        bounded(&mut v, "client_id", &self.client_id, 200, true);
        if self.queues.len() > MAX_HEARTBEAT_QUEUES {
            v.push(FieldError::new(
                "queues",
                format!("at most {MAX_HEARTBEAT_QUEUES} queues per heartbeat"),
            ));
        }
        v.finish()
    }
}

impl Validate for ReportBatch {
    /// Checks every report; errors name the report by index (`reports[3].bytes`).
    fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut v = Validator::default();
        if self.reports.is_empty() {
            v.push(FieldError::new("reports", "at least one report"));
        }
        if self.reports.len() > MAX_REPORTS_PER_CALL {
            v.push(FieldError::new(
                "reports",
                format!("at most {MAX_REPORTS_PER_CALL} reports per call"),
            ));
        }
        for (i, r) in self.reports.iter().enumerate() {
            let f = |name: &str| format!("reports[{i}].{name}");
            bounded(&mut v, &f("project"), &r.project, 100, true);
            bounded(&mut v, &f("queue"), &r.queue, 100, true);
            bounded(&mut v, &f("client_id"), &r.client_id, 200, true);
            bounded(&mut v, &f("host"), &r.host, 255, true);
            bounded(&mut v, &f("sdk_version"), &r.sdk_version, 50, false);
            if let Some(g) = &r.consumer_group {
                bounded(&mut v, &f("consumer_group"), g, 255, true);
            }
            if let Some(a) = &r.app {
                bounded(&mut v, &f("app"), a, 100, true);
            }
            if r.messages < 0 {
                v.push(FieldError::new(&f("messages"), "must not be negative"));
            }
            if r.bytes < 0 {
                v.push(FieldError::new(&f("bytes"), "must not be negative"));
            }
            if r.offsets.len() > 10_000 {
                v.push(FieldError::new(&f("offsets"), "at most 10000 partitions"));
            }
            if r.offsets
                .iter()
                .any(|o| o.offset < 0 || o.lag < 0 || o.partition < 0)
            {
                v.push(FieldError::new(
                    &f("offsets"),
                    "partitions, offsets and lag must not be negative",
                ));
            }
        }
        v.finish()
    }
}

/// A time range a chart covers.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Display, EnumString, VariantArray,
)]
#[strum(serialize_all = "lowercase")]
#[serde(rename_all = "lowercase")]
pub enum TrafficRange {
    Hour,
    Day,
    Week,
}

impl TrafficRange {
    /// (span, bucket) in milliseconds: minutes for an hour, 15 minutes for a day, hours for a week.
    pub fn span_and_bucket(self) -> (i64, i64) {
        const MIN: i64 = 60_000;
        match self {
            TrafficRange::Hour => (60 * MIN, MIN),
            TrafficRange::Day => (24 * 60 * MIN, 15 * MIN),
            TrafficRange::Week => (7 * 24 * 60 * MIN, 60 * MIN),
        }
    }
}

/// One series of a chart: (bucket start in ms, value) points.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Series {
    pub name: String,
    pub points: Vec<(i64, f64)>,
}

/// A queue's traffic over a range: rates in and out, lag per consumer group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct QueueTraffic {
    pub from: i64,
    pub to: i64,
    pub bucket_ms: i64,
    /// messages/s in (written by producers) and out (read by consumers).
    pub messages: Vec<Series>,
    /// bytes/s in and out.
    pub bytes: Vec<Series>,
    /// Total lag per consumer group.
    pub lag: Vec<Series>,
    /// Lag in time per consumer group: how old its oldest unread message was, in seconds.
    #[serde(default)]
    pub lag_seconds: Vec<Series>,
}

/// One client instance the platform has heard from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ClientView {
    pub client_id: String,
    /// `project/name` of the application.
    pub app: String,
    pub role: SdkRole,
    pub host: String,
    pub ip: String,
    pub consumer_group: Option<String>,
    pub sdk_version: String,
    pub config_version: String,
    pub first_seen: i64,
    pub last_seen: i64,
}

/// Totals over the last hour.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TrafficTotals {
    pub messages_in: i64,
    pub messages_out: i64,
    pub bytes_in: i64,
    pub bytes_out: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> Report {
        Report {
            project: "shop".into(),
            queue: "orders".into(),
            role: SdkRole::Producer,
            client_id: "c-1".into(),
            host: "web-1".into(),
            app: None,
            consumer_group: None,
            sdk_version: "0.1.0".into(),
            seq: Some(1),
            messages: 10,
            bytes: 1000,
            offsets: vec![],
        }
    }

    #[test]
    fn report_errors_name_the_report_and_field() {
        let mut bad = report();
        bad.bytes = -1;
        let errors = ReportBatch {
            reports: vec![report(), bad],
        }
        .validate()
        .unwrap_err();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, "reports[1].bytes");
        assert!(ReportBatch { reports: vec![] }.validate().is_err());
    }

    #[test]
    fn a_consumer_needs_its_group() {
        let req = ConfigRequest {
            project: "shop".into(),
            queue: "orders".into(),
            role: SdkRole::Consumer,
            app: "billing".into(),
            consumer_group: None,
            client_id: "c".into(),
            host: "h".into(),
            sdk_version: String::new(),
        };
        let errors = req.validate().unwrap_err();
        assert_eq!(errors[0].field, "consumer_group");
        assert!(ConfigRequest {
            role: SdkRole::Producer,
            ..req
        }
        .validate()
        .is_ok());
    }
}
