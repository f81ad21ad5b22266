use super::*;
use crate::domain::Compatibility::{self, *};
use proptest::prelude::*;
use serde_json::json;

fn avro(v: Value) -> Parsed {
    parse(SchemaFormat::Avro, &v.to_string()).unwrap()
}

fn jsch(v: Value) -> Parsed {
    parse(SchemaFormat::Json, &v.to_string()).unwrap()
}

fn user(fields: Value) -> Parsed {
    avro(json!({"type": "record", "name": "User", "fields": fields}))
}

/// The fields named by the problems of `new` against `earlier` under `mode`.
fn offending(mode: Compatibility, new: &Parsed, earlier: &[&Parsed]) -> Vec<String> {
    let earlier: Vec<(i64, Parsed)> = earlier
        .iter()
        .enumerate()
        .map(|(i, p)| (i as i64 + 1, (*p).clone()))
        .collect();
    let mut f: Vec<String> = check(mode, new, &earlier)
        .into_iter()
        .map(|p| p.field)
        .collect();
    f.dedup();
    f
}

const ALL: [Compatibility; 7] = [
    None,
    Backward,
    BackwardTransitive,
    Forward,
    ForwardTransitive,
    Full,
    FullTransitive,
];

/// A case: its name, the earlier versions, the new one, and the fields each mode must name
/// (empty: compatible), in the order of `ALL`.
type Case<'a> = (&'a str, Vec<Parsed>, Parsed, [&'a [&'a str]; 7]);

fn run(cases: Vec<Case>) {
    for (name, earlier, new, expected) in cases {
        let earlier: Vec<&Parsed> = earlier.iter().collect();
        for (mode, want) in ALL.iter().zip(expected) {
            assert_eq!(
                offending(*mode, &new, &earlier),
                want.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
                "{name} under {mode}"
            );
        }
    }
}

#[test]
fn avro_changes_under_every_mode() {
    let id_name = || json!([{"name": "id", "type": "long"}, {"name": "name", "type": "string"}]);
    let ok: &[&str] = &[];
    run(vec![
        (
            "adding a field with a default",
            vec![user(id_name())],
            user(
                json!([{"name": "id", "type": "long"}, {"name": "name", "type": "string"},
                        {"name": "email", "type": "string", "default": ""}]),
            ),
            [ok, ok, ok, ok, ok, ok, ok],
        ),
        (
            "adding a field without a default",
            vec![user(id_name())],
            user(
                json!([{"name": "id", "type": "long"}, {"name": "name", "type": "string"},
                        {"name": "email", "type": "string"}]),
            ),
            [ok, &["email"], &["email"], ok, ok, &["email"], &["email"]],
        ),
        (
            "removing a field without a default",
            vec![user(id_name())],
            user(json!([{"name": "id", "type": "long"}])),
            [ok, ok, ok, &["name"], &["name"], &["name"], &["name"]],
        ),
        (
            "removing a field that had a default",
            vec![user(
                json!([{"name": "id", "type": "long"}, {"name": "name", "type": "string", "default": "?"}]),
            )],
            user(json!([{"name": "id", "type": "long"}])),
            [ok, ok, ok, ok, ok, ok, ok],
        ),
        (
            "promoting int to long",
            vec![user(json!([{"name": "n", "type": "int"}]))],
            user(json!([{"name": "n", "type": "long"}])),
            [ok, ok, ok, &["n"], &["n"], &["n"], &["n"]],
        ),
        (
            "changing string to int",
            vec![user(json!([{"name": "n", "type": "string"}]))],
            user(json!([{"name": "n", "type": "int"}])),
            [ok, &["n"], &["n"], &["n"], &["n"], &["n"], &["n"]],
        ),
        (
            "making a field optional through a union with null",
            vec![user(json!([{"name": "n", "type": "string"}]))],
            user(json!([{"name": "n", "type": ["null", "string"], "default": null}])),
            [ok, ok, ok, &["n"], &["n"], &["n"], &["n"]],
        ),
        (
            "adding an enum symbol",
            vec![user(
                json!([{"name": "c", "type": {"type": "enum", "name": "Color", "symbols": ["RED"]}}]),
            )],
            user(
                json!([{"name": "c", "type": {"type": "enum", "name": "Color", "symbols": ["RED", "BLUE"]}}]),
            ),
            [ok, ok, ok, &["c"], &["c"], &["c"], &["c"]],
        ),
        (
            // Confluent: dropping a default passes against the latest version (which has the
            // field) but fails transitively against the first (which does not).
            "removing a default after the field was added with one",
            vec![
                user(json!([{"name": "id", "type": "long"}])),
                user(
                    json!([{"name": "id", "type": "long"}, {"name": "email", "type": "string", "default": ""}]),
                ),
            ],
            user(json!([{"name": "id", "type": "long"}, {"name": "email", "type": "string"}])),
            [ok, ok, &["email"], ok, ok, ok, &["email"]],
        ),
        (
            "a nested record gains a field without a default",
            vec![user(
                json!([{"name": "address", "type": {"type": "record", "name": "Address",
                 "fields": [{"name": "city", "type": "string"}]}}]),
            )],
            user(
                json!([{"name": "address", "type": {"type": "record", "name": "Address",
                 "fields": [{"name": "city", "type": "string"}, {"name": "zip", "type": "string"}]}}]),
            ),
            [
                ok,
                &["address.zip"],
                &["address.zip"],
                ok,
                ok,
                &["address.zip"],
                &["address.zip"],
            ],
        ),
    ]);
}

