//! [`SessionRepository`] over the `sessions` table. Rotation, revocation and extension are each
//! one guarded `UPDATE`, so concurrent refreshes of one token cannot both win.

use async_trait::async_trait;
use rodando_domain::ids::{SessionId, UserId};
use rodando_domain::session::{DeviceInfo, RevokeReason, Session, SessionType};
use rodando_domain::user::AppAudience;
use rodando_ports::Unexpected;
use rodando_ports::sessions::{RotateOutcome, Rotation, SessionRepository};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::PgStore;
use crate::errors::{corrupt, failed};
use crate::query::{Read, find_by, updated_one};

/// A `sessions` row as stored.
#[derive(sqlx::FromRow)]
struct SessionRow {
    id: Uuid,
    user_id: Uuid,
    session_type: String,
    app_audience: String,
    access_expires_at: OffsetDateTime,
    refresh_expires_at: OffsetDateTime,
    refresh_jti: Uuid,
    revoked_at: Option<OffsetDateTime>,
    revoke_reason: Option<String>,
    last_activity_at: OffsetDateTime,
    device_info: Option<String>,
    created_at: OffsetDateTime,
}

impl TryFrom<SessionRow> for Session {
    type Error = Unexpected;

    fn try_from(row: SessionRow) -> Result<Self, Unexpected> {
        let bad = |what| corrupt("sessions", row.id, what);
        Ok(Session {
            id: SessionId::from_uuid(row.id),
            user_id: UserId::from_uuid(row.user_id),
            session_type: SessionType::parse(&row.session_type).map_err(|_| bad("session_type"))?,
            app_audience: AppAudience::parse(&row.app_audience).map_err(|_| bad("app_audience"))?,
            access_expires_at: row.access_expires_at,
            refresh_expires_at: row.refresh_expires_at,
            refresh_jti: row.refresh_jti,
            revoked_at: row.revoked_at,
            revoke_reason: row
                .revoke_reason
                .as_deref()
                .map(RevokeReason::parse)
                .transpose()
                .map_err(|_| bad("revoke_reason"))?,
            last_activity_at: row.last_activity_at,
            device_info: row.device_info.as_deref().and_then(DeviceInfo::sanitize),
            created_at: row.created_at,
        })
    }
}

#[async_trait]
impl SessionRepository for PgStore {
    async fn insert(&self, s: &Session) -> Result<(), Unexpected> {
        sqlx::query(
            "INSERT INTO sessions (id, user_id, session_type, app_audience, access_expires_at, \
             refresh_expires_at, refresh_jti, revoked_at, revoke_reason, last_activity_at, \
             device_info, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(s.id.as_uuid())
        .bind(s.user_id.as_uuid())
        .bind(s.session_type.as_str())
        .bind(s.app_audience.as_str())
        .bind(s.access_expires_at)
        .bind(s.refresh_expires_at)
        .bind(s.refresh_jti)
        .bind(s.revoked_at)
        .bind(s.revoke_reason.map(RevokeReason::as_str))
        .bind(s.last_activity_at)
        .bind(s.device_info.as_ref().map(DeviceInfo::as_str))
        .bind(s.created_at)
        .execute(&self.pool)
        .await
        .map(drop)
        .map_err(failed("inserting a session"))
    }

    async fn find(&self, id: SessionId) -> Result<Option<Session>, Unexpected> {
        let read = Read {
            sql: "SELECT id, user_id, session_type, app_audience, access_expires_at, \
                  refresh_expires_at, refresh_jti, revoked_at, revoke_reason, last_activity_at, \
                  device_info, created_at FROM sessions WHERE id = $1",
            what: "reading a session",
        };
        find_by::<SessionRow, _, _>(&self.pool, read, id.as_uuid()).await
    }

    async fn rotate(
        &self,
        id: SessionId,
        expected_jti: Uuid,
        rotation: &Rotation,
    ) -> Result<RotateOutcome, Unexpected> {
        // A concurrent rotation of the same row makes this one wait, then re-check the WHERE
        // against the row it committed: its jti no longer matches, so exactly one wins.
        // The jti it replaces is kept, with the time, for the refresh retry grace.
        let done = sqlx::query(
            "UPDATE sessions SET previous_refresh_jti = refresh_jti, rotated_at = $6, \
             refresh_jti = $3, access_expires_at = $4, \
             refresh_expires_at = $5, last_activity_at = $6 \
             WHERE id = $1 AND revoked_at IS NULL AND refresh_jti = $2",
        )
        .bind(id.as_uuid())
        .bind(expected_jti)
        .bind(rotation.new_refresh_jti)
        .bind(rotation.access_expires_at)
        .bind(rotation.refresh_expires_at)
        .bind(rotation.at)
        .execute(&self.pool)
        .await
        .map_err(failed("rotating a session"))?;
        if done.rows_affected() == 1 {
            return Ok(RotateOutcome::Rotated);
        }
        // Lost: was `expected_jti` the one the latest rotation replaced?
        let superseded: Option<(Uuid, OffsetDateTime)> = sqlx::query_as(
            "SELECT refresh_jti, rotated_at FROM sessions \
             WHERE id = $1 AND revoked_at IS NULL AND previous_refresh_jti = $2",
        )
        .bind(id.as_uuid())
        .bind(expected_jti)
        .fetch_optional(&self.pool)
        .await
        .map_err(failed("reading a session's previous rotation"))?;
        Ok(match superseded {
            Some((current_jti, rotated_at)) => RotateOutcome::Superseded {
                current_jti,
                rotated_at,
            },
            None => RotateOutcome::Stale,
        })
    }

    async fn revoke(
        &self,
        id: SessionId,
        reason: RevokeReason,
        at: OffsetDateTime,
    ) -> Result<bool, Unexpected> {
        let revoke = sqlx::query(
            "UPDATE sessions SET revoked_at = $2, revoke_reason = $3 \
             WHERE id = $1 AND revoked_at IS NULL",
        )
        .bind(id.as_uuid())
        .bind(at)
        .bind(reason.as_str());
        updated_one(revoke, &self.pool, "revoking a session").await
    }

    async fn extend_access(
        &self,
        id: SessionId,
        access_expires_at: OffsetDateTime,
        at: OffsetDateTime,
    ) -> Result<bool, Unexpected> {
        // Never moves the expiry back: an older token presented late must not shorten it.
        let extend = sqlx::query(
            "UPDATE sessions SET access_expires_at = GREATEST(access_expires_at, $2), \
             last_activity_at = $3 WHERE id = $1 AND revoked_at IS NULL",
        )
        .bind(id.as_uuid())
        .bind(access_expires_at)
        .bind(at);
        updated_one(extend, &self.pool, "extending a session's access").await
    }

    async fn live_sessions_of(
        &self,
        user: UserId,
        now: OffsetDateTime,
    ) -> Result<Vec<SessionId>, Unexpected> {
        let ids: Vec<Uuid> = sqlx::query_scalar(
            "SELECT id FROM sessions \
             WHERE user_id = $1 AND revoked_at IS NULL AND refresh_expires_at > $2 \
             ORDER BY created_at, id",
        )
        .bind(user.as_uuid())
        .bind(now)
        .fetch_all(&self.pool)
        .await
        .map_err(failed("listing a user's live sessions"))?;
        Ok(ids.into_iter().map(SessionId::from_uuid).collect())
    }
}
