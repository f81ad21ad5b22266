//! Looking inside a queue: each message's value decoded with the queue's schema (Avro and
//! Protobuf in the Schema Registry's wire format, JSON), or shown as text or hex; whether it
//! keeps the queue's contract and why not; sensitive fields masked; the peek's filters.
//!
//! Everything here is pure: the service reads the messages and hands each to a [`Decoder`].

use crate::domain::{PeekHeader, PeekMessage, SchemaFormat};
use crate::server::schema::Parsed;
use serde_json::Value;
use std::collections::{BTreeSet, HashMap};
use watershed_sdk::kafka::RawMessage;

/// What a masked value shows in place of the value.
pub const MASK: &str = "•••";

/// One version of the queue's schema, ready to decode with.
pub struct Version {
    pub id: i64,
    pub version: i64,
    pub parsed: Parsed,
    /// Dotted paths of the fields the schema marks sensitive.
    pub sensitive: BTreeSet<String>,
}

impl Version {
    pub fn new(id: i64, version: i64, parsed: Parsed) -> Self {
        let sensitive = sensitive_paths(&parsed);
        Self {
            id,
            version,
            parsed,
            sensitive,
        }
    }
}

/// The fields a schema marks sensitive, by path as the schema page names them (`address.city`,
/// `lines[].sku` for an array's items, `attrs{}.ssn` for a map's values): Avro fields with
/// `"sensitive": true` (named types followed where they are used), JSON Schema properties with
/// `"x-sensitive": true` (local `$ref`s, items and additional properties followed).
pub fn sensitive_paths(parsed: &Parsed) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    match parsed {
        Parsed::Avro { raw, .. } => {
            let mut named = HashMap::new();
            avro_names(raw, None, &mut named, 0);
            avro_sensitive(raw, "", &named, &mut out, 0);
        }
        Parsed::Json { raw } => json_sensitive(raw, raw, "", &mut out, 0),
        Parsed::Protobuf(_) => {}
    }
    out
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}

/// Nesting deeper than this is not followed (schemas are size-limited; this bounds recursion,
/// recursive types included).
const MAX_DEPTH: usize = 32;

/// The Avro schema's named types (records, enums, fixed) by name and full name.
fn avro_names<'a>(
    ty: &'a Value,
    namespace: Option<&'a str>,
    named: &mut HashMap<String, &'a Value>,
    depth: usize,
) {
    if depth > MAX_DEPTH {
        return;
    }
    match ty {
        Value::Array(branches) => {
            for b in branches {
                avro_names(b, namespace, named, depth + 1);
            }
        }
        Value::Object(o) => {
            let mut ns = namespace;
            if let Some(name) = o.get("name").and_then(Value::as_str) {
                // A dotted name carries its namespace; else the type's own or the enclosing one.
                let short = match name.rsplit_once('.') {
                    Some((space, short)) => {
                        ns = Some(space);
                        short
                    }
                    None => {
                        ns = o.get("namespace").and_then(Value::as_str).or(ns);
                        name
                    }
                };
                // Under its short and its full name: references may use either.
                named.insert(short.to_string(), ty);
                if let Some(ns) = ns.filter(|n| !n.is_empty()) {
                    named.insert(format!("{ns}.{short}"), ty);
                }
            }
            for f in o
                .get("fields")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(t) = f.get("type") {
                    avro_names(t, ns, named, depth + 1);
                }
            }
            for key in ["items", "values"] {
                if let Some(t) = o.get(key) {
                    avro_names(t, ns, named, depth + 1);
                }
            }
        }
        _ => {}
    }
}

