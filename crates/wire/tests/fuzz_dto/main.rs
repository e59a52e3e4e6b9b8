//! Fuzzing of every DTO → domain conversion in rodando-wire (proptest; `cargo fuzz` needs a
//! nightly toolchain CI does not have).
//!
//! Each target feeds one parser two kinds of input: adversarial JSON of any shape, and
//! near-valid payloads (a valid payload with one mutation, or none). For every case:
//! the parser does not panic; an unmutated payload is accepted; an accepted value satisfies
//! the domain's invariants and survives a round trip (render it as the canonical payload,
//! parse again, get the same value); a refusal names at least one field, with short paths
//! and messages, and renders as a `validation_failed` body.
//!
//! `FUZZ_CASES` sets the cases per target (default 300); `just fuzz` runs 100 000 per target
//! in release mode. See [`budget`].
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod adversarial;
mod budget;
mod payloads;

use std::collections::HashMap;

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use rodando_application::auth::{LoginIdentifier, LoginRequest};
use rodando_domain::availability::{LocationFix, StatusCommand};
use rodando_domain::trip::Place;
use rodando_domain::validation::FieldErrors;
use rodando_wire::error::ErrorBody;
use rodando_wire::{auth, availability, nearby, timestamp, trips};
use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;

use budget::{Budget, Verdict};
use payloads::Case;

type Checked = Result<Verdict, TestCaseError>;

/// Longest field path a refusal may echo: a nested prefix plus a name cut to 64 characters.
const MAX_FIELD_PATH_CHARS: usize = 64 + 16;
/// Longest message a refusal may carry (messages never echo client input at length).
const MAX_MESSAGE_CHARS: usize = 300;

/// Adversarial JSON half the time, near-valid payloads the other half.
fn inputs(
    valid: impl Strategy<Value = Value> + 'static,
    known: &'static [&'static str],
) -> impl Strategy<Value = Case> {
    prop_oneof![
        adversarial::value(known).prop_map(|payload| Case {
            payload,
            pristine: false,
        }),
        payloads::near_valid(valid, known),
    ]
}

/// The common verdict: a pristine payload must be accepted; an accepted one must pass
/// `accepted`; a refusal must be well formed.
fn judge<T>(
    case: &Case,
    outcome: Result<T, FieldErrors>,
    accepted: impl FnOnce(T) -> Result<(), TestCaseError>,
) -> Checked {
    match outcome {
        Ok(value) => {
            accepted(value)?;
            Ok(Verdict::Accepted)
        }
        Err(errors) => {
            prop_assert!(
                !case.pristine,
                "a valid payload was refused: {} -> {errors}",
                case.payload
            );
            well_formed_refusal(&errors)
        }
    }
}

fn well_formed_refusal(errors: &FieldErrors) -> Checked {
    prop_assert!(!errors.is_empty(), "a refusal names no field");
    for e in errors.iter() {
        // An empty key (`{"": 1}`) is reported as it was sent: an empty, unknown field name.
        prop_assert!(
            !e.field.is_empty() || e.message == "is not a known field",
            "{e:?}"
        );
        prop_assert!(
            e.field.chars().count() <= MAX_FIELD_PATH_CHARS,
            "field path too long: {}",
            e.field
        );
        prop_assert!(!e.message.is_empty());
        prop_assert!(
            e.message.chars().count() <= MAX_MESSAGE_CHARS,
            "message too long: {}",
            e.message
        );
    }
    let body = serde_json::to_value(ErrorBody::validation(errors)).unwrap();
    prop_assert_eq!(&body["code"], "validation_failed");
    prop_assert_eq!(
        body["details"]["fields"].as_array().map(Vec::len),
        Some(errors.iter().count())
    );
    Ok(Verdict::Refused)
}

fn point_is_valid(lat: f64, lon: f64) -> Result<(), TestCaseError> {
    prop_assert!(
        lat.is_finite() && (-90.0..=90.0).contains(&lat),
        "latitude {lat}"
    );
    prop_assert!(
        lon.is_finite() && (-180.0..=180.0).contains(&lon),
        "longitude {lon}"
    );
    prop_assert!(!(lat == 0.0 && lon == 0.0), "null island accepted");
    Ok(())
}

/// Trimmed, non-empty, at most `max` characters, no control characters.
fn text_is_clean(text: &str, max: usize) -> Result<(), TestCaseError> {
    prop_assert!(
        !text.is_empty() && text.trim() == text,
        "untrimmed: {text:?}"
    );
    prop_assert!(text.chars().count() <= max, "longer than {max}");
    prop_assert!(
        !text.chars().any(char::is_control),
        "control character kept"
    );
    Ok(())
}

