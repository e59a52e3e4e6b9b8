//! `/passengers` events (PROTOCOL §7). Trip requests arrive with the trips feature; until then
//! every event here is unknown.

use rodando_application::Principal;
use serde_json::Value;

use crate::Realtime;
use crate::reply::EventError;

/// Routes one `/passengers` event.
pub(crate) async fn route(
    _realtime: &Realtime,
    _principal: &Principal,
    event: &str,
    _payload: Option<&Value>,
) -> Result<Value, EventError> {
    Err(EventError::unknown_event(event))
}
