//! Peek: a look at a queue's newest (or chosen) messages, decoded with its schema and masked
//! where sensitive, for the people who may read it.

use super::{FieldError, Validator};
use serde::{Deserialize, Serialize};

/// The most messages one peek shows.
pub const MAX_PEEK_MESSAGES: u32 = 500;
/// Messages shown when the peek does not say.
pub const DEFAULT_PEEK_MESSAGES: u32 = 20;
/// Bytes (keys and values) one peek reads at most, and by default.
pub const MAX_PEEK_BYTES: u64 = 256 * 1024 * 1024;
pub const DEFAULT_PEEK_BYTES: u64 = 64 * 1024 * 1024;
/// Seconds one peek reads at most, and by default.
pub const MAX_PEEK_SECS: u32 = 30;
pub const DEFAULT_PEEK_SECS: u32 = 5;
/// Messages per partition a filtered peek of the newest messages looks back over, by default
/// and at most.
pub const DEFAULT_PEEK_SCAN: u64 = 10_000;
pub const MAX_PEEK_SCAN: u64 = 1_000_000;

/// A peek as typed in a URL or the queue page's form; validated by [`PeekQuery::parse`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::IntoParams, utoipa::ToSchema))]
pub struct PeekInput {
    /// Messages to show: 1 to 500, default 20.
    #[serde(default)]
    pub limit: Option<String>,
    /// One partition; every partition when empty.
    #[serde(default)]
    pub partition: Option<String>,
    /// Read from this offset (in each partition read) instead of the newest messages.
    #[serde(default)]
    pub offset: Option<String>,
    /// Read from the first message written at or after this time (RFC 3339, e.g.
    /// `2026-12-01T09:00:00Z`, or milliseconds since the epoch).
    #[serde(default)]
    pub from_time: Option<String>,
    /// Only messages whose key is exactly this.
    #[serde(default)]
    pub key: Option<String>,
    /// Only messages with this field value: `path = value`, e.g. `country = "FR"`.
    #[serde(default)]
    pub field: Option<String>,
    /// Only messages whose key, headers or value (as shown) contain this text.
    #[serde(default)]
    pub text: Option<String>,
    /// Messages per partition a filtered look at the newest messages goes back over: 1 to
    /// 1,000,000, default 10,000.
    #[serde(default)]
    pub scan: Option<String>,
    /// Megabytes to read at most: 1 to 256, default 64.
    #[serde(default)]
    pub max_mb: Option<String>,
    /// Seconds to read at most: 1 to 30, default 5.
    #[serde(default)]
    pub max_secs: Option<String>,
    /// `active` (default, the cluster clients use now) or `other` (the queue's other cluster).
    #[serde(default)]
    pub side: Option<String>,
    /// The queue's owners: show sensitive fields in the clear (audited).
    #[serde(default)]
    pub unmask: Option<bool>,
}

/// Where a peek starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeekFrom {
    Newest,
    Offset(i64),
    /// Milliseconds since the epoch.
    Time(i64),
}

/// A validated peek.
#[derive(Debug, Clone, PartialEq)]
pub struct PeekQuery {
    pub limit: u32,
    pub partition: Option<i32>,
    pub from: PeekFrom,
    pub key: Option<String>,
    /// `path = value`, checked by the server.
    pub field: Option<String>,
    pub text: Option<String>,
    pub scan: u64,
    pub max_bytes: u64,
    pub max_secs: u32,
    /// Read the queue's other cluster.
    pub other_side: bool,
    pub unmask: bool,
}

fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn number<T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy>(
    field: &str,
    v: &Option<String>,
    default: T,
    lo: T,
    hi: T,
) -> Result<T, FieldError> {
    let Some(s) = given(v) else {
        return Ok(default);
    };
    match s.parse::<T>() {
        Ok(n) if n >= lo && n <= hi => Ok(n),
        _ => Err(FieldError::new(
            field,
            format!("must be a whole number from {lo} to {hi}, not {s:?}"),
        )),
    }
}