fn in_range(v: Option<f64>, min: f64, max: f64) -> Result<(), TestCaseError> {
    if let Some(v) = v {
        prop_assert!(
            v.is_finite() && (min..=max).contains(&v),
            "{v} outside [{min}, {max}]"
        );
    }
    Ok(())
}

fn place_json(p: &Place) -> Value {
    json!({
        "latitude": p.point.latitude().degrees(),
        "longitude": p.point.longitude().degrees(),
        "address": p.address,
    })
}

fn place_is_valid(p: &Place) -> Result<(), TestCaseError> {
    point_is_valid(p.point.latitude().degrees(), p.point.longitude().degrees())?;
    if let Some(a) = &p.address {
        text_is_clean(a, Place::MAX_ADDRESS_CHARS)?;
    }
    Ok(())
}

fn reason_is_valid(reason: Option<&String>) -> Result<(), TestCaseError> {
    reason.map_or(Ok(()), |r| text_is_clean(r, trips::MAX_REASON_CHARS))
}

fn full_rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap()
}

#[test]
fn fuzz_login() {
    let strategy = inputs(payloads::login(), auth::LOGIN_FIELDS);
    let tally = Budget::from_env().run("parse_login", strategy, |case| {
        judge(
            &case,
            auth::parse_login(&case.payload),
            |r: LoginRequest| {
                let chars = r.password.chars().count();
                prop_assert!((1..=auth::MAX_PASSWORD_CHARS).contains(&chars));
                if let Some(d) = &r.device_info {
                    text_is_clean(d.as_str(), rodando_domain::session::DeviceInfo::MAX_CHARS)?;
                }
                let identifier = match &r.identifier {
                    LoginIdentifier::Email(e) => json!({ "email": e.as_str() }),
                    LoginIdentifier::Phone(p) => json!({ "phoneNumber": p.as_str() }),
                };
                let mut again = json!({
                    "password": r.password,
                    "appAudience": r.audience.as_str(),
                    "sessionType": r.session_type.as_str(),
                    "deviceInfo": r.device_info.as_ref().map(|d| d.as_str()),
                });
                again
                    .as_object_mut()
                    .unwrap()
                    .extend(identifier.as_object().unwrap().clone());
                let back = auth::parse_login(&again)
                    .map_err(|e| TestCaseError::fail(format!("round trip refused: {e}")))?;
                prop_assert_eq!(back.identifier, r.identifier);
                prop_assert_eq!(back.password, r.password);
                prop_assert_eq!(back.audience, r.audience);
                prop_assert_eq!(back.session_type, r.session_type);
                prop_assert_eq!(back.device_info, r.device_info);
                Ok(())
            },
        )
    });
    tally.assert_both_branches("parse_login");
}

#[test]
fn fuzz_refresh() {
    let strategy = inputs(payloads::refresh(), auth::REFRESH_FIELDS);
    let tally = Budget::from_env().run("parse_refresh", strategy, |case| {
        judge(&case, auth::parse_refresh(&case.payload), |token| {
            prop_assert_eq!(Some(token.as_str()), case.payload["refreshToken"].as_str());
            Ok(())
        })
    });
    tally.assert_both_branches("parse_refresh");
}

#[test]
fn fuzz_socket_refresh() {
    let strategy = inputs(payloads::socket_refresh(), &["accessToken"]);
    let tally = Budget::from_env().run("parse_socket_refresh", strategy, |case| {
        judge(&case, auth::parse_socket_refresh(&case.payload), |token| {
            prop_assert!(!token.trim().is_empty());
            prop_assert_eq!(Some(token.as_str()), case.payload["accessToken"].as_str());
            Ok(())
        })
    });
    tally.assert_both_branches("parse_socket_refresh");
}

#[test]
fn fuzz_status_update() {
    let known = &["availabilityStatus", "isOnline", "isAvailableForTrips"];
    let strategy = inputs(payloads::status_update(), known);
    let tally = Budget::from_env().run("parse_status_update", strategy, |case| {
        judge(
            &case,
            availability::parse_status_update(&case.payload),
            |command| {
                let name = match command {
                    StatusCommand::Available => "AVAILABLE",
                    StatusCommand::Busy => "BUSY",
                    StatusCommand::Offline => "OFFLINE",
                };
                if let Some(asked) = case.payload.get("availabilityStatus") {
                    prop_assert_eq!(
                        asked.as_str(),
                        Some(name),
                        "status differs from the one asked"
                    );
                } else {
                    prop_assert_eq!(
                        case.payload["isOnline"].as_bool(),
                        Some(command != StatusCommand::Offline)
                    );
                }
                let back =
                    availability::parse_status_update(&json!({ "availabilityStatus": name }));
                prop_assert_eq!(back, Ok(command));
                Ok(())
            },
        )
    });
    tally.assert_both_branches("parse_status_update");
}

