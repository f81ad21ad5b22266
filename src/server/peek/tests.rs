use super::*;
use crate::server::schema::parse;

const ORDER: &str = r#"{"type":"record","name":"Order","fields":[
  {"name":"id","type":"long"},
  {"name":"country","type":"string"},
  {"name":"email","type":"string","sensitive":true},
  {"name":"card","type":["null",{"type":"record","name":"Card","fields":[
     {"name":"number","type":"string","sensitive":true},{"name":"brand","type":"string"}]}],"default":null}]}"#;

fn order_version(id: i64, version: i64) -> Version {
    Version::new(id, version, parse(SchemaFormat::Avro, ORDER).unwrap())
}

/// An order in the Schema Registry's wire format under schema id `id`.
fn framed(id: u32, country: &str, card: bool) -> Vec<u8> {
    let Parsed::Avro { schema, .. } = parse(SchemaFormat::Avro, ORDER).unwrap() else {
        unreachable!()
    };
    use apache_avro::types::Value as A;
    let card = if card {
        A::Union(
            1,
            Box::new(A::Record(vec![
                ("number".into(), A::String("4111111111111111".into())),
                ("brand".into(), A::String("visa".into())),
            ])),
        )
    } else {
        A::Union(0, Box::new(A::Null))
    };
    let record = A::Record(vec![
        ("id".into(), A::Long(7)),
        ("country".into(), A::String(country.into())),
        ("email".into(), A::String("ann@example.com".into())),
        ("card".into(), card),
    ]);
    let mut out = vec![0];
    out.extend_from_slice(&id.to_be_bytes());
    out.extend(
        apache_avro::writer::datum::GenericDatumWriter::builder(&schema)
            .build()
            .unwrap()
            .write_value_to_vec(record)
            .unwrap(),
    );
    out
}

fn raw(key: Option<&[u8]>, value: &[u8]) -> RawMessage {
    RawMessage {
        partition: 1,
        offset: 42,
        timestamp: Some(1_700_000_000_000),
        key: key.map(<[u8]>::to_vec),
        value: Some(value.to_vec()),
        headers: vec![("trace".into(), Some(b"abc".to_vec()))],
    }
}

#[test]
fn sensitive_fields_are_found_in_avro_and_json_schema() {
    assert_eq!(
        order_version(1, 1)
            .sensitive
            .into_iter()
            .collect::<Vec<_>>(),
        ["card.number", "email"]
    );
    let json = parse(
        SchemaFormat::Json,
        r#"{"type":"object","properties":{"name":{"type":"string","x-sensitive":true},
            "age":{"type":"integer"}}}"#,
    )
    .unwrap();
    assert_eq!(
        sensitive_paths(&json).into_iter().collect::<Vec<_>>(),
        ["name"]
    );
}

#[test]
fn sensitive_fields_are_named_as_the_schema_page_names_them_through_arrays_maps_and_references() {
    let avro = parse(
        SchemaFormat::Avro,
        r#"{"type":"record","name":"Cart","namespace":"shop","fields":[
          {"name":"owner","type":{"type":"record","name":"Person","fields":[
             {"name":"ssn","type":"string","sensitive":true}]}},
          {"name":"payer","type":["null","shop.Person"],"default":null},
          {"name":"lines","type":{"type":"array","items":{"type":"record","name":"Line","fields":[
             {"name":"sku","type":"string"},{"name":"note","type":"string","sensitive":true}]}}},
          {"name":"attrs","type":{"type":"map","values":"Person"}}]}"#,
    )
    .unwrap();
    assert_eq!(
        sensitive_paths(&avro).into_iter().collect::<Vec<_>>(),
        ["attrs{}.ssn", "lines[].note", "owner.ssn", "payer.ssn"]
    );
    let json = parse(
        SchemaFormat::Json,
        r##"{"type":"object","$defs":{"P":{"type":"object","properties":{
               "ssn":{"type":"string","x-sensitive":true}}}},
             "properties":{"who":{"$ref":"#/$defs/P"},
               "tags":{"type":"array","items":{"type":"string","x-sensitive":true}},
               "extra":{"type":"object","additionalProperties":{"$ref":"#/$defs/P"}}}}"##,
    )
    .unwrap();
    assert_eq!(
        sensitive_paths(&json).into_iter().collect::<Vec<_>>(),
        ["extra{}.ssn", "tags[]", "who.ssn"]
    );
    // Masked where they are, and a filter cannot reach them.
    let d = Decoder::new(vec![Version::new(1, 1, json)], false, false);
    let m = d.message(&raw(
        None,
        br#"{"who":{"ssn":"123"},"tags":["a","b"],"extra":{"k1":{"ssn":"456"},"k2":{"ssn":"789"}}}"#,
    ));
    assert!(
        !["123", "456", "789", "\"a\""]
            .iter()
            .any(|v| m.value.contains(v)),
        "{}",
        m.value
    );
    assert_eq!(m.masked_fields, ["extra{}.ssn", "tags[]", "who.ssn"]);
    assert!(d.masks_path("who.ssn") && d.masks_path("extra.k9.ssn") && d.masks_path("tags"));
    assert!(!d.masks_path("extra.k9") && !d.masks_path("who"));
}

