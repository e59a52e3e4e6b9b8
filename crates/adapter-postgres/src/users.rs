//! [`UserRepository`] over the `users` table.

use async_trait::async_trait;
use rodando_domain::ids::UserId;
use rodando_domain::user::{
    Email, PasswordHash, PersonName, PhoneNumber, User, UserStatus, UserType,
};
use rodando_ports::Unexpected;
use rodando_ports::users::{InsertUserError, UserRepository};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::PgStore;
use crate::errors::{corrupt, failed, unique_violation};
use crate::query::{Read, find_by, updated_one};

/// The user whose `$column` equals `$1`.
macro_rules! select_user_where {
    ($column:literal) => {
        concat!(
            "SELECT id, email, phone_number, name, user_type, status, password_hash, created_at \
             FROM users WHERE ",
            $column,
            " = $1"
        )
    };
}

/// A `users` row as stored.
#[derive(sqlx::FromRow)]
struct UserRow {
    id: Uuid,
    email: String,
    phone_number: Option<String>,
    name: String,
    user_type: String,
    status: String,
    password_hash: String,
    created_at: OffsetDateTime,
}

impl TryFrom<UserRow> for User {
    type Error = Unexpected;

    fn try_from(row: UserRow) -> Result<Self, Unexpected> {
        let bad = |what| corrupt("users", row.id, what);
        Ok(User {
            id: UserId::from_uuid(row.id),
            email: Email::parse(&row.email).map_err(|_| bad("email"))?,
            phone: row
                .phone_number
                .as_deref()
                .map(PhoneNumber::parse)
                .transpose()
                .map_err(|_| bad("phone_number"))?,
            name: PersonName::parse(&row.name).map_err(|_| bad("name"))?,
            user_type: UserType::parse(&row.user_type).map_err(|_| bad("user_type"))?,
            status: UserStatus::parse(&row.status).map_err(|_| bad("status"))?,
            password_hash: PasswordHash::from_phc(row.password_hash),
            created_at: row.created_at,
        })
    }
}

impl PgStore {
    async fn find_user_where<K>(
        &self,
        sql: &'static str,
        key: K,
    ) -> Result<Option<User>, Unexpected>
    where
        K: for<'q> sqlx::Encode<'q, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + Send,
    {
        let read = Read {
            sql,
            what: "reading a user",
        };
        find_by::<UserRow, _, _>(&self.pool, read, key).await
    }

    /// Which uniqueness rule `user` breaks, in the port's order (e-mail, phone, id).
    async fn taken_by(&self, user: &User) -> Result<Option<InsertUserError>, Unexpected> {
        let (email, phone, id): (bool, bool, bool) = sqlx::query_as(
            "SELECT EXISTS (SELECT 1 FROM users WHERE email = $1), \
                    EXISTS (SELECT 1 FROM users WHERE phone_number = $2), \
                    EXISTS (SELECT 1 FROM users WHERE id = $3)",
        )
        .bind(user.email.as_str())
        .bind(user.phone.as_ref().map(PhoneNumber::as_str))
        .bind(user.id.as_uuid())
        .fetch_one(&self.pool)
        .await
        .map_err(failed("checking which user field is taken"))?;
        Ok(if email {
            Some(InsertUserError::DuplicateEmail)
        } else if phone {
            Some(InsertUserError::DuplicatePhone)
        } else if id {
            Some(InsertUserError::DuplicateId)
        } else {
            None
        })
    }
}

#[async_trait]
impl UserRepository for PgStore {
    async fn find_by_id(&self, id: UserId) -> Result<Option<User>, Unexpected> {
        self.find_user_where(select_user_where!("id"), id.as_uuid())
            .await
    }

    async fn find_by_email(&self, email: &Email) -> Result<Option<User>, Unexpected> {
        self.find_user_where(select_user_where!("email"), email.as_str())
            .await
    }

    async fn find_by_phone(&self, phone: &PhoneNumber) -> Result<Option<User>, Unexpected> {
        self.find_user_where(select_user_where!("phone_number"), phone.as_str())
            .await
    }

    async fn insert(&self, user: &User) -> Result<(), InsertUserError> {
        let inserted = sqlx::query(
            "INSERT INTO users (id, email, phone_number, name, user_type, status, \
             password_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(user.id.as_uuid())
        .bind(user.email.as_str())
        .bind(user.phone.as_ref().map(PhoneNumber::as_str))
        .bind(user.name.as_str())
        .bind(user.user_type.as_str())
        .bind(user.status.as_str())
        .bind(user.password_hash.as_str())
        .bind(user.created_at)
        .execute(&self.pool)
        .await;
        let Err(error) = inserted else {
            return Ok(());
        };
        let Some(constraint) = unique_violation(&error) else {
            return Err(failed("inserting a user")(error).into());
        };
        // Several rules may be broken at once and PostgreSQL reports only the first index it
        // checks: ask which, in the port's order. The constraint name is the fallback.
        if let Some(taken) = self.taken_by(user).await? {
            return Err(taken);
        }
        Err(match constraint {
            "users_email_key" => InsertUserError::DuplicateEmail,
            "users_phone_number_key" => InsertUserError::DuplicatePhone,
            "users_pkey" => InsertUserError::DuplicateId,
            _ => failed("inserting a user")(error).into(),
        })
    }

    async fn set_status(&self, id: UserId, status: UserStatus) -> Result<bool, Unexpected> {
        let set = sqlx::query("UPDATE users SET status = $2 WHERE id = $1")
            .bind(id.as_uuid())
            .bind(status.as_str());
        updated_one(set, &self.pool, "changing a user's status").await
    }
}
