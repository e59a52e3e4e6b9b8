//! Users: who they are, what kind, whether they may act at all.

use std::fmt;

use time::OffsetDateTime;

use crate::ids::{AdminId, DriverId, PassengerId, UserId};

/// The three kinds of user; each has its own app and its own Socket.IO namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UserType {
    /// Requests trips from the passenger app.
    Passenger,
    /// Drives trips from the driver app.
    Driver,
    /// Operates the fleet from the admin panel.
    Admin,
}

impl UserType {
    /// Wire name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Passenger => "passenger",
            Self::Driver => "driver",
            Self::Admin => "admin",
        }
    }

    /// Parses the wire name.
    ///
    /// # Errors
    /// [`UnknownVariant`] for anything but `passenger`, `driver` or `admin`.
    pub fn parse(s: &str) -> Result<Self, UnknownVariant> {
        match s {
            "passenger" => Ok(Self::Passenger),
            "driver" => Ok(Self::Driver),
            "admin" => Ok(Self::Admin),
            _ => Err(UnknownVariant),
        }
    }
}

/// Whether a user may log in and connect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UserStatus {
    /// May log in and connect.
    Active,
    /// Suspended by an operator or by the user; may not log in.
    Inactive,
    /// Banned; may not log in.
    Banned,
}

impl UserStatus {
    /// Wire and storage name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Inactive => "inactive",
            Self::Banned => "banned",
        }
    }

    /// Parses the storage name.
    ///
    /// # Errors
    /// [`UnknownVariant`] for anything but `active`, `inactive` or `banned`.
    pub fn parse(s: &str) -> Result<Self, UnknownVariant> {
        match s {
            "active" => Ok(Self::Active),
            "inactive" => Ok(Self::Inactive),
            "banned" => Ok(Self::Banned),
            _ => Err(UnknownVariant),
        }
    }
}

/// The app a session was opened from; it must fit the user's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AppAudience {
    /// The driver app (`driver_app`).
    DriverApp,
    /// The passenger app (`passenger_app`).
    PassengerApp,
    /// The operations dashboard (`admin_panel`).
    AdminPanel,
}

impl AppAudience {
    /// Wire name, also the `aud` claim.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::DriverApp => "driver_app",
            Self::PassengerApp => "passenger_app",
            Self::AdminPanel => "admin_panel",
        }
    }

    /// Parses the wire name.
    ///
    /// # Errors
    /// [`UnknownVariant`] for an unknown audience.
    pub fn parse(s: &str) -> Result<Self, UnknownVariant> {
        match s {
            "driver_app" => Ok(Self::DriverApp),
            "passenger_app" => Ok(Self::PassengerApp),
            "admin_panel" => Ok(Self::AdminPanel),
            _ => Err(UnknownVariant),
        }
    }

    /// The only audience a user of this type may log in to.
    pub const fn for_user_type(user_type: UserType) -> Self {
        match user_type {
            UserType::Passenger => Self::PassengerApp,
            UserType::Driver => Self::DriverApp,
            UserType::Admin => Self::AdminPanel,
        }
    }

    /// Whether a user of `user_type` may open a session for this app.
    pub fn fits(self, user_type: UserType) -> bool {
        self == Self::for_user_type(user_type)
    }
}

/// A string did not name any variant of an enumeration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("unknown value")]
pub struct UnknownVariant;

/// Why a user attribute was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UserFieldError {
    /// Not a plausible e-mail address.
    #[error("must be an e-mail address such as name@example.com")]
    Email,
    /// Not a phone number of 7 to 15 digits with an optional leading `+`.
    #[error("must be 7 to 15 digits, optionally starting with +")]
    Phone,
    /// Empty, too long or containing control characters.
    #[error("must be 1 to 100 printable characters")]
    Name,
    /// Shorter than 8 or longer than 128 characters.
    #[error("must be 8 to 128 characters")]
    Password,
}

