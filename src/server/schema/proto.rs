//! Protobuf schemas: `.proto` text compiled by `protox` into `prost-reflect` descriptors,
//! imports resolved from the other subjects' versions a schema references, and compatibility
//! by field number as Confluent Schema Registry's Protobuf rules decide it.
//!
//! The schema's message is the file's first message, as Confluent's serializers index it
//! (message index `[0]`); every message of the file is compared by name when versions differ.

mod compat;
mod render;

pub use compat::diff;
pub use render::render;

use super::{change, Field, Parsed, Shape, Ty};
use crate::domain::{ParseProblem, SchemaFieldRow, SchemaImport};
use base64::Engine;
use miette::Diagnostic;
use prost::Message;
use prost_reflect::{
    Cardinality, DescriptorPool, DynamicMessage, FieldDescriptor, FileDescriptor, Kind,
    MessageDescriptor,
};
use prost_types::FileDescriptorProto;
use protox::file::{ChainFileResolver, File, FileResolver, GoogleFileResolver};
use std::collections::HashMap;

/// The name the schema's own file has among its imports.
pub const MAIN_FILE: &str = "schema.proto";

/// How deep message fields are followed when flattening.
const MAX_DEPTH: usize = 8;

/// At most this many rows come out of flattening a record (a message with many fields of
/// message types multiplies its rows at every level).
const MAX_ROWS: usize = 2_000;

/// At most this many message fields are spelled out in the Flink SQL types of a record's
/// columns together; past it, a message column is a `STRING` (its JSON).
const MAX_SQL_FIELDS: usize = 2_000;

/// The messages on the way down and what is left of [`MAX_SQL_FIELDS`].
struct SqlWalk {
    on_path: Vec<String>,
    budget: usize,
}

/// A compiled Protobuf schema.
#[derive(Debug, Clone)]
pub struct Proto {
    /// The definition as published (descriptors sent by a client are rendered to `.proto`).
    pub text: String,
    pub pool: DescriptorPool,
    /// The files it imports, to compile it again.
    pub imports: Vec<SchemaImport>,
    /// Written as `.proto` text, so it carries comments; a descriptor (what Confluent's
    /// serializers send) has none.
    pub documented: bool,
}

/// The schema's own file and the files it imports, by name.
struct Sources {
    main: String,
    imports: Vec<SchemaImport>,
}

impl FileResolver for Sources {
    fn open_file(&self, name: &str) -> Result<File, protox::Error> {
        if name == MAIN_FILE {
            return File::from_source(name, &self.main);
        }
        match self.imports.iter().find(|i| i.name == name) {
            Some(i) => File::from_source(name, &i.definition),
            None => Err(protox::Error::file_not_found(name)),
        }
    }
}

/// Parses `.proto` text (or a base64 `FileDescriptorProto`, as Confluent's Python serializer
/// sends it) with the files it imports.
pub fn parse(text: &str, imports: &[SchemaImport]) -> Result<Parsed, ParseProblem> {
    let documented = descriptor_from_base64(text).is_none();
    let text = match descriptor_from_base64(text) {
        Some(fdp) if has_groups(&fdp.message_type) => {
            return Err(problem(
                "the descriptor uses proto2 groups, which Watershed does not store; register the .proto text"
                    .into(),
            ))
        }
        Some(fdp) => render(&fdp),
        None => text.to_string(),
    };
    if let Some(i) = imports.iter().find(|i| i.name == MAIN_FILE) {
        return Err(problem(format!(
            "references: {:?} is the schema's own file name; name the import otherwise",
            i.name
        )));
    }
    let mut resolver = ChainFileResolver::new();
    resolver.add(Sources {
        main: text.clone(),
        imports: imports.to_vec(),
    });
    resolver.add(GoogleFileResolver::new());
    let mut compiler = protox::Compiler::with_file_resolver(resolver);
    compiler.include_imports(true).include_source_info(true);
    compiler
        .open_file(MAIN_FILE)
        .map_err(|e| compile_problem(&e, &text))?;
    let pool = compiler.descriptor_pool();
    let proto = Proto {
        text,
        pool,
        imports: imports.to_vec(),
        documented,
    };
    if proto.file().messages().len() == 0 {
        return Err(problem(
            "a Protobuf schema needs at least one message: its first message is the queue's record"
                .into(),
        ));
    }
    Ok(Parsed::Protobuf(Box::new(proto)))
}

fn problem(message: String) -> ParseProblem {
    ParseProblem {
        message,
        line: None,
        column: None,
    }
}