impl PeekQuery {
    /// Validates `input`; `now` (milliseconds) bounds `from_time`, and `parse_time` reads an
    /// RFC 3339 time into milliseconds. Every error names its field.
    pub fn parse(
        input: &PeekInput,
        now: i64,
        parse_time: impl Fn(&str) -> Option<i64>,
    ) -> Result<Self, Vec<FieldError>> {
        let mut v = Validator::default();
        let limit = v.check(number(
            "limit",
            &input.limit,
            DEFAULT_PEEK_MESSAGES,
            1,
            MAX_PEEK_MESSAGES,
        ));
        let partition = given(&input.partition).and_then(|s| {
            v.check(match s.parse::<i32>() {
                Ok(p) if p >= 0 => Ok(p),
                _ => Err(FieldError::new(
                    "partition",
                    format!("must be a partition number (0 or more), not {s:?}"),
                )),
            })
        });
        let offset = given(&input.offset).and_then(|s| {
            v.check(match s.parse::<i64>() {
                Ok(o) if o >= 0 => Ok(o),
                _ => Err(FieldError::new(
                    "offset",
                    format!("must be an offset (0 or more), not {s:?}"),
                )),
            })
        });
        let time = given(&input.from_time).and_then(|s| {
            let ms = s.parse::<i64>().ok().or_else(|| parse_time(s));
            v.check(match ms {
                None => Err(FieldError::new(
                    "from_time",
                    format!(
                        "must be a time like 2026-12-01T09:00:00Z or milliseconds since 1970, not {s:?}"
                    ),
                )),
                Some(ms) if ms > now => Err(FieldError::new(
                    "from_time",
                    format!("{s} is in the future; no message was written then yet"),
                )),
                Some(ms) => Ok(ms.max(0)),
            })
        });
        if offset.is_some() && time.is_some() {
            v.push(FieldError::new(
                "from_time",
                "give an offset or a time to start from, not both",
            ));
        }
        let scan = v.check(number(
            "scan",
            &input.scan,
            DEFAULT_PEEK_SCAN,
            1,
            MAX_PEEK_SCAN,
        ));
        let max_mb = v.check(number(
            "max_mb",
            &input.max_mb,
            DEFAULT_PEEK_BYTES >> 20,
            1,
            MAX_PEEK_BYTES >> 20,
        ));
        let max_secs = v.check(number(
            "max_secs",
            &input.max_secs,
            DEFAULT_PEEK_SECS,
            1,
            MAX_PEEK_SECS,
        ));
        let other_side = match given(&input.side) {
            None | Some("active") => false,
            Some("other") => true,
            Some(s) => {
                v.push(FieldError::new(
                    "side",
                    format!("must be `active` or `other`, not {s:?}"),
                ));
                false
            }
        };
        for (field, text) in [
            ("key", &input.key),
            ("field", &input.field),
            ("text", &input.text),
        ] {
            if text.as_deref().is_some_and(|t| t.len() > 1024) {
                v.push(FieldError::new(field, "must be at most 1024 bytes"));
            }
        }
        v.finish()?;
        Ok(Self {
            limit: limit.unwrap_or(DEFAULT_PEEK_MESSAGES),
            partition,
            from: match (offset, time) {
                (Some(o), _) => PeekFrom::Offset(o),
                (None, Some(t)) => PeekFrom::Time(t),
                (None, None) => PeekFrom::Newest,
            },
            key: input.key.clone().filter(|k| !k.is_empty()),
            field: given(&input.field).map(str::to_string),
            text: given(&input.text).map(str::to_string),
            scan: scan.unwrap_or(DEFAULT_PEEK_SCAN),
            max_bytes: max_mb.unwrap_or(DEFAULT_PEEK_BYTES >> 20) << 20,
            max_secs: max_secs.unwrap_or(DEFAULT_PEEK_SECS),
            other_side,
            unmask: input.unmask.unwrap_or(false),
        })
    }

    /// Whether the peek filters messages.
    pub fn filters(&self) -> bool {
        self.key.is_some() || self.field.is_some() || self.text.is_some()
    }
}

/// A message header as shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PeekHeader {
    pub name: String,
    /// Text, hex when not UTF-8, or masked.
    pub value: Option<String>,
}

/// A message as its viewer may see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PeekMessage {
    pub partition: i32,
    pub offset: i64,
    /// Milliseconds since the epoch.
    pub timestamp: Option<i64>,
    pub key: Option<String>,
    /// `text`, `hex`, `masked` or `null`.
    pub key_encoding: String,
    pub headers: Vec<PeekHeader>,
    /// How the value was read: `avro`, `protobuf` or `json` (then `value` is JSON), `text`,
    /// `hex` (bytes) or `null` (a tombstone).
    pub encoding: String,
    pub value: String,
    /// The schema version the value was read with, by its registry id and version number.
    pub schema_id: Option<i64>,
    pub schema_version: Option<i64>,
    /// Why the value does not keep the queue's schema, when it does not.
    pub problem: Option<String>,
    /// Dotted paths of the fields shown masked (`""`: the whole value).
    pub masked_fields: Vec<String>,
    /// The Stream-SDK call that writes this key and value again; not offered when masked.
    pub producer_command: Option<String>,
}

