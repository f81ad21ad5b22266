//! Reading the audit log (writing happens inside each mutation's transaction).

use super::Ctx;
use super::{require_admin, ServiceResult};
use crate::domain::{AuditEntry, AuditFilter, Page};

/// A filtered page of the audit log, newest first; admins only.
pub async fn list(cx: &Ctx, filter: &AuditFilter) -> ServiceResult<Page<AuditEntry>> {
    require_admin(&cx.actor, "read the audit log")?;
    Ok(cx.store.list_audit(filter).await?)
}
