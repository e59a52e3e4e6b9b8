//! `/api/auth` bodies (PROTOCOL §2).

use rodando_application::auth::{LoginIdentifier, LoginRequest, SessionTokens};
use rodando_domain::session::{DeviceInfo, SessionType};
use rodando_domain::user::{AppAudience, Email, PhoneNumber};
use rodando_domain::validation::FieldErrors;
use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::fields::ObjectReader;
use crate::timestamp;

/// Passwords longer than this are refused before hashing (bounds the work per request).
pub const MAX_PASSWORD_CHARS: usize = 1024;

/// The fields a login body may hold (anything else is refused).
pub const LOGIN_FIELDS: &[&str] = &[
    "email",
    "phoneNumber",
    "password",
    "appAudience",
    "sessionType",
    "deviceInfo",
];

/// The fields a refresh body may hold.
pub const REFRESH_FIELDS: &[&str] = &["refreshToken"];

/// Parses a login body. Unknown fields are refused.
///
/// # Errors
/// Every bad or unknown field.
pub fn parse_login(body: &Value) -> Result<LoginRequest, FieldErrors> {
    let mut r = ObjectReader::new(body, "body")?;
    r.deny_unknown(LOGIN_FIELDS);
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
            // A present but non-string identifier was reported already; absent or null is not.
            if r.raw(&["email", "phoneNumber"]).is_none() {
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
    r.deny_unknown(REFRESH_FIELDS);
    let token = r.required_str(&["refreshToken"]).map(str::to_owned);
    r.finish().into_value(token)
}

/// Parses the socket event `auth:refresh` `{accessToken}`: the fresh access token a live
/// socket presents to outlive its current one. Other fields are ignored, as on every event.
///
/// # Errors
/// When the payload is not an object or `accessToken` is missing or not a string.
pub fn parse_socket_refresh(payload: &Value) -> Result<String, FieldErrors> {
    let mut r = ObjectReader::new(payload, "payload")?;
    let token = r.required_str(&["accessToken"]);
    if token.is_some_and(|t| t.trim().is_empty()) {
        r.error("accessToken", "must not be empty");
    }
    r.finish().into_value(token).map(str::to_owned)
}

/// The login and refresh response.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = SessionTokens)]
pub struct SessionTokensBody {
    /// Bearer token for REST and the Socket.IO handshake (`auth.token`); short-lived.
    access_token: String,
    /// Single use: `POST /api/auth/refresh` returns a new pair and retires this one.
    refresh_token: String,
    /// The session both tokens belong to.
    #[schema(format = "uuid")]
    session_id: String,
    #[schema(value_type = crate::schema::SessionTypeName)]
    session_type: &'static str,
    #[serde(serialize_with = "timestamp::serialize")]
    #[schema(value_type = String, format = DateTime)]
    access_token_expires_at: OffsetDateTime,
    #[serde(serialize_with = "timestamp::serialize")]
    #[schema(value_type = String, format = DateTime)]
    refresh_token_expires_at: OffsetDateTime,
    user: UserSummaryBody,
}

/// `user` of [`SessionTokensBody`].
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = UserSummary)]
pub struct UserSummaryBody {
    #[schema(format = "uuid")]
    id: String,
    #[schema(value_type = crate::schema::UserTypeName)]
    user_type: &'static str,
    /// Display name.
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
    fn a_null_identifier_is_reported_as_missing() {
        // Found by the fuzz target: this used to be refused with no field named.
        let e = parse_login(&json!({"email": null, "password": "x", "appAudience": "driver_app"}))
            .unwrap_err();
        let fields: Vec<&str> = e.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["email"]);
        let e = parse_login(&json!({"email": 5, "password": "x", "appAudience": "driver_app"}))
            .unwrap_err();
        assert_eq!(e.iter().count(), 1, "{e}");
    }

    #[test]
    fn refresh_needs_exactly_a_token() {
        assert_eq!(parse_refresh(&json!({"refreshToken": "t"})), Ok("t".into()));
        assert!(parse_refresh(&json!({})).is_err());
        assert!(parse_refresh(&json!({"refreshToken": "t", "x": 1})).is_err());
        assert!(parse_refresh(&json!("t")).is_err());
    }

    #[test]
    fn a_socket_refresh_needs_a_non_empty_access_token() {
        assert_eq!(
            parse_socket_refresh(&json!({"accessToken": "a.b.c", "extra": 1})),
            Ok("a.b.c".into())
        );
        for payload in [
            json!({}),
            json!({"accessToken": ""}),
            json!({"accessToken": "  "}),
            json!({"accessToken": 5}),
            json!(null),
            json!(["a.b.c"]),
        ] {
            let e = parse_socket_refresh(&payload).unwrap_err();
            assert!(!e.is_empty(), "{payload}");
        }
    }
}
