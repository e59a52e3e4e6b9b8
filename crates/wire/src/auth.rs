//! `/api/auth` bodies (PROTOCOL §2).

use rodando_application::auth::{LoginIdentifier, LoginRequest, SessionTokens};
use rodando_domain::session::{DeviceInfo, SessionType};
use rodando_domain::user::{AppAudience, Email, PhoneNumber};
use rodando_domain::validation::FieldErrors;
use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;

use crate::fields::ObjectReader;
use crate::timestamp;

/// Passwords longer than this are refused before hashing (bounds the work per request).
pub const MAX_PASSWORD_CHARS: usize = 1024;

/// Parses a login body. Unknown fields are refused.
///
/// # Errors
/// Every bad or unknown field.
pub fn parse_login(body: &Value) -> Result<LoginRequest, FieldErrors> {
    let mut r = ObjectReader::new(body, "body")?;
    r.deny_unknown(&[
        "email",
        "phoneNumber",
        "password",
        "appAudience",
        "sessionType",
        "deviceInfo",
    ]);
    let email = r.optional_str(&["email"]);
    let phone = r.optional_str(&["phoneNumber"]);
    let identifier = match (email, phone) {
        (Some(e), _) => Email::parse(e)
            .map(LoginIdentifier::Email)
            .map_err(|e| r.error("email", e))
            .ok(),
        (None, Some(p)) => PhoneNumber::parse(p)
            .map(LoginIdentifier::Phone)
            .map_err(|e| r.error("phoneNumber", e))
            .ok(),
        (None, None) => {
            if !r.has(&["email", "phoneNumber"]) {
                r.error("email", "email or phoneNumber is required");
            }
            None
        }
    };
    let password = r.required_str(&["password"]).and_then(|p| {
        if p.is_empty() || p.chars().count() > MAX_PASSWORD_CHARS {
            r.error(
                "password",
                format!("must be 1 to {MAX_PASSWORD_CHARS} characters"),
            );
            None
        } else {
            Some(p.to_owned())
        }
    });
    let audience = r.required_str(&["appAudience"]).and_then(|a| {
        AppAudience::parse(a)
            .map_err(|_| {
                r.error(
                    "appAudience",
                    "must be one of driver_app, passenger_app, admin_panel",
                )
            })
            .ok()
    });
    let session_type = match r.optional_str(&["sessionType"]) {
        None => Some(SessionType::default()),
        Some(s) => SessionType::parse(s)
            .map_err(|_| r.error("sessionType", "must be one of web, mobile_app, api_client"))
            .ok(),
    };
    let device_info = r.raw(&["deviceInfo"]).and_then(|(v, _)| match v {
        Value::String(s) => DeviceInfo::sanitize(s),
        other => DeviceInfo::sanitize(&other.to_string()),
    });
    let errors = r.finish();
    match (identifier, password, audience, session_type) {
        (Some(identifier), Some(password), Some(audience), Some(session_type))
            if errors.is_empty() =>
        {
            Ok(LoginRequest {
                identifier,
                password,
                audience,
                session_type,
                device_info,
            })
        }
        _ => Err(errors),
    }
}

/// Parses a refresh body `{refreshToken}`.
///
/// # Errors
/// When the token is missing or not a string, or other fields are present.
pub fn parse_refresh(body: &Value) -> Result<String, FieldErrors> {
    let mut r = ObjectReader::new(body, "body")?;
    r.deny_unknown(&["refreshToken"]);
    let token = r.required_str(&["refreshToken"]).map(str::to_owned);
    let errors = r.finish();
    match token {
        Some(t) if errors.is_empty() => Ok(t),
        _ => Err(errors),
    }
}

/// The login and refresh response.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionTokensBody {
    access_token: String,
    refresh_token: String,
    session_id: String,
    session_type: &'static str,
    #[serde(serialize_with = "timestamp::serialize")]
    access_token_expires_at: OffsetDateTime,
    #[serde(serialize_with = "timestamp::serialize")]
    refresh_token_expires_at: OffsetDateTime,
    user: UserSummaryBody,
}

/// `user` of [`SessionTokensBody`].
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserSummaryBody {
    id: String,
    user_type: &'static str,
    name: String,
}

impl From<SessionTokens> for SessionTokensBody {
    fn from(t: SessionTokens) -> Self {
        Self {
            access_token: t.access.token,
            refresh_token: t.refresh.token,
            session_id: t.session_id.to_string(),
            session_type: t.session_type.as_str(),
            access_token_expires_at: t.access.expires_at,
            refresh_token_expires_at: t.refresh.expires_at,
            user: UserSummaryBody {
                id: t.user.id.to_string(),
                user_type: t.user.user_type.as_str(),
                name: t.user.name,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_login_by_email_or_phone_parses() {
        let r = parse_login(&json!({"email": "Driver1@Rodando.Local", "password": "rodando123", "appAudience": "driver_app"})).unwrap();
        assert_eq!(
            r.identifier,
            LoginIdentifier::Email(Email::parse("driver1@rodando.local").unwrap())
        );
        assert_eq!(r.session_type, SessionType::MobileApp);
        let r = parse_login(&json!({"phoneNumber": "+53 5000 0011", "password": "x", "appAudience": "driver_app", "sessionType": "web", "deviceInfo": {"model": "Pixel"}})).unwrap();
        assert!(matches!(r.identifier, LoginIdentifier::Phone(_)));
        assert_eq!(r.device_info.unwrap().as_str(), r#"{"model":"Pixel"}"#);
    }

    #[test]
    fn a_bad_login_lists_every_field() {
        let e = parse_login(
            &json!({"password": 5, "appAudience": "moon_app", "sessionType": "fax", "admin": true}),
        )
        .unwrap_err();
        let fields: Vec<&str> = e.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(
            fields,
            ["admin", "email", "password", "appAudience", "sessionType"]
        );
    }

    #[test]
    fn refresh_needs_exactly_a_token() {
        assert_eq!(parse_refresh(&json!({"refreshToken": "t"})), Ok("t".into()));
        assert!(parse_refresh(&json!({})).is_err());
        assert!(parse_refresh(&json!({"refreshToken": "t", "x": 1})).is_err());
        assert!(parse_refresh(&json!("t")).is_err());
    }
}
