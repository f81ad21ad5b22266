//! A Confluent Schema Registry–compatible subset under `/schema-registry`, so Kafka serializers
//! can use Watershed as their registry. Subjects are `<project>.<queue>-value`; a subject's
//! versions are its queue's schema versions and ids are global. Credentials: a personal API
//! token as the password of HTTP Basic (`basic.auth.user.info = user:token`) or as a bearer.

use crate::api::actor::Actor;
use crate::domain::{SchemaFormat, SchemaInput, SchemaReference, SchemaVersionView};
use crate::server::services::Ctx;
use crate::server::services::{schemas, ServiceError};
use crate::server::state::AppState;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use http::StatusCode;
use serde::Deserialize;
use serde_json::{json, Value};

/// The registry router, mounted at `/schema-registry`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/subjects", get(subjects))
        .route("/subjects/{subject}", post(lookup))
        .route("/subjects/{subject}/versions", get(versions).post(register))
        .route("/subjects/{subject}/versions/{version}", get(version))
        .route("/schemas/ids/{id}", get(by_id))
        .route(
            "/compatibility/subjects/{subject}/versions/{version}",
            post(compatibility),
        )
        .route(
            "/config",
            get(|| async { Json(json!({"compatibilityLevel": "BACKWARD"})) }),
        )
        .route("/config/{subject}", get(get_config).put(put_config))
        .fallback(|| async {
            RegistryError(StatusCode::NOT_FOUND, 404, "HTTP 404 Not Found".into())
        })
}

/// An error in the registry's own shape: `{"error_code", "message"}`.
pub struct RegistryError(StatusCode, u32, String);

impl IntoResponse for RegistryError {
    fn into_response(self) -> Response {
        (
            self.0,
            Json(json!({"error_code": self.1, "message": self.2})),
        )
            .into_response()
    }
}

impl From<ServiceError> for RegistryError {
    /// The status every surface uses, with the registry's own error codes; a schema that
    /// breaks the mode is 409, as Confluent's serializers expect.
    fn from(e: ServiceError) -> Self {
        if let ServiceError::Internal(cause) = &e {
            tracing::error!(error = ?cause, "schema registry request failed");
            return RegistryError(e.status(), 50001, "internal error".into());
        }
        let message = e.to_string();
        let (status, code) = match e {
            ServiceError::Incompatible(_) => (StatusCode::CONFLICT, 409),
            ServiceError::NotFound(_) => (StatusCode::NOT_FOUND, 40401),
            e => {
                let status = e.status();
                (status, u32::from(status.as_u16()) * 100 + 1)
            }
        };
        RegistryError(status, code, message)
    }
}

type Answer = Result<Json<Value>, RegistryError>;

/// `<project>.<queue>-value` → (project, queue).
fn subject(s: &str) -> Result<(String, String), RegistryError> {
    crate::domain::parse_subject(s)
        .map(|(p, q)| (p.to_string(), q.to_string()))
        .ok_or_else(|| {
            RegistryError(
                StatusCode::NOT_FOUND,
                40401,
                format!("subject {s:?} not found: subjects are <project>.<queue>-value"),
            )
        })
}

fn subject_of(v: &SchemaVersionView) -> String {
    crate::domain::subject_name(&v.project, &v.queue)
}

fn schema_type(f: SchemaFormat) -> &'static str {
    match f {
        SchemaFormat::Avro => "AVRO",
        SchemaFormat::Json => "JSON",
        SchemaFormat::Protobuf => "PROTOBUF",
    }
}

/// `?format=serialized` asks for a Protobuf schema as a base64 descriptor, as Confluent's
/// Python client does; anything else (or no format) gives the `.proto` text.
#[derive(Deserialize, Default)]
struct FormatQuery {
    #[serde(default)]
    format: Option<String>,
}

fn schema_text(v: &SchemaVersionView, q: &FormatQuery) -> Result<String, RegistryError> {
    if q.format.as_deref() == Some("serialized") {
        if let Some(s) = schemas::serialized(v)? {
            return Ok(s);
        }
    }
    Ok(v.definition.clone())
}

fn registered(v: &SchemaVersionView, q: &FormatQuery) -> Result<Value, RegistryError> {
    Ok(json!({
        "subject": subject_of(v),
        "id": v.id,
        "version": v.version,
        "schema": schema_text(v, q)?,
        "schemaType": schema_type(v.format),
        "references": v.references,
    }))
}

#[derive(Deserialize)]
struct SchemaBody {
    schema: String,
    #[serde(default, rename = "schemaType")]
    schema_type: Option<String>,
    #[serde(default)]
    references: Option<Vec<SchemaReference>>,
}

impl SchemaBody {
    fn input(&self) -> Result<SchemaInput, RegistryError> {
        let format = match self.schema_type.as_deref().unwrap_or("AVRO") {
            "AVRO" => "avro",
            "JSON" => "json",
            "PROTOBUF" => "protobuf",
            other => {
                return Err(RegistryError(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    42201,
                    format!("schemaType {other} is not supported: use AVRO, JSON or PROTOBUF"),
                ))
            }
        };
        Ok(SchemaInput {
            format: format.into(),
            definition: self.schema.clone(),
            comment: "registered through the Schema Registry API".into(),
            references: self.references.clone().unwrap_or_default(),
        })
    }
}