#[test]
fn fields_beside_a_map_and_plain_values_where_records_were_expected_are_masked() {
    let json = parse(
        SchemaFormat::Json,
        r#"{"type":"object","properties":{"ssn":{"type":"string","x-sensitive":true},
            "owner":{"type":"object","properties":{"email":{"type":"string","x-sensitive":true}}}},
            "additionalProperties":{"type":"object","properties":{
              "pin":{"type":"string","x-sensitive":true}}}}"#,
    )
    .unwrap();
    let d = Decoder::new(vec![Version::new(1, 1, json)], false, false);
    let m = d.message(&raw(
        None,
        br#"{"ssn":"123","owner":{"email":"a@b.c"},"x":{"pin":"9876"}}"#,
    ));
    assert_eq!(m.problem, None);
    for secret in ["123", "a@b.c", "9876"] {
        assert!(!m.value.contains(secret), "{secret} in {}", m.value);
    }
    assert_eq!(m.masked_fields, ["owner.email", "ssn", "{}.pin"]);
    // `owner` as a plain string breaks the schema: the whole value is masked.
    let m = d.message(&raw(None, br#"{"owner":"Ann, ann@b.c"}"#));
    assert!(m.problem.is_some());
    assert!(!m.value.contains("ann@b.c"), "{}", m.value);
    assert_eq!(m.producer_command, None);
    // Without a schema problem, a plain value where fields were expected is masked too.
    let v = Version::new(
        2,
        1,
        parse(
            SchemaFormat::Json,
            r#"{"properties":{"owner":{"properties":{"email":{"x-sensitive":true}}}}}"#,
        )
        .unwrap(),
    );
    let m = Decoder::new(vec![v], false, false).message(&raw(None, br#"{"owner":"ann@b.c"}"#));
    assert!(!m.value.contains("ann@b.c"), "{}", m.value);
    assert_eq!(m.masked_fields, ["owner"]);
}

#[test]
fn a_field_marked_in_a_later_version_is_masked_in_messages_of_earlier_ones() {
    let plain = ORDER.replace(r#","sensitive":true"#, "");
    let v1 = Version::new(11, 1, parse(SchemaFormat::Avro, &plain).unwrap());
    assert!(v1.sensitive.is_empty());
    let d = Decoder::new(vec![v1, order_version(12, 2)], false, false);
    let m = d.message(&raw(None, &framed(11, "FR", false)));
    assert_eq!(m.schema_version, Some(1));
    assert!(!m.value.contains("ann@example.com"), "{}", m.value);
    assert_eq!(m.masked_fields, ["email"]);
}

#[test]
fn a_value_that_breaks_the_contract_is_masked_whole_where_fields_are_sensitive() {
    let member = Decoder::new(vec![order_version(12, 1)], false, false);
    let m = member.message(&raw(None, br#"{"email":"ann@example.com"}"#));
    assert!(m.problem.as_deref().unwrap().contains("wire format"));
    assert_eq!(m.value, "••• text, 9–32 chars");
    assert_eq!(m.producer_command, None);
    assert!(!contains_text(&m, "ann@"));
    // A JSON Schema's reasons name the place and the rule, not the value.
    let v = Version::new(
        5,
        1,
        parse(
            SchemaFormat::Json,
            r#"{"type":"object","properties":{"email":{"type":"integer","x-sensitive":true}}}"#,
        )
        .unwrap(),
    );
    let m = Decoder::new(vec![v], false, false).message(&raw(None, br#"{"email":"ann@x.org"}"#));
    let why = m.problem.unwrap();
    assert!(
        why.contains("/email: fails /properties/email/type"),
        "{why}"
    );
    assert!(
        !why.contains("ann@x.org") && !m.value.contains("ann@x.org"),
        "{why}"
    );
}

#[test]
fn protobuf_fields_keep_their_proto_names_so_marks_apply() {
    let parsed = parse(
        SchemaFormat::Protobuf,
        "syntax = \"proto3\";\nmessage Card { string card_number = 1; string brand_name = 2; }",
    )
    .unwrap();
    let mut v = Version::new(3, 1, parsed);
    v.sensitive.insert("card_number".into());
    let d = Decoder::new(vec![v], false, false);
    // Schema id 3, message index 0, field 1 = "4111", field 2 = "visa".
    let mut bytes = vec![0, 0, 0, 0, 3, 0, 0x0a, 4];
    bytes.extend_from_slice(b"4111");
    bytes.extend_from_slice(&[0x12, 4]);
    bytes.extend_from_slice(b"visa");
    let m = d.message(&raw(None, &bytes));
    assert_eq!(m.encoding, "protobuf", "{:?}", m.problem);
    let v: Value = serde_json::from_str(&m.value).unwrap();
    assert_eq!(v["brand_name"], "visa");
    assert_eq!(v["card_number"], "••• string, 1–8 chars");
}

#[test]
fn avro_in_wire_format_decodes_with_the_version_named_and_sensitive_fields_masked() {
    let d = Decoder::new(
        vec![order_version(11, 1), order_version(12, 2)],
        false,
        false,
    );
    let m = d.message(&raw(Some(b"k1"), &framed(12, "FR", true)));
    assert_eq!(m.encoding, "avro");
    assert_eq!((m.schema_id, m.schema_version), (Some(12), Some(2)));
    assert_eq!(m.problem, None);
    let v: Value = serde_json::from_str(&m.value).unwrap();
    assert_eq!(v["country"], "FR");
    assert_eq!(v["id"], 7);
    assert_eq!(v["email"], "••• string, 9–32 chars");
    assert_eq!(v["card"]["number"], "••• string, 9–32 chars");
    assert_eq!(v["card"]["brand"], "visa");
    assert_eq!(m.masked_fields, ["card.number", "email"]);
    assert!(!m.value.contains("ann@example.com"), "{}", m.value);
    assert_eq!(m.producer_command, None, "no command for a masked message");
    assert_eq!(m.key.as_deref(), Some("k1"));
    // The owner who unmasks sees the value, and can copy the call that writes it.
    let owner = Decoder::new(vec![order_version(12, 2)], false, true);
    let m = owner.message(&raw(Some(b"k1"), &framed(12, "FR", false)));
    let v: Value = serde_json::from_str(&m.value).unwrap();
    assert_eq!(v["email"], "ann@example.com");
    assert!(m.masked_fields.is_empty());
    let cmd = m.producer_command.unwrap();
    assert!(
        cmd.starts_with("producer.send(Some(b\"k1\"), b\"\\x00\\x00\\x00\\x00\\x0c"),
        "{cmd}"
    );
}

#[test]
fn values_that_break_the_contract_are_shown_raw_with_the_reason() {
    let d = Decoder::new(vec![order_version(12, 1)], false, true);
    // Another subject's schema id.
    let m = d.message(&raw(None, &framed(99, "FR", false)));
    assert_eq!(m.encoding, "hex");
    assert!(m.problem.unwrap().contains("schema id 99"));
    // Plain text on an Avro queue.
    let m = d.message(&raw(None, b"hello"));
    assert_eq!((m.encoding.as_str(), m.value.as_str()), ("text", "hello"));
    assert!(m.problem.unwrap().contains("wire format"));
    // The right id, bytes that are not the record.
    let m = d.message(&raw(None, &[0, 0, 0, 0, 12, 0xff, 0xff, 0xff]));
    assert!(m.problem.unwrap().contains("version 1 (id 12)"));
}

#[test]
fn json_values_are_checked_against_the_json_schema() {
    let v = Version::new(
        5,
        1,
        parse(
            SchemaFormat::Json,
            r#"{"type":"object","required":["id"],"properties":{"id":{"type":"integer"}}}"#,
        )
        .unwrap(),
    );
    let d = Decoder::new(vec![v], false, false);
    let m = d.message(&raw(None, br#"{"id":1}"#));
    assert_eq!((m.encoding.as_str(), m.problem), ("json", None));
    let m = d.message(&raw(None, br#"{"id":"x"}"#));
    assert!(m
        .problem
        .unwrap()
        .contains("does not match version 1 (id 5)"));
    let m = d.message(&raw(None, b"not json"));
    assert!(m.problem.unwrap().contains("not valid JSON"));
}

#[test]
fn without_a_schema_values_show_as_json_text_or_hex() {
    let d = Decoder::new(vec![], false, false);
    assert_eq!(d.message(&raw(None, br#"{"a":1}"#)).encoding, "json");
    assert_eq!(d.message(&raw(None, b"plain")).encoding, "text");
    let m = d.message(&raw(None, &[0xff, 0x00]));
    assert_eq!((m.encoding.as_str(), m.value.as_str()), ("hex", "ff00"));
}

#[test]
fn a_sensitive_queue_masks_key_headers_and_every_field_for_all_but_the_unmasking_owner() {
    let d = Decoder::new(vec![], true, false);
    let m = d.message(&raw(Some(b"user-1"), br#"{"a":"secret","n":[1,2]}"#));
    assert_eq!(m.key.as_deref(), Some("••• text, 1–8 chars"));
    assert_eq!(m.key_encoding, "masked");
    assert_eq!(m.headers[0].value.as_deref(), Some("••• text, 1–8 chars"));
    assert_eq!(
        m.value,
        r#"{"a":"••• string, 1–8 chars","n":"••• array of 2"}"#
    );
    assert!(!contains_text(&m, "secret"));
    assert!(d.masks_keys() && d.masks_path("a"));
    let text = d.message(&raw(None, b"plain secret"));
    assert_eq!(text.value, "••• text, 9–32 chars");
    let owner = Decoder::new(vec![], true, true);
    assert!(contains_text(
        &owner.message(&raw(None, br#"{"a":"secret"}"#)),
        "SECRET"
    ));
}

#[test]
fn field_filters_parse_and_match_decoded_values() {
    assert!(FieldFilter::parse("country")
        .unwrap_err()
        .contains("path = value"));
    assert!(FieldFilter::parse("a..b = 1")
        .unwrap_err()
        .contains("not a field path"));
    assert!(FieldFilter::parse("a =").unwrap_err().contains("no value"));
    let d = Decoder::new(vec![order_version(12, 1)], false, false);
    let fr = d.message(&raw(None, &framed(12, "FR", true)));
    let de = d.message(&raw(None, &framed(12, "DE", true)));
    let quoted = FieldFilter::parse(r#"country = "FR""#).unwrap();
    assert!(quoted.matches(&fr) && !quoted.matches(&de));
    assert!(FieldFilter::parse("country = FR").unwrap().matches(&fr));
    assert!(FieldFilter::parse("card.brand = visa")
        .unwrap()
        .matches(&fr));
    assert!(FieldFilter::parse("id = 7").unwrap().matches(&fr));
    assert!(FieldFilter::parse("id = \"7\"").unwrap().matches(&fr));
    assert!(!FieldFilter::parse("id = 8").unwrap().matches(&fr));
    assert!(d.masks_path("email") && d.masks_path("card.number") && !d.masks_path("country"));
}

#[test]
fn protobuf_message_indexes_read_as_confluent_writes_them() {
    assert_eq!(message_indexes(&[0, 9]).unwrap(), (vec![0], &[9][..]));
    // Two indexes [1, 0]: count 2 (zigzag 4), 1 (zigzag 2), 0.
    assert_eq!(
        message_indexes(&[4, 2, 0, 9]).unwrap(),
        (vec![1, 0], &[9][..])
    );
    assert_eq!(message_indexes(&[0x80]), None);
}