#[test]
fn fuzz_location_ping() {
    let known = &[
        "latitude",
        "longitude",
        "lat",
        "lng",
        "accuracyMeters",
        "heading",
        "speedKph",
        "recordedAt",
    ];
    let strategy = inputs(payloads::location_ping(), known);
    let tally = Budget::from_env().run("parse_location_ping", strategy, |case| {
        // The socket reads a ping from the frame's text, not from a `Value`: the same answer.
        // (Both from the text: serde_json reads a float's last digit the same way for both.)
        let text = case.payload.to_string();
        let read = serde_json::from_str::<availability::LocationPing>(&text).map(|p| p.validate());
        match serde_json::from_str::<serde_json::Value>(&text) {
            Ok(value) => {
                prop_assert_eq!(read.ok(), Some(availability::parse_location_ping(&value)));
            }
            // Nested deeper than serde_json builds a `Value`: the ping skips what it does not
            // read without that limit (serde_json ignores a value without recursing), so it
            // still reads the payload, whose other fields decide.
            Err(_) => prop_assert!(read.is_ok()),
        }
        judge(
            &case,
            availability::parse_location_ping(&case.payload),
            |fix: LocationFix| {
                point_is_valid(
                    fix.point.latitude().degrees(),
                    fix.point.longitude().degrees(),
                )?;
                in_range(fix.accuracy_m, 0.0, 100_000.0)?;
                in_range(fix.heading_deg, 0.0, 360.0)?;
                in_range(fix.speed_kph, 0.0, 500.0)?;
                if let Some(t) = fix.recorded_at {
                    prop_assert!(t.offset().is_utc());
                }
                let again = json!({
                    "latitude": fix.point.latitude().degrees(),
                    "longitude": fix.point.longitude().degrees(),
                    "accuracyMeters": fix.accuracy_m,
                    "heading": fix.heading_deg,
                    "speedKph": fix.speed_kph,
                    "recordedAt": fix.recorded_at.map(full_rfc3339),
                });
                prop_assert_eq!(availability::parse_location_ping(&again), Ok(fix));
                Ok(())
            },
        )
    });
    tally.assert_both_branches("parse_location_ping");
}

#[test]
fn fuzz_trip_set() {
    let strategy = inputs(payloads::trip_set(), &["tripId", "currentTripId"]);
    let tally = Budget::from_env().run("parse_trip_set", strategy, |case| {
        judge(&case, availability::parse_trip_set(&case.payload), |trip| {
            let again = json!({ "tripId": trip.map(|t| t.to_string()) });
            if let Some(t) = trip {
                let text = t.to_string();
                prop_assert_eq!(text.to_lowercase(), text);
            }
            prop_assert_eq!(availability::parse_trip_set(&again), Ok(trip));
            Ok(())
        })
    });
    tally.assert_both_branches("parse_trip_set");
}

#[test]
fn fuzz_trip_request() {
    let known = &[
        "pickup",
        "dropoff",
        "paymentMethod",
        "latitude",
        "longitude",
        "address",
    ];
    let strategy = inputs(payloads::trip_request(), known);
    let tally = Budget::from_env().run("parse_trip_request", strategy, |case| {
        judge(&case, trips::parse_trip_request(&case.payload), |request| {
            place_is_valid(&request.pickup)?;
            place_is_valid(&request.dropoff)?;
            let again = json!({
                "pickup": place_json(&request.pickup),
                "dropoff": place_json(&request.dropoff),
                "paymentMethod": request.payment_method.as_str(),
            });
            prop_assert_eq!(trips::parse_trip_request(&again), Ok(request));
            Ok(())
        })
    });
    tally.assert_both_branches("parse_trip_request");
}

#[test]
fn fuzz_trip_ref() {
    let strategy = inputs(payloads::reference("tripId"), &["tripId", "reason"]);
    let tally = Budget::from_env().run("parse_trip_ref", strategy, |case| {
        judge(
            &case,
            trips::parse_trip_ref(&case.payload),
            |(trip, reason)| {
                reason_is_valid(reason.as_ref())?;
                let again = json!({"tripId": trip.to_string(), "reason": reason});
                prop_assert_eq!(trips::parse_trip_ref(&again), Ok((trip, reason)));
                Ok(())
            },
        )
    });
    tally.assert_both_branches("parse_trip_ref");
}

