//! The OpenAPI document, over real HTTP: served at `/api/openapi.json`, describing exactly the
//! routes the router serves, and describing the bodies the server really sends.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::sync::Arc;

use rodando_adapter_argon2::Argon2Hasher;
use rodando_adapter_http::{HttpState, router, served_routes};
use rodando_adapter_jwt::{JwtConfig, JwtTokenService};
use rodando_adapter_memory::MemoryStore;
use rodando_application::auth::AuthService;
use rodando_application::clock::SystemClock;
use rodando_application::handshake::HandshakeService;
use rodando_application::trips::TripService;
use rodando_application::user_status::UserStatusService;
use rodando_application::users::{NewUser, UserAdmin};
use rodando_domain::dispatch::DispatchPolicy;
use rodando_domain::fare::FareConfig;
use rodando_domain::user::{Email, NewPassword, PersonName, UserType};
use serde_json::{Value, json};

mod support {
    //! A notifier that drops every push: these tests look at HTTP answers only.
    use rodando_domain::availability::DriverAvailability;
    use rodando_domain::ids::SessionId;
    use rodando_domain::session::RevokeReason;
    use rodando_ports::Unexpected;
    use rodando_ports::notifier::{Notification, Notifier, TripAudience, TripEvent};
    use time::OffsetDateTime;

    pub struct NullNotifier;

    #[async_trait::async_trait]
    impl Notifier for NullNotifier {
        async fn driver_availability_changed(
            &self,
            _: &DriverAvailability,
        ) -> Result<(), Unexpected> {
            Ok(())
        }
        async fn driver_location_changed(&self, _: &DriverAvailability) -> Result<(), Unexpected> {
            Ok(())
        }
        async fn driver_trip_changed(&self, _: &DriverAvailability) -> Result<(), Unexpected> {
            Ok(())
        }
        async fn session_revoked(&self, _: SessionId, _: RevokeReason) -> Result<(), Unexpected> {
            Ok(())
        }
        async fn session_refreshed(
            &self,
            _: SessionId,
            _: OffsetDateTime,
        ) -> Result<(), Unexpected> {
            Ok(())
        }
        async fn trip_event(
            &self,
            _: TripAudience,
            _: u64,
            _: &TripEvent,
        ) -> Result<(), Unexpected> {
            Ok(())
        }
        async fn notify(&self, _: SessionId, _: &Notification) -> Result<(), Unexpected> {
            Ok(())
        }
        async fn driver_en_route(
            &self,
            _: TripAudience,
            _: &rodando_ports::notifier::EnRoute,
        ) -> Result<(), Unexpected> {
            Ok(())
        }
    }
}

const PASSWORD: &str = "rodando123";

/// A served router on a free port, over the memory store; returns its base URL.
async fn spawn_api() -> (String, UserAdmin) {
    let store = Arc::new(MemoryStore::new());
    let clock = Arc::new(SystemClock);
    let notifier = Arc::new(support::NullNotifier);
    let tokens = Arc::new(
        JwtTokenService::new(&JwtConfig {
            access_secret: "test access secret, long enough to be a key".into(),
            refresh_secret: "test refresh secret, long enough to be a key".into(),
            issuer: "rodando".into(),
            access_ttl: time::Duration::minutes(15),
            refresh_ttl: time::Duration::days(7),
        })
        .unwrap(),
    );
    let passwords = Arc::new(Argon2Hasher::new().unwrap());
    let auth = AuthService::new(
        store.clone(),
        store.clone(),
        tokens.clone(),
        passwords.clone(),
        notifier.clone(),
        clock.clone(),
    );
    let trips = TripService::new(
        store.clone(),
        store.clone(),
        store.clone(),
        notifier,
        clock.clone(),
        DispatchPolicy::default(),
        FareConfig::default(),
        time::Duration::minutes(2),
    );
    let state = HttpState {
        user_status: UserStatusService::new(
            store.clone(),
            store.clone(),
            auth.clone(),
            trips.clone(),
            clock.clone(),
        ),
        auth,
        handshake: HandshakeService::new(store.clone(), store.clone(), tokens, clock.clone()),
        trips,
        checks: vec![store.clone()],
        throttle: rodando_adapter_http::throttle::Throttle::default(),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router(state)).await });
    (base, UserAdmin::new(store, passwords, clock))
}

