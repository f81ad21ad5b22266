//! Protobuf compatibility by field number: Confluent Schema Registry's rules, with the
//! directions each change breaks.

use super::{change, type_name, Proto};
use crate::domain::{ChangeKind, FieldChange};
use prost_reflect::{
    Cardinality, EnumDescriptor, FieldDescriptor, FileDescriptor, Kind, MessageDescriptor,
};
use std::collections::{BTreeMap, BTreeSet, HashMap};

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
/// of one oneof: a oneof of `b` whose existing members came from more than one place in `a`
/// (plain fields, each its own place, or different oneofs). The members that moved in are named.
fn oneof_moves_that_break(a: &MessageDescriptor, b: &MessageDescriptor) -> BTreeSet<u32> {
    let mut out = BTreeSet::new();
    for o in b.oneofs().filter(|o| !o.is_synthetic()) {
        let origins: Vec<(u32, Option<String>)> = o
            .fields()
            .filter_map(|f| a.get_field(f.number()).map(|was| (f.number(), oneof(&was))))
            .collect();
        let places: BTreeSet<String> = origins
            .iter()
            .map(|(n, from)| from.clone().unwrap_or_else(|| format!("#{n}")))
            .collect();
        if places.len() > 1 {
            out.extend(
                origins
                    .iter()
                    .filter(|(_, from)| from.as_deref() != Some(o.name()))
                    .map(|(n, _)| *n),
            );
        }
    }
    out
}

/// The first number of `range` that `m` does not reserve, by intervals (a `reserved 100 to
/// max` is half a billion numbers).
fn first_unreserved(range: std::ops::Range<u32>, m: &MessageDescriptor) -> Option<u32> {
    let mut covering: Vec<std::ops::Range<u32>> = m.reserved_ranges().collect();
    covering.sort_by_key(|r| r.start);
    let mut at = range.start;
    while at < range.end {
        match covering.iter().find(|r| r.contains(&at)) {
            Some(r) => at = r.end,
            None => return Some(at),
        }
    }
    None
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
    let comments = (old.comments(), new.comments());
    let (ra, rb) = (old.message(), new.message());
    if local(ra.full_name(), ra.package_name()) != local(rb.full_name(), rb.package_name()) {
        out.push(change(
            "(record)",
            ChangeKind::TypeChanged,
            Some(ra.name().into()),
            Some(rb.name().into()),
            true,
            true,
            "the queue's record is the file's first message, and another message is first now"
                .into(),
        ));
    }
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
            Some(b) => message_diff(name, a, b, &comments, &mut out),
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

type Comments = HashMap<Vec<i32>, String>;

fn message_diff(
    name: &str,
    a: &MessageDescriptor,
    b: &MessageDescriptor,
    (ca, cb): &(Comments, Comments),
    out: &mut Vec<FieldChange>,
) {
    for r in a.reserved_ranges() {
        if let Some(n) = first_unreserved(r, b) {
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

/// Scalars within one wire group read each other; messages only as the same message: by its
/// name within the package when both are the schema's own (a package change is reported on
/// its own), by full name when either is imported.
fn same_kind(a: &Kind, b: &Kind) -> bool {
    match (a, b) {
        (Kind::Message(ma), Kind::Message(mb)) => {
            let own =
                |m: &prost_reflect::MessageDescriptor| m.parent_file().name() == super::MAIN_FILE;
            if own(ma) && own(mb) {
                local(ma.full_name(), ma.package_name()) == local(mb.full_name(), mb.package_name())
            } else {
                ma.full_name() == mb.full_name()
            }
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
        ("required", "repeated") | ("repeated", "required") => (
            true,
            true,
            "a required field and a repeated one do not read each other: one side may lack it",
        ),
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