async fn subjects(State(s): State<AppState>, Actor(_actor): Actor) -> Answer {
    let all: Vec<String> = schemas::subjects(s.store.as_ref())
        .await?
        .iter()
        .map(subject_of)
        .collect();
    Ok(Json(json!(all)))
}

async fn versions(
    State(s): State<AppState>,
    Actor(_actor): Actor,
    Path(sub): Path<String>,
) -> Answer {
    let (p, q) = subject(&sub)?;
    let vs = schemas::versions(s.store.as_ref(), &p, &q).await?;
    if vs.is_empty() {
        return Err(RegistryError(
            StatusCode::NOT_FOUND,
            40401,
            format!("subject {sub:?} has no schema"),
        ));
    }
    Ok(Json(json!(vs
        .iter()
        .map(|v| v.version)
        .collect::<Vec<_>>())))
}

async fn find_version(
    s: &AppState,
    sub: &str,
    version: &str,
) -> Result<SchemaVersionView, RegistryError> {
    let (p, q) = subject(sub)?;
    let vs = schemas::versions(s.store.as_ref(), &p, &q).await?;
    let found = match version {
        "latest" | "-1" => vs.last().cloned(),
        n => n
            .parse::<i64>()
            .ok()
            .and_then(|n| vs.into_iter().find(|v| v.version == n)),
    };
    found.ok_or_else(|| {
        RegistryError(
            StatusCode::NOT_FOUND,
            40402,
            format!("version {version} of subject {sub:?} not found"),
        )
    })
}

async fn version(
    State(s): State<AppState>,
    Actor(_actor): Actor,
    Path((sub, version)): Path<(String, String)>,
    Query(q): Query<FormatQuery>,
) -> Answer {
    Ok(Json(registered(
        &find_version(&s, &sub, &version).await?,
        &q,
    )?))
}

async fn register(cx: Ctx, Path(sub): Path<String>, Json(body): Json<SchemaBody>) -> Answer {
    let (p, q) = subject(&sub)?;
    let v = schemas::publish(&cx, &p, &q, &body.input()?).await?;
    Ok(Json(json!({"id": v.id})))
}

/// Is this schema registered under the subject? (The registered version, or 40403.)
async fn lookup(
    State(s): State<AppState>,
    Actor(_actor): Actor,
    Path(sub): Path<String>,
    Json(body): Json<SchemaBody>,
) -> Answer {
    let (p, q) = subject(&sub)?;
    let input = body.input()?;
    match schemas::find_same(s.store.as_ref(), &p, &q, &input).await? {
        Some(v) => Ok(Json(registered(&v, &FormatQuery::default())?)),
        None => Err(RegistryError(
            StatusCode::NOT_FOUND,
            40403,
            "schema not found".into(),
        )),
    }
}

async fn by_id(
    State(s): State<AppState>,
    Actor(_actor): Actor,
    Path(id): Path<i64>,
    Query(q): Query<FormatQuery>,
) -> Answer {
    let v = schemas::by_id(s.store.as_ref(), id).await.map_err(|_| {
        RegistryError(
            StatusCode::NOT_FOUND,
            40403,
            format!("schema {id} not found"),
        )
    })?;
    Ok(Json(json!({
        "schema": schema_text(&v, &q)?,
        "schemaType": schema_type(v.format),
        "references": v.references,
    })))
}

async fn compatibility(
    State(s): State<AppState>,
    Actor(_actor): Actor,
    Path((sub, version)): Path<(String, String)>,
    Json(body): Json<SchemaBody>,
) -> Answer {
    let (p, q) = subject(&sub)?;
    find_version(&s, &sub, &version).await?;
    let check = schemas::check_draft(s.store.as_ref(), &p, &q, &body.input()?, None).await?;
    let mut messages: Vec<String> = check.problems.iter().map(ToString::to_string).collect();
    if let Some(e) = &check.parse_error {
        messages.push(e.to_string());
    }
    Ok(Json(
        json!({"is_compatible": messages.is_empty(), "messages": messages}),
    ))
}

async fn get_config(
    State(s): State<AppState>,
    Actor(_actor): Actor,
    Path(sub): Path<String>,
) -> Answer {
    let (p, q) = subject(&sub)?;
    let queue = crate::server::services::queues::get(s.store.as_ref(), &p, &q).await?;
    let mode = schemas::mode(s.store.as_ref(), &queue).await?;
    Ok(Json(json!({"compatibilityLevel": mode.to_string()})))
}

#[derive(Deserialize)]
struct ConfigBody {
    compatibility: String,
}

async fn put_config(cx: Ctx, Path(sub): Path<String>, Json(body): Json<ConfigBody>) -> Answer {
    let (p, q) = subject(&sub)?;
    let mode = schemas::set_mode(&cx, &p, &q, &body.compatibility).await?;
    Ok(Json(json!({"compatibility": mode.to_string()})))
}