async fn create_user(admin: &UserAdmin, email: &str, user_type: UserType) {
    admin
        .create(NewUser {
            email: Email::parse(email).unwrap(),
            phone: None,
            name: PersonName::parse("Test User").unwrap(),
            user_type,
            password: NewPassword::parse(PASSWORD).unwrap(),
        })
        .await
        .unwrap();
}

async fn fetch_document(base: &str) -> Value {
    let response = reqwest::get(format!("{base}/api/openapi.json"))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    response.json().await.unwrap()
}

/// `(method, path)` of every operation the document describes.
fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    doc["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .expect("a path item")
                .keys()
                .filter(|k| ["get", "post", "put", "patch", "delete"].contains(&k.as_str()))
                .map(move |method| (method.clone(), path.clone()))
        })
        .collect()
}

/// Follows `$ref`s and nullable wrappers to an object schema, if the schema is one.
fn object_schema<'a>(doc: &'a Value, mut schema: &'a Value) -> Option<&'a Value> {
    for _ in 0..8 {
        if let Some(target) = schema["$ref"].as_str() {
            schema = doc.pointer(target.strip_prefix('#').unwrap()).unwrap();
        } else if let Some(variants) = schema["oneOf"].as_array() {
            schema = variants.iter().find(|v| v["type"] != "null")?;
        } else {
            return schema["properties"].is_object().then_some(schema);
        }
    }
    None
}

/// Every key `value` holds is a documented property, and every required property is there;
/// nested objects likewise.
fn assert_conforms(doc: &Value, schema: &Value, value: &Value, at: &str) {
    let Some(schema) = object_schema(doc, schema) else {
        return;
    };
    let object = value
        .as_object()
        .unwrap_or_else(|| panic!("{at}: an object, not {value}"));
    let properties = schema["properties"].as_object().unwrap();
    for key in object.keys() {
        assert!(
            properties.contains_key(key),
            "{at}.{key} is sent but not documented"
        );
    }
    for required in schema["required"].as_array().into_iter().flatten() {
        let required = required.as_str().unwrap();
        assert!(
            object.contains_key(required),
            "{at}.{required} is documented as required but not sent"
        );
    }
    for (key, child) in object {
        if child.is_object() {
            assert_conforms(doc, &properties[key], child, &format!("{at}.{key}"));
        }
    }
}

/// Sends `request` and asserts the answer is `status` with a body as the document says
/// `method path` answers with that status; returns the body.
async fn answered_as_documented(
    doc: &Value,
    request: reqwest::RequestBuilder,
    (method, path, status): (&str, &str, u16),
) -> Value {
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), status, "{method} {path}");
    let body: Value = response.json().await.unwrap();
    let schema = response_schema(doc, method, path, status);
    assert_conforms(doc, schema, &body, &format!("{method} {path}"));
    body
}

/// The response schema of `method path` for `status`.
fn response_schema<'a>(doc: &'a Value, method: &str, path: &str, status: u16) -> &'a Value {
    let response = &doc["paths"][path][method]["responses"][status.to_string()];
    assert!(
        response.is_object(),
        "{method} {path} documents no {status}"
    );
    &response["content"]["application/json"]["schema"]
}

