//! `/admin` events (PROTOCOL §7).

use rodando_application::Principal;
use rodando_wire::availability::AvailabilitySnapshot;
use serde_json::{Value, json};

use crate::Realtime;
use crate::reply::EventError;

/// Routes one `/admin` event.
pub(crate) async fn route(
    realtime: &Realtime,
    principal: &Principal,
    event: &str,
    _payload: Option<&Value>,
) -> Result<Value, EventError> {
    match event {
        "admin:drivers:snapshot" => {
            let drivers = realtime
                .availability
                .online_snapshot()
                .await
                .map_err(|e| EventError::internal(principal, event, &e))?;
            let drivers: Vec<AvailabilitySnapshot> = drivers.iter().map(Into::into).collect();
            Ok(json!({ "drivers": drivers }))
        }
        _ => Err(EventError::unknown_event(event)),
    }
}
