//! The demo users every fresh server starts with (PROTOCOL §2), so a newcomer can log in at once.

use rodando_domain::ids::UserId;
use rodando_domain::user::{
    Email, NewPassword, PersonName, PhoneNumber, User, UserStatus, UserType,
};
use rodando_ports::clock::Clock;
use rodando_ports::passwords::PasswordHasher;
use rodando_ports::users::{InsertUserError, UserRepository};
use uuid::Uuid;

use crate::users::{NewUser, UserAdmin};

/// The password of every demo user.
pub const DEMO_PASSWORD: &str = "rodando123";

/// (e-mail, phone, name, type) of each demo user.
pub const DEMO_USERS: [(&str, &str, &str, UserType); 6] = [
    (
        "admin@rodando.local",
        "+5350000001",
        "Ada Admin",
        UserType::Admin,
    ),
    (
        "driver1@rodando.local",
        "+5350000011",
        "Dario Driver",
        UserType::Driver,
    ),
    (
        "driver2@rodando.local",
        "+5350000012",
        "Dania Driver",
        UserType::Driver,
    ),
    (
        "driver3@rodando.local",
        "+5350000013",
        "Diego Driver",
        UserType::Driver,
    ),
    (
        "passenger1@rodando.local",
        "+5350000021",
        "Paula Passenger",
        UserType::Passenger,
    ),
    (
        "passenger2@rodando.local",
        "+5350000022",
        "Pedro Passenger",
        UserType::Passenger,
    ),
];

/// The demo users as creation requests.
pub fn demo_users() -> Vec<NewUser> {
    DEMO_USERS
        .iter()
        .map(|(email, phone, name, user_type)| NewUser {
            email: Email::parse(email)
                .unwrap_or_else(|_| unreachable!("demo e-mail {email} is valid")),
            phone: PhoneNumber::parse(phone).ok(),
            name: PersonName::parse(name)
                .unwrap_or_else(|_| unreachable!("demo name {name} is valid")),
            user_type: *user_type,
            password: NewPassword::parse(DEMO_PASSWORD)
                .unwrap_or_else(|_| unreachable!("demo password is valid")),
        })
        .collect()
}

/// Creates every demo user that does not exist yet; returns how many were created.
///
/// # Errors
/// [`InsertUserError::Unexpected`] when the store fails (duplicates are skipped).
pub async fn seed_demo_users(admin: &UserAdmin) -> Result<usize, InsertUserError> {
    let mut created = 0;
    for user in demo_users() {
        match admin.create(user).await {
            Ok(_) => created += 1,
            Err(
                InsertUserError::DuplicateEmail
                | InsertUserError::DuplicatePhone
                | InsertUserError::DuplicateId,
            ) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(created)
}

/// Creates `count` extra demo users of `user_type` numbered after the fixed ones
/// (`driver4@rodando.local`…, `passenger3@rodando.local`…), for simulations and load tests
/// that need many distinct drivers or passengers. They share one hash of [`DEMO_PASSWORD`],
/// computed once: hashing thousands of demo passwords one by one would take minutes. Admins
/// are not multiplied (returns 0). Returns how many were created.
///
/// # Errors
/// [`InsertUserError::Unexpected`] when hashing or the store fails (duplicates are skipped).
pub async fn seed_extra_demo_users(
    users: &dyn UserRepository,
    hasher: &dyn PasswordHasher,
    clock: &dyn Clock,
    user_type: UserType,
    count: usize,
) -> Result<usize, InsertUserError> {
    let (prefix, title) = match user_type {
        UserType::Driver => ("driver", "Driver"),
        UserType::Passenger => ("passenger", "Passenger"),
        UserType::Admin => return Ok(0),
    };
    if count == 0 {
        return Ok(0);
    }
    let password = NewPassword::parse(DEMO_PASSWORD)
        .unwrap_or_else(|_| unreachable!("demo password is valid"));
    let hash = hasher.hash(&password)?;
    let first = first_extra_number(user_type);
    let mut created = 0;
    for n in first..first + count {
        let user = User {
            id: UserId::from_uuid(Uuid::now_v7()),
            email: Email::parse(&format!("{prefix}{n}@rodando.local"))
                .unwrap_or_else(|_| unreachable!("generated e-mail is valid")),
            phone: None,
            name: PersonName::parse(&format!("Demo {title} {n}"))
                .unwrap_or_else(|_| unreachable!("generated name is valid")),
            user_type,
            status: UserStatus::Active,
            password_hash: hash.clone(),
            created_at: clock.now(),
        };
        match users.insert(&user).await {
            Ok(()) => created += 1,
            Err(InsertUserError::Unexpected(e)) => return Err(e.into()),
            Err(_) => {}
        }
    }
    Ok(created)
}

/// The number of the first extra demo user of `user_type`: one after the fixed demo users.
pub fn first_extra_number(user_type: UserType) -> usize {
    DEMO_USERS.iter().filter(|u| u.3 == user_type).count() + 1
}
