//! The authenticated identity behind a socket.

use rodando_domain::admission::Namespace;
use rodando_domain::ids::{DriverId, SessionId, UserId};
use rodando_domain::trip::Actor;
use rodando_domain::user::{Role, UserType};
use time::OffsetDateTime;

/// Who a socket belongs to, established once by the handshake and read by every handler.
/// Identities always come from here, never from an event's payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The user (the driver id for drivers).
    pub user_id: UserId,
    /// The stored user type (not the token's claim).
    pub user_type: UserType,
    /// The session of the token.
    pub session_id: SessionId,
    /// Where the socket connected.
    pub namespace: Namespace,
    /// Display name, for logs and greetings.
    pub name: String,
    /// When the access token used to connect expires.
    pub token_expires_at: OffsetDateTime,
}

impl Principal {
    /// The user's id typed by the stored user type.
    pub const fn role(&self) -> Role {
        Role::of(self.user_id, self.user_type)
    }

    /// The driver id, when a driver.
    pub const fn driver_id(&self) -> Option<DriverId> {
        self.role().driver()
    }

    /// The principal as a trip actor.
    pub fn actor(&self) -> Actor {
        self.role().into()
    }
}
