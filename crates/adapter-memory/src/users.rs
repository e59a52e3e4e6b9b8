//! [`UserRepository`] in memory.

use std::collections::HashMap;

use async_trait::async_trait;
use rodando_domain::ids::UserId;
use rodando_domain::user::{Email, PhoneNumber, User, UserStatus};
use rodando_ports::Unexpected;
use rodando_ports::users::{InsertUserError, UserRepository};

use crate::MemoryStore;
use crate::lock::{read, write};

/// Users with their unique indexes.
#[derive(Default)]
pub(crate) struct UserTable {
    by_id: HashMap<UserId, User>,
    by_email: HashMap<String, UserId>,
    by_phone: HashMap<String, UserId>,
}

impl UserTable {
    /// Whether the user is known and not active (a driver dispatch must skip or refuse). A
    /// driver with no user row, which only tests create, counts as active: PostgreSQL's foreign
    /// keys rule that case out.
    pub(crate) fn is_inactive(&self, id: impl Into<UserId>) -> bool {
        self.by_id.get(&id.into()).is_some_and(|u| !u.is_active())
    }

    /// The user that `index` (by e-mail or by phone) files under `key`.
    fn via(&self, index: &HashMap<String, UserId>, key: &str) -> Option<User> {
        index.get(key).and_then(|id| self.by_id.get(id)).cloned()
    }
}

#[async_trait]
impl UserRepository for MemoryStore {
    async fn find_by_id(&self, id: UserId) -> Result<Option<User>, Unexpected> {
        Ok(read(&self.users).by_id.get(&id).cloned())
    }

    async fn find_by_email(&self, email: &Email) -> Result<Option<User>, Unexpected> {
        let t = read(&self.users);
        Ok(t.via(&t.by_email, email.as_str()))
    }

    async fn find_by_phone(&self, phone: &PhoneNumber) -> Result<Option<User>, Unexpected> {
        let t = read(&self.users);
        Ok(t.via(&t.by_phone, phone.as_str()))
    }

    async fn insert(&self, user: &User) -> Result<(), InsertUserError> {
        let mut t = write(&self.users);
        if t.by_email.contains_key(user.email.as_str()) {
            return Err(InsertUserError::DuplicateEmail);
        }
        if let Some(phone) = &user.phone
            && t.by_phone.contains_key(phone.as_str())
        {
            return Err(InsertUserError::DuplicatePhone);
        }
        if t.by_id.contains_key(&user.id) {
            return Err(InsertUserError::DuplicateId);
        }
        t.by_email.insert(user.email.as_str().to_owned(), user.id);
        if let Some(phone) = &user.phone {
            t.by_phone.insert(phone.as_str().to_owned(), user.id);
        }
        t.by_id.insert(user.id, user.clone());
        Ok(())
    }

    async fn set_status(&self, id: UserId, status: UserStatus) -> Result<bool, Unexpected> {
        Ok(write(&self.users)
            .by_id
            .get_mut(&id)
            .map(|u| u.status = status)
            .is_some())
    }
}
