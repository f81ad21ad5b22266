use super::*;
use crate::domain::Compatibility::{self, *};
use crate::domain::SchemaFormat;
use crate::server::schema::{check, columns, parse, parse_with};

fn proto(body: &str) -> Parsed {
    parse(
        SchemaFormat::Protobuf,
        &format!("syntax = \"proto3\";\npackage shop;\n{body}"),
    )
    .unwrap_or_else(|e| panic!("{e}\n{body}"))
}

fn proto2(body: &str) -> Parsed {
    parse(
        SchemaFormat::Protobuf,
        &format!("syntax = \"proto2\";\npackage shop;\n{body}"),
    )
    .unwrap_or_else(|e| panic!("{e}\n{body}"))
}

/// The fields each mode names when `new` follows `old`.
fn offending(mode: Compatibility, old: &Parsed, new: &Parsed) -> Vec<String> {
    let mut f: Vec<String> = check(mode, new, &[(1, old.clone())])
        .into_iter()
        .map(|p| p.field)
        .collect();
    f.dedup();
    f
}

const ALL: [Compatibility; 4] = [None, Backward, Forward, Full];

/// Each case is named after the rule it checks: the old version, the new one, and the fields
/// NONE, BACKWARD, FORWARD and FULL name (empty: compatible).
#[test]
fn protobuf_changes_under_every_mode() {
    let ok: &[&str] = &[];
    let cases: Vec<(&str, Parsed, Parsed, [&[&str]; 4])> = vec![
        (
            "adding a field is compatible both ways: readers skip numbers they do not know",
            proto("message Order { int64 id = 1; }"),
            proto("message Order { int64 id = 1; string note = 2; }"),
            [ok, ok, ok, ok],
        ),
        (
            "removing a field whose number is reserved is compatible",
            proto("message Order { int64 id = 1; string note = 2; }"),
            proto("message Order { int64 id = 1; reserved 2; }"),
            [ok, ok, ok, ok],
        ),
        (
            "removing a field without reserving its number breaks backward",
            proto("message Order { int64 id = 1; string note = 2; }"),
            proto("message Order { int64 id = 1; }"),
            [ok, &["Order.note"], ok, &["Order.note"]],
        ),
        (
            "renaming a field keeps its number and is compatible",
            proto("message Order { int64 id = 1; }"),
            proto("message Order { int64 order_id = 1; }"),
            [ok, ok, ok, ok],
        ),
        (
            "int32, int64, uint32, uint64 and bool are compatible: all varints",
            proto("message Order { int32 qty = 1; }"),
            proto("message Order { int64 qty = 1; }"),
            [ok, ok, ok, ok],
        ),
        (
            "an enum reads as an int32",
            proto("message Order { int32 state = 1; }"),
            proto("message Order { State state = 1; enum State { NEW = 0; } }"),
            [ok, ok, ok, ok],
        ),
        (
            "string and bytes are compatible",
            proto("message Order { string note = 1; }"),
            proto("message Order { bytes note = 1; }"),
            [ok, ok, ok, ok],
        ),
        (
            "changing a field's number kind (varint to zigzag) breaks both",
            proto("message Order { int32 qty = 1; }"),
            proto("message Order { sint32 qty = 1; }"),
            [ok, &["Order.qty"], &["Order.qty"], &["Order.qty"]],
        ),
        (
            "changing a scalar to a message breaks both",
            proto("message Order { string customer = 1; } message Customer { string id = 1; }"),
            proto("message Order { Customer customer = 1; } message Customer { string id = 1; }"),
            [ok, &["Order.customer"], &["Order.customer"], &["Order.customer"]],
        ),
        (
            "changing a field's message type breaks both",
            proto("message Order { A x = 1; } message A { string id = 1; } message B { string id = 1; }"),
            proto("message Order { B x = 1; } message A { string id = 1; } message B { string id = 1; }"),
            [ok, &["Order.x"], &["Order.x"], &["Order.x"]],
        ),
        (
            "a change inside a nested message is named by its path",
            proto("message Order { Line line = 1; message Line { string sku = 1; int32 qty = 2; } }"),
            proto("message Order { Line line = 1; message Line { string sku = 1; } }"),
            [ok, &["Order.Line.qty"], ok, &["Order.Line.qty"]],
        ),
        (
            "singular to repeated is compatible for strings and messages",
            proto("message Order { string tag = 1; }"),
            proto("message Order { repeated string tag = 1; }"),
            [ok, ok, ok, ok],
        ),
        (
            "singular to repeated breaks both for numbers (repeated numbers are packed)",
            proto("message Order { int32 qty = 1; }"),
            proto("message Order { repeated int32 qty = 1; }"),
            [ok, &["Order.qty"], &["Order.qty"], &["Order.qty"]],
        ),
        (
            "moving one field into a new oneof is compatible",
            proto("message Order { string card = 1; }"),
            proto("message Order { oneof payment { string card = 1; string iban = 2; } }"),
            [ok, ok, ok, ok],
        ),
        (
            "moving several existing fields into one oneof breaks backward",
            proto("message Order { string card = 1; string iban = 2; }"),
            proto("message Order { oneof payment { string card = 1; string iban = 2; } }"),
            [
                ok,
                &["Order.card", "Order.iban"],
                ok,
                &["Order.card", "Order.iban"],
            ],
        ),
        (
            "moving a field into an existing oneof breaks backward",
            proto("message Order { string card = 1; oneof payment { string iban = 2; } }"),
            proto("message Order { oneof payment { string card = 1; string iban = 2; } }"),
            [ok, &["Order.card"], ok, &["Order.card"]],
        ),
        (
            "removing a oneof member breaks backward",
            proto("message Order { oneof payment { string card = 1; string iban = 2; } }"),
            proto("message Order { oneof payment { string card = 1; } reserved 2; }"),
            [ok, &["Order.iban"], ok, &["Order.iban"]],
        ),
        (
            "adding a required field breaks both (proto2)",
            proto2("message Order { required int64 id = 1; }"),
            proto2("message Order { required int64 id = 1; required string note = 2; }"),
            [ok, &["Order.note"], &["Order.note"], &["Order.note"]],
        ),
        (
            "removing a message breaks backward; adding one breaks forward",
            proto("message Order { int64 id = 1; } message Refund { int64 id = 1; }"),
            proto("message Order { int64 id = 1; }"),
            [ok, &["Refund"], ok, &["Refund"]],
        ),
        (
            "changing the package breaks both",
            proto("message Order { int64 id = 1; }"),
            parse(
                SchemaFormat::Protobuf,
                "syntax = \"proto3\";\npackage store;\nmessage Order { int64 id = 1; }",
            )
            .unwrap(),
            [ok, &["(package)"], &["(package)"], &["(package)"]],
        ),
        (
            "reusing a reserved number breaks backward",
            proto("message Order { int64 id = 1; reserved 2; }"),
            proto("message Order { int64 id = 1; string note = 2; }"),
            [ok, &["Order.#2", "Order.note"], ok, &["Order.#2", "Order.note"]],
        ),
        (
            "removing an enum value without reserving its number breaks backward",
            proto("enum State { NEW = 0; PAID = 1; } message Order { State s = 1; }"),
            proto("enum State { NEW = 0; } message Order { State s = 1; }"),
            [ok, &["State.PAID"], ok, &["State.PAID"]],
        ),
        (
            "merging the members of two oneofs into one breaks backward",
            proto("message Order { oneof a { string card = 1; } oneof b { string iban = 2; } }"),
            proto("message Order { oneof payment { string card = 1; string iban = 2; } }"),
            [
                ok,
                &["Order.card", "Order.iban"],
                ok,
                &["Order.card", "Order.iban"],
            ],
        ),
        (
            "renaming a oneof keeps its members together and is compatible",
            proto("message Order { oneof a { string card = 1; string iban = 2; } }"),
            proto("message Order { oneof payment { string card = 1; string iban = 2; } }"),
            [ok, ok, ok, ok],
        ),
        (
            "another message first changes the queue's record and breaks both",
            proto("message Order { int64 id = 1; } message Refund { int64 id = 1; }"),
            proto("message Refund { int64 id = 1; } message Order { int64 id = 1; }"),
            [ok, &["(record)"], &["(record)"], &["(record)"]],
        ),
        (
            "a required field becoming repeated breaks both (proto2)",
            proto2("message Order { required string tag = 1; }"),
            proto2("message Order { repeated string tag = 1; }"),
            [ok, &["Order.tag"], &["Order.tag"], &["Order.tag"]],
        ),
        (
            "adding an enum value is compatible",
            proto("enum State { NEW = 0; } message Order { State s = 1; }"),
            proto("enum State { NEW = 0; PAID = 1; } message Order { State s = 1; }"),
            [ok, ok, ok, ok],
        ),
    ];
    for (name, old, new, expected) in cases {
        for (mode, want) in ALL.iter().zip(expected) {
            let want: Vec<String> = want.iter().map(|s| s.to_string()).collect();
            assert_eq!(offending(*mode, &old, &new), want, "{name} under {mode}");
            // With one earlier version, a transitive mode says what its plain mode says.
            let transitive = match mode {
                Backward => Some(BackwardTransitive),
                Forward => Some(ForwardTransitive),
                Full => Some(FullTransitive),
                _ => Option::None,
            };
            if let Some(t) = transitive {
                assert_eq!(offending(t, &old, &new), want, "{name} under {t}");
            }
        }
    }
}