fn avro_sensitive(
    ty: &Value,
    prefix: &str,
    named: &HashMap<String, &Value>,
    out: &mut BTreeSet<String>,
    depth: usize,
) {
    if depth > MAX_DEPTH {
        return;
    }
    match ty {
        Value::Array(branches) => {
            for b in branches {
                avro_sensitive(b, prefix, named, out, depth + 1);
            }
        }
        // A type named where it is used: its definition, when it is a record defined here.
        Value::String(name) => {
            if let Some(def) = named.get(name.as_str()) {
                avro_sensitive(def, prefix, named, out, depth + 1);
            }
        }
        Value::Object(o) => match o.get("type") {
            Some(Value::String(t)) if t == "record" => {
                for f in o
                    .get("fields")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let Some(name) = f.get("name").and_then(Value::as_str) else {
                        continue;
                    };
                    let path = join(prefix, name);
                    if f.get("sensitive").and_then(Value::as_bool) == Some(true) {
                        out.insert(path.clone());
                    }
                    if let Some(t) = f.get("type") {
                        avro_sensitive(t, &path, named, out, depth + 1);
                    }
                }
            }
            Some(Value::String(t)) if t == "array" => {
                if let Some(items) = o.get("items") {
                    avro_sensitive(items, &format!("{prefix}[]"), named, out, depth + 1);
                }
            }
            Some(Value::String(t)) if t == "map" => {
                if let Some(values) = o.get("values") {
                    avro_sensitive(values, &format!("{prefix}{{}}"), named, out, depth + 1);
                }
            }
            // `{"type": {...}}` or `{"type": "Name"}`: the type is inside.
            Some(inner @ (Value::Object(_) | Value::Array(_))) => {
                avro_sensitive(inner, prefix, named, out, depth + 1);
            }
            Some(Value::String(t)) if named.contains_key(t.as_str()) && !o.contains_key("name") => {
                avro_sensitive(&o["type"], prefix, named, out, depth + 1);
            }
            _ => {}
        },
        _ => {}
    }
}

fn json_sensitive(
    root: &Value,
    schema: &Value,
    prefix: &str,
    out: &mut BTreeSet<String>,
    depth: usize,
) {
    if depth > MAX_DEPTH {
        return;
    }
    let Some(o) = schema.as_object() else {
        return;
    };
    if !prefix.is_empty() && o.get("x-sensitive").and_then(Value::as_bool) == Some(true) {
        out.insert(prefix.to_string());
    }
    // Local references only (`#/$defs/Address`); a remote one is not fetched.
    if let Some(target) = o
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix('#'))
        .and_then(|pointer| root.pointer(pointer))
    {
        json_sensitive(root, target, prefix, out, depth + 1);
    }
    if let Some(props) = o.get("properties").and_then(Value::as_object) {
        for (name, sub) in props {
            json_sensitive(root, sub, &join(prefix, name), out, depth + 1);
        }
    }
    let item = format!("{prefix}[]");
    for key in ["items", "prefixItems", "additionalItems"] {
        match o.get(key) {
            Some(Value::Array(each)) => {
                for sub in each {
                    json_sensitive(root, sub, &item, out, depth + 1);
                }
            }
            Some(sub) => json_sensitive(root, sub, &item, out, depth + 1),
            None => {}
        }
    }
    for key in ["if", "then", "else", "not"] {
        if let Some(sub) = o.get(key) {
            json_sensitive(root, sub, prefix, out, depth + 1);
        }
    }
    for sub in o
        .get("dependentSchemas")
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(|m| m.values())
    {
        json_sensitive(root, sub, prefix, out, depth + 1);
    }
    if let Some(extra) = o.get("additionalProperties").filter(|e| e.is_object()) {
        json_sensitive(root, extra, &format!("{prefix}{{}}"), out, depth + 1);
    }
    for sub in o
        .get("patternProperties")
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(|m| m.values())
    {
        json_sensitive(root, sub, &format!("{prefix}{{}}"), out, depth + 1);
    }
    for key in ["allOf", "anyOf", "oneOf"] {
        for sub in o.get(key).and_then(Value::as_array).into_iter().flatten() {
            json_sensitive(root, sub, prefix, out, depth + 1);
        }
    }
}

/// Whether a filter's dotted path (which steps through arrays, and through a map by its key)
/// reaches into the sensitive field at `sensitive` (a schema-page path).
fn reaches(filter: &str, sensitive: &str) -> bool {
    // `lines[].sku` is `lines`, `sku` to a filter; `attrs{}.ssn` is `attrs`, any key, `ssn`.
    let mut pattern: Vec<Option<&str>> = Vec::new();
    for part in sensitive.split('.') {
        let name = part.trim_end_matches(['[', ']', '{', '}']);
        if !name.is_empty() {
            pattern.push(Some(name));
        }
        for _ in 0..part.matches("{}").count() {
            pattern.push(None);
        }
    }
    let steps: Vec<&str> = filter.split('.').collect();
    steps.len() >= pattern.len()
        && pattern
            .iter()
            .zip(&steps)
            .all(|(want, step)| want.is_none_or(|w| w == *step))
}

