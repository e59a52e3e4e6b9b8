//! Creating users (operator CLI, demo seed).

use std::sync::Arc;

use rodando_domain::ids::UserId;
use rodando_domain::user::{
    Email, NewPassword, PersonName, PhoneNumber, User, UserStatus, UserType,
};
use rodando_ports::Unexpected;
use rodando_ports::clock::Clock;
use rodando_ports::passwords::PasswordHasher;
use rodando_ports::users::{InsertUserError, UserRepository};
use uuid::Uuid;

/// A validated request to create a user.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Login e-mail.
    pub email: Email,
    /// Login phone, optional.
    pub phone: Option<PhoneNumber>,
    /// Display name.
    pub name: PersonName,
    /// Kind of user.
    pub user_type: UserType,
    /// Initial password.
    pub password: NewPassword,
}

service! {
    /// Creates users with hashed passwords.
    pub struct UserAdmin {
        users: Arc<dyn UserRepository>,
        passwords: Arc<dyn PasswordHasher>,
        clock: Arc<dyn Clock>,
    }
}

impl UserAdmin {
    /// Hashes the password and stores an active user.
    ///
    /// # Errors
    /// [`InsertUserError`] for a taken e-mail or phone, or a store failure.
    pub async fn create(&self, new: NewUser) -> Result<User, InsertUserError> {
        let hasher = Arc::clone(&self.passwords);
        let password = new.password.clone();
        let password_hash = tokio::task::spawn_blocking(move || hasher.hash(&password))
            .await
            .map_err(|e| Unexpected::new("password hashing task failed", e))??;
        let user = User {
            id: UserId::from_uuid(Uuid::now_v7()),
            email: new.email,
            phone: new.phone,
            name: new.name,
            user_type: new.user_type,
            status: UserStatus::Active,
            password_hash,
            created_at: self.clock.now(),
        };
        self.users.insert(&user).await?;
        tracing::info!(user_id = %user.id, user_type = user.user_type.as_str(), "user created");
        Ok(user)
    }
}
