//! `PATCH /api/users/{id}`: an operator sets a user's status; the answer is the user's public
//! shape.

use rodando_application::user_status::SetStatusError;
use rodando_domain::user::{User, UserStatus};
use rodando_domain::validation::FieldErrors;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::error::{ErrorBody, ErrorCode};
use crate::fields::ObjectReader;

/// The fields of a status change body.
pub const USER_STATUS_FIELDS: &[&str] = &["status"];

/// Whether a user may log in and connect.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case", as = UserStatus)]
pub enum UserStatusName {
    /// May log in and connect.
    Active,
    /// Suspended: may not log in; every session ended.
    Inactive,
    /// Banned: may not log in; every session ended.
    Banned,
}

/// `PATCH /api/users/{id}`.
#[derive(ToSchema)]
#[schema(as = UserStatusRequest)]
pub struct UserStatusBody {
    /// The new status.
    pub status: UserStatusName,
}

/// Parses `{"status": "active" | "inactive" | "banned"}`.
///
/// # Errors
/// A missing or unknown status, or unknown fields, each named.
pub fn parse_user_status_body(body: &Value) -> Result<UserStatus, FieldErrors> {
    let mut r = ObjectReader::new(body, "body")?;
    r.deny_unknown(USER_STATUS_FIELDS);
    let status = r
        .required_str(&["status"])
        .and_then(|s| match UserStatus::parse(s) {
            Ok(status) => Some(status),
            Err(_) => {
                r.error("status", "must be active, inactive or banned");
                None
            }
        });
    let errors = r.finish();
    match status {
        Some(status) => errors.into_result(|| status),
        None => Err(errors),
    }
}

/// A user as operators see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[schema(as = User)]
pub struct UserBody {
    #[schema(format = "uuid")]
    id: String,
    /// Login e-mail.
    email: String,
    #[serde(rename = "type")]
    #[schema(value_type = crate::schema::UserTypeName)]
    user_type: &'static str,
    #[schema(value_type = UserStatusName)]
    status: &'static str,
}

impl From<&User> for UserBody {
    fn from(u: &User) -> Self {
        Self {
            id: u.id.to_string(),
            email: u.email.as_str().to_owned(),
            user_type: u.user_type.as_str(),
            status: u.status.as_str(),
        }
    }
}

/// `PATCH /api/users/{id}` and `users set-status`.
impl From<&SetStatusError> for ErrorBody {
    fn from(e: &SetStatusError) -> Self {
        match e {
            SetStatusError::Forbidden => Self::new(ErrorCode::Forbidden, e.to_string()),
            SetStatusError::NotFound => Self::new(ErrorCode::NotFound, "no such user"),
            SetStatusError::Unexpected(_) => Self::internal(),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn each_status_parses() {
        for s in [UserStatus::Active, UserStatus::Inactive, UserStatus::Banned] {
            assert_eq!(
                parse_user_status_body(&json!({"status": s.as_str()})),
                Ok(s)
            );
        }
    }

    #[test]
    fn a_bad_body_names_its_fields() {
        for (body, fields) in [
            (json!({}), vec!["status"]),
            (json!({"status": "deleted"}), vec!["status"]),
            (json!({"status": 3}), vec!["status"]),
            (json!({"status": "banned", "why": "x"}), vec!["why"]),
            (json!([]), vec!["body"]),
        ] {
            let errors = parse_user_status_body(&body).unwrap_err();
            let named: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
            assert_eq!(named, fields, "{body}");
        }
    }

    #[test]
    fn refusals_have_their_codes() {
        let code = |e: SetStatusError| ErrorBody::from(&e).code;
        assert_eq!(code(SetStatusError::Forbidden), ErrorCode::Forbidden);
        assert_eq!(code(SetStatusError::NotFound), ErrorCode::NotFound);
    }
}