/// A normalized (trimmed, lowercased) e-mail address.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    /// Parses and normalizes an address: one `@`, non-empty local part, a dotted domain, no
    /// whitespace, at most 254 characters.
    ///
    /// # Errors
    /// [`UserFieldError::Email`] otherwise.
    pub fn parse(raw: &str) -> Result<Self, UserFieldError> {
        let s = raw.trim().to_lowercase();
        let valid = s.len() <= 254
            && !s.chars().any(|c| c.is_whitespace() || c.is_control())
            && match s.split_once('@') {
                Some((local, domain)) => {
                    !local.is_empty()
                        && !domain.contains('@')
                        && domain.contains('.')
                        && !domain.starts_with('.')
                        && !domain.ends_with('.')
                }
                None => false,
            };
        if valid {
            Ok(Self(s))
        } else {
            Err(UserFieldError::Email)
        }
    }

    /// The normalized address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Email({})", self.0)
    }
}

/// A phone number in international form: optional `+`, then 7 to 15 digits. Spaces and dashes
/// are dropped when parsing so `+53 5 555-0101` and `+5355550101` are the same number.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// Parses and normalizes a phone number.
    ///
    /// # Errors
    /// [`UserFieldError::Phone`] when it is not 7–15 digits after an optional `+`.
    pub fn parse(raw: &str) -> Result<Self, UserFieldError> {
        let compact: String = raw
            .trim()
            .chars()
            .filter(|c| *c != ' ' && *c != '-')
            .collect();
        let digits = compact.strip_prefix('+').unwrap_or(&compact);
        if (7..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(compact))
        } else {
            Err(UserFieldError::Phone)
        }
    }

    /// The normalized number.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A display name: trimmed, 1 to 100 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonName(String);

impl PersonName {
    /// Parses a display name.
    ///
    /// # Errors
    /// [`UserFieldError::Name`] when empty, longer than 100 characters or holding control characters.
    pub fn parse(raw: &str) -> Result<Self, UserFieldError> {
        let s = raw.trim();
        if s.is_empty() || s.chars().count() > 100 || s.chars().any(char::is_control) {
            Err(UserFieldError::Name)
        } else {
            Ok(Self(s.to_owned()))
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A new password as chosen by a user or operator (never stored; only its hash is).
#[derive(Clone)]
pub struct NewPassword(String);

impl NewPassword {
    /// Accepts 8 to 128 characters.
    ///
    /// # Errors
    /// [`UserFieldError::Password`] otherwise.
    pub fn parse(raw: &str) -> Result<Self, UserFieldError> {
        if (8..=128).contains(&raw.chars().count()) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(UserFieldError::Password)
        }
    }

    /// The plaintext, for the hasher only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewPassword(<redacted>)")
    }
}

/// A password hash in PHC string form (argon2id in production). Opaque to the domain.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl PasswordHash {
    /// Wraps a PHC string produced by a hasher or read from a store.
    pub fn from_phc(phc: String) -> Self {
        Self(phc)
    }

    /// The PHC string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(<redacted>)")
    }
}

/// A user account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Identity; also the driver id for drivers.
    pub id: UserId,
    /// Login e-mail, unique.
    pub email: Email,
    /// Login phone number, unique when present.
    pub phone: Option<PhoneNumber>,
    /// Display name.
    pub name: PersonName,
    /// Which app and namespace the user belongs to.
    pub user_type: UserType,
    /// Whether the user may act.
    pub status: UserStatus,
    /// Argon2id hash of the password.
    pub password_hash: PasswordHash,
    /// When the account was created.
    pub created_at: OffsetDateTime,
}

impl User {
    /// Only active users may log in, refresh or connect.
    pub fn is_active(&self) -> bool {
        self.status == UserStatus::Active
    }

    /// This user's id typed by what the user is.
    pub fn role(&self) -> Role {
        Role::of(self.id, self.user_type)
    }
}

/// A user's identity typed by its kind: the one place a plain [`UserId`] becomes a
/// [`DriverId`], [`PassengerId`] or [`AdminId`], from a type read with it (a user record or a
/// verified token's claims), so a passenger's id cannot pass where a driver's is expected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// A passenger.
    Passenger(PassengerId),
    /// A driver.
    Driver(DriverId),
    /// An operator.
    Admin(AdminId),
}

