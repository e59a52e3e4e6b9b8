//! [`SessionRepository`] in memory.

use std::collections::HashMap;

use async_trait::async_trait;
use rodando_domain::ids::{SessionId, UserId};
use rodando_domain::session::{RevokeReason, Session};
use rodando_ports::Unexpected;
use rodando_ports::sessions::{RotateOutcome, Rotation, SessionRepository};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::MemoryStore;
use crate::lock::{read, write};

pub(crate) type SessionTable = HashMap<SessionId, Stored>;

/// A session and the refresh `jti` its latest rotation replaced, with when.
#[derive(Debug, Clone)]
pub(crate) struct Stored {
    session: Session,
    previous: Option<(Uuid, OffsetDateTime)>,
}

impl MemoryStore {
    /// Applies `change` to session `id` if it is stored and not revoked; whether it was.
    fn update_live(&self, id: SessionId, change: impl FnOnce(&mut Session)) -> bool {
        let mut t = write(&self.sessions);
        match t.get_mut(&id).map(|s| &mut s.session) {
            Some(s) if !s.is_revoked() => {
                change(s);
                true
            }
            _ => false,
        }
    }
}

#[async_trait]
impl SessionRepository for MemoryStore {
    async fn insert(&self, session: &Session) -> Result<(), Unexpected> {
        let mut t = write(&self.sessions);
        if t.contains_key(&session.id) {
            return Err(Unexpected::msg(format!(
                "session {} already exists",
                session.id
            )));
        }
        t.insert(
            session.id,
            Stored {
                session: session.clone(),
                previous: None,
            },
        );
        Ok(())
    }

    async fn find(&self, id: SessionId) -> Result<Option<Session>, Unexpected> {
        Ok(read(&self.sessions).get(&id).map(|s| s.session.clone()))
    }

    async fn rotate(
        &self,
        id: SessionId,
        expected_jti: Uuid,
        rotation: &Rotation,
    ) -> Result<RotateOutcome, Unexpected> {
        let mut t = write(&self.sessions);
        let Some(Stored {
            session: s,
            previous,
        }) = t.get_mut(&id).filter(|s| !s.session.is_revoked())
        else {
            return Ok(RotateOutcome::Stale);
        };
        if s.refresh_jti == expected_jti {
            *previous = Some((s.refresh_jti, rotation.at));
            s.refresh_jti = rotation.new_refresh_jti;
            s.access_expires_at = rotation.access_expires_at;
            s.refresh_expires_at = rotation.refresh_expires_at;
            s.last_activity_at = rotation.at;
            return Ok(RotateOutcome::Rotated);
        }
        Ok(match *previous {
            Some((jti, rotated_at)) if jti == expected_jti => RotateOutcome::Superseded {
                current_jti: s.refresh_jti,
                rotated_at,
            },
            _ => RotateOutcome::Stale,
        })
    }

    async fn revoke(
        &self,
        id: SessionId,
        reason: RevokeReason,
        at: OffsetDateTime,
    ) -> Result<bool, Unexpected> {
        Ok(self.update_live(id, |s| {
            s.revoked_at = Some(at);
            s.revoke_reason = Some(reason);
        }))
    }

    async fn extend_access(
        &self,
        id: SessionId,
        access_expires_at: OffsetDateTime,
        at: OffsetDateTime,
    ) -> Result<bool, Unexpected> {
        Ok(self.update_live(id, |s| {
            s.access_expires_at = s.access_expires_at.max(access_expires_at);
            s.last_activity_at = at;
        }))
    }

    async fn live_sessions_of(
        &self,
        user: UserId,
        now: OffsetDateTime,
    ) -> Result<Vec<SessionId>, Unexpected> {
        Ok(read(&self.sessions)
            .values()
            .map(|s| &s.session)
            .filter(|s| s.user_id == user && !s.is_revoked() && s.refresh_expires_at > now)
            .map(|s| s.id)
            .collect())
    }
}