#[test]
fn fuzz_offer_answer() {
    let strategy = inputs(
        payloads::reference("assignmentId"),
        &["assignmentId", "reason"],
    );
    let tally = Budget::from_env().run("parse_offer_answer", strategy, |case| {
        judge(
            &case,
            trips::parse_offer_answer(&case.payload),
            |(offer, reason)| {
                reason_is_valid(reason.as_ref())?;
                let again = json!({"assignmentId": offer.to_string(), "reason": reason});
                prop_assert_eq!(trips::parse_offer_answer(&again), Ok((offer, reason)));
                Ok(())
            },
        )
    });
    tally.assert_both_branches("parse_offer_answer");
}

#[test]
fn fuzz_cancel_body() {
    let strategy = inputs(payloads::cancel_body(), trips::CANCEL_FIELDS);
    let tally = Budget::from_env().run("parse_cancel_body", strategy, |case| {
        judge(&case, trips::parse_cancel_body(&case.payload), |reason| {
            reason_is_valid(reason.as_ref())?;
            let again = json!({ "reason": reason });
            prop_assert_eq!(trips::parse_cancel_body(&again), Ok(reason));
            Ok(())
        })
    });
    tally.assert_both_branches("parse_cancel_body");
}

#[test]
fn fuzz_complete_body() {
    let strategy = inputs(payloads::complete_body(), trips::COMPLETE_FIELDS);
    let tally = Budget::from_env().run("parse_complete_body", strategy, |case| {
        judge(
            &case,
            trips::parse_complete_body(&case.payload),
            |actuals| {
                in_range(actuals.distance_km, 0.0, trips::MAX_ACTUAL_DISTANCE_KM)?;
                in_range(actuals.duration_min, 0.0, trips::MAX_ACTUAL_DURATION_MIN)?;
                let again = json!({
                    "actualDistanceKm": actuals.distance_km,
                    "actualDurationMin": actuals.duration_min,
                });
                prop_assert_eq!(trips::parse_complete_body(&again), Ok(actuals));
                Ok(())
            },
        )
    });
    tally.assert_both_branches("parse_complete_body");
}

#[test]
fn fuzz_nearby_query() {
    let tally = Budget::from_env().run(
        "parse_nearby_query",
        payloads::nearby_query(),
        |(pairs, pristine)| {
            let query: HashMap<String, String> = pairs.into_iter().collect();
            let case = Case {
                payload: json!(query),
                pristine,
            };
            judge(&case, nearby::parse_nearby_query(&query), |q| {
                point_is_valid(
                    q.origin.latitude().degrees(),
                    q.origin.longitude().degrees(),
                )?;
                in_range(Some(q.radius_m), 1.0, nearby::MAX_RADIUS_M)?;
                prop_assert!((1..=nearby::MAX_LIMIT).contains(&q.limit));
                let again: HashMap<String, String> = [
                    ("latitude", q.origin.latitude().degrees().to_string()),
                    ("longitude", q.origin.longitude().degrees().to_string()),
                    ("radiusM", q.radius_m.to_string()),
                    ("limit", q.limit.to_string()),
                ]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect();
                prop_assert_eq!(nearby::parse_nearby_query(&again), Ok(q));
                Ok(())
            })
        },
    );
    tally.assert_both_branches("parse_nearby_query");
}

#[test]
fn fuzz_timestamps() {
    let strategy = prop_oneof![
        payloads::rfc3339().prop_map(|s| (s, true)),
        adversarial::string().prop_map(|s| (s, false)),
    ];
    let tally = Budget::from_env().run("timestamp::parse", strategy, |(text, valid)| {
        match timestamp::parse(&text) {
            Some(t) => {
                prop_assert!(t.offset().is_utc());
                prop_assert_eq!(timestamp::parse(&full_rfc3339(t)), Some(t));
                // What the server prints is RFC 3339 too, and reads back to the millisecond.
                let printed = timestamp::format(t);
                let back = timestamp::parse(&printed).unwrap();
                prop_assert_eq!(back.unix_timestamp(), t.unix_timestamp());
                prop_assert_eq!(back.millisecond(), t.millisecond());
                Ok(Verdict::Accepted)
            }
            None => {
                prop_assert!(!valid, "a valid RFC 3339 time was refused: {text}");
                Ok(Verdict::Refused)
            }
        }
    });
    tally.assert_both_branches("timestamp::parse");
}
