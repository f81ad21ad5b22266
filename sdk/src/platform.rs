//! The platform's SDK API over HTTP: config, heartbeat and reports.

use crate::wire::{
    ConfigRequest, HeartbeatRequest, HeartbeatResponse, ReportAck, ReportBatch, SdkConfig,
};
use crate::SdkError;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// A client of the platform's `/api/v1/sdk` endpoints, authenticated by an application token.
#[derive(Clone)]
pub struct Platform {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl std::fmt::Debug for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Platform")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

/// The platform's error body: a sentence and the fields it concerns.
#[derive(Deserialize, Default)]
struct ErrorBody {
    #[serde(default)]
    error: String,
    #[serde(default)]
    fields: Vec<FieldProblem>,
}

#[derive(Deserialize)]
struct FieldProblem {
    field: String,
    message: String,
}

impl Platform {
    /// A client of the platform at `base_url` (e.g. `http://watershed:3000`).
    pub fn new(base_url: &str, token: &str, timeout: Duration) -> Result<Self, SdkError> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()
            .map_err(|e| SdkError::Unreachable {
                url: base_url.into(),
                message: e.to_string(),
            })?;
        Ok(Self {
            http,
            base: base_url.trim_end_matches('/').to_string(),
            token: token.to_string(),
        })
    }

    /// The platform's address.
    pub fn url(&self) -> &str {
        &self.base
    }

    /// Where a queue lives, for this client and role.
    pub async fn config(&self, request: &ConfigRequest) -> Result<SdkConfig, SdkError> {
        self.post("config", request).await
    }

    /// The heartbeat: answers changed mappings and withdrawn queues.
    pub async fn heartbeat(
        &self,
        request: &HeartbeatRequest,
    ) -> Result<HeartbeatResponse, SdkError> {
        self.post("heartbeat", request).await
    }

    /// Sends reports of what the client did.
    pub async fn reports(&self, batch: &ReportBatch) -> Result<ReportAck, SdkError> {
        self.post("reports", batch).await
    }

    async fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        call: &str,
        body: &B,
    ) -> Result<T, SdkError> {
        let url = format!("{}/api/v1/sdk/{call}", self.base);
        let unreachable = |message: String| SdkError::Unreachable {
            url: self.base.clone(),
            message,
        };
        let response = self
            .http
            .post(&url)
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await
            .map_err(|e| unreachable(e.to_string()))?;
        let status = response.status();
        if status.is_success() {
            return response
                .json()
                .await
                .map_err(|e| unreachable(e.to_string()));
        }
        let retry_after_secs = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .unwrap_or(1);
        let body: ErrorBody = response.json().await.unwrap_or_default();
        Err(match status.as_u16() {
            401 => SdkError::Unauthorized(body.error),
            403 => SdkError::Denied { reason: body.error },
            404 => SdkError::NotFound(body.error),
            400 | 422 => match body.fields.into_iter().next() {
                Some(f) => SdkError::Invalid {
                    field: f.field,
                    message: f.message,
                },
                None => SdkError::Invalid {
                    field: String::new(),
                    message: body.error,
                },
            },
            429 => SdkError::Busy { retry_after_secs },
            _ => unreachable(format!("{status}: {}", body.error)),
        })
    }
}
