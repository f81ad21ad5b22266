//! Schemas over the REST API on both databases: publishing under the compatibility mode,
//! refusals that name the field, the diff, the mode setting and the table catalog.

use crate::harness::Backend;
use crate::harness::{world, World};
use crate::on_both_backends;
use reqwest::{Method as M, StatusCode};
use serde_json::{json, Value};

on_both_backends!(
    versions_are_published_under_the_queues_mode,
    only_owners_set_the_mode_and_every_change_is_audited,
    every_queue_with_a_schema_is_a_table_in_the_catalog,
    schema_fields_and_docs_are_found_in_the_data_map,
    a_version_that_only_drops_a_default_is_stored_and_checked,
    protobuf_schemas_import_other_queues_schemas_as_references,
);

fn order(extra: Value) -> Value {
    let mut fields = vec![json!({"name": "id", "type": "long", "doc": "order id"})];
    if !extra.is_null() {
        fields.push(extra);
    }
    json!({"format": "avro", "definition": json!({"type": "record", "name": "Order", "fields": fields}).to_string()})
}

const SCHEMAS: &str = "/api/v1/queues/shop/orders/schemas";

/// The data map's answer once the follower has indexed a publication that matches.
async fn searched(
    w: &World,
    request: &watershed::domain::SearchRequest,
) -> watershed::domain::SearchResults {
    crate::harness::eventually(
        "the data map finding it",
        std::time::Duration::from_secs(10),
        || async {
            let r = w.app.state.search.search(request).unwrap();
            if r.total > 0 {
                Ok(r)
            } else {
                Err(format!("{r:?}"))
            }
        },
    )
    .await
}