/// A compiler error with the line and column it points at in the schema's own file.
fn compile_problem(e: &protox::Error, text: &str) -> ParseProblem {
    let in_main = e.file().is_none_or(|f| f == MAIN_FILE);
    let offset = e
        .labels()
        .and_then(|mut labels| labels.next())
        .map(|l| l.offset());
    let message = match e.file() {
        Some(f) if !in_main => format!("in import {f:?}: {e}"),
        _ => e.to_string(),
    };
    match offset.filter(|_| in_main) {
        Some(offset) => {
            let before = text.get(..offset).unwrap_or(text);
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            ParseProblem {
                message,
                line: Some(line),
                column: Some(column),
            }
        }
        None => problem(message),
    }
}

/// Whether any message (nested ones too) has a proto2 group field.
fn has_groups(messages: &[prost_types::DescriptorProto]) -> bool {
    messages.iter().any(|m| {
        m.field
            .iter()
            .any(|f| f.r#type() == prost_types::field_descriptor_proto::Type::Group)
            || has_groups(&m.nested_type)
    })
}

/// A base64 `FileDescriptorProto`, if that is what `text` is.
fn descriptor_from_base64(text: &str) -> Option<FileDescriptorProto> {
    let t = text.trim();
    if t.is_empty() || t.contains(|c: char| c.is_whitespace() || c == ';' || c == '{') {
        return None;
    }
    let bytes = base64::engine::general_purpose::STANDARD.decode(t).ok()?;
    FileDescriptorProto::decode(bytes.as_slice()).ok()
}

impl Proto {
    /// The schema's own file.
    pub fn file(&self) -> FileDescriptor {
        self.pool
            .get_file_by_name(MAIN_FILE)
            .expect("the compiled pool holds the schema's own file")
    }

    /// The queue's record: the file's first message.
    pub fn message(&self) -> MessageDescriptor {
        self.file()
            .messages()
            .next()
            .expect("parse refuses a file without messages")
    }

    /// The file as a `FileDescriptorProto` without source positions, named `name`.
    pub fn descriptor(&self, name: &str) -> FileDescriptorProto {
        let mut fdp = self.file().file_descriptor_proto().clone();
        fdp.source_code_info = None;
        fdp.name = Some(name.to_string());
        fdp
    }

    /// The descriptor in the Schema Registry's `serialized` form: base64 of its bytes.
    pub fn serialized(&self, name: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.descriptor(name).encode_to_vec())
    }

    /// Equal for schemas that mean the same: the compiled descriptor without source positions
    /// (so whitespace and how types are spelled do not count, every option does), its
    /// comments (the fields' documentation: a changed doc is a new version, as in Avro), and
    /// the files it imports.
    pub fn identity(&self) -> String {
        let mut text = self.shape_identity();
        let mut docs: Vec<(Vec<i32>, String)> = self.docs().into_iter().collect();
        docs.sort();
        for (path, doc) in docs {
            text.push_str(&format!("\n// doc {path:?}: {doc}"));
        }
        text
    }

    /// The identity without comments: what a descriptor, which has none, can be matched by.
    pub fn shape_identity(&self) -> String {
        let mut text = base64::engine::general_purpose::STANDARD
            .encode(self.descriptor(MAIN_FILE).encode_to_vec());
        for i in self
            .imports
            .iter()
            .filter(|i| self.pool.get_file_by_name(&i.name).is_some())
        {
            text.push_str(&format!("\n// import {}: {}", i.name, i.definition.len()));
            text.push_str(&i.definition);
        }
        text
    }

    /// What `pick` takes from each source location that has it, by source path.
    fn by_location(
        &self,
        pick: impl Fn(&prost_types::source_code_info::Location) -> Option<String>,
    ) -> HashMap<Vec<i32>, String> {
        self.file()
            .file_descriptor_proto()
            .source_code_info
            .iter()
            .flat_map(|info| &info.location)
            .filter_map(|l| Some((l.path.clone(), pick(l).filter(|c| !c.is_empty())?)))
            .collect()
    }

    /// Every comment by source path (leading, trailing and detached), each line trimmed so
    /// that indentation does not count.
    fn docs(&self) -> HashMap<Vec<i32>, String> {
        let tidy = |c: &String| {
            c.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect::<Vec<_>>()
                .join("\n")
        };
        self.by_location(|l| {
            let all: Vec<String> = l
                .leading_comments
                .iter()
                .chain(&l.trailing_comments)
                .chain(&l.leading_detached_comments)
                .map(tidy)
                .filter(|c| !c.is_empty())
                .collect();
            Some(all.join("\n"))
        })
    }

    /// Leading comments by source path.
    fn comments(&self) -> HashMap<Vec<i32>, String> {
        self.by_location(|l| Some(l.leading_comments.as_deref()?.trim().to_string()))
    }

    /// Every field of the record message by path, nested messages followed.
    pub fn fields(&self) -> Vec<SchemaFieldRow> {
        let comments = self.comments();
        let mut out = Vec::new();
        let mut path = vec![self.message().full_name().to_string()];
        flatten(&self.message(), "", &comments, &mut path, &mut out);
        out
    }

    pub fn shape(&self) -> Shape {
        Shape {
            fields: self
                .fields()
                .into_iter()
                .map(|f| {
                    (
                        f.path,
                        Field {
                            ty: Ty::Prim(f.ty),
                            default: f.default.map(serde_json::Value::String),
                            doc: f.doc,
                            required: !f.nullable,
                            aliases: Vec::new(),
                        },
                    )
                })
                .collect(),
            closed: Default::default(),
        }
    }

    /// Field paths and message names to index, and every comment of the file.
    pub fn index_words(&self) -> (Vec<String>, String) {
        let mut names: Vec<String> = self.fields().into_iter().map(|f| f.path).collect();
        names.extend(self.file().messages().map(|m| m.name().to_string()));
        let mut docs = String::new();
        let mut comments: Vec<(Vec<i32>, String)> = self.comments().into_iter().collect();
        comments.sort();
        for (_, c) in comments {
            docs.push_str(&c);
            docs.push('\n');
        }
        (names, docs)
    }

    /// Why a JSON sample does not read as the record message (protobuf's JSON mapping).
    pub fn sample_errors(&self, message: &str) -> Vec<String> {
        let mut de = serde_json::Deserializer::from_str(message);
        match DynamicMessage::deserialize(self.message(), &mut de).and_then(|_| de.end()) {
            Ok(()) => Vec::new(),
            Err(e) => vec![format!(
                "line {}, column {}: does not read as {}: {e}",
                e.line(),
                e.column(),
                self.message().full_name()
            )],
        }
    }

    /// The Java class Flink's `protobuf` format loads: as `protoc` names it from the file's
    /// `java_package`, `java_multiple_files` and `java_outer_classname` options.
    pub fn java_class(&self) -> String {
        let fdp = self.file().file_descriptor_proto().clone();
        let opts = fdp.options.clone().unwrap_or_default();
        let package = opts
            .java_package
            .clone()
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| fdp.package().to_string());
        let message = self.message().name().to_string();
        let class = if opts.java_multiple_files() {
            message
        } else {
            let mut outer = opts
                .java_outer_classname
                .clone()
                .unwrap_or_else(|| camel(MAIN_FILE.trim_end_matches(".proto")));
            if self.file().messages().any(|m| m.name() == outer) {
                outer.push_str("OuterClass");
            }
            format!("{outer}${message}")
        };
        if package.is_empty() {
            class
        } else {
            format!("{package}.{class}")
        }
    }

    /// The record's top-level fields as Flink SQL columns: (name, type, nullable, doc).
    pub fn columns(&self) -> Vec<(String, String, bool, String)> {
        let comments = self.comments();
        let mut walk = SqlWalk {
            on_path: vec![self.message().full_name().to_string()],
            budget: MAX_SQL_FIELDS,
        };
        self.message()
            .fields()
            .map(|f| {
                (
                    f.name().to_string(),
                    sql_type(&f, &mut walk),
                    nullable(&f),
                    comments.get(f.path()).cloned().unwrap_or_default(),
                )
            })
            .collect()
    }
}

