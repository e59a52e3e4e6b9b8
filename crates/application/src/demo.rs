//! The demo users every fresh server starts with (PROTOCOL §2), so a newcomer can log in at once.

use rodando_domain::user::{Email, NewPassword, PersonName, PhoneNumber, UserType};
use rodando_ports::users::InsertUserError;

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