#[tokio::test]
async fn the_document_is_openapi_3_json_naming_the_bearer_scheme() {
    let (base, _) = spawn_api().await;
    let doc = fetch_document(&base).await;
    let version = doc["openapi"].as_str().unwrap();
    assert!(version.starts_with("3."), "{version}");
    assert!(!doc["info"]["title"].as_str().unwrap().is_empty());
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    let request = &doc["paths"]["/api/trips"]["post"];
    let header = request["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "Idempotency-Key")
        .expect("Idempotency-Key is documented");
    assert_eq!(header["in"], "header");
    assert_eq!(request["security"], json!([{"bearer": []}]));
}

#[tokio::test]
async fn every_route_the_router_serves_is_documented_and_nothing_else() {
    let (base, _) = spawn_api().await;
    let doc = fetch_document(&base).await;
    let served: BTreeSet<(String, String)> = served_routes()
        .into_iter()
        .map(|(verb, path)| (verb.as_str().to_owned(), path.to_owned()))
        .collect();
    assert_eq!(documented(&doc), served);
    for (method, path) in &served {
        let operation = &doc["paths"][path.as_str()][method.as_str()];
        assert!(
            operation["responses"]
                .as_object()
                .is_some_and(|r| !r.is_empty()),
            "{method} {path} documents its responses"
        );
        assert!(
            operation["summary"].is_string(),
            "{method} {path} has a summary"
        );
        let public = [
            "/api/auth/login",
            "/api/auth/refresh",
            "/api/openapi.json",
            "/health",
            "/ready",
        ];
        if !public.contains(&path.as_str()) {
            assert_eq!(
                operation["security"],
                json!([{"bearer": []}]),
                "{method} {path}"
            );
        }
    }
}

#[tokio::test]
async fn every_documented_route_is_routed() {
    let (base, _) = spawn_api().await;
    let doc = fetch_document(&base).await;
    let client = reqwest::Client::new();
    for (method, path) in documented(&doc) {
        let url = format!(
            "{base}{}",
            path.replace("{id}", "6f9619ff-8b86-4011-b42d-00c04fc964ff")
        );
        let request = match method.as_str() {
            "get" => client.get(&url),
            "patch" => client.patch(&url).json(&json!({})),
            _ => client.post(&url).json(&json!({})),
        };
        let status = request.send().await.unwrap().status().as_u16();
        // Unauthenticated and empty: refused by the handler (401/400), never by the fallbacks.
        assert!(
            status != 404 && status != 405,
            "{method} {path} answered {status}"
        );
    }
}

#[tokio::test]
async fn the_bodies_the_server_sends_are_the_documented_ones() {
    let (base, admin) = spawn_api().await;
    create_user(&admin, "rider@rodando.test", UserType::Passenger).await;
    create_user(&admin, "ops@rodando.test", UserType::Admin).await;
    let doc = fetch_document(&base).await;
    let client = reqwest::Client::new();
    let login = |email: &'static str, audience: &'static str| {
        client
            .post(format!("{base}/api/auth/login"))
            .json(&json!({"email": email, "password": PASSWORD, "appAudience": audience}))
    };

    let session = answered_as_documented(
        &doc,
        login("rider@rodando.test", "passenger_app"),
        ("post", "/api/auth/login", 200),
    )
    .await;

    let token = session["accessToken"].as_str().unwrap();
    let create = client
        .post(format!("{base}/api/trips"))
        .bearer_auth(token)
        .header("Idempotency-Key", "trip-1")
        .json(&json!({
            "pickup": {"latitude": 23.1136, "longitude": -82.3666, "address": "Parque Central"},
            "dropoff": {"latitude": 23.1330, "longitude": -82.3830},
        }));
    let trip = answered_as_documented(&doc, create, ("post", "/api/trips", 201)).await;
    assert_eq!(trip["paymentMethod"], "cash");

    let ops: Value = login("ops@rodando.test", "admin_panel")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ops_token = ops["accessToken"].as_str().unwrap();
    let nearby = client
        .get(format!(
            "{base}/api/drivers/available?latitude=23.11&longitude=-82.36"
        ))
        .bearer_auth(ops_token);
    answered_as_documented(&doc, nearby, ("get", "/api/drivers/available", 200)).await;

    let deactivate = client
        .patch(format!(
            "{base}/api/users/{}",
            session["user"]["id"].as_str().unwrap()
        ))
        .bearer_auth(ops_token)
        .json(&json!({"status": "inactive"}));
    let user = answered_as_documented(&doc, deactivate, ("patch", "/api/users/{id}", 200)).await;
    assert_eq!(user["status"], "inactive");
    assert_eq!(user["type"], "passenger");

    let bad_login = client
        .post(format!("{base}/api/auth/login"))
        .json(&json!({"email": 5, "tip": true}));
    let refused = answered_as_documented(&doc, bad_login, ("post", "/api/auth/login", 400)).await;
    assert_eq!(refused["error"]["code"], "validation_failed");
}