async fn versions_are_published_under_the_queues_mode(b: Backend) {
    let w = world(b).await;
    let (s, v1) = w
        .call(M::POST, SCHEMAS, &w.olga, Some(order(Value::Null)))
        .await;
    assert_eq!(s, StatusCode::OK, "{v1}");
    assert_eq!(v1["version"], 1);
    let (_, again) = w
        .call(M::POST, SCHEMAS, &w.olga, Some(order(Value::Null)))
        .await;
    assert_eq!(again["id"], v1["id"], "the same schema is the same version");

    let breaking = order(json!({"name": "currency", "type": "string"}));
    let (s, e) = w
        .call(M::POST, SCHEMAS, &w.olga, Some(breaking.clone()))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(e["fields"][0]["field"], "definition");
    let msg = e["fields"][0]["message"].as_str().unwrap();
    assert!(
        msg.contains("currency") && msg.contains("BACKWARD"),
        "{msg}"
    );

    let (_, check) = w
        .call(M::POST, &format!("{SCHEMAS}/check"), &w.dev, Some(breaking))
        .await;
    assert_eq!(check["problems"][0]["field"], "currency");
    assert_eq!(check["changes"][0]["kind"], "added");

    let (_, bad) = w
        .call(
            M::POST,
            &format!("{SCHEMAS}/check"),
            &w.dev,
            Some(json!({"format": "avro", "definition": "{\n\"type\": }"})),
        )
        .await;
    assert_eq!(bad["parse_error"]["line"], 2);

    let (s, v2) = w
        .call(
            M::POST,
            SCHEMAS,
            &w.olga,
            Some(order(
                json!({"name": "currency", "type": "string", "default": "EUR"}),
            )),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v2}");
    assert_eq!(v2["version"], 2);
    assert_eq!(v2["author"], "olga");

    let (_, diff) = w
        .call(
            M::GET,
            &format!("{SCHEMAS}/diff?from=1&to=2"),
            &w.vera,
            None,
        )
        .await;
    assert_eq!(diff[0]["field"], "currency");
    assert_eq!(diff[0]["breaks_backward"], false);

    let (s, _) = w
        .call(M::POST, SCHEMAS, &w.vera, Some(order(Value::Null)))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "viewers do not publish");
    let (s, e) = w
        .call(
            M::POST,
            SCHEMAS,
            &w.olga,
            Some(json!({"format": "xml", "definition": "<a/>"})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(e["fields"][0]["field"], "format");
    let (_, list) = w.call(M::GET, SCHEMAS, &w.vera, None).await;
    assert_eq!(list.as_array().unwrap().len(), 2, "refusals stored nothing");
}

async fn only_owners_set_the_mode_and_every_change_is_audited(b: Backend) {
    let w = world(b).await;
    let path = "/api/v1/queues/shop/orders/compatibility";
    let (s, _) = w
        .call(M::PUT, path, &w.ann, Some(json!({"compatibility": "NONE"})))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, e) = w
        .call(
            M::PUT,
            path,
            &w.olga,
            Some(json!({"compatibility": "SIDEWAYS"})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(e["fields"][0]["field"], "compatibility");
    let (s, m) = w
        .call(
            M::PUT,
            path,
            &w.olga,
            Some(json!({"compatibility": "full_transitive"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(m["compatibility"], "FULL_TRANSITIVE");
    w.call(M::POST, SCHEMAS, &w.olga, Some(order(Value::Null)))
        .await;
    let log = w.app.store().list_audit(&Default::default()).await.unwrap();
    let actions: Vec<&str> = log.items.iter().map(|e| e.action.as_str()).collect();
    assert!(
        actions.contains(&"schema.compatibility") && actions.contains(&"schema.publish"),
        "{actions:?}"
    );
}

async fn every_queue_with_a_schema_is_a_table_in_the_catalog(b: Backend) {
    let w = world(b).await;
    let (s, _) = w
        .call(M::GET, "/api/v1/queues/shop/orders/table", &w.dev, None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "no schema, no table");
    w.call(M::POST, SCHEMAS, &w.olga, Some(order(Value::Null)))
        .await;
    let (_, t) = w
        .call(M::GET, "/api/v1/queues/shop/orders/table", &w.dev, None)
        .await;
    assert_eq!(t["columns"][0]["name"], "id");
    assert_eq!(t["columns"][0]["sql_type"], "BIGINT");
    let ddl = t["flink_ddl"].as_str().unwrap();
    assert!(ddl.starts_with("CREATE TABLE `shop`.`orders`"), "{ddl}");
    assert!(
        ddl.contains("'properties.bootstrap.servers' = 'k1:9092'"),
        "{ddl}"
    );
    let (_, all) = w
        .call(M::GET, "/api/v1/catalog/tables", &w.vera, None)
        .await;
    assert_eq!(all.as_array().unwrap().len(), 1);
    assert_eq!(all[0]["queue"], "orders");
}

async fn schema_fields_and_docs_are_found_in_the_data_map(b: Backend) {
    let w = world(b).await;
    let search = |q: &str| watershed::domain::SearchRequest {
        q: Some(q.into()),
        limit: Some(10),
        ..Default::default()
    };
    assert_eq!(
        w.app
            .state
            .search
            .search(&search("warehouse"))
            .unwrap()
            .total,
        0
    );
    let field = json!({"name": "warehouse_zone", "type": "string", "default": "north", "doc": "Picking aisle of the parcel"});
    let (s, v) = w.call(M::POST, SCHEMAS, &w.olga, Some(order(field))).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // The follower picks the publication up from the change feed.
    let found = searched(&w, &search("warehouse")).await;
    assert_eq!(found.total, 1, "{found:?}");
    assert_eq!(
        (found.hits[0].project.as_str(), found.hits[0].name.as_str()),
        ("shop", "orders")
    );
    assert_eq!(
        found.hits[0].matched_fields,
        vec!["warehouse_zone".to_string()]
    );
    // A word of a field's doc finds it too, but names no field.
    let by_doc = w.app.state.search.search(&search("aisle")).unwrap();
    assert_eq!(by_doc.total, 1);
    assert!(by_doc.hits[0].matched_fields.is_empty());
}

async fn a_version_that_only_drops_a_default_is_stored_and_checked(b: Backend) {
    let w = world(b).await;
    let (s, _) = w
        .call(
            M::PUT,
            "/api/v1/queues/shop/orders/compatibility",
            &w.olga,
            Some(json!({"compatibility": "BACKWARD_TRANSITIVE"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let publish = |body: Value| w.call(M::POST, SCHEMAS, &w.olga, Some(body));
    let (s, _) = publish(order(Value::Null)).await;
    assert_eq!(s, StatusCode::OK);
    let (s, v2) = publish(order(
        json!({"name": "note", "type": "string", "default": ""}),
    ))
    .await;
    assert_eq!(
        (s, v2["version"].as_i64()),
        (StatusCode::OK, Some(2)),
        "{v2}"
    );
    // The same fields without the default: version 1's data has no `note`, so this breaks
    // BACKWARD_TRANSITIVE. It used to be taken for version 2 and silently dropped.
    let (s, e) = publish(order(json!({"name": "note", "type": "string"}))).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert!(e["error"].as_str().unwrap().contains("note"), "{e}");
    let (_, all) = w.call(M::GET, SCHEMAS, &w.olga, None).await;
    assert_eq!(all.as_array().unwrap().len(), 2, "{all}");
}

async fn protobuf_schemas_import_other_queues_schemas_as_references(b: Backend) {
    let w = world(b).await;
    let money = "syntax = \"proto3\";\npackage shop;\n// An amount in one currency.\nmessage Money { string currency = 1; int64 units = 2; }";
    let (s, m) = w
        .call(
            M::POST,
            "/api/v1/queues/shop/customers/schemas",
            &w.olga,
            Some(json!({"format": "protobuf", "definition": money})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{m}");

    let order = |id_type: &str| {
        format!("syntax = \"proto3\";\npackage shop;\nimport \"shop/money.proto\";\nmessage Order {{\n  {id_type} id = 1;\n  // What the customer pays.\n  Money total = 2;\n}}\n")
    };
    let refs =
        json!([{"name": "shop/money.proto", "subject": "shop.customers-value", "version": -1}]);
    // Without its reference the import does not resolve, and the error says which.
    let (s, e) = w
        .call(
            M::POST,
            SCHEMAS,
            &w.olga,
            Some(json!({"format": "protobuf", "definition": order("int64")})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(e["fields"][0]["field"], "definition");
    assert!(
        e["fields"][0]["message"]
            .as_str()
            .unwrap()
            .contains("shop/money.proto"),
        "{e}"
    );
    // A reference to a subject that does not exist names the references field.
    let (s, e) = w
        .call(
            M::POST,
            SCHEMAS,
            &w.olga,
            Some(json!({"format": "protobuf", "definition": order("int64"),
                        "references": [{"name": "shop/money.proto", "subject": "shop.nothing-value", "version": 1}]})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(e["fields"][0]["field"], "references", "{e}");

    let body = json!({"format": "protobuf", "definition": order("int64"), "references": refs});
    let (s, v1) = w.call(M::POST, SCHEMAS, &w.olga, Some(body.clone())).await;
    assert_eq!(s, StatusCode::OK, "{v1}");
    assert_eq!(v1["format"], "protobuf");
    assert_eq!(
        v1["references"],
        json!([{"name": "shop/money.proto", "subject": "shop.customers-value", "version": 1}]),
        "latest is pinned to the version it was"
    );
    assert!(
        v1.get("imports").is_none(),
        "the copies of imported files stay inside"
    );
    let (_, again) = w.call(M::POST, SCHEMAS, &w.olga, Some(body)).await;
    assert_eq!(again["id"], v1["id"], "the same schema is the same version");

    // A wire-type change breaks BACKWARD and names the field by its message.
    let (_, check) = w
        .call(
            M::POST,
            &format!("{SCHEMAS}/check"),
            &w.dev,
            Some(json!({"format": "protobuf", "definition": order("string"), "references": refs})),
        )
        .await;
    assert_eq!(check["problems"][0]["field"], "Order.id", "{check}");
    assert_eq!(check["changes"][0]["kind"], "type_changed", "{check}");
    let (_, bad) = w
        .call(
            M::POST,
            &format!("{SCHEMAS}/check"),
            &w.dev,
            Some(json!({"format": "protobuf", "definition": "syntax = \"proto3\";\nmessage {"})),
        )
        .await;
    assert_eq!(
        (
            bad["parse_error"]["line"].clone(),
            bad["parse_error"]["column"].clone()
        ),
        (json!(2), json!(9)),
        "{bad}"
    );

    // References are for Protobuf only.
    let (s, e) = w
        .call(
            M::POST,
            SCHEMAS,
            &w.olga,
            Some(json!({"format": "avro", "definition": "\"long\"", "references": refs})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(e["fields"][0]["field"], "references", "{e}");

    // The table reads the record message; the data map finds its fields and comments.
    let (_, t) = w
        .call(M::GET, "/api/v1/queues/shop/orders/table", &w.dev, None)
        .await;
    assert_eq!(
        t["columns"][1]["sql_type"], "ROW<`currency` STRING, `units` BIGINT>",
        "{t}"
    );
    let ddl = t["flink_ddl"].as_str().unwrap();
    assert!(
        ddl.contains("'value.format' = 'protobuf'")
            && ddl.contains("'value.protobuf.message-class-name' = 'shop.Schema$Order'"),
        "{ddl}"
    );
    let search = watershed::domain::SearchRequest {
        q: Some("pays".into()),
        limit: Some(10),
        ..Default::default()
    };
    let found = searched(&w, &search).await;
    assert_eq!(
        found.hits.first().map(|h| h.name.as_str()),
        Some("orders"),
        "{found:?}"
    );
}
