//! Time, injectable so expiry and presence rules can be tested without sleeping.

use time::OffsetDateTime;

/// The current time.
#[cfg_attr(feature = "mocks", mockall::automock)]
pub trait Clock: Send + Sync {
    /// Now, in UTC.
    fn now(&self) -> OffsetDateTime;
}
