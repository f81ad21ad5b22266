//! The storage trait, exercised directly on both backends.

use crate::harness::{fresh_db, Backend};
use crate::on_both_backends;
use watershed::domain::{AuditFilter, QueueFilter, Role};
use watershed::server::db::{AuditEvent, ClusterRow, ProjectRow, QueueRow, Store, StoreError};

fn audit(action: &'static str, target: &str) -> AuditEvent {
    AuditEvent {
        actor: "tester".into(),
        action,
        target_kind: "queue",
        target: target.into(),
        summary: "{}".into(),
    }
}

async fn seed(store: &dyn Store) -> (i64, i64) {
    let uid = store
        .create_user(
            "owner",
            "hash",
            Role::Developer,
            &audit("user.create", "owner"),
        )
        .await
        .unwrap();
    let pid = store
        .create_project(
            &ProjectRow {
                name: "shop".into(),
                description: "d".into(),
                owner_ids: vec![uid],
                member_ids: vec![],
            },
            &audit("project.create", "shop"),
        )
        .await
        .unwrap();
    let cid = store
        .create_cluster(
            &ClusterRow {
                name: "kafka-a".into(),
                kind: "kafka".into(),
                bootstrap_servers: vec!["a:9092".into()],
                region: String::new(),
                cloud: String::new(),
                sasl_mechanism: "none".into(),
                sasl_username: String::new(),
                sasl_password_enc: None,
                client_sasl_username: String::new(),
                client_sasl_password_enc: None,
                max_partitions: None,
                max_retention_hours: None,
                tls: false,
                tls_ca_pem: String::new(),
                tls_client_cert_pem: String::new(),
                tls_client_key_enc: None,
            },
            &audit("cluster.create", "kafka-a"),
        )
        .await
        .unwrap();
    (pid, cid)
}

fn queue(project_id: i64, cluster_id: i64, name: &str) -> QueueRow {
    QueueRow {
        project_id,
        name: name.into(),
        description: format!("{name} description"),
        owner: "owner".into(),
        tags: vec!["core".into()],
        partitions: 6,
        retention_hours: 168,
        data_format: "json".into(),
        primary_cluster_id: cluster_id,
        backup_cluster_id: None,
        active_side: "primary".into(),
        topic: format!("shop.{name}"),
    }
}

on_both_backends!(
    a_queue_name_is_unique_within_its_project,
    a_failed_mutation_leaves_no_audit_entry,
    queues_page_in_a_stable_order_and_filter,
    a_queue_round_trips_every_field,
    an_expired_session_is_not_accepted,
    a_unique_conflict_names_its_table_and_columns,
    a_corrupt_stored_value_is_an_error_not_a_default,
);

async fn a_queue_name_is_unique_within_its_project(b: Backend) {
    let db = fresh_db(b).await;
    let (p, c) = seed(db.store.as_ref()).await;
    db.store
        .create_queue(
            &queue(p, c, "orders"),
            &audit("queue.create", "shop/orders"),
        )
        .await
        .unwrap();
    let again = db
        .store
        .create_queue(
            &queue(p, c, "orders"),
            &audit("queue.create", "shop/orders"),
        )
        .await;
    assert!(
        matches!(&again, Err(StoreError::Conflict(u)) if u.is("queues", &["project_id", "name"])),
        "{again:?}"
    );
}

async fn a_unique_conflict_names_its_table_and_columns(b: Backend) {
    let db = fresh_db(b).await;
    seed(db.store.as_ref()).await;
    let again = db
        .store
        .create_user(
            "owner",
            "hash",
            Role::Viewer,
            &audit("user.create", "owner"),
        )
        .await;
    match again {
        Err(StoreError::Conflict(u)) => {
            assert!(u.is("users", &["username"]), "{u:?}");
            assert_eq!(u.field(), "username");
        }
        other => panic!("{other:?}"),
    }
}

async fn a_corrupt_stored_value_is_an_error_not_a_default(b: Backend) {
    let db = fresh_db(b).await;
    let (p, c) = seed(db.store.as_ref()).await;
    db.store
        .create_queue(
            &queue(p, c, "orders"),
            &audit("queue.create", "shop/orders"),
        )
        .await
        .unwrap();
    let sql = "UPDATE queues SET data_format = 'xml'";
    use sqlx::Connection;
    match b {
        Backend::Sqlite => {
            let mut c = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
            sqlx::query(sql).execute(&mut c).await.unwrap();
        }
        Backend::Postgres => {
            let mut c = sqlx::PgConnection::connect(&db.url).await.unwrap();
            sqlx::query(sql).execute(&mut c).await.unwrap();
        }
    }
    let read = db.store.queue("shop", "orders").await;
    match read {
        Err(StoreError::Corrupt(what)) => assert!(what.contains("data_format"), "{what}"),
        other => panic!("a bad stored format must not read as a format: {other:?}"),
    }
}

