//! Reading the audit log (writing happens inside each mutation's transaction).

use super::{require_admin, ServiceResult};
use crate::domain::{AuditEntry, AuditFilter, Page, UserView};
use crate::server::db::Store;

/// A filtered page of the audit log, newest first; admins only.
pub async fn list(
    store: &dyn Store,
    actor: &UserView,
    filter: &AuditFilter,
) -> ServiceResult<Page<AuditEntry>> {
    require_admin(actor, "read the audit log")?;
    Ok(store.list_audit(filter).await?)
}