/// A value decoded, before masking.
struct Decoded {
    encoding: &'static str,
    /// The value as JSON, when it is structured.
    json: Option<Value>,
    /// The value as shown when it is not JSON (text or hex).
    shown: String,
    schema: Option<(i64, i64)>,
    problem: Option<String>,
}

/// Lower-case hex, two digits a byte.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// Text when the bytes are UTF-8 without control characters (but tabs and line breaks), else
/// hex.
fn text_or_hex(bytes: &[u8]) -> (&'static str, String) {
    match std::str::from_utf8(bytes) {
        Ok(t)
            if !t
                .chars()
                .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) =>
        {
            ("text", t.to_string())
        }
        _ => ("hex", hex(bytes)),
    }
}

/// A protobuf message-index list as Confluent's serializers write it (zigzag varints: a count,
/// then the indexes; a lone 0 for the first message); the bytes after it.
fn message_indexes(mut b: &[u8]) -> Option<(Vec<i64>, &[u8])> {
    fn varint(b: &mut &[u8]) -> Option<i64> {
        let mut v: u64 = 0;
        for shift in (0..64).step_by(7) {
            let (&byte, rest) = b.split_first()?;
            *b = rest;
            v |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Some(((v >> 1) as i64) ^ -((v & 1) as i64));
            }
        }
        None
    }
    let count = varint(&mut b)?;
    if count == 0 {
        return Some((vec![0], b));
    }
    let mut out = Vec::new();
    for _ in 0..count.min(16) {
        out.push(varint(&mut b)?);
    }
    Some((out, b))
}

/// Decodes values with the queue's schema versions and masks what the viewer may not see.
pub struct Decoder {
    versions: HashMap<i64, Version>,
    /// The latest version's id, the contract for values without a schema id.
    latest: Option<i64>,
    /// The fields any version marks sensitive, or an owner ticked: masked in every version's
    /// messages (a field marked in version 3 was just as personal in version 1).
    sensitive: BTreeSet<String>,
    /// Mask every field, the key and header values (a queue tagged sensitive).
    mask_all: bool,
    /// Show sensitive fields in the clear.
    unmask: bool,
}

impl Decoder {
    pub fn new(versions: Vec<Version>, mask_all: bool, unmask: bool) -> Self {
        let latest = versions.iter().max_by_key(|v| v.version).map(|v| v.id);
        let sensitive = versions
            .iter()
            .flat_map(|v| v.sensitive.iter().cloned())
            .collect();
        Self {
            sensitive,
            versions: versions.into_iter().map(|v| (v.id, v)).collect(),
            latest,
            mask_all,
            unmask,
        }
    }

    fn latest(&self) -> Option<&Version> {
        self.latest.and_then(|id| self.versions.get(&id))
    }

    /// Whether anything is masked for this viewer at `path` (a dotted field path).
    pub fn masks_path(&self, path: &str) -> bool {
        !self.unmask && (self.mask_all || self.sensitive.iter().any(|s| reaches(path, s)))
    }

    /// Whether values are masked, wholly or in part, for this viewer: a value that does not
    /// decode is then not shown at all (its sensitive fields cannot be told from the rest).
    fn masks_any(&self) -> bool {
        !self.unmask && (self.mask_all || !self.sensitive.is_empty())
    }

    /// Whether keys are masked for this viewer.
    pub fn masks_keys(&self) -> bool {
        self.mask_all && !self.unmask
    }

