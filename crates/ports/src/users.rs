//! The user store.

use async_trait::async_trait;
use rodando_domain::ids::UserId;
use rodando_domain::user::{Email, PhoneNumber, User, UserStatus};

use crate::Unexpected;

/// Why a user could not be inserted.
#[derive(Debug, thiserror::Error)]
pub enum InsertUserError {
    /// Another user has this e-mail.
    #[error("e-mail already registered")]
    DuplicateEmail,
    /// Another user has this phone number.
    #[error("phone number already registered")]
    DuplicatePhone,
    /// Another user has this id.
    #[error("user id already exists")]
    DuplicateId,
    /// The store failed.
    #[error(transparent)]
    Unexpected(#[from] Unexpected),
}

/// Users by id, e-mail or phone.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait UserRepository: Send + Sync {
    /// The user with this id, if any.
    ///
    /// # Errors
    /// [`Unexpected`] when the store fails.
    async fn find_by_id(&self, id: UserId) -> Result<Option<User>, Unexpected>;

    /// The user with this (normalized) e-mail, if any.
    ///
    /// # Errors
    /// [`Unexpected`] when the store fails.
    async fn find_by_email(&self, email: &Email) -> Result<Option<User>, Unexpected>;

    /// The user with this (normalized) phone number, if any.
    ///
    /// # Errors
    /// [`Unexpected`] when the store fails.
    async fn find_by_phone(&self, phone: &PhoneNumber) -> Result<Option<User>, Unexpected>;

    /// Adds a user; nothing is written when any uniqueness rule fails.
    ///
    /// # Errors
    /// [`InsertUserError::DuplicateEmail`], [`InsertUserError::DuplicatePhone`] or
    /// [`InsertUserError::DuplicateId`] for a taken e-mail, phone or id (checked in that order);
    /// [`InsertUserError::Unexpected`] when the store fails.
    async fn insert(&self, user: &User) -> Result<(), InsertUserError>;

    /// Changes a user's status. Returns whether the user exists. Once it returns, a driver that
    /// is not active is skipped by [`crate::availability::AvailabilityRepository::nearest_available`]
    /// and refused by dispatch writes (a new offer, an acceptance), on every node.
    ///
    /// # Errors
    /// [`Unexpected`] when the store fails.
    async fn set_status(&self, id: UserId, status: UserStatus) -> Result<bool, Unexpected>;
}
