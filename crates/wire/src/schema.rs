//! Typed shapes of the REST request bodies and of the contract's enumerations, for the OpenAPI
//! document and the AsyncAPI check only. The parsers read `serde_json::Value` so one answer can name every bad field;
//! these types describe what the parsers accept, and the tests below hold them to the parsers'
//! field lists and to the domain's names, so the published schema cannot drift from the code.

use std::borrow::Cow;

use rodando_domain::admission::Namespace;
use rodando_domain::trip::{ActorKind, TripStatus};
use serde_json::Value;
use utoipa::ToSchema;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};

/// `POST /api/auth/login`. Exactly one of `email` and `phoneNumber` identifies the user.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase", as = LoginRequest)]
pub struct LoginBody {
    /// Case-insensitive.
    #[schema(format = Email, example = "driver1@rodando.local")]
    pub email: Option<String>,
    /// International form: optional `+`, 7 to 15 digits; spaces and dashes are ignored.
    #[schema(example = "+53 5000 0011")]
    pub phone_number: Option<String>,
    /// 1 to 1024 characters.
    #[schema(format = Password, min_length = 1, max_length = 1024, example = "rodando123")]
    pub password: String,
    /// Must fit the user's type: driver_app ↔ driver, passenger_app ↔ passenger,
    /// admin_panel ↔ admin (else 403 `audience_mismatch`).
    pub app_audience: AppAudienceName,
    /// Default `mobile_app`.
    pub session_type: Option<SessionTypeName>,
    /// Free-form description of the device (a string or any JSON); kept as at most 512
    /// printable characters, for operators.
    pub device_info: Option<Value>,
}

/// `POST /api/auth/refresh`.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase", as = RefreshRequest)]
pub struct RefreshBody {
    /// The refresh token of the last login or refresh; it stops working once used.
    pub refresh_token: String,
}

/// A pickup or dropoff. `(0, 0)` is refused as a null-island fix.
#[derive(ToSchema)]
#[schema(as = PlaceInput)]
pub struct PlaceInput {
    /// Degrees north.
    #[schema(minimum = -90.0, maximum = 90.0, example = 23.1136)]
    pub latitude: f64,
    /// Degrees east.
    #[schema(minimum = -180.0, maximum = 180.0, example = -82.3666)]
    pub longitude: f64,
    /// At most 300 printable characters; trimmed.
    #[schema(max_length = 300, example = "Parque Central")]
    pub address: Option<String>,
}

/// `POST /api/trips` (and the socket event `trip:request`).
#[derive(ToSchema)]
#[schema(rename_all = "camelCase", as = TripRequest)]
pub struct TripRequestBody {
    /// Where the passenger waits.
    pub pickup: PlaceInput,
    /// Where the trip ends.
    pub dropoff: PlaceInput,
    /// Default `cash`.
    pub payment_method: Option<PaymentMethodName>,
}

/// `POST /api/trips/{id}/cancel`; the body may be left out.
#[derive(ToSchema)]
#[schema(as = CancelRequest)]
pub struct CancelBody {
    /// At most 300 printable characters.
    #[schema(max_length = 300)]
    pub reason: Option<String>,
}

/// `POST /api/trips/{id}/complete`; the body may be left out, and the fare then comes from
/// the estimate's distance and duration.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase", as = CompleteRequest)]
pub struct CompleteBody {
    /// Kilometres driven, 0 to 2000.
    #[schema(minimum = 0.0, maximum = 2000.0)]
    pub actual_distance_km: Option<f64>,
    /// Minutes driven, 0 to 1440.
    #[schema(minimum = 0.0, maximum = 1440.0)]
    pub actual_duration_min: Option<f64>,
}

/// Which app logs in.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case", as = AppAudience)]
pub enum AppAudienceName {
    /// Drivers.
    DriverApp,
    /// Passengers.
    PassengerApp,
    /// The operations dashboard.
    AdminPanel,
}

/// Kind of client of a session.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case", as = SessionType)]
pub enum SessionTypeName {
    /// A browser.
    Web,
    /// A phone app.
    MobileApp,
    /// Another service.
    ApiClient,
}