    fn decode(&self, bytes: &[u8]) -> Decoded {
        let framed = bytes.len() >= 5 && bytes[0] == 0;
        let latest_format = self.latest().map(|v| v.parsed.format());
        // Without a schema there is no contract: values show as they are.
        if framed && latest_format.is_some_and(|f| f != SchemaFormat::Json) {
            let id = i64::from(u32::from_be_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]));
            let Some(v) = self.versions.get(&id) else {
                let (encoding, shown) = text_or_hex(bytes);
                return Decoded {
                    encoding,
                    json: None,
                    shown,
                    schema: None,
                    problem: Some(format!(
                        "written with schema id {id}, which is not a version of this queue's schema"
                    )),
                };
            };
            return self.decode_with(v, &bytes[5..], bytes);
        }
        if let Some(v) = self.latest() {
            if v.parsed.format() == SchemaFormat::Json {
                // JSON Schema values come framed (Confluent's serializer) or as plain JSON.
                let body = if framed {
                    let id =
                        i64::from(u32::from_be_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]));
                    match self.versions.get(&id) {
                        Some(framed_v) => return self.decode_with(framed_v, &bytes[5..], bytes),
                        None => bytes,
                    }
                } else {
                    bytes
                };
                return self.decode_with(v, body, bytes);
            }
            let (encoding, shown) = text_or_hex(bytes);
            return Decoded {
                encoding,
                json: None,
                shown,
                schema: None,
                problem: Some(format!(
                    "not in the Schema Registry's wire format (a zero byte and the schema id), \
                     so it cannot be read as this queue's {} schema",
                    v.parsed.format()
                )),
            };
        }
        // No schema: JSON when it parses, else text, else hex.
        if let Ok(json) = serde_json::from_slice::<Value>(bytes) {
            if json.is_object() || json.is_array() {
                return Decoded {
                    encoding: "json",
                    json: Some(json),
                    shown: String::new(),
                    schema: None,
                    problem: None,
                };
            }
        }
        let (encoding, shown) = text_or_hex(bytes);
        Decoded {
            encoding,
            json: None,
            shown,
            schema: None,
            problem: None,
        }
    }

    /// `body` read with version `v`; `whole` is the value as stored, shown when it does not read.
    fn decode_with(&self, v: &Version, body: &[u8], whole: &[u8]) -> Decoded {
        let named = format!("version {} (id {})", v.version, v.id);
        let broken = |why: String| {
            let (encoding, shown) = text_or_hex(whole);
            Decoded {
                encoding,
                json: None,
                shown,
                schema: Some((v.id, v.version)),
                problem: Some(why),
            }
        };
        let ok = |encoding: &'static str, json: Value, problem: Option<String>| Decoded {
            encoding,
            json: Some(json),
            shown: String::new(),
            schema: Some((v.id, v.version)),
            problem,
        };
        match &v.parsed {
            Parsed::Avro { schema, .. } => {
                let mut reader = body;
                let read = apache_avro::reader::datum::GenericDatumReader::builder(schema)
                    .build()
                    .and_then(|r| r.read_value(&mut reader));
                match read {
                    Err(e) => broken(format!("does not decode with {named}: {e}")),
                    Ok(_) if !reader.is_empty() => broken(format!(
                        "{} bytes are left over after decoding with {named}",
                        reader.len()
                    )),
                    Ok(value) => match Value::try_from(value) {
                        Ok(json) => ok("avro", json, None),
                        Err(e) => broken(format!("decoded with {named} but not shown: {e}")),
                    },
                }
            }
            Parsed::Json { .. } => match serde_json::from_slice::<Value>(body) {
                Err(e) => broken(format!("not valid JSON: {e}")),
                Ok(json) => {
                    // Where masking applies, the reasons name the place and the rule broken,
                    // never the value (a validator's message may quote it).
                    let errors = if self.masks_any() {
                        crate::server::schema::json_error_places(&v.parsed, &json)
                    } else {
                        crate::server::schema::json_errors(&v.parsed, &json)
                    };
                    let problem = (!errors.is_empty())
                        .then(|| format!("does not match {named}: {}", errors.join("; ")));
                    ok("json", json, problem)
                }
            },
            Parsed::Protobuf(p) => {
                let Some((indexes, payload)) = message_indexes(body) else {
                    return broken("the message indexes after the schema id do not read".into());
                };
                if indexes != [0] {
                    return broken(format!(
                        "written as message {indexes:?} of {named}; only the first message is read"
                    ));
                }
                match prost_reflect::DynamicMessage::decode(p.message(), payload) {
                    Err(e) => broken(format!("does not decode with {named}: {e}")),
                    // Fields by their names in the .proto file, as the schema page and the
                    // sensitive marks name them (not protobuf JSON's lowerCamelCase).
                    Ok(m) => match m.serialize_with_options(
                        serde_json::value::Serializer,
                        &prost_reflect::SerializeOptions::new().use_proto_field_name(true),
                    ) {
                        Ok(json) => ok("protobuf", json, None),
                        Err(e) => broken(format!("decoded with {named} but not shown: {e}")),
                    },
                }
            }
        }
    }

    /// A message as this viewer sees it.
    pub fn message(&self, raw: &RawMessage) -> PeekMessage {
        let (encoding, value, schema, problem, masked_fields) = match &raw.value {
            None => ("null", String::new(), None, None, Vec::new()),
            Some(bytes) => {
                let d = self.decode(bytes);
                let mut masked = Vec::new();
                let value = match d.json {
                    // JSON that breaks its schema: where its sensitive parts are is not known.
                    Some(json) if d.problem.is_some() && self.masks_any() => {
                        masked.push(String::new());
                        masked_text("text", &json.to_string())
                    }
                    Some(mut json) => {
                        if !self.unmask {
                            mask(
                                &mut json,
                                &[String::new()],
                                &self.sensitive,
                                self.mask_all,
                                &mut masked,
                                0,
                            );
                        }
                        json.to_string()
                    }
                    None if self.masks_any() => {
                        masked.push(String::new());
                        masked_text(d.encoding, &d.shown)
                    }
                    None => d.shown,
                };
                (d.encoding, value, d.schema, d.problem, masked)
            }
        };
        let mask_keys = self.masks_keys();
        let (key_encoding, key) = match &raw.key {
            None => ("null".to_string(), None),
            Some(k) => {
                let (enc, shown) = text_or_hex(k);
                if mask_keys {
                    ("masked".to_string(), Some(masked_text(enc, &shown)))
                } else {
                    (enc.to_string(), Some(shown))
                }
            }
        };
        let headers = raw
            .headers
            .iter()
            .map(|(name, v)| PeekHeader {
                name: name.clone(),
                value: v.as_ref().map(|v| {
                    let (enc, shown) = text_or_hex(v);
                    if mask_keys {
                        masked_text(enc, &shown)
                    } else {
                        shown
                    }
                }),
            })
            .collect();
        // Nothing to copy where anything may be masked (the bytes can hold what the decoded
        // view dropped, such as a repeated key), or for a tombstone (no value to write).
        let producer_command = (masked_fields.is_empty() && !mask_keys && !self.masks_any())
            .then_some(raw.value.as_deref())
            .flatten()
            .map(|value| producer_command(raw.key.as_deref(), value));
        PeekMessage {
            partition: raw.partition,
            offset: raw.offset,
            timestamp: raw.timestamp,
            key,
            key_encoding,
            headers,
            encoding: encoding.to_string(),
            value,
            schema_id: schema.map(|s| s.0),
            schema_version: schema.map(|s| s.1),
            problem,
            masked_fields,
            producer_command,
        }
    }
}