/// Where a peek read in one partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PeekPartition {
    pub partition: i32,
    /// The first offset the partition holds.
    pub low: i64,
    /// The next offset to be written.
    pub high: i64,
    /// Where the peek started reading.
    pub start: i64,
}

/// What a peek found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Peek {
    pub project: String,
    pub queue: String,
    /// The cluster read, and whether it is the queue's `primary` or `backup`.
    pub cluster: String,
    pub side: String,
    pub topic: String,
    /// The queue's latest schema version, when it has one.
    pub schema_version: Option<i64>,
    /// Newest first when reading the newest messages, else in time order.
    pub messages: Vec<PeekMessage>,
    pub partitions: Vec<PeekPartition>,
    /// Messages read and their key and value bytes.
    pub scanned: u64,
    pub bytes_read: u64,
    pub elapsed_ms: u64,
    /// Why reading stopped: `end` (everything asked was read), `limit` (enough messages),
    /// `bytes` or `time` (a budget was spent).
    pub stopped: String,
    pub max_bytes: u64,
    pub max_secs: u32,
    /// Sensitive fields were shown in the clear (the queue's owners, on request; audited).
    pub unmasked: bool,
    /// The viewer may ask for sensitive fields in the clear.
    pub can_unmask: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(pairs: &[(&str, &str)]) -> PeekInput {
        let map: serde_json::Map<String, serde_json::Value> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), serde_json::Value::String(v.to_string())))
            .collect();
        serde_json::from_value(serde_json::Value::Object(map)).unwrap()
    }

    fn fields(pairs: &[(&str, &str)]) -> Vec<String> {
        PeekQuery::parse(&input(pairs), 1_000, |_| None)
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect()
    }

    #[test]
    fn defaults_read_the_newest_twenty() {
        let q = PeekQuery::parse(&PeekInput::default(), 1_000, |_| None).unwrap();
        assert_eq!(q.limit, 20);
        assert_eq!(q.from, PeekFrom::Newest);
        assert_eq!(q.max_bytes, DEFAULT_PEEK_BYTES);
        assert!(!q.filters() && !q.other_side && !q.unmask);
    }

    #[test]
    fn bad_input_names_its_field() {
        assert_eq!(fields(&[("limit", "501")]), ["limit"]);
        assert_eq!(fields(&[("limit", "0")]), ["limit"]);
        assert_eq!(fields(&[("partition", "-1")]), ["partition"]);
        assert_eq!(fields(&[("offset", "x")]), ["offset"]);
        assert_eq!(
            fields(&[("from_time", "2000")]),
            ["from_time"],
            "the future"
        );
        assert_eq!(fields(&[("from_time", "yesterday")]), ["from_time"]);
        assert_eq!(
            fields(&[("offset", "1"), ("from_time", "5")]),
            ["from_time"]
        );
        assert_eq!(fields(&[("side", "left")]), ["side"]);
        assert_eq!(fields(&[("max_mb", "257")]), ["max_mb"]);
        assert_eq!(fields(&[("max_secs", "31")]), ["max_secs"]);
        assert_eq!(fields(&[("scan", "0")]), ["scan"]);
        let q = PeekQuery::parse(
            &input(&[("from_time", "2026-01-01T00:00:00Z"), ("side", "other")]),
            i64::MAX,
            |_| Some(77),
        )
        .unwrap();
        assert_eq!((q.from, q.other_side), (PeekFrom::Time(77), true));
    }
}

/// The fields to mark sensitive on a queue (dotted paths of its latest schema version);
/// replaces the marks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SensitiveFieldsInput {
    pub fields: Vec<String>,
}

/// A queue's sensitive fields: those its latest schema marks itself, and those its owners
/// marked on the schema page. Peeks mask both for everyone but the project's owners.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SensitiveFields {
    pub in_schema: Vec<String>,
    pub marked: Vec<String>,
}
