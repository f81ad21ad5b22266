//! A queue's schema: its format, versions, compatibility mode, and how versions differ.

use super::FieldError;
use serde::{Deserialize, Serialize};
use strum::{AsRefStr, Display, EnumString, VariantArray};

/// The schema languages a queue's contract can be written in.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    Display,
    EnumString,
    AsRefStr,
    VariantArray,
)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase", ascii_case_insensitive)]
pub enum SchemaFormat {
    Avro,
    /// JSON Schema, drafts 2020-12 and 07.
    Json,
    /// Protocol Buffers, `.proto` files in proto3 or proto2 syntax.
    Protobuf,
}

/// Which earlier versions a new version must stay compatible with, as Confluent Schema
/// Registry defines the modes.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    Serialize,
    Deserialize,
    Display,
    EnumString,
    AsRefStr,
    VariantArray,
)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE", ascii_case_insensitive)]
pub enum Compatibility {
    None,
    /// The new schema reads data written with the latest one.
    #[default]
    Backward,
    /// … with every earlier one.
    BackwardTransitive,
    /// The latest schema reads data written with the new one.
    Forward,
    ForwardTransitive,
    /// Both directions.
    Full,
    FullTransitive,
}

impl Compatibility {
    /// New readers must read old data.
    pub fn backward(self) -> bool {
        use Compatibility::*;
        matches!(self, Backward | BackwardTransitive | Full | FullTransitive)
    }

    /// Old readers must read new data.
    pub fn forward(self) -> bool {
        use Compatibility::*;
        matches!(self, Forward | ForwardTransitive | Full | FullTransitive)
    }

    /// Checked against every earlier version, not only the latest.
    pub fn transitive(self) -> bool {
        use Compatibility::*;
        matches!(
            self,
            BackwardTransitive | ForwardTransitive | FullTransitive
        )
    }

    pub fn parse(field: &str, s: &str) -> Result<Self, FieldError> {
        s.trim().parse().map_err(|_| {
            FieldError::new(
                field,
                format!(
                    "{s:?} is not a compatibility mode: use NONE, BACKWARD, FORWARD, FULL or their _TRANSITIVE forms"
                ),
            )
        })
    }
}

/// What a data developer submits to publish a schema version.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SchemaInput {
    /// `avro`, `json` or `protobuf`.
    pub format: String,
    /// The schema text.
    pub definition: String,
    #[serde(default)]
    pub comment: String,
    /// Protobuf: the other subjects' versions this schema's imports name.
    #[serde(default)]
    pub references: Vec<SchemaReference>,
}

/// The Schema Registry subject of a queue's values: `<project>.<queue>-value`.
pub fn subject_name(project: &str, queue: &str) -> String {
    format!("{project}.{queue}-value")
}

/// `<project>.<queue>-value` → (project, queue); `None` for any other subject.
pub fn parse_subject(subject: &str) -> Option<(&str, &str)> {
    subject.strip_suffix("-value")?.split_once('.')
}

/// An import of a Protobuf schema, as the Schema Registry names it: the file name the schema
/// imports, and the subject and version that hold that file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SchemaReference {
    /// The name the schema's `import` uses, e.g. `shop/money.proto`.
    pub name: String,
    /// `<project>.<queue>-value`.
    pub subject: String,
    /// The version, or -1 for the latest when publishing.
    pub version: i64,
}

/// A file a Protobuf schema imports, with its text as it was when the schema was published
/// (referenced versions never change, so this is a copy, not a second truth).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemaImport {
    pub name: String,
    pub definition: String,
}

/// One field of a version, as an analyst reads it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SchemaFieldRow {
    /// Dotted path, `[]` for array items and `{}` for map values.
    pub path: String,
    #[serde(rename = "type")]
    pub ty: String,
    pub nullable: bool,
    pub default: Option<String>,
    pub doc: Option<String>,
}

/// One immutable version of a queue's schema.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SchemaVersionView {
    /// Unique across all queues (the Schema Registry id).
    pub id: i64,
    pub project: String,
    pub queue: String,
    /// 1, 2, 3… per queue.
    pub version: i64,
    pub format: SchemaFormat,
    pub definition: String,
    pub author: String,
    pub comment: String,
    pub created_at: i64,
    /// Protobuf: the subjects' versions this version imports.
    #[serde(default)]
    pub references: Vec<SchemaReference>,
    /// Every file the definition needs (direct and indirect imports); the server's copy.
    #[serde(skip)]
    #[cfg_attr(feature = "ssr", schema(ignore))]
    pub imports: Vec<SchemaImport>,
}