/// Kind of user.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case", as = UserType)]
pub enum UserTypeName {
    /// Drives trips.
    Driver,
    /// Requests trips.
    Passenger,
    /// Operates the service.
    Admin,
}

/// How the passenger pays.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case", as = PaymentMethod)]
pub enum PaymentMethodName {
    /// Cash to the driver.
    Cash,
    /// Card.
    Card,
}

/// A driver's availability as clients see it.
#[derive(ToSchema)]
#[schema(rename_all = "SCREAMING_SNAKE_CASE", as = AvailabilityStatus)]
pub enum AvailabilityStatusName {
    /// Online and taking trips.
    Available,
    /// Online, not taking trips.
    Busy,
    /// Not online.
    Offline,
}

/// Why a driver is not available for trips (`null` when it is).
#[derive(ToSchema)]
#[schema(rename_all = "SCREAMING_SNAKE_CASE", as = AvailabilityReason)]
pub enum AvailabilityReasonName {
    /// Not online.
    Offline,
    /// Holding a trip.
    OnTrip,
    /// Online but paused.
    Unavailable,
}

/// Why a session ended (`auth:session_revoked`).
#[derive(ToSchema)]
#[schema(rename_all = "snake_case", as = RevokeReason)]
pub enum RevokeReasonName {
    /// The user logged out.
    Logout,
    /// A used refresh token was presented again: theft is assumed.
    RefreshTokenReuse,
    /// An operator, or the session's user was blocked.
    Admin,
}

/// A string enumeration whose values are the domain's own names (an `ALL` list mapped to its
/// wire names), published as schema `$as`: nothing to keep in step by hand.
macro_rules! domain_names {
    ($(#[doc = $doc:literal])* $name:ident as $as:literal = $values:expr) => {
        $(#[doc = $doc])*
        pub struct $name;

        impl utoipa::PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .description(Some(concat!($($doc),*).trim()))
                    .enum_values(Some($values))
                    .into()
            }
        }

        impl ToSchema for $name {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed($as)
            }
        }
    };
}

domain_names! {
    /// Where a trip is in its life.
    TripStatusName as "TripStatus" = TripStatus::ALL.map(TripStatus::as_str)
}

domain_names! {
    /// Who cancelled a trip (`cancelledBy`).
    CancellerName as "Canceller" = ActorKind::ALL.map(ActorKind::as_str)
}

domain_names! {
    /// A namespace, by its path (`hello.nsp`).
    NamespacePathName as "NamespacePath" = Namespace::ALL.map(Namespace::path)
}

/// The only GeoJSON geometry sent: `Point`.
#[derive(ToSchema)]
#[schema(as = GeoJsonType)]
pub enum GeoJsonTypeName {
    /// A position.
    Point,
}

/// The status of an offer the driver just rejected.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case", as = RejectedStatus)]
pub enum RejectedStatusName {
    /// Closed by the driver's rejection.
    Rejected,
}

/// A schema of one constant value: `$name` documents a field that always holds `$value`.
macro_rules! constant_schema {
    ($(#[$meta:meta])* $name:ident: $kind:ident = $value:expr) => {
        $(#[$meta])*
        pub struct $name;

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::$kind)
                    .enum_values(Some([$value]))
                    .into()
            }
        }

        impl ToSchema for $name {}
    };
}