async fn a_failed_mutation_leaves_no_audit_entry(b: Backend) {
    let db = fresh_db(b).await;
    let (p, c) = seed(db.store.as_ref()).await;
    db.store
        .create_queue(
            &queue(p, c, "orders"),
            &audit("queue.create", "shop/orders"),
        )
        .await
        .unwrap();
    let before = db
        .store
        .list_audit(&AuditFilter::default())
        .await
        .unwrap()
        .total;
    let _ = db
        .store
        .create_queue(
            &queue(p, c, "orders"),
            &audit("queue.create", "shop/orders"),
        )
        .await;
    assert_eq!(
        db.store
            .list_audit(&AuditFilter::default())
            .await
            .unwrap()
            .total,
        before
    );
    let entries = db
        .store
        .list_audit(&AuditFilter {
            action: Some("queue.create".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(entries.total, 1);
    assert_eq!(entries.items[0].target, "shop/orders");
    assert_eq!(entries.items[0].actor, "tester");
}

async fn queues_page_in_a_stable_order_and_filter(b: Backend) {
    let db = fresh_db(b).await;
    let (p, c) = seed(db.store.as_ref()).await;
    let rows: Vec<QueueRow> = (0..25).map(|i| queue(p, c, &format!("q{i:02}"))).collect();
    db.store
        .create_queues(&rows, &audit("queue.create_batch", "25"))
        .await
        .unwrap();
    let first = db
        .store
        .list_queues(&QueueFilter {
            limit: Some(10),
            ..Default::default()
        })
        .await
        .unwrap();
    let third = db
        .store
        .list_queues(&QueueFilter {
            limit: Some(10),
            offset: Some(20),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(first.total, 25);
    assert_eq!(first.items.len(), 10);
    assert_eq!(first.items[0].name, "q00");
    assert_eq!(
        third
            .items
            .iter()
            .map(|q| q.name.as_str())
            .collect::<Vec<_>>(),
        ["q20", "q21", "q22", "q23", "q24"]
    );
    let hit = db
        .store
        .list_queues(&QueueFilter {
            q: Some("Q13 DESC".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(hit.total, 1, "substring search is case-insensitive");
    let none = db
        .store
        .list_queues(&QueueFilter {
            q: Some("100%".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(none.total, 0, "% is matched literally");
    let by_cluster = db
        .store
        .list_queues(&QueueFilter {
            cluster: Some("other".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(by_cluster.total, 0);
    // A bulk load skips names that exist instead of failing.
    db.store
        .create_queues(&rows[..2], &audit("queue.create_batch", "2"))
        .await
        .unwrap();
    assert_eq!(
        db.store
            .list_queues(&QueueFilter::default())
            .await
            .unwrap()
            .total,
        25
    );
}

async fn a_queue_round_trips_every_field(b: Backend) {
    let db = fresh_db(b).await;
    let (p, c) = seed(db.store.as_ref()).await;
    let mut row = queue(p, c, "payments");
    row.tags = vec!["pii".into(), "finance".into()];
    row.backup_cluster_id = Some(c);
    row.active_side = "backup".into();
    row.data_format = "avro".into();
    db.store
        .create_queue(&row, &audit("queue.create", "shop/payments"))
        .await
        .unwrap();
    let q = db.store.queue("shop", "payments").await.unwrap().unwrap();
    assert_eq!(q.tags, vec!["pii", "finance"]);
    assert_eq!(q.backup_cluster.as_deref(), Some("kafka-a"));
    assert_eq!(q.active_side.to_string(), "backup");
    assert_eq!(q.data_format.to_string(), "avro");
    assert_eq!(q.topic, "shop.payments");
    assert!(db.store.queue("shop", "missing").await.unwrap().is_none());
}

async fn an_expired_session_is_not_accepted(b: Backend) {
    let db = fresh_db(b).await;
    let uid = db
        .store
        .create_user("u1", "h", Role::Viewer, &audit("user.create", "u1"))
        .await
        .unwrap();
    db.store
        .create_session("live", uid, 1_000, 10_000)
        .await
        .unwrap();
    assert_eq!(
        db.store
            .session_user("live", 5_000)
            .await
            .unwrap()
            .unwrap()
            .username,
        "u1"
    );
    assert!(db
        .store
        .session_user("live", 20_000)
        .await
        .unwrap()
        .is_none());
    db.store.delete_session("live").await.unwrap();
    assert!(db
        .store
        .session_user("live", 5_000)
        .await
        .unwrap()
        .is_none());
}
