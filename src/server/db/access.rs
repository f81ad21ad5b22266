//! Applications, their tokens, access requests and grants.

use super::*;
use async_trait::async_trait;

/// Applications, their tokens, access requests and grants.
#[async_trait]
pub trait AccessStore: Send + Sync {
    // applications, access requests and grants
    async fn create_application(
        &self,
        row: &ApplicationRow,
        audit: &AuditEvent,
    ) -> StoreResult<i64>;
    async fn application(&self, project: &str, name: &str) -> StoreResult<Option<ApplicationView>>;
    async fn list_applications(&self, project: Option<&str>) -> StoreResult<Vec<ApplicationView>>;
    async fn create_app_token(
        &self,
        application_id: i64,
        prefix: &str,
        token_hash: &str,
        audit: &AuditEvent,
    ) -> StoreResult<i64>;
    /// Revokes one token of an application; false when there was no live token by that id.
    async fn revoke_app_token(
        &self,
        application_id: i64,
        token_id: i64,
        audit: &AuditEvent,
    ) -> StoreResult<bool>;
    async fn app_tokens(&self, application_id: i64) -> StoreResult<Vec<AppTokenView>>;
    /// The application a live token belongs to.
    async fn app_by_token(&self, token_hash: &str) -> StoreResult<Option<ApplicationView>>;
    /// Conflict when an open request for the same application, queue and permission exists.
    async fn create_access_request(
        &self,
        row: &AccessRequestRow,
        audit: &AuditEvent,
        notice: NoticeFor<'_, i64>,
    ) -> StoreResult<i64>;
    async fn open_request(
        &self,
        application_id: i64,
        queue_id: i64,
        permission: &str,
    ) -> StoreResult<Option<i64>>;
    async fn access_request(&self, id: i64) -> StoreResult<Option<AccessRequestView>>;
    async fn list_requests(&self, filter: &RequestFilter) -> StoreResult<Vec<AccessRequestView>>;
    /// Applies a decision only if the request is still in `t.from` (one transaction, a
    /// conditional update): of two approvers deciding at once exactly one wins. Returns
    /// whether this one did.
    async fn transition_request(
        &self,
        id: i64,
        t: &RequestTransition,
        audit: &AuditEvent,
        notice: &Notice,
    ) -> StoreResult<bool>;
    async fn grants(&self, application_id: i64) -> StoreResult<Vec<GrantView>>;
    async fn grant(&self, id: i64) -> StoreResult<Option<GrantView>>;
    /// False when the grant was already revoked.
    async fn revoke_grant(
        &self,
        id: i64,
        actor: &str,
        audit: &AuditEvent,
        notice: &Notice,
    ) -> StoreResult<bool>;
    /// Marks live grants whose expiry has passed as expired (once each), with a timeline event,
    /// an audit entry and a notice. Returns them.
    async fn expire_grants(
        &self,
        now: i64,
        notice: NoticeFor<'_, GrantView>,
    ) -> StoreResult<Vec<GrantView>>;
    /// Marks live grants expiring before `until` as reminded (once each), with a timeline
    /// event, an audit entry and a notice. Returns them.
    async fn remind_grants(
        &self,
        now: i64,
        until: i64,
        notice: NoticeFor<'_, GrantView>,
    ) -> StoreResult<Vec<GrantView>>;
    /// Stamps `reminded_at` on open requests whose last transition was at or before
    /// `waiting_since` and that were not reminded after `again_after` (once each, even across
    /// replicas; a bounded number per call), with a timeline event, an audit entry and a
    /// notice. Returns them.
    async fn remind_requests(
        &self,
        now: i64,
        waiting_since: i64,
        again_after: i64,
        notice: NoticeFor<'_, AccessRequestView>,
    ) -> StoreResult<Vec<AccessRequestView>>;
    /// What the applications of the user's projects may do with each of `queue_ids`: rows of
    /// (queue id, `consume` | `produce` | `both` | `requested`).
    async fn queue_access(
        &self,
        user_id: i64,
        queue_ids: &[i64],
        now: i64,
    ) -> StoreResult<Vec<(i64, String)>>;
}