fn obj(props: Value, required: &[&str]) -> Parsed {
    jsch(
        json!({"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
                "properties": props, "required": required}),
    )
}

#[test]
fn json_schema_changes_under_every_mode() {
    let ok: &[&str] = &[];
    let base = || {
        obj(
            json!({"id": {"type": "integer"}, "name": {"type": "string"}}),
            &["id"],
        )
    };
    run(vec![
        (
            "adding an optional property",
            vec![base()],
            obj(
                json!({"id": {"type": "integer"}, "name": {"type": "string"}, "tag": {"type": "string"}}),
                &["id"],
            ),
            [ok, ok, ok, ok, ok, ok, ok],
        ),
        (
            "adding a required property",
            vec![base()],
            obj(
                json!({"id": {"type": "integer"}, "name": {"type": "string"}, "tag": {"type": "string"}}),
                &["id", "tag"],
            ),
            [ok, &["tag"], &["tag"], ok, ok, &["tag"], &["tag"]],
        ),
        (
            "making an optional property required",
            vec![base()],
            obj(
                json!({"id": {"type": "integer"}, "name": {"type": "string"}}),
                &["id", "name"],
            ),
            [ok, &["name"], &["name"], ok, ok, &["name"], &["name"]],
        ),
        (
            "widening integer to number",
            vec![base()],
            obj(
                json!({"id": {"type": "number"}, "name": {"type": "string"}}),
                &["id"],
            ),
            [ok, ok, ok, &["id"], &["id"], &["id"], &["id"]],
        ),
        (
            "removing a required property",
            vec![base()],
            obj(json!({"name": {"type": "string"}}), &[]),
            [ok, ok, ok, &["id"], &["id"], &["id"], &["id"]],
        ),
        (
            "adding a property to a closed object",
            vec![jsch(
                json!({"type": "object", "additionalProperties": false,
                             "properties": {"id": {"type": "integer"}}}),
            )],
            jsch(json!({"type": "object", "additionalProperties": false,
                        "properties": {"id": {"type": "integer"}, "x": {"type": "string"}}})),
            [ok, ok, ok, &["x"], &["x"], &["x"], &["x"]],
        ),
        (
            "narrowing an enum",
            vec![obj(json!({"s": {"enum": ["a", "b"]}}), &[])],
            obj(json!({"s": {"enum": ["a"]}}), &[]),
            [ok, &["s"], &["s"], ok, ok, &["s"], &["s"]],
        ),
        (
            "requiring a property that an older version lacked",
            vec![
                obj(json!({"id": {"type": "integer"}}), &["id"]),
                obj(
                    json!({"id": {"type": "integer"}, "tag": {"type": "string"}}),
                    &["id"],
                ),
            ],
            obj(
                json!({"id": {"type": "integer"}, "tag": {"type": "string", "description": "now documented"}}),
                &["id", "tag"],
            ),
            [ok, &["tag"], &["tag"], ok, ok, &["tag"], &["tag"]],
        ),
    ]);
}

