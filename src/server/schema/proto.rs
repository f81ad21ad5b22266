//! Protobuf schemas: `.proto` text compiled by `protox` into `prost-reflect` descriptors,
//! imports resolved from the other subjects' versions a schema references, and compatibility
//! by field number as Confluent Schema Registry's Protobuf rules decide it.
//!
//! The schema's message is the file's first message, as Confluent's serializers index it
//! (message index `[0]`); every message of the file is compared by name when versions differ.

use super::{change, Field, Parsed, Shape, Ty};
use crate::domain::{ChangeKind, FieldChange, ParseProblem, SchemaFieldRow, SchemaImport};
use base64::Engine;
use miette::Diagnostic;
use prost::Message;
use prost_reflect::{
    Cardinality, DescriptorPool, DynamicMessage, EnumDescriptor, FieldDescriptor, FileDescriptor,
    Kind, MessageDescriptor,
};
use prost_types::{
    field_descriptor_proto::{Label, Type},
    DescriptorProto, EnumDescriptorProto, FieldDescriptorProto, FileDescriptorProto,
};
use protox::file::{ChainFileResolver, File, FileResolver, GoogleFileResolver};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// The name the schema's own file has among its imports.
pub const MAIN_FILE: &str = "schema.proto";

/// How deep message fields are followed when flattening (recursive messages stop here).
const MAX_DEPTH: usize = 8;