/// Why a schema text is not a valid schema: where the text is not JSON (line and column count
/// from 1), or which part breaks the schema language's rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ParseProblem {
    pub message: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
}

impl std::fmt::Display for ParseProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.line, self.column) {
            (Some(l), Some(c)) => write!(f, "line {l}, column {c}: {}", self.message),
            _ => f.write_str(&self.message),
        }
    }
}

/// How a field changed between two versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Display)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum ChangeKind {
    Added,
    Removed,
    TypeChanged,
    /// JSON Schema: the field became required or optional.
    RequiredChanged,
    DefaultChanged,
    DocChanged,
    /// Avro: the field now has another name and aliases the old one. Protobuf: the field
    /// with the same number has another name.
    Renamed,
    /// Protobuf: the field's label (singular, repeated, required) changed.
    LabelChanged,
    /// Protobuf: the field moved into or out of a `oneof`.
    OneofChanged,
    /// Protobuf: the file's package changed.
    PackageChanged,
}

/// One field-level change between two versions, with what it breaks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct FieldChange {
    /// Dotted path, `[]` for array items: `address.street`, `lines[].sku`.
    pub field: String,
    pub kind: ChangeKind,
    pub before: Option<String>,
    pub after: Option<String>,
    /// Readers of the new version can no longer read data written with the old one.
    pub breaks_backward: bool,
    /// Readers of the old version can no longer read data written with the new one.
    pub breaks_forward: bool,
    /// Why, in words.
    pub reason: String,
}

impl FieldChange {
    /// Words for the change's compatibility impact.
    pub fn impact(&self) -> &'static str {
        match (self.breaks_backward, self.breaks_forward) {
            (false, false) => "compatible",
            (true, false) => "breaks backward",
            (false, true) => "breaks forward",
            (true, true) => "breaks both",
        }
    }
}

/// How one line of a side-by-side view of two versions differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Display)]
#[strum(serialize_all = "snake_case")]
pub enum LineChange {
    Same,
    Removed,
    Added,
    Changed,
}

/// One row of two versions shown side by side: a line of the older on the left, of the
/// newer on the right (either may be missing where lines were added or removed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SideBySideRow {
    pub left: Option<(usize, String)>,
    pub right: Option<(usize, String)>,
    pub change: LineChange,
}

/// One reason a new version breaks the queue's mode.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CompatibilityProblem {
    pub field: String,
    /// The version it breaks with.
    pub version: i64,
    pub message: String,
}

impl std::fmt::Display for CompatibilityProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {} (against version {})",
            self.field, self.message, self.version
        )
    }
}

/// What checking a draft says: whether it parses, what breaks, and how it differs from the
/// latest version.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SchemaCheck {
    pub parse_error: Option<ParseProblem>,
    pub mode: Compatibility,
    pub problems: Vec<CompatibilityProblem>,
    pub changes: Vec<FieldChange>,
}

/// A column of a queue seen as a table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TableColumn {
    pub name: String,
    /// Flink SQL type.
    pub sql_type: String,
    pub nullable: bool,
    pub doc: String,
}

/// A queue as a table, for a metadata centre.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CatalogTable {
    pub project: String,
    pub queue: String,
    pub schema_version: i64,
    pub format: SchemaFormat,
    pub cluster: String,
    pub topic: String,
    pub columns: Vec<TableColumn>,
    /// `CREATE TABLE` for Flink SQL with the Kafka connector.
    pub flink_ddl: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_say_which_directions_they_check() {
        use Compatibility::*;
        let table = [
            (None, false, false, false),
            (Backward, true, false, false),
            (BackwardTransitive, true, false, true),
            (Forward, false, true, false),
            (ForwardTransitive, false, true, true),
            (Full, true, true, false),
            (FullTransitive, true, true, true),
        ];
        for (mode, b, f, t) in table {
            assert_eq!(
                (mode.backward(), mode.forward(), mode.transitive()),
                (b, f, t),
                "{mode}"
            );
            assert_eq!(Compatibility::parse("m", mode.as_ref()), Ok(mode));
        }
        assert_eq!(
            Compatibility::parse("m", "full_transitive"),
            Ok(FullTransitive)
        );
        assert_eq!(
            Compatibility::parse("m", "sideways").unwrap_err().field,
            "m"
        );
    }
}