#[test]
fn a_problem_names_the_field_and_why() {
    let v1 = user(json!([{"name": "id", "type": "long"}]));
    let v2 = user(json!([{"name": "id", "type": "long"}, {"name": "email", "type": "string"}]));
    let p = check(Backward, &v2, &[(1, v1)]);
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].field, "email");
    assert_eq!(p[0].version, 1);
    assert!(
        p[0].message.contains("without a default"),
        "{}",
        p[0].message
    );
}

#[test]
fn the_diff_marks_each_change_with_its_impact() {
    let v1 = user(json!([
        {"name": "id", "type": "int", "doc": "the id"},
        {"name": "name", "type": "string"},
        {"name": "plan", "type": "string", "default": "free"}
    ]));
    let v2 = user(json!([
        {"name": "id", "type": "long", "doc": "the user's id"},
        {"name": "plan", "type": "string", "default": "basic"},
        {"name": "email", "type": "string"}
    ]));
    let changes = diff(&v1, &v2);
    let got: Vec<(&str, ChangeKind, &str)> = changes
        .iter()
        .map(|c| (c.field.as_str(), c.kind, c.impact()))
        .collect();
    assert_eq!(
        got,
        [
            ("id", ChangeKind::TypeChanged, "breaks forward"),
            ("id", ChangeKind::DocChanged, "compatible"),
            ("name", ChangeKind::Removed, "breaks forward"),
            ("plan", ChangeKind::DefaultChanged, "compatible"),
            ("email", ChangeKind::Added, "breaks backward"),
        ]
    );
    assert_eq!(changes[0].before.as_deref(), Some("int"));
    assert_eq!(changes[0].after.as_deref(), Some("long"));
}