fn camel(s: &str) -> String {
    let mut out = String::new();
    let mut upper = true;
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            if upper {
                out.extend(c.to_uppercase());
            } else {
                out.push(c);
            }
            upper = c.is_ascii_digit();
        } else {
            upper = true;
        }
    }
    out
}

/// A field's type as the schema spells it.
fn type_name(f: &FieldDescriptor) -> String {
    if f.is_map() {
        if let Kind::Message(entry) = f.kind() {
            return format!(
                "map<{}, {}>",
                kind_name(&entry.map_entry_key_field().kind()),
                kind_name(&entry.map_entry_value_field().kind())
            );
        }
    }
    let base = kind_name(&f.kind());
    match f.cardinality() {
        Cardinality::Repeated => format!("repeated {base}"),
        Cardinality::Required => format!("required {base}"),
        Cardinality::Optional => base,
    }
}

fn kind_name(k: &Kind) -> String {
    match k {
        Kind::Message(m) => m.full_name().to_string(),
        Kind::Enum(e) => e.full_name().to_string(),
        other => format!("{other:?}").to_lowercase(),
    }
}

/// Whether a reader can tell the field was not set: proto3 `optional`, proto2 `optional`,
/// messages and oneof members. Repeated fields and maps are never null, only empty.
fn nullable(f: &FieldDescriptor) -> bool {
    !f.is_list() && !f.is_map() && f.supports_presence() && !f.is_required()
}