/// A compiled Protobuf schema.
#[derive(Debug, Clone)]
pub struct Proto {
    /// The definition as published (descriptors sent by a client are rendered to `.proto`).
    pub text: String,
    pub pool: DescriptorPool,
    /// The files it imports, to compile it again.
    pub imports: Vec<SchemaImport>,
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
    let text = match descriptor_from_base64(text) {
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

    /// Equal for schemas that mean the same: the descriptor rendered back to `.proto`, so
    /// comments, whitespace and how types are spelled do not count, but every option does.
    pub fn identity(&self) -> String {
        let mut text = render(&self.descriptor(MAIN_FILE));
        for i in &self.imports {
            text.push_str(&format!("\n// import {}: {}", i.name, i.definition.len()));
            text.push_str(&i.definition);
        }
        text
    }

    /// Leading comments by source path.
    fn comments(&self) -> HashMap<Vec<i32>, String> {
        self.file()
            .file_descriptor_proto()
            .source_code_info
            .iter()
            .flat_map(|info| &info.location)
            .filter_map(|l| {
                let c = l.leading_comments.as_deref()?.trim();
                (!c.is_empty()).then(|| (l.path.clone(), c.to_string()))
            })
            .collect()
    }

    /// Every field of the record message by path, nested messages followed.
    pub fn fields(&self) -> Vec<SchemaFieldRow> {
        let comments = self.comments();
        let mut out = Vec::new();
        flatten(&self.message(), "", &comments, 0, &mut out);
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
        self.message()
            .fields()
            .map(|f| {
                (
                    f.name().to_string(),
                    sql_type(&f, 0),
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

fn flatten(
    m: &MessageDescriptor,
    prefix: &str,
    comments: &HashMap<Vec<i32>, String>,
    depth: usize,
    out: &mut Vec<SchemaFieldRow>,
) {
    for f in m.fields() {
        let path = format!("{prefix}{}", f.name());
        let proto = f.field_descriptor_proto();
        out.push(SchemaFieldRow {
            path: path.clone(),
            ty: type_name(&f),
            nullable: nullable(&f),
            default: proto.default_value.clone(),
            doc: comments.get(f.path()).cloned(),
        });
        if depth + 1 >= MAX_DEPTH {
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
            flatten(&child, &format!("{path}{suffix}"), comments, depth + 1, out);
        }
    }
}

/// A field's Flink SQL type.
fn sql_type(f: &FieldDescriptor, depth: usize) -> String {
    if f.is_map() {
        if let Kind::Message(entry) = f.kind() {
            return format!(
                "MAP<{}, {}>",
                sql_kind(&entry.map_entry_key_field().kind(), depth),
                sql_kind(&entry.map_entry_value_field().kind(), depth)
            );
        }
    }
    let t = sql_kind(&f.kind(), depth);
    if f.is_list() {
        format!("ARRAY<{t}>")
    } else {
        t
    }
}

fn sql_kind(k: &Kind, depth: usize) -> String {
    match k {
        Kind::Double => "DOUBLE".into(),
        Kind::Float => "FLOAT".into(),
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => "INT".into(),
        Kind::Uint32 | Kind::Fixed32 | Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => {
            "BIGINT".into()
        }
        Kind::Uint64 | Kind::Fixed64 => "DECIMAL(20, 0)".into(),
        Kind::Bool => "BOOLEAN".into(),
        Kind::String | Kind::Enum(_) => "STRING".into(),
        Kind::Bytes => "BYTES".into(),
        Kind::Message(_) if depth + 1 >= MAX_DEPTH => "STRING".into(),
        Kind::Message(m) => {
            let cols: Vec<String> = m
                .fields()
                .map(|f| format!("`{}` {}", f.name(), sql_type(&f, depth + 1)))
                .collect();
            format!("ROW<{}>", cols.join(", "))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Compatibility
// ---------------------------------------------------------------------------------------------

/// How a value of a scalar field is put on the wire: fields can change type within a group
/// (the protobuf language guide's "updating a message type" rules, as Confluent groups them).
fn scalar_group(k: &Kind) -> Option<&'static str> {
    Some(match k {
        Kind::Int32 | Kind::Int64 | Kind::Uint32 | Kind::Uint64 | Kind::Bool | Kind::Enum(_) => {
            "varint (int32, int64, uint32, uint64, bool, enum)"
        }
        Kind::Sint32 | Kind::Sint64 => "zigzag varint (sint32, sint64)",
        Kind::String | Kind::Bytes => "length-delimited (string, bytes)",
        Kind::Fixed32 | Kind::Sfixed32 => "32-bit (fixed32, sfixed32)",
        Kind::Fixed64 | Kind::Sfixed64 => "64-bit (fixed64, sfixed64)",
        Kind::Float => "float",
        Kind::Double => "double",
        Kind::Message(_) => return None,
    })
}

/// Every message of the file (nested ones too, map entries not) by its name within the
/// package, e.g. `Order` and `Order.Line`.
fn messages(file: &FileDescriptor) -> BTreeMap<String, MessageDescriptor> {
    fn walk(m: MessageDescriptor, package: &str, out: &mut BTreeMap<String, MessageDescriptor>) {
        if m.is_map_entry() {
            return;
        }
        for c in m.child_messages() {
            walk(c, package, out);
        }
        out.insert(local(m.full_name(), package), m);
    }
    let mut out = BTreeMap::new();
    for m in file.messages() {
        walk(m, file.package_name(), &mut out);
    }
    out
}

fn enums(file: &FileDescriptor) -> BTreeMap<String, EnumDescriptor> {
    let mut out: BTreeMap<String, EnumDescriptor> = file
        .enums()
        .map(|e| (local(e.full_name(), file.package_name()), e))
        .collect();
    for m in messages(file).values() {
        for e in m.child_enums() {
            out.insert(local(e.full_name(), file.package_name()), e);
        }
    }
    out
}

fn local(full: &str, package: &str) -> String {
    match full.strip_prefix(package).and_then(|r| r.strip_prefix('.')) {
        Some(r) if !package.is_empty() => r.to_string(),
        _ => full.to_string(),
    }
}

fn reserved(m: &MessageDescriptor, number: u32) -> bool {
    m.reserved_ranges().any(|r| r.contains(&number))
}

/// The real (not proto3-`optional`) oneof a field belongs to.
fn oneof(f: &FieldDescriptor) -> Option<String> {
    f.containing_oneof()
        .filter(|o| !o.is_synthetic())
        .map(|o| o.name().to_string())
}

/// Field numbers whose move into a oneof, going from `a` to `b`, lets old data set two members
/// of one oneof: several existing fields moved into one oneof, or one joining a oneof whose
/// other members already were one.
fn oneof_moves_that_break(a: &MessageDescriptor, b: &MessageDescriptor) -> BTreeSet<u32> {
    let mut out = BTreeSet::new();
    for o in b.oneofs().filter(|o| !o.is_synthetic()) {
        let mut moved = Vec::new();
        let mut existing = 0;
        for f in o.fields() {
            match a.get_field(f.number()) {
                Some(was) if oneof(&was).is_none() => moved.push(f.number()),
                Some(_) => existing += 1,
                None => {}
            }
        }
        if moved.len() > 1 || (moved.len() == 1 && existing > 0) {
            out.extend(moved);
        }
    }
    out
}

/// The field-level differences from `old` to `new`, each with the directions it breaks.
/// Backward is Confluent's `compare(old, new)`, forward the same with the two swapped.
pub fn diff(old: &Proto, new: &Proto) -> Vec<FieldChange> {
    let (fa, fb) = (old.file(), new.file());
    let mut out = Vec::new();
    if fa.package_name() != fb.package_name() {
        out.push(change(
            "(package)",
            ChangeKind::PackageChanged,
            Some(fa.package_name().into()),
            Some(fb.package_name().into()),
            true,
            true,
            "the package is part of every message's full name, which readers resolve types by"
                .into(),
        ));
    }
    let (ma, mb) = (messages(&fa), messages(&fb));
    for (name, a) in &ma {
        match mb.get(name) {
            None => out.push(change(
                name,
                ChangeKind::Removed,
                Some("message".into()),
                None,
                true,
                false,
                "message removed: fields of the old version that use it have no type to read into"
                    .into(),
            )),
            Some(b) => message_diff(name, a, b, &old.comments(), &new.comments(), &mut out),
        }
    }
    for name in mb.keys().filter(|n| !ma.contains_key(*n)) {
        out.push(change(
            name,
            ChangeKind::Added,
            None,
            Some("message".into()),
            false,
            true,
            "message added".into(),
        ));
    }
    let (ea, eb) = (enums(&fa), enums(&fb));
    for (name, a) in &ea {
        let Some(b) = eb.get(name) else {
            out.push(change(
                name,
                ChangeKind::Removed,
                Some("enum".into()),
                None,
                false,
                false,
                "enum removed; enums read as their numbers".into(),
            ));
            continue;
        };
        for v in a.values() {
            let path = format!("{name}.{}", v.name());
            match b.get_value(v.number()) {
                None => {
                    let kept = b.reserved_ranges().any(|r| r.contains(&v.number()));
                    out.push(change(
                        &path,
                        ChangeKind::Removed,
                        Some(v.number().to_string()),
                        None,
                        !kept,
                        false,
                        if kept {
                            "value removed; its number is reserved".into()
                        } else {
                            format!("value removed without reserving its number {}: a later version could reuse it for another meaning", v.number())
                        },
                    ));
                }
                Some(w) if w.name() != v.name() => out.push(change(
                    &path,
                    ChangeKind::Renamed,
                    Some(v.name().into()),
                    Some(w.name().into()),
                    false,
                    false,
                    "renamed; the wire carries the number".into(),
                )),
                Some(_) => {}
            }
        }
        for w in b.values().filter(|w| a.get_value(w.number()).is_none()) {
            out.push(change(
                &format!("{name}.{}", w.name()),
                ChangeKind::Added,
                None,
                Some(w.number().to_string()),
                false,
                false,
                "value added; old readers keep an unknown number as it is".into(),
            ));
        }
    }
    for name in eb.keys().filter(|n| !ea.contains_key(*n)) {
        out.push(change(
            name,
            ChangeKind::Added,
            None,
            Some("enum".into()),
            false,
            false,
            "enum added".into(),
        ));
    }
    out
}

fn message_diff(
    name: &str,
    a: &MessageDescriptor,
    b: &MessageDescriptor,
    ca: &HashMap<Vec<i32>, String>,
    cb: &HashMap<Vec<i32>, String>,
    out: &mut Vec<FieldChange>,
) {
    for r in a.reserved_ranges() {
        if let Some(n) = r.clone().find(|n| !reserved(b, *n)) {
            let used = b.get_field(n).is_some();
            out.push(change(
                &format!("{name}.#{n}"),
                ChangeKind::Removed,
                Some(format!("reserved {n}")),
                None,
                true,
                false,
                if used {
                    format!("number {n} was reserved and is used again: old data may carry the removed field's values under it")
                } else {
                    format!("number {n} is no longer reserved, so a later version could reuse it")
                },
            ));
        }
    }
    let (into_b, into_a) = (oneof_moves_that_break(a, b), oneof_moves_that_break(b, a));
    for fa in a.fields() {
        let n = fa.number();
        let path = format!("{name}.{}", fa.name());
        let Some(fb) = b.get_field(n) else {
            let required = fa.is_required();
            let in_oneof = oneof(&fa);
            let kept = reserved(b, n);
            let (bb, reason) = if required {
                (
                    true,
                    format!("required field #{n} removed: readers of the old version require it"),
                )
            } else if let Some(o) = &in_oneof {
                (
                    true,
                    format!("removed from oneof {o}: old data that set it reads as no member set"),
                )
            } else if kept {
                (false, format!("removed; its number {n} is reserved"))
            } else {
                (true, format!("removed without reserving its number {n}: a later version could reuse it for other data"))
            };
            out.push(change(
                &path,
                ChangeKind::Removed,
                Some(type_name(&fa)),
                None,
                bb,
                required,
                reason,
            ));
            continue;
        };
        let new_path = format!("{name}.{}", fb.name());
        if fa.name() != fb.name() {
            out.push(change(
                &new_path,
                ChangeKind::Renamed,
                Some(fa.name().into()),
                Some(fb.name().into()),
                false,
                false,
                format!(
                    "renamed; the wire carries the number {n} (JSON-encoded data would not follow)"
                ),
            ));
        }
        if let Some(c) = type_diff(&new_path, &fa, &fb) {
            out.push(c);
        }
        if let Some(c) = label_diff(&new_path, &fa, &fb) {
            out.push(c);
        }
        let (oa, ob) = (oneof(&fa), oneof(&fb));
        if oa != ob {
            let (bb, bf) = (into_b.contains(&n), into_a.contains(&n));
            let reason = match (bb, bf) {
                (false, false) => "oneof membership changed; no two members can be set at once in either version's data".to_string(),
                (true, _) => "moved into a oneof with other fields that old data may set at the same time".into(),
                (false, true) => "moved out of a oneof: new data may set it together with fields that old readers hold in one oneof".into(),
            };
            out.push(change(
                &new_path,
                ChangeKind::OneofChanged,
                oa.or(Some("(none)".into())),
                ob.or(Some("(none)".into())),
                bb,
                bf,
                reason,
            ));
        }
        let (da, db) = (
            fa.field_descriptor_proto().default_value.clone(),
            fb.field_descriptor_proto().default_value.clone(),
        );
        if da != db {
            out.push(change(
                &new_path,
                ChangeKind::DefaultChanged,
                da,
                db,
                false,
                false,
                "defaults apply only when a field is missing".into(),
            ));
        }
        let (doc_a, doc_b) = (ca.get(fa.path()).cloned(), cb.get(fb.path()).cloned());
        if doc_a != doc_b {
            out.push(change(
                &new_path,
                ChangeKind::DocChanged,
                doc_a,
                doc_b,
                false,
                false,
                "documentation only".into(),
            ));
        }
    }
    for fb in b.fields().filter(|f| a.get_field(f.number()).is_none()) {
        let required = fb.is_required();
        let was_reserved = reserved(a, fb.number());
        out.push(change(
            &format!("{name}.{}", fb.name()),
            ChangeKind::Added,
            None,
            Some(type_name(&fb)),
            required || was_reserved,
            required,
            if required {
                "added as required: data written with the old version lacks it".into()
            } else if was_reserved {
                format!(
                    "number {} was reserved: old data may carry a removed field's values under it",
                    fb.number()
                )
            } else {
                "added; readers of the old version skip it".into()
            },
        ));
    }
}

/// The kind of value a field holds: a scalar (enums count as varints), a message, or a map.
fn type_diff(path: &str, a: &FieldDescriptor, b: &FieldDescriptor) -> Option<FieldChange> {
    let (ta, tb) = (type_name(a), type_name(b));
    let strip = |t: &str| {
        t.trim_start_matches("repeated ")
            .trim_start_matches("required ")
            .to_string()
    };
    if strip(&ta) == strip(&tb) {
        return None;
    }
    let reason = match (a.is_map(), b.is_map(), a.kind(), b.kind()) {
        (true, true, Kind::Message(ea), Kind::Message(eb)) => {
            let keys = scalar_group(&ea.map_entry_key_field().kind())
                == scalar_group(&eb.map_entry_key_field().kind());
            let values = same_kind(
                &ea.map_entry_value_field().kind(),
                &eb.map_entry_value_field().kind(),
            );
            (!keys || !values).then(|| {
                "the map's key or value changed to a type that is encoded differently".to_string()
            })
        }
        (true, false, ..) | (false, true, ..) => {
            Some("a map and a non-map field are encoded differently".into())
        }
        (_, _, ka, kb) => (!same_kind(&ka, &kb)).then(|| match (&ka, &kb) {
            (Kind::Message(_), Kind::Message(_)) => {
                "now another message type: the two are read by their own field numbers".into()
            }
            (Kind::Message(_), _) | (_, Kind::Message(_)) => {
                "a message and a scalar are encoded differently".into()
            }
            _ => format!(
                "{} and {} are encoded differently",
                scalar_group(&ka).unwrap_or("message"),
                scalar_group(&kb).unwrap_or("message")
            ),
        }),
    };
    let breaks = reason.is_some();
    Some(change(
        path,
        ChangeKind::TypeChanged,
        Some(ta),
        Some(tb),
        breaks,
        breaks,
        reason.unwrap_or_else(|| "the types are encoded alike on the wire".into()),
    ))
}

/// Scalars within one wire group read each other; messages only as the same message (by its
/// name within the package, which is compared on its own).
fn same_kind(a: &Kind, b: &Kind) -> bool {
    match (a, b) {
        (Kind::Message(ma), Kind::Message(mb)) => {
            local(ma.full_name(), ma.package_name()) == local(mb.full_name(), mb.package_name())
        }
        (Kind::Message(_), _) | (_, Kind::Message(_)) => false,
        _ => scalar_group(a) == scalar_group(b),
    }
}

fn label_diff(path: &str, a: &FieldDescriptor, b: &FieldDescriptor) -> Option<FieldChange> {
    let label = |f: &FieldDescriptor| match f.cardinality() {
        Cardinality::Repeated => "repeated",
        Cardinality::Required => "required",
        Cardinality::Optional => "singular",
    };
    let (la, lb) = (label(a), label(b));
    if la == lb || a.is_map() || b.is_map() {
        return None;
    }
    let length_delimited = matches!(
        (a.kind(), b.kind()),
        (Kind::String | Kind::Bytes | Kind::Message(_), _)
    );
    let (bb, bf, reason) = match (la, lb) {
        ("singular", "required") => (true, false, "became required: old data may lack it"),
        ("required", "singular") => (
            false,
            true,
            "became optional, but readers of the old version require it",
        ),
        _ if length_delimited && !a.is_packed() && !b.is_packed() => (
            false,
            false,
            "singular and repeated read each other for strings, bytes and messages (a singular reader keeps the last element)",
        ),
        _ => (
            true,
            true,
            "singular and repeated numbers are encoded differently (repeated ones are packed)",
        ),
    };
    Some(change(
        path,
        ChangeKind::LabelChanged,
        Some(la.into()),
        Some(lb.into()),
        bb,
        bf,
        reason.into(),
    ))
}

// ---------------------------------------------------------------------------------------------
// Rendering a descriptor as `.proto`
// ---------------------------------------------------------------------------------------------

/// A `FileDescriptorProto` as `.proto` text (what Confluent's Python serializer sends is a
/// descriptor; Watershed stores and shows `.proto`). Types are written fully qualified, so the
/// text compiles to the same descriptor whatever the scoping.
pub fn render(f: &FileDescriptorProto) -> String {
    let mut out = String::new();
    let syntax = f.syntax.clone().unwrap_or_else(|| "proto2".into());
    out.push_str(&format!("syntax = \"{syntax}\";\n"));
    if let Some(p) = f.package.as_deref().filter(|p| !p.is_empty()) {
        out.push_str(&format!("package {p};\n"));
    }
    for (i, d) in f.dependency.iter().enumerate() {
        let public = if f.public_dependency.contains(&(i as i32)) {
            "public "
        } else {
            ""
        };
        out.push_str(&format!("import {public}{};\n", quote(d)));
    }
    if let Some(o) = &f.options {
        let strings = [
            ("java_package", &o.java_package),
            ("java_outer_classname", &o.java_outer_classname),
            ("go_package", &o.go_package),
            ("csharp_namespace", &o.csharp_namespace),
            ("objc_class_prefix", &o.objc_class_prefix),
            ("php_namespace", &o.php_namespace),
            ("ruby_package", &o.ruby_package),
        ];
        for (k, v) in strings {
            if let Some(v) = v {
                out.push_str(&format!("option {k} = {};\n", quote(v)));
            }
        }
        if let Some(v) = o.java_multiple_files {
            out.push_str(&format!("option java_multiple_files = {v};\n"));
        }
    }
    let proto3 = syntax == "proto3";
    for m in &f.message_type {
        out.push('\n');
        render_message(m, proto3, 0, &mut out);
    }
    for e in &f.enum_type {
        out.push('\n');
        render_enum(e, 0, &mut out);
    }
    out
}

fn quote(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

fn render_message(m: &DescriptorProto, proto3: bool, depth: usize, out: &mut String) {
    let pad = "  ".repeat(depth);
    out.push_str(&format!("{pad}message {} {{\n", m.name()));
    let entries: HashMap<&str, &DescriptorProto> = m
        .nested_type
        .iter()
        .filter(|n| n.options.as_ref().is_some_and(|o| o.map_entry()))
        .map(|n| (n.name(), n))
        .collect();
    let mut done_oneofs = BTreeSet::new();
    for f in &m.field {
        let real_oneof = f.oneof_index.filter(|_| !f.proto3_optional());
        match real_oneof {
            Some(i) if done_oneofs.insert(i) => {
                let name = m.oneof_decl.get(i as usize).map_or("choice", |o| o.name());
                out.push_str(&format!("{pad}  oneof {name} {{\n"));
                for member in m
                    .field
                    .iter()
                    .filter(|g| g.oneof_index == Some(i) && !g.proto3_optional())
                {
                    render_field(member, proto3, &entries, true, depth + 2, out);
                }
                out.push_str(&format!("{pad}  }}\n"));
            }
            Some(_) => {}
            None => render_field(f, proto3, &entries, false, depth + 1, out),
        }
    }
    for r in &m.reserved_range {
        let (start, end) = (r.start(), r.end() - 1);
        if start == end {
            out.push_str(&format!("{pad}  reserved {start};\n"));
        } else if r.end() >= 536_870_912 {
            out.push_str(&format!("{pad}  reserved {start} to max;\n"));
        } else {
            out.push_str(&format!("{pad}  reserved {start} to {end};\n"));
        }
    }
    for n in &m.reserved_name {
        out.push_str(&format!("{pad}  reserved {};\n", quote(n)));
    }
    for n in m
        .nested_type
        .iter()
        .filter(|n| !entries.contains_key(n.name()))
    {
        render_message(n, proto3, depth + 1, out);
    }
    for e in &m.enum_type {
        render_enum(e, depth + 1, out);
    }
    out.push_str(&format!("{pad}}}\n"));
}

fn render_field(
    f: &FieldDescriptorProto,
    proto3: bool,
    entries: &HashMap<&str, &DescriptorProto>,
    in_oneof: bool,
    depth: usize,
    out: &mut String,
) {
    let pad = "  ".repeat(depth);
    let entry = (f.r#type() == Type::Message)
        .then(|| f.type_name().rsplit('.').next())
        .flatten()
        .and_then(|n| entries.get(n));
    let mut options = Vec::new();
    if let Some(d) = &f.default_value {
        let v = match f.r#type() {
            Type::String | Type::Bytes => quote(d),
            _ => d.clone(),
        };
        options.push(format!("default = {v}"));
    }
    if let Some(p) = f.options.as_ref().and_then(|o| o.packed) {
        options.push(format!("packed = {p}"));
    }
    if let Some(json) = f
        .json_name
        .as_deref()
        .filter(|j| *j != default_json_name(f.name()))
    {
        options.push(format!("json_name = {}", quote(json)));
    }
    let options = if options.is_empty() {
        String::new()
    } else {
        format!(" [{}]", options.join(", "))
    };
    let decl = match entry {
        Some(e) if f.label() == Label::Repeated => {
            let k = e.field.iter().find(|g| g.number() == 1);
            let v = e.field.iter().find(|g| g.number() == 2);
            format!(
                "map<{}, {}>",
                k.map_or("string".into(), field_type),
                v.map_or("string".into(), field_type)
            )
        }
        _ => {
            let label = match f.label() {
                _ if in_oneof => "",
                Label::Repeated => "repeated ",
                Label::Required => "required ",
                Label::Optional if !proto3 || f.proto3_optional() => "optional ",
                Label::Optional => "",
            };
            format!("{label}{}", field_type(f))
        }
    };
    out.push_str(&format!(
        "{pad}{decl} {} = {}{options};\n",
        f.name(),
        f.number()
    ));
}

/// `protoc`'s JSON name: lowerCamelCase of the field name.
fn default_json_name(name: &str) -> String {
    let mut out = String::new();
    let mut upper = false;
    for c in name.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

fn field_type(f: &FieldDescriptorProto) -> String {
    match f.r#type() {
        Type::Message | Type::Enum | Type::Group => f.type_name().to_string(),
        t => t.as_str_name().trim_start_matches("TYPE_").to_lowercase(),
    }
}

fn render_enum(e: &EnumDescriptorProto, depth: usize, out: &mut String) {
    let pad = "  ".repeat(depth);
    out.push_str(&format!("{pad}enum {} {{\n", e.name()));
    if e.options.as_ref().is_some_and(|o| o.allow_alias()) {
        out.push_str(&format!("{pad}  option allow_alias = true;\n"));
    }
    for v in &e.value {
        out.push_str(&format!("{pad}  {} = {};\n", v.name(), v.number()));
    }
    for r in &e.reserved_range {
        if r.start() == r.end() {
            out.push_str(&format!("{pad}  reserved {};\n", r.start()));
        } else {
            out.push_str(&format!("{pad}  reserved {} to {};\n", r.start(), r.end()));
        }
    }
    for n in &e.reserved_name {
        out.push_str(&format!("{pad}  reserved {};\n", quote(n)));
    }
    out.push_str(&format!("{pad}}}\n"));
}

#[cfg(test)]
mod tests;