#[test]
fn parse_errors_say_where() {
    let e = parse(
        SchemaFormat::Avro,
        "{\n  \"type\": \"record\",\n  \"name\": }",
    )
    .unwrap_err();
    assert_eq!((e.line, e.column), (Some(3), Some(11)), "{}", e.message);
    let e = parse(
        SchemaFormat::Avro,
        r#"{"type": "record", "name": "X", "fields": [{"name": "a", "type": "strnig"}]}"#,
    )
    .unwrap_err();
    assert!(e.message.contains("Avro"), "{}", e.message);
    let e = parse(SchemaFormat::Json, r#"{"type": "objekt"}"#).unwrap_err();
    assert!(e.message.contains("JSON Schema"), "{}", e.message);
    let e = parse(
        SchemaFormat::Json,
        r#"{"$schema": "http://json-schema.org/draft-04/schema#"}"#,
    )
    .unwrap_err();
    assert!(e.message.contains("draft"), "{}", e.message);
    assert!(parse(
        SchemaFormat::Json,
        r#"{"$schema": "http://json-schema.org/draft-07/schema#", "type": "object"}"#
    )
    .is_ok());
}

#[test]
fn samples_are_checked_against_the_schema() {
    let s = user(json!([{"name": "id", "type": "long"}, {"name": "name", "type": "string"}]));
    assert_eq!(
        s.sample_errors(r#"{"id": 1, "name": "a"}"#),
        Vec::<String>::new()
    );
    let errs = s.sample_errors(r#"{"id": "x", "name": "a"}"#);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(errs[0].starts_with("id: "), "{errs:?}");
    let errs = s.sample_errors(r#"{"id": 1}"#);
    assert_eq!(errs, ["name: missing, and the field has no default"]);
    let j = obj(json!({"id": {"type": "integer"}}), &["id"]);
    assert!(j.sample_errors(r#"{"id": 3}"#).is_empty());
    let errs = j.sample_errors(r#"{"id": "three"}"#);
    assert!(errs[0].starts_with("/id"), "{errs:?}");
    assert!(j.sample_errors("{").first().unwrap().contains("line 1"));
}

#[test]
fn flink_ddl_has_typed_columns_and_the_queues_topic() {
    let s = avro(json!({"type": "record", "name": "Order", "fields": [
        {"name": "id", "type": "long", "doc": "order id"},
        {"name": "note", "type": ["null", "string"], "default": null},
        {"name": "at", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "lines", "type": {"type": "array", "items": {"type": "record", "name": "Line",
            "fields": [{"name": "sku", "type": "string"}]}}}
    ]}));
    let target = TableTarget {
        project: "shop".into(),
        queue: "orders".into(),
        topic: "shop.orders".into(),
        bootstrap_servers: vec!["k1:9092".into(), "k2:9092".into()],
        sasl_mechanism: "SCRAM-SHA-512".into(),
        sasl_username: "svc".into(),
        description: "Orders as placed".into(),
    };
    let ddl = flink_ddl(&target, &s);
    for expected in [
        "CREATE TABLE `shop`.`orders` (",
        "`id` BIGINT NOT NULL COMMENT 'order id'",
        "`note` STRING,",
        "`at` TIMESTAMP(3) NOT NULL",
        "`lines` ARRAY<ROW<`sku` STRING NOT NULL>> NOT NULL",
        "'topic' = 'shop.orders'",
        "'properties.bootstrap.servers' = 'k1:9092,k2:9092'",
        "'value.format' = 'avro'",
        "'properties.sasl.mechanism' = 'SCRAM-SHA-512'",
    ] {
        assert!(ddl.contains(expected), "{expected} missing from\n{ddl}");
    }
    assert!(!ddl.contains("password=\"\""), "no password is printed");
}

fn avro_field_type() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!("int")),
        Just(json!("long")),
        Just(json!("string")),
        Just(json!("double")),
        Just(json!(["null", "string"])),
        Just(json!({"type": "array", "items": "long"})),
    ]
}

#[test]
fn a_reader_field_whose_aliases_name_a_writer_field_reads_that_field() {
    let old = avro(json!({"type": "record", "name": "R", "fields": [
        {"name": "id", "type": "long"}, {"name": "mail", "type": "string"}]}));
    let renamed = avro(json!({"type": "record", "name": "R", "fields": [
        {"name": "id", "type": "long"}, {"name": "email", "type": "string", "aliases": ["mail"]}]}));
    let changes = diff(&old, &renamed);
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(
        (changes[0].field.as_str(), changes[0].kind),
        ("email", ChangeKind::Renamed)
    );
    assert!(!changes[0].breaks_backward && changes[0].breaks_forward);
    assert!(check(Backward, &renamed, &[(1, old.clone())]).is_empty());
    assert!(
        !check(Forward, &renamed, &[(1, old.clone())]).is_empty(),
        "old readers have no default"
    );
    // Without the alias it is a removal and an addition without a default: not backward.
    let unaliased = avro(json!({"type": "record", "name": "R", "fields": [
        {"name": "id", "type": "long"}, {"name": "email", "type": "string"}]}));
    assert!(!check(Backward, &unaliased, &[(1, old)]).is_empty());
}

#[test]
fn a_changed_default_doc_or_alias_is_a_new_schema_but_spelling_is_not() {
    let base = json!({"type": "record", "name": "R", "fields": [
        {"name": "id", "type": "long"},
        {"name": "n", "type": "int", "default": 0, "doc": "a number"}]});
    let same = json!({"fields": [
        {"type": {"type": "long"}, "name": "id"},
        {"doc": "a number", "default": 0, "name": "n", "type": "int"}], "name": "R", "type": "record"});
    assert_eq!(avro(base.clone()).fingerprint(), avro(same).fingerprint());
    for changed in [
        json!({"type": "record", "name": "R", "fields": [{"name": "id", "type": "long"},
            {"name": "n", "type": "int", "doc": "a number"}]}),
        json!({"type": "record", "name": "R", "fields": [{"name": "id", "type": "long"},
            {"name": "n", "type": "int", "default": 0, "doc": "another"}]}),
        json!({"type": "record", "name": "R", "fields": [{"name": "id", "type": "long", "aliases": ["key"]},
            {"name": "n", "type": "int", "default": 0, "doc": "a number"}]}),
    ] {
        assert_ne!(
            avro(base.clone()).fingerprint(),
            avro(changed.clone()).fingerprint(),
            "{changed}"
        );
    }
}

#[test]
fn a_namespace_written_apart_or_in_the_name_is_the_same_schema() {
    let apart = json!({"type": "record", "name": "Order", "namespace": "shop", "fields": [
        {"name": "status", "type": {"type": "enum", "name": "Status", "symbols": ["NEW"]}},
        {"name": "previous", "type": ["null", "Status"], "default": null},
        {"name": "next", "type": ["null", "shop.Order"], "default": null}]});
    let together = json!({"type": "record", "name": "shop.Order", "fields": [
        {"name": "status", "type": {"type": "enum", "name": "shop.Status", "symbols": ["NEW"]}},
        {"name": "previous", "type": ["null", "shop.Status"], "default": null},
        {"name": "next", "type": ["null", "Order"], "default": null}]});
    assert_eq!(
        avro(apart.clone()).fingerprint(),
        avro(together).fingerprint()
    );
    let elsewhere = json!({"type": "record", "name": "Order", "namespace": "billing", "fields": [
        {"name": "status", "type": {"type": "enum", "name": "Status", "symbols": ["NEW"]}},
        {"name": "previous", "type": ["null", "Status"], "default": null},
        {"name": "next", "type": ["null", "Order"], "default": null}]});
    assert_ne!(
        avro(apart.clone()).fingerprint(),
        avro(elsewhere).fingerprint()
    );
    // A default is data, never a type name to qualify.
    let string_default = |d: &str| {
        json!({"type": "record", "name": "R", "namespace": "n",
            "fields": [{"name": "s", "type": "string", "default": d}]})
    };
    assert_ne!(
        avro(string_default("Order")).fingerprint(),
        avro(string_default("n.Order")).fingerprint()
    );
}

proptest! {
    #[test]
    fn valid_avro_records_round_trip(
        fields in prop::collection::btree_map("[a-z][a-z0-9_]{0,8}", (avro_field_type(), any::<bool>()), 1..8)
    ) {
        let fs: Vec<Value> = fields.iter().map(|(n, (t, doc))| {
            let mut f = json!({"name": n, "type": t});
            if *doc { f["doc"] = json!(format!("about {n}")); }
            f
        }).collect();
        let schema = json!({"type": "record", "name": "R", "namespace": "w.test", "fields": fs});
        let compact = avro(schema.clone());
        let pretty = parse(SchemaFormat::Avro, &serde_json::to_string_pretty(&schema).unwrap()).unwrap();
        prop_assert_eq!(compact.fingerprint(), pretty.fingerprint());
        let again = parse(SchemaFormat::Avro, &compact.schema_text()).unwrap();
        prop_assert_eq!(again.shape(), compact.shape());
        prop_assert_eq!(compact.shape().fields.len(), fields.len());
        prop_assert!(diff(&compact, &again).is_empty());
        prop_assert!(check(FullTransitive, &again, &[(1, compact.clone())]).is_empty());
    }

    #[test]
    fn valid_json_schemas_round_trip(
        props in prop::collection::btree_map("[a-z][a-z0-9_]{0,8}", prop_oneof![Just("integer"), Just("string"), Just("number"), Just("boolean")], 1..8),
        required in any::<bool>()
    ) {
        let p: serde_json::Map<String, Value> = props.iter().map(|(n, t)| (n.clone(), json!({"type": t}))).collect();
        let req: Vec<&String> = if required { props.keys().collect() } else { Vec::new() };
        let schema = json!({"type": "object", "properties": p, "required": req});
        let parsed = jsch(schema.clone());
        let again = parse(SchemaFormat::Json, &parsed.schema_text()).unwrap();
        prop_assert_eq!(again.shape(), parsed.shape());
        prop_assert_eq!(parsed.fingerprint(), again.fingerprint());
        prop_assert!(check(FullTransitive, &again, &[(1, parsed.clone())]).is_empty());
    }
}

#[test]
fn side_by_side_pairs_lines_and_marks_each_change() {
    let old = "a\nb\nc\nd\n";
    let new = "a\nB\nc\nd\ne\n";
    let rows = side_by_side(old, new);
    let kinds: Vec<LineChange> = rows.iter().map(|r| r.change).collect();
    assert_eq!(
        kinds,
        vec![
            LineChange::Same,
            LineChange::Changed,
            LineChange::Same,
            LineChange::Same,
            LineChange::Added
        ]
    );
    assert_eq!(rows[1].left, Some((2, "b".into())));
    assert_eq!(rows[1].right, Some((2, "B".into())));
    assert!(rows[4].left.is_none());
    assert_eq!(rows[4].right, Some((5, "e".into())));
    let removed = side_by_side("x\ny\n", "x\n");
    assert_eq!(removed[1].change, LineChange::Removed);
    assert!(removed[1].right.is_none());
}

/// The Avro specification's schema-resolution rules, one case per rule, each named with the
/// specification's words: a writer's field type, the reader's, and whether the reader (the new
/// version, under BACKWARD) can read what the writer wrote.
#[test]
fn avro_schema_resolution_follows_the_specification() {
    let rec = |name: &str, fields: Value| json!({"type": "record", "name": name, "fields": fields});
    let address = |name: &str, extra: Value| {
        let mut r = rec(name, json!([{"name": "city", "type": "string"}]));
        if let Value::Object(o) = extra {
            r.as_object_mut().unwrap().extend(o);
        }
        r
    };
    let list = |value: &str| {
        rec(
            "Node",
            json!([{"name": "value", "type": value}, {"name": "next", "type": ["null", "Node"], "default": null}]),
        )
    };
    let cases: Vec<(&str, Value, Value, bool)> = vec![
        ("int is promotable to long", json!("int"), json!("long"), true),
        ("int is promotable to float", json!("int"), json!("float"), true),
        ("int is promotable to double", json!("int"), json!("double"), true),
        ("long is promotable to float or double", json!("long"), json!("double"), true),
        ("long is not promotable to int", json!("long"), json!("int"), false),
        ("float is promotable to double", json!("float"), json!("double"), true),
        ("double is not promotable to float", json!("double"), json!("float"), false),
        ("string is promotable to bytes", json!("string"), json!("bytes"), true),
        ("bytes is promotable to string", json!("bytes"), json!("string"), true),
        ("boolean does not match string", json!("boolean"), json!("string"), false),
        (
            "both schemas are enums: if the writer's symbol is not present in the reader's enum and the reader has a default value, then that value is used",
            json!({"type": "enum", "name": "S", "symbols": ["A", "B"]}),
            json!({"type": "enum", "name": "S", "symbols": ["A"], "default": "A"}),
            true,
        ),
        (
            "both schemas are enums: if the writer's symbol is not present in the reader's enum and the reader has no default, an error is signalled",
            json!({"type": "enum", "name": "S", "symbols": ["A", "B"]}),
            json!({"type": "enum", "name": "S", "symbols": ["A"]}),
            false,
        ),
        (
            "both schemas are fixed: the sizes match",
            json!({"type": "fixed", "name": "Id", "size": 16}),
            json!({"type": "fixed", "name": "Id", "size": 16}),
            true,
        ),
        (
            "both schemas are fixed: sizes that differ do not match",
            json!({"type": "fixed", "name": "Id", "size": 16}),
            json!({"type": "fixed", "name": "Id", "size": 8}),
            false,
        ),
        (
            "both schemas are records with the same (unqualified) name",
            address("one.Address", json!({})),
            address("two.Address", json!({})),
            true,
        ),
        (
            "records with different names do not match",
            address("Address", json!({})),
            address("Location", json!({})),
            false,
        ),
        (
            "named types: a reader's aliases name the writer's type",
            address("Address", json!({})),
            address("Location", json!({"aliases": ["old.Address"]})),
            true,
        ),
        (
            "named types: an enum's aliases name the writer's enum",
            json!({"type": "enum", "name": "Colour", "symbols": ["RED"]}),
            json!({"type": "enum", "name": "Color", "symbols": ["RED"], "aliases": ["Colour"]}),
            true,
        ),
        (
            "if reader's is a union, but writer's is not: the first schema in the reader's union that matches the writer's schema is resolved against it",
            json!("int"),
            json!(["null", "long"]),
            true,
        ),
        (
            "if reader's is a union, but writer's is not: if none match, an error is signalled",
            json!("string"),
            json!(["null", "int"]),
            false,
        ),
        (
            "if writer's is a union, but reader's is not: every branch the writer may select must match the reader",
            json!(["null", "int"]),
            json!("int"),
            false,
        ),
        (
            "if writer's is a union, but reader's is not: branches that all promote are read",
            json!(["int", "long"]),
            json!("double"),
            true,
        ),
        (
            "if both are unions: each writer's branch is read by the first matching reader's branch",
            json!(["null", "int"]),
            json!(["null", "long"]),
            true,
        ),
        (
            "if both are unions: a writer's branch that no reader's branch matches is an error",
            json!(["null", "string"]),
            json!(["null", "int"]),
            false,
        ),
        (
            "both schemas are arrays: the item types are resolved",
            json!({"type": "array", "items": "int"}),
            json!({"type": "array", "items": "long"}),
            true,
        ),
        (
            "both schemas are arrays: items that do not resolve are an error",
            json!({"type": "array", "items": "string"}),
            json!({"type": "array", "items": "int"}),
            false,
        ),
        (
            "both schemas are maps: the value types are resolved",
            json!({"type": "map", "values": "int"}),
            json!({"type": "map", "values": "double"}),
            true,
        ),
        (
            "a logical type is read through its underlying type",
            json!({"type": "int", "logicalType": "date"}),
            json!("int"),
            true,
        ),
        (
            "a logical type's underlying type must resolve",
            json!({"type": "long", "logicalType": "timestamp-millis"}),
            json!({"type": "int", "logicalType": "date"}),
            false,
        ),
        (
            "a recursive record referenced by name resolves field by field",
            list("int"),
            list("long"),
            true,
        ),
        (
            "a recursive record whose field no longer resolves is an error",
            list("string"),
            list("int"),
            false,
        ),
    ];
    for (rule, writer, reader, readable) in cases {
        let old = user(json!([{"name": "f", "type": writer}]));
        let new = user(json!([{"name": "f", "type": reader}]));
        let problems = check(Backward, &new, &[(1, old)]);
        assert_eq!(problems.is_empty(), readable, "{rule}: {problems:?}");
    }
}

#[test]
fn a_renamed_record_that_aliases_its_old_name_is_compatible_both_ways_only_with_aliases() {
    let with = |name: &str, aliases: Value| {
        user(
            json!([{"name": "home", "type": {"type": "record", "name": name, "aliases": aliases,
            "fields": [{"name": "city", "type": "string"}]}}]),
        )
    };
    let old = with("Address", json!([]));
    let renamed = with("Location", json!(["Address"]));
    assert!(check(Backward, &renamed, &[(1, old.clone())]).is_empty());
    // Old readers know no alias for the new name: FORWARD names the field.
    let forward = check(Forward, &renamed, &[(1, old)]);
    assert_eq!(
        forward.first().map(|p| p.field.as_str()),
        Some("home"),
        "{forward:?}"
    );
}

#[test]
fn the_fields_table_says_type_nullability_default_and_doc() {
    let rows = avro(json!({"type": "record", "name": "R", "fields": [
        {"name": "id", "type": "long", "doc": "the id"},
        {"name": "note", "type": ["null", "string"], "default": null},
        {"name": "qty", "type": "int", "default": 3}]}))
    .fields();
    let row = |path: &str| rows.iter().find(|r| r.path == path).unwrap();
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert_eq!(
        (row("id").nullable, row("id").doc.as_deref()),
        (false, Some("the id"))
    );
    assert!(row("note").nullable, "{:?}", row("note"));
    assert_eq!(row("note").default.as_deref(), Some("null"));
    assert_eq!(row("qty").default.as_deref(), Some("3"));
    assert!(row("qty").ty.contains("int"), "{:?}", row("qty"));
}
