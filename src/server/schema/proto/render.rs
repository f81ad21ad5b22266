//! A `FileDescriptorProto` rendered back to `.proto` text.

use prost_types::{
    field_descriptor_proto::{Label, Type},
    DescriptorProto, EnumDescriptorProto, FieldDescriptorProto, FileDescriptorProto,
};
use std::collections::{BTreeSet, HashMap};

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
        let (start, end) = (r.start(), r.end().saturating_sub(1));
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
            Type::String => quote(d),
            // A descriptor keeps a bytes default C-escaped already.
            Type::Bytes => format!("\"{d}\""),
            // `100000000000000000000` is a float default here, but an integer literal too
            // large for a `.proto`: spelled with an exponent it is read as written.
            Type::Float | Type::Double => match d.parse::<f64>() {
                Ok(x) if x.is_finite() => format!("{x:?}"),
                _ => d.clone(),
            },
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