impl Role {
    /// The role of user `id`, known to be of `user_type`.
    pub const fn of(id: UserId, user_type: UserType) -> Self {
        let uuid = id.as_uuid();
        match user_type {
            UserType::Passenger => Self::Passenger(PassengerId::from_uuid(uuid)),
            UserType::Driver => Self::Driver(DriverId::from_uuid(uuid)),
            UserType::Admin => Self::Admin(AdminId::from_uuid(uuid)),
        }
    }

    /// The plain user id.
    pub const fn user_id(self) -> UserId {
        match self {
            Self::Passenger(id) => id.user_id(),
            Self::Driver(id) => id.user_id(),
            Self::Admin(id) => id.user_id(),
        }
    }

    /// The user type this role is.
    pub const fn user_type(self) -> UserType {
        match self {
            Self::Passenger(_) => UserType::Passenger,
            Self::Driver(_) => UserType::Driver,
            Self::Admin(_) => UserType::Admin,
        }
    }

    /// The driver id, when this is a driver.
    pub const fn driver(self) -> Option<DriverId> {
        match self {
            Self::Driver(id) => Some(id),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_role_keeps_the_identity_and_the_type() {
        let id = UserId::parse("6f9619ff-8b86-d011-b42d-00c04fc964ff").unwrap();
        for user_type in [UserType::Passenger, UserType::Driver, UserType::Admin] {
            let role = Role::of(id, user_type);
            assert_eq!((role.user_id(), role.user_type()), (id, user_type));
            assert_eq!(role.driver().is_some(), user_type == UserType::Driver);
        }
    }

    #[test]
    fn emails_are_normalized_and_checked() {
        assert_eq!(
            Email::parse("  Driver1@Rodando.Local ").unwrap().as_str(),
            "driver1@rodando.local"
        );
        for bad in [
            "", "no-at", "@x.y", "a@b", "a@@b.c", "a b@c.d", "a@.c", "a@c.",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn phone_numbers_are_compacted() {
        assert_eq!(
            PhoneNumber::parse("+53 5 555-0101").unwrap().as_str(),
            "+5355550101"
        );
        for bad in ["", "+", "123", "+12345678901234567", "55a55555"] {
            assert!(PhoneNumber::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn names_and_passwords_have_bounds() {
        assert!(PersonName::parse("  ").is_err());
        assert!(PersonName::parse("a\u{0}b").is_err());
        assert!(PersonName::parse(&"x".repeat(101)).is_err());
        assert_eq!(PersonName::parse(" Ana ").unwrap().as_str(), "Ana");
        assert!(NewPassword::parse("short").is_err());
        assert!(NewPassword::parse(&"p".repeat(129)).is_err());
        assert!(NewPassword::parse("rodando123").is_ok());
    }

    #[test]
    fn each_audience_fits_exactly_one_user_type() {
        use AppAudience::*;
        use UserType::*;
        for (aud, ty, fits) in [
            (DriverApp, Driver, true),
            (DriverApp, Passenger, false),
            (DriverApp, Admin, false),
            (PassengerApp, Passenger, true),
            (PassengerApp, Driver, false),
            (AdminPanel, Admin, true),
            (AdminPanel, Driver, false),
        ] {
            assert_eq!(aud.fits(ty), fits, "{aud:?} {ty:?}");
        }
    }

    #[test]
    fn wire_names_round_trip() {
        for t in [UserType::Passenger, UserType::Driver, UserType::Admin] {
            assert_eq!(UserType::parse(t.as_str()), Ok(t));
        }
        for s in [UserStatus::Active, UserStatus::Inactive, UserStatus::Banned] {
            assert_eq!(UserStatus::parse(s.as_str()), Ok(s));
        }
        for a in [
            AppAudience::DriverApp,
            AppAudience::PassengerApp,
            AppAudience::AdminPanel,
        ] {
            assert_eq!(AppAudience::parse(a.as_str()), Ok(a));
        }
        assert!(UserType::parse("Driver").is_err());
    }
}