/// Every field of `m` by path, following message fields into their messages, except into a
/// message already on the way down (recursion), a well-known type, below [`MAX_DEPTH`], or
/// past [`MAX_ROWS`].
fn flatten(
    m: &MessageDescriptor,
    prefix: &str,
    comments: &HashMap<Vec<i32>, String>,
    on_path: &mut Vec<String>,
    out: &mut Vec<SchemaFieldRow>,
) {
    for f in m.fields() {
        if out.len() >= MAX_ROWS {
            return;
        }
        let path = format!("{prefix}{}", f.name());
        let proto = f.field_descriptor_proto();
        out.push(SchemaFieldRow {
            path: path.clone(),
            ty: type_name(&f),
            nullable: nullable(&f),
            default: proto.default_value.clone(),
            doc: comments.get(f.path()).cloned(),
        });
        if on_path.len() >= MAX_DEPTH {
            continue;
        }
        let (inner, suffix) = if f.is_map() {
            match f.kind() {
                Kind::Message(entry) => (entry.map_entry_value_field().kind(), "{}."),
                _ => continue,
            }
        } else if f.is_list() {
            (f.kind(), "[].")
        } else {
            (f.kind(), ".")
        };
        if let Kind::Message(child) = inner {
            // Well-known types (Timestamp, StringValue, Any, Struct…) read as one value in
            // protobuf's JSON; their inner fields are not the data's own.
            if on_path.iter().any(|n| n == child.full_name())
                || child.package_name() == "google.protobuf"
            {
                continue;
            }
            on_path.push(child.full_name().to_string());
            flatten(&child, &format!("{path}{suffix}"), comments, on_path, out);
            on_path.pop();
        }
    }
}

/// A field's Flink SQL type. A message already on the way down (recursion), one below
/// [`MAX_DEPTH`], or one past the walk's budget is a `STRING` (its JSON).
fn sql_type(f: &FieldDescriptor, walk: &mut SqlWalk) -> String {
    if f.is_map() {
        if let Kind::Message(entry) = f.kind() {
            return format!(
                "MAP<{}, {}>",
                sql_kind(&entry.map_entry_key_field().kind(), walk),
                sql_kind(&entry.map_entry_value_field().kind(), walk)
            );
        }
    }
    let t = sql_kind(&f.kind(), walk);
    if f.is_list() {
        format!("ARRAY<{t}>")
    } else {
        t
    }
}

/// Flink's `protobuf` format reads unsigned integers as Java reads them: uint32 and fixed32
/// as INT, uint64 and fixed64 as BIGINT.
fn sql_kind(k: &Kind, walk: &mut SqlWalk) -> String {
    match k {
        Kind::Double => "DOUBLE".into(),
        Kind::Float => "FLOAT".into(),
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 | Kind::Uint32 | Kind::Fixed32 => "INT".into(),
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 | Kind::Uint64 | Kind::Fixed64 => {
            "BIGINT".into()
        }
        Kind::Bool => "BOOLEAN".into(),
        Kind::String | Kind::Enum(_) => "STRING".into(),
        Kind::Bytes => "BYTES".into(),
        Kind::Message(m)
            if walk.on_path.len() >= MAX_DEPTH
                || walk.budget < m.fields().len()
                || walk.on_path.iter().any(|n| n == m.full_name()) =>
        {
            "STRING".into()
        }
        Kind::Message(m) => {
            walk.budget -= m.fields().len();
            walk.on_path.push(m.full_name().to_string());
            let cols: Vec<String> = m
                .fields()
                .map(|f| format!("`{}` {}", f.name(), sql_type(&f, walk)))
                .collect();
            walk.on_path.pop();
            format!("ROW<{}>", cols.join(", "))
        }
    }
}

#[cfg(test)]
mod tests;