/// The length class a masked value shows: enough to tell an id from an essay, not the value.
fn length_class(chars: usize) -> &'static str {
    match chars {
        0 => "empty",
        1..=8 => "1–8 chars",
        9..=32 => "9–32 chars",
        33..=128 => "33–128 chars",
        _ => "over 128 chars",
    }
}

fn masked_text(encoding: &str, shown: &str) -> String {
    let len = if encoding == "hex" {
        shown.len() / 2
    } else {
        shown.chars().count()
    };
    let unit = if encoding == "hex" { "bytes" } else { "text" };
    format!("{MASK} {unit}, {}", length_class(len))
}

fn mask_leaf(v: &Value) -> Value {
    Value::String(match v {
        Value::Null => return Value::Null,
        Value::Bool(_) => format!("{MASK} boolean"),
        Value::Number(_) => format!("{MASK} number"),
        Value::String(s) => format!("{MASK} string, {}", length_class(s.chars().count())),
        Value::Array(a) => format!("{MASK} array of {}", a.len()),
        Value::Object(_) => format!("{MASK} record"),
    })
}

/// Masks `v` in place where its path is sensitive (or everywhere with `all`), naming each
/// masked path in `masked`. An object's key may be a record's field (`a.b`) or a map's value
/// (`a{}`), so a value carries every path it may have that still leads to a sensitive field;
/// a plain value where sensitive fields were expected below is masked too.
fn mask(
    v: &mut Value,
    paths: &[String],
    sensitive: &BTreeSet<String>,
    all: bool,
    masked: &mut Vec<String>,
    depth: usize,
) {
    let hide = |v: &mut Value, path: &str, masked: &mut Vec<String>| {
        if !v.is_null() {
            *v = mask_leaf(v);
            if !masked.iter().any(|m| m == path) {
                masked.push(path.to_string());
            }
        }
    };
    let hit = paths
        .iter()
        .find(|p| !p.is_empty() && (all || sensitive.contains(p.as_str())));
    if let Some(p) = hit.or(paths.first().filter(|_| depth > MAX_DEPTH)) {
        hide(v, p, masked);
        return;
    }
    // Paths with a sensitive field below them (`a` for `a.b`, `a[]` or `a{}.c`).
    let leads = |p: &str| {
        sensitive.iter().any(|s| {
            s.len() > p.len()
                && s.starts_with(p)
                && (p.is_empty() || matches!(s.as_bytes()[p.len()], b'.' | b'[' | b'{'))
        })
    };
    let live: Vec<&String> = paths.iter().filter(|p| all || leads(p)).collect();
    let Some(first) = live.first() else {
        return;
    };
    match v {
        Value::Object(o) => {
            for (k, sub) in o.iter_mut() {
                let mut next: Vec<String> = Vec::new();
                for p in &live {
                    for at in [join(p, k), format!("{p}{{}}")] {
                        if !next.contains(&at) {
                            next.push(at);
                        }
                    }
                }
                mask(sub, &next, sensitive, all, masked, depth + 1);
            }
        }
        Value::Array(items) => {
            let next: Vec<String> = live.iter().map(|p| format!("{p}[]")).collect();
            for sub in items {
                mask(sub, &next, sensitive, all, masked, depth + 1);
            }
        }
        _ => {
            let at = first.to_string();
            hide(v, &at, masked);
        }
    }
}

