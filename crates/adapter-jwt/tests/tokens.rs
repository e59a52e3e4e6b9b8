//! The token service against forged, expired and confused tokens.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests state their expectations by unwrapping

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use rodando_adapter_jwt::{JwtConfig, JwtConfigError, JwtTokenService};
use rodando_domain::ids::{SessionId, UserId};
use rodando_domain::user::{AppAudience, UserType};
use rodando_ports::tokens::{AccessGrant, RefreshGrant, TokenError, TokenService};
use serde_json::json;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

const NOW: OffsetDateTime = datetime!(2026-05-01 10:00 UTC);
const ACCESS_SECRET: &str = "access-secret-for-tests";
const REFRESH_SECRET: &str = "refresh-secret-for-tests";

fn config() -> JwtConfig {
    JwtConfig {
        access_secret: ACCESS_SECRET.into(),
        refresh_secret: REFRESH_SECRET.into(),
        issuer: "rodando".into(),
        access_ttl: Duration::minutes(15),
        refresh_ttl: Duration::days(7),
    }
}

fn service() -> JwtTokenService {
    JwtTokenService::new(&config()).unwrap()
}

fn grant() -> AccessGrant {
    AccessGrant {
        user_id: UserId::from_uuid(Uuid::from_u128(11)),
        session_id: SessionId::from_uuid(Uuid::from_u128(22)),
        user_type: UserType::Driver,
        audience: AppAudience::DriverApp,
        email: Some("driver1@rodando.local".into()),
        phone_number: None,
    }
}

/// The refresh grant of `g`'s session, with id `jti`.
fn refresh_grant(g: &AccessGrant, jti: Uuid) -> RefreshGrant {
    RefreshGrant {
        user_id: g.user_id,
        session_id: g.session_id,
        jti,
    }
}

/// Claims exactly as a real access token carries them, for forging variants.
fn access_claims() -> serde_json::Value {
    json!({
        "sub": Uuid::from_u128(11).to_string(),
        "sid": Uuid::from_u128(22).to_string(),
        "userType": "driver",
        "aud": "driver_app",
        "iat": NOW.unix_timestamp(),
        "exp": (NOW + Duration::minutes(15)).unix_timestamp(),
        "iss": "rodando",
        "typ": "access",
    })
}