constant_schema!(
    /// `true`, always: the `ok` of payloads that succeed by construction (`hello`, a successful
    /// ack), which clients of the original server test.
    AlwaysTrue: Boolean = true
);
constant_schema!(
    /// `false`, always: the `ok` of a failed ack.
    AlwaysFalse: Boolean = false
);
constant_schema!(
    /// `"error"`, always: the `status` of `exception`.
    AlwaysError: String = "error"
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{auth, trips};
    use rodando_domain::session::SessionType;
    use rodando_domain::trip::{PaymentMethod, TripStatus};
    use rodando_domain::user::{AppAudience, UserType};
    use std::collections::BTreeSet;
    use utoipa::PartialSchema;

    /// The schema of `T` as JSON, to read its properties and enum values.
    fn schema_of<T: PartialSchema>() -> Value {
        serde_json::to_value(T::schema()).unwrap_or(Value::Null)
    }

    fn properties<T: PartialSchema>() -> BTreeSet<String> {
        schema_of::<T>()["properties"]
            .as_object()
            .map(|p| p.keys().cloned().collect())
            .unwrap_or_default()
    }

    fn enum_values<T: PartialSchema>() -> Vec<String> {
        schema_of::<T>()["enum"]
            .as_array()
            .map(|v| {
                v.iter()
                    .filter_map(|s| s.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// `T` publishes three names, each one the domain `parses`.
    fn three_parsed<T: PartialSchema>(parses: fn(&str) -> bool) {
        let names = enum_values::<T>();
        assert_eq!(names.len(), 3, "{names:?}");
        assert!(names.iter().all(|n| parses(n)), "{names:?}");
    }

    fn set(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|n| (*n).to_owned()).collect()
    }

    #[test]
    fn request_schemas_have_exactly_the_fields_the_parsers_accept() {
        assert_eq!(properties::<LoginBody>(), set(auth::LOGIN_FIELDS));
        assert_eq!(properties::<RefreshBody>(), set(auth::REFRESH_FIELDS));
        assert_eq!(
            properties::<TripRequestBody>(),
            set(trips::TRIP_REQUEST_FIELDS)
        );
        assert_eq!(properties::<PlaceInput>(), set(trips::PLACE_FIELDS));
        assert_eq!(properties::<CancelBody>(), set(trips::CANCEL_FIELDS));
        assert_eq!(properties::<CompleteBody>(), set(trips::COMPLETE_FIELDS));
    }

    #[test]
    fn enumerations_publish_the_domain_names() {
        assert_eq!(
            enum_values::<TripStatusName>(),
            TripStatus::ALL.map(TripStatus::as_str)
        );
        three_parsed::<AppAudienceName>(|a| AppAudience::parse(a).is_ok());
        three_parsed::<UserTypeName>(|t| UserType::parse(t).is_ok());
        three_parsed::<SessionTypeName>(|s| SessionType::parse(s).is_ok());
        assert_eq!(
            enum_values::<PaymentMethodName>(),
            [PaymentMethod::Cash.as_str(), PaymentMethod::Card.as_str()]
        );
    }

    #[test]
    fn outbound_enumerations_publish_the_domain_names() {
        use rodando_domain::admission::Namespace;
        use rodando_domain::availability::{AvailabilityReason, AvailabilityStatus};
        use rodando_domain::offer::OfferStatus;
        use rodando_domain::session::RevokeReason;
        use rodando_domain::trip::ActorKind;
        assert_eq!(
            enum_values::<AvailabilityStatusName>(),
            [
                AvailabilityStatus::Available,
                AvailabilityStatus::Busy,
                AvailabilityStatus::Offline
            ]
            .map(AvailabilityStatus::as_str)
        );
        three_parsed::<AvailabilityReasonName>(|r| AvailabilityReason::parse(r).is_ok());
        three_parsed::<RevokeReasonName>(|r| RevokeReason::parse(r).is_ok());
        assert_eq!(
            enum_values::<CancellerName>(),
            ActorKind::ALL.map(ActorKind::as_str)
        );
        assert_eq!(
            enum_values::<NamespacePathName>(),
            Namespace::ALL.map(Namespace::path)
        );
        assert_eq!(
            enum_values::<RejectedStatusName>(),
            [OfferStatus::Rejected.as_str()]
        );
        assert_eq!(enum_values::<GeoJsonTypeName>(), ["Point"]);
        assert_eq!(schema_of::<AlwaysTrue>()["enum"], serde_json::json!([true]));
        assert_eq!(
            schema_of::<AlwaysFalse>()["enum"],
            serde_json::json!([false])
        );
        assert_eq!(
            schema_of::<AlwaysError>()["enum"],
            serde_json::json!(["error"])
        );
    }
}