#[test]
fn a_proto_syntax_error_says_line_and_column() {
    let e = parse(
        SchemaFormat::Protobuf,
        "syntax = \"proto3\";\nmessage Order {\n  int64 id = ;\n}\n",
    )
    .unwrap_err();
    assert_eq!((e.line, e.column), (Some(3), Some(14)), "{e}");
    let e = parse(
        SchemaFormat::Protobuf,
        "syntax = \"proto3\";\nmessage Order {\n  Missing m = 1;\n}\n",
    )
    .unwrap_err();
    assert!(e.message.contains("Missing"), "{e}");
    assert_eq!(e.line, Some(3), "{e}");
    let e = parse(
        SchemaFormat::Protobuf,
        "syntax = \"proto3\";\nenum E { A = 0; }",
    )
    .unwrap_err();
    assert!(e.message.contains("at least one message"), "{e}");
}

#[test]
fn an_import_resolves_from_the_referenced_files() {
    let money = SchemaImport {
        name: "shop/money.proto".into(),
        definition: "syntax = \"proto3\";\npackage shop;\nmessage Money { string currency = 1; int64 units = 2; }".into(),
    };
    let text = "syntax = \"proto3\";\npackage shop;\nimport \"shop/money.proto\";\nimport \"google/protobuf/timestamp.proto\";\nmessage Order { Money total = 1; google.protobuf.Timestamp at = 2; }";
    let e = parse(SchemaFormat::Protobuf, text).unwrap_err();
    assert!(e.message.contains("shop/money.proto"), "{e}");
    let p = parse_with(SchemaFormat::Protobuf, text, std::slice::from_ref(&money)).unwrap();
    let paths: Vec<String> = p.fields().into_iter().map(|f| f.path).collect();
    assert_eq!(
        paths,
        [
            "total",
            "total.currency",
            "total.units",
            // A well-known type is one value (protobuf's JSON shows a time, not its parts).
            "at",
        ]
    );
}