/// A Rust byte-string literal of `bytes`.
fn byte_literal(bytes: &[u8]) -> String {
    format!("b\"{}\"", bytes.escape_ascii())
}

/// The Stream-SDK call that writes this key and value again.
pub fn producer_command(key: Option<&[u8]>, value: &[u8]) -> String {
    let key = key.map_or("None".to_string(), |k| format!("Some({})", byte_literal(k)));
    let value = byte_literal(value);
    format!("producer.send({key}, {value}).await?;")
}

/// A peek's filter on a field: `path = value`, the value as JSON (`"FR"`, `42`, `true`) or a
/// bare word read as a string.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldFilter {
    pub path: String,
    pub value: Value,
}

impl FieldFilter {
    /// Parses `path = value`; the error says what is wrong (the caller names the field).
    pub fn parse(text: &str) -> Result<Self, String> {
        let Some((path, value)) = text.split_once('=') else {
            return Err("must be `path = value`, e.g. `country = \"FR\"`".into());
        };
        let path = path.trim();
        if path.is_empty()
            || !path
                .split('.')
                .all(|p| !p.is_empty() && p.chars().all(|c| c.is_alphanumeric() || c == '_'))
        {
            return Err(format!(
                "{path:?} is not a field path (names joined by dots, e.g. `address.country`)"
            ));
        }
        let value = value.trim();
        if value.is_empty() {
            return Err("has no value after `=`".into());
        }
        let value = serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.into()));
        Ok(Self {
            path: path.to_string(),
            value,
        })
    }

    /// Whether the message's decoded (shown) value has the field with this value.
    pub fn matches(&self, m: &PeekMessage) -> bool {
        if !matches!(m.encoding.as_str(), "avro" | "json" | "protobuf") {
            return false;
        }
        let Ok(json) = serde_json::from_str::<Value>(&m.value) else {
            return false;
        };
        let mut at = vec![&json];
        for part in self.path.split('.') {
            at = at
                .into_iter()
                .flat_map(|v| match v {
                    Value::Array(items) => items.iter().filter_map(|i| i.get(part)).collect(),
                    other => other.get(part).into_iter().collect::<Vec<_>>(),
                })
                .collect();
        }
        at.into_iter().any(|v| {
            v == &self.value
                || matches!(v, Value::Array(items) if items.contains(&self.value))
                // Avro's and protobuf's JSON give longs as numbers; "42" finds 42.
                || matches!((v, &self.value), (Value::Number(n), Value::String(s)) if n.to_string() == *s)
        })
    }
}

/// Whether the message shows `text` anywhere in its key, headers or value (as shown, so a
/// masked value cannot be found by its contents), ignoring case.
pub fn contains_text(m: &PeekMessage, text: &str) -> bool {
    let needle = text.to_lowercase();
    m.key
        .as_deref()
        .is_some_and(|k| k.to_lowercase().contains(&needle))
        || m.value.to_lowercase().contains(&needle)
        || m.headers.iter().any(|h| {
            h.name.to_lowercase().contains(&needle)
                || h.value
                    .as_deref()
                    .is_some_and(|v| v.to_lowercase().contains(&needle))
        })
}

#[cfg(test)]
mod tests;