fn sign(alg: Algorithm, secret: &str, claims: &serde_json::Value) -> String {
    encode(
        &Header::new(alg),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

fn invalid(result: Result<impl std::fmt::Debug, TokenError>) -> bool {
    matches!(result, Err(TokenError::Invalid(_)))
}

#[test]
fn an_issued_access_token_verifies_with_its_grant() {
    let s = service();
    let token = s.issue_access(&grant(), NOW).unwrap();
    assert_eq!(token.expires_at, NOW + Duration::minutes(15));
    let claims = s.verify_access(&token.token, NOW).unwrap();
    assert_eq!(claims.grant, grant());
    assert_eq!(claims.expires_at, token.expires_at);
    // A "Bearer " prefix is tolerated.
    assert!(
        s.verify_access(&format!("Bearer {}", token.token), NOW)
            .is_ok()
    );
}

#[test]
fn a_hand_signed_token_with_the_same_claims_is_accepted() {
    // Proves the forgery tests below fail for the defect they name, not for their shape.
    let token = sign(Algorithm::HS256, ACCESS_SECRET, &access_claims());
    assert!(service().verify_access(&token, NOW).is_ok());
}

#[test]
fn an_issued_refresh_token_verifies_with_its_jti() {
    let s = service();
    let jti = Uuid::from_u128(33);
    let g = grant();
    let token = s.issue_refresh(&refresh_grant(&g, jti), NOW).unwrap();
    let claims = s.verify_refresh(&token.token, NOW).unwrap();
    assert_eq!(
        (claims.user_id, claims.session_id, claims.jti),
        (g.user_id, g.session_id, jti)
    );
}

#[test]
fn expiry_is_reported_as_expired_after_the_leeway() {
    let s = service();
    let token = s.issue_access(&grant(), NOW).unwrap();
    let exp = token.expires_at;
    assert!(
        s.verify_access(&token.token, exp + Duration::seconds(1))
            .is_ok(),
        "within leeway"
    );
    assert_eq!(
        s.verify_access(&token.token, exp + Duration::seconds(5)),
        Err(TokenError::Expired)
    );
}

#[test]
fn alg_none_is_refused() {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let body = URL_SAFE_NO_PAD.encode(access_claims().to_string());
    for token in [format!("{header}.{body}."), format!("{header}.{body}")] {
        assert!(invalid(service().verify_access(&token, NOW)), "{token}");
    }
}

#[test]
fn other_algorithms_are_refused_even_with_the_right_secret() {
    for alg in [Algorithm::HS384, Algorithm::HS512] {
        let token = sign(alg, ACCESS_SECRET, &access_claims());
        assert!(invalid(service().verify_access(&token, NOW)), "{alg:?}");
    }
}

#[test]
fn an_rs256_header_signed_with_the_hmac_secret_is_refused() {
    // The classic RS/HS confusion: claim RS256, sign with HMAC over the "public key".
    use hmac_sign::sign_hs256_with_header;
    let token = sign_hs256_with_header(
        r#"{"alg":"RS256","typ":"JWT"}"#,
        &access_claims(),
        ACCESS_SECRET,
    );
    assert!(invalid(service().verify_access(&token, NOW)));
}

#[test]
fn a_wrong_key_or_issuer_is_refused() {
    assert!(invalid(service().verify_access(
        &sign(Algorithm::HS256, "another-key", &access_claims()),
        NOW
    )));
    let mut claims = access_claims();
    claims["iss"] = json!("someone-else");
    assert!(invalid(service().verify_access(
        &sign(Algorithm::HS256, ACCESS_SECRET, &claims),
        NOW
    )));
    claims.as_object_mut().unwrap().remove("iss");
    assert!(invalid(service().verify_access(
        &sign(Algorithm::HS256, ACCESS_SECRET, &claims),
        NOW
    )));
}

#[test]
fn refresh_and_access_tokens_cannot_stand_in_for_each_other() {
    let s = service();
    let g = grant();
    let refresh = s
        .issue_refresh(&refresh_grant(&g, Uuid::from_u128(1)), NOW)
        .unwrap();
    assert!(invalid(s.verify_access(&refresh.token, NOW)));
    let access = s.issue_access(&g, NOW).unwrap();
    assert!(invalid(s.verify_refresh(&access.token, NOW)));
    // Even signed with the access key, typ "refresh" is not an access token.
    let mut claims = access_claims();
    claims["typ"] = json!("refresh");
    assert!(invalid(s.verify_access(
        &sign(Algorithm::HS256, ACCESS_SECRET, &claims),
        NOW
    )));
}

#[test]
fn not_yet_valid_and_malformed_claims_are_refused() {
    let mut claims = access_claims();
    claims["nbf"] = json!((NOW + Duration::minutes(5)).unix_timestamp());
    assert!(invalid(service().verify_access(
        &sign(Algorithm::HS256, ACCESS_SECRET, &claims),
        NOW
    )));
    for (field, value) in [
        ("sub", json!("not-a-uuid")),
        ("sid", json!(42)),
        ("userType", json!("pilot")),
        ("aud", json!("space_app")),
        ("exp", json!("tomorrow")),
    ] {
        let mut claims = access_claims();
        claims[field] = value;
        assert!(
            invalid(service().verify_access(&sign(Algorithm::HS256, ACCESS_SECRET, &claims), NOW)),
            "{field}"
        );
    }
}

#[test]
fn garbage_and_oversized_tokens_are_refused() {
    let s = service();
    for token in [
        "",
        "garbage",
        "a.b.c",
        "...",
        "Bearer ",
        &"x".repeat(100_000),
    ] {
        assert!(invalid(s.verify_access(token, NOW)), "{token:.20}");
    }
}

#[test]
fn equal_or_empty_secrets_are_a_configuration_error() {
    let mut c = config();
    c.refresh_secret = ACCESS_SECRET.into();
    assert_eq!(
        JwtTokenService::new(&c).err(),
        Some(JwtConfigError::SameSecrets)
    );
    c.refresh_secret = "".into();
    assert_eq!(
        JwtTokenService::new(&c).err(),
        Some(JwtConfigError::EmptySecret)
    );
}

/// Signs arbitrary header bytes with HMAC-SHA256, which `jsonwebtoken` will not do for a
/// mismatched header (that is the point of the attack).
mod hmac_sign {
    use super::*;

    pub fn sign_hs256_with_header(
        header: &str,
        claims: &serde_json::Value,
        secret: &str,
    ) -> String {
        // Reuse jsonwebtoken's own HS256 signature over our chosen signing input.
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = jsonwebtoken::crypto::sign(
            signing_input.as_bytes(),
            &EncodingKey::from_secret(secret.as_bytes()),
            Algorithm::HS256,
        )
        .unwrap();
        format!("{signing_input}.{signature}")
    }
}