#[test]
fn a_descriptor_sent_as_base64_is_stored_as_proto_text_with_the_same_identity() {
    let text = r#"syntax = "proto2";
package shop;
option java_package = "com.shop";
message Order {
  required int64 id = 1;
  optional string note = 2 [default = "none"];
  repeated Line lines = 3;
  map<string, int32> counts = 4;
  oneof payment { string card = 5; string iban = 6; }
  reserved 7, 9 to 11;
  reserved "old";
  message Line { optional string sku = 1; }
  enum State { NEW = 0; PAID = 1; }
}
"#;
    let Parsed::Protobuf(p) = parse(SchemaFormat::Protobuf, text).unwrap() else {
        unreachable!()
    };
    let sent = p.serialized("orders.proto");
    let Parsed::Protobuf(q) = parse(SchemaFormat::Protobuf, &sent).unwrap() else {
        unreachable!()
    };
    assert!(
        q.text.contains("map<string, int32> counts = 4;"),
        "{}",
        q.text
    );
    assert!(q.text.contains("oneof payment {"), "{}", q.text);
    assert_eq!(p.identity(), q.identity(), "{}", q.text);
}

#[test]
fn proto3_samples_are_read_through_the_descriptor() {
    let p = proto("message Order { int64 id = 1; repeated string tags = 2; }");
    assert!(p.sample_errors(r#"{"id": "7", "tags": ["a"]}"#).is_empty());
    let errors = p.sample_errors(r#"{"id": "seven"}"#);
    assert!(errors[0].contains("shop.Order"), "{errors:?}");
    let errors = p.sample_errors(r#"{"id": 1, "colour": "red"}"#);
    assert!(errors[0].contains("colour"), "{errors:?}");
}

#[test]
fn flink_columns_and_class_follow_the_record_message() {
    let p = parse(
        SchemaFormat::Protobuf,
        "syntax = \"proto3\";\npackage shop;\noption java_package = \"com.shop.v1\";\noption java_multiple_files = true;\n// An order.\nmessage Order {\n  // The order's id.\n  int64 id = 1;\n  optional string note = 2;\n  repeated Line lines = 3;\n  map<string, double> prices = 4;\n}\nmessage Line { string sku = 1; }",
    )
    .unwrap();
    let cols: Vec<(String, String, bool, String)> = columns(&p)
        .into_iter()
        .map(|c| (c.name, c.sql_type, c.nullable, c.doc))
        .collect();
    assert_eq!(
        cols,
        vec![
            (
                "id".into(),
                "BIGINT".into(),
                false,
                "The order's id.".into()
            ),
            ("note".into(), "STRING".into(), true, String::new()),
            (
                "lines".into(),
                "ARRAY<ROW<`sku` STRING>>".into(),
                false,
                String::new()
            ),
            (
                "prices".into(),
                "MAP<STRING, DOUBLE>".into(),
                false,
                String::new()
            ),
        ]
    );
    let Parsed::Protobuf(inner) = &p else {
        unreachable!()
    };
    assert_eq!(inner.java_class(), "com.shop.v1.Order");
    let (names, docs) = p.index_words();
    assert!(names.contains(&"Line".to_string()) && names.contains(&"lines[].sku".to_string()));
    assert!(
        docs.contains("An order.") && docs.contains("The order's id."),
        "{docs}"
    );
}

#[test]
fn wide_and_recursive_messages_flatten_within_bounds() {
    let mut text = String::from("syntax = \"proto3\";\npackage deep;\n");
    for level in 0..8 {
        let fields: Vec<String> = (0..10)
            .map(|i| format!("M{} f{i} = {};", level + 1, i + 1))
            .collect();
        text.push_str(&format!("message M{level} {{ {} }}\n", fields.join(" ")));
    }
    text.push_str("message M8 { string leaf = 1; M0 back = 2; }\n");
    let p = parse(SchemaFormat::Protobuf, &text).unwrap();
    let started = std::time::Instant::now();
    let fields = p.fields();
    let cols = columns(&p);
    let (names, _) = p.index_words();
    assert!(fields.len() <= super::MAX_ROWS, "{}", fields.len());
    assert!(names.len() <= super::MAX_ROWS + 16);
    assert_eq!(cols.len(), 10);
    assert!(cols.iter().map(|c| c.sql_type.len()).sum::<usize>() < 1_000_000);
    // Ten levels of ten would be ten billion rows; bounded, this is quick.
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    let recursive = proto("message Node { string v = 1; Node left = 2; Node right = 3; }");
    assert_eq!(recursive.fields().len(), 3);
    assert_eq!(columns(&recursive)[1].sql_type, "STRING");
}

#[test]
fn a_reserved_range_to_max_is_compared_as_an_interval() {
    let old = proto("message Order { int64 id = 1; reserved 100 to max; }");
    let new = proto("message Order { int64 id = 1; reserved 100 to max; string note = 2; }");
    assert!(check(Backward, &new, &[(1, old.clone())]).is_empty());
    let narrowed = proto("message Order { int64 id = 1; reserved 100 to 200; }");
    let problems = check(Backward, &narrowed, &[(1, old)]);
    assert_eq!(problems[0].field, "Order.#201", "{problems:?}");
}

#[test]
fn a_descriptor_with_odd_defaults_round_trips_and_groups_are_refused() {
    let text = "syntax = \"proto2\";\nmessage M {\n  optional double big = 1 [default = 1e20];\n  optional bytes raw = 2 [default = \"\\001x\"];\n  optional float inf = 3 [default = inf];\n}\n";
    let Parsed::Protobuf(p) = parse(SchemaFormat::Protobuf, text).unwrap() else {
        unreachable!()
    };
    let Parsed::Protobuf(q) = parse(SchemaFormat::Protobuf, &p.serialized("m.proto")).unwrap()
    else {
        unreachable!()
    };
    assert_eq!(p.identity(), q.identity(), "{}", q.text);
    let grouped =
        "syntax = \"proto2\";\nmessage M {\n  optional group G = 1 { optional int32 x = 2; }\n}\n";
    let Parsed::Protobuf(g) = parse(SchemaFormat::Protobuf, grouped).unwrap() else {
        unreachable!()
    };
    let e = parse(SchemaFormat::Protobuf, &g.serialized("g.proto")).unwrap_err();
    assert!(e.message.contains("groups"), "{e}");
}

#[test]
fn a_changed_comment_is_a_new_version_but_indentation_is_not_and_a_descriptor_matches_by_shape() {
    let documented = |doc: &str| {
        let text =
            format!("syntax = \"proto3\";\nmessage Order {{\n  // {doc}\n  int64 id = 1;\n}}\n");
        let Parsed::Protobuf(p) = parse(SchemaFormat::Protobuf, &text).unwrap() else {
            unreachable!()
        };
        p
    };
    let (a, b) = (documented("the order's id"), documented("the order number"));
    assert_ne!(a.identity(), b.identity());
    let reindented =
        "syntax = \"proto3\";\nmessage Order {\n      //   the order's id\n  int64 id = 1;\n}\n";
    let Parsed::Protobuf(c) = parse(SchemaFormat::Protobuf, reindented).unwrap() else {
        unreachable!()
    };
    assert_eq!(a.identity(), c.identity());
    // What Confluent's serializer sends is the descriptor, which has no comments: it is the
    // version whose shape it has, whatever that version's comments say.
    let sent = parse(SchemaFormat::Protobuf, &a.serialized("order.proto")).unwrap();
    assert!(sent.is_version(&Parsed::Protobuf(a.clone())));
    assert!(sent.is_version(&Parsed::Protobuf(b)));
    assert!(Parsed::Protobuf(a).is_version(&Parsed::Protobuf(c)));
}
