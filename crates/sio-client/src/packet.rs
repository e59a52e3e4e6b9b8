//! Pure encoding and decoding of engine.io v4 text packets and the socket.io v5 packets they carry.
//!
//! Nothing here does I/O, so every rule is unit-tested (`packet/tests.rs`). Decoders never panic:
//! whatever the server sends, they return a value or a [`PacketError`].
//!
//! ## Why not socketioxide's parser crates
//!
//! `socketioxide-parser-common` (with `socketioxide-core`) and `engineioxide-core` are already in
//! the lockfile, through the server. They were checked as a replacement for this codec and do not
//! fit a client: they are written for the server's direction. Their decoders refuse the packets
//! only a server sends — `deserialize_packet` has no arm for socket.io CONNECT_ERROR (`4`), the
//! answer every refused handshake is (`token_expired`, `user_not_found`...), and
//! `engineioxide_core::Packet::parse` has none for engine.io OPEN (`0{...}`), the first frame of
//! every connection — and `PacketData::ConnectError` carries a message only, not the `data` the
//! client reports. Their encoders would fit the three packets a client sends (CONNECT, EVENT,
//! DISCONNECT), but that would split one codec into two libraries' halves for about forty lines.
//! Raw frames for the hostile-input tests go through [`crate::SioClient::send_raw`] either way.

use std::fmt::Write as _;
use std::time::Duration;

use serde_json::Value;

/// The most binary attachments we accept in one packet; a bigger count is treated as garbage.
const MAX_ATTACHMENTS: usize = 1024;
/// Ping interval and timeout announced by the server are clamped to this, so a hostile OPEN packet
/// cannot make the idle deadline overflow.
const MAX_PING_MS: u64 = 3_600_000;
const DEFAULT_PING_INTERVAL_MS: u64 = 25_000;
const DEFAULT_PING_TIMEOUT_MS: u64 = 20_000;

/// Input that is not a valid packet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub(crate) struct PacketError(pub(crate) String);

fn err<T>(message: impl Into<String>) -> Result<T, PacketError> {
    Err(PacketError(message.into()))
}

/// One engine.io packet received as a WebSocket text frame; the `&str` is what follows the type digit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EnginePacket<'a> {
    Open(&'a str),
    Close,
    Ping(&'a str),
    Pong(&'a str),
    Message(&'a str),
    Upgrade,
    Noop,
}

/// Decodes an engine.io text frame.
pub(crate) fn decode_engine(frame: &str) -> Result<EnginePacket<'_>, PacketError> {
    // Every arm matches an ASCII byte, so slicing at 1 is on a char boundary.
    match frame.as_bytes().first() {
        Some(b'0') => Ok(EnginePacket::Open(&frame[1..])),
        Some(b'1') => Ok(EnginePacket::Close),
        Some(b'2') => Ok(EnginePacket::Ping(&frame[1..])),
        Some(b'3') => Ok(EnginePacket::Pong(&frame[1..])),
        Some(b'4') => Ok(EnginePacket::Message(&frame[1..])),
        Some(b'5') => Ok(EnginePacket::Upgrade),
        Some(b'6') => Ok(EnginePacket::Noop),
        Some(_) => err("unknown engine.io packet type"),
        None => err("empty engine.io packet"),
    }
}

/// The handshake data of an engine.io OPEN packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OpenInfo {
    pub(crate) sid: String,
    pub(crate) ping_interval: Duration,
    pub(crate) ping_timeout: Duration,
}

/// Decodes the JSON of an engine.io OPEN packet (what follows the `0`).
pub(crate) fn decode_open(json: &str) -> Result<OpenInfo, PacketError> {
    let value: Value =
        serde_json::from_str(json).or_else(|e| err(format!("OPEN packet is not JSON: {e}")))?;
    let Some(sid) = value.get("sid").and_then(Value::as_str) else {
        return err("OPEN packet has no string \"sid\"");
    };
    let millis = |key: &str, default: u64| {
        value
            .get(key)
            .and_then(Value::as_u64)
            .unwrap_or(default)
            .min(MAX_PING_MS)
    };
    Ok(OpenInfo {
        sid: sid.to_owned(),
        ping_interval: Duration::from_millis(millis("pingInterval", DEFAULT_PING_INTERVAL_MS)),
        ping_timeout: Duration::from_millis(millis("pingTimeout", DEFAULT_PING_TIMEOUT_MS)),
    })
}

/// The socket.io packet types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PacketType {
    Connect,
    Disconnect,
    Event,
    Ack,
    ConnectError,
    BinaryEvent,
    BinaryAck,
}

impl PacketType {
    fn digit(self) -> char {
        match self {
            Self::Connect => '0',
            Self::Disconnect => '1',
            Self::Event => '2',
            Self::Ack => '3',
            Self::ConnectError => '4',
            Self::BinaryEvent => '5',
            Self::BinaryAck => '6',
        }
    }

    pub(crate) fn is_binary(self) -> bool {
        matches!(self, Self::BinaryEvent | Self::BinaryAck)
    }
}

/// A decoded socket.io packet (the part after the engine.io `4`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SioPacket {
    pub(crate) kind: PacketType,
    /// Binary attachments announced by a BINARY_EVENT / BINARY_ACK; 0 otherwise.
    pub(crate) attachments: usize,
    /// `/` when the packet has no namespace part.
    pub(crate) namespace: String,
    pub(crate) ack_id: Option<u64>,
    pub(crate) payload: Option<Value>,
}

/// Decodes a socket.io packet: `<type>[<attachments>-][<namespace>,][<ack id>][<json>]`.
pub(crate) fn decode_sio(text: &str) -> Result<SioPacket, PacketError> {
    let bytes = text.as_bytes();
    let kind = match bytes.first() {
        Some(b'0') => PacketType::Connect,
        Some(b'1') => PacketType::Disconnect,
        Some(b'2') => PacketType::Event,
        Some(b'3') => PacketType::Ack,
        Some(b'4') => PacketType::ConnectError,
        Some(b'5') => PacketType::BinaryEvent,
        Some(b'6') => PacketType::BinaryAck,
        Some(_) => return err("unknown socket.io packet type"),
        None => return err("empty socket.io packet"),
    };
    // All delimiters below are ASCII, so every index used for slicing is a char boundary.
    let digits_from = |start: usize| {
        start
            + bytes[start..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count()
    };
    let mut pos = 1;

    let mut attachments = 0;
    if kind.is_binary() {
        let end = digits_from(pos);
        if end == pos || bytes.get(end) != Some(&b'-') {
            return err("binary packet without \"<count>-\" attachment header");
        }
        attachments = match text[pos..end].parse::<usize>() {
            Ok(n) if n <= MAX_ATTACHMENTS => n,
            _ => return err("attachment count out of range"),
        };
        pos = end + 1;
    }

    let namespace = if bytes.get(pos) == Some(&b'/') {
        match text[pos..].find(',') {
            Some(offset) => {
                let ns = &text[pos..pos + offset];
                pos += offset + 1;
                ns.to_owned()
            }
            None => {
                let ns = &text[pos..];
                pos = text.len();
                ns.to_owned()
            }
        }
    } else {
        "/".to_owned()
    };

    let end = digits_from(pos);
    let ack_id = if end > pos {
        match text[pos..end].parse::<u64>() {
            Ok(id) => Some(id),
            Err(_) => return err("ack id out of range"),
        }
    } else {
        None
    };
    pos = end;

    let rest = &text[pos..];
    let payload = if rest.is_empty() {
        None
    } else {
        match serde_json::from_str(rest) {
            Ok(value) => Some(value),
            Err(e) => return err(format!("socket.io payload is not JSON: {e}")),
        }
    };

    Ok(SioPacket {
        kind,
        attachments,
        namespace,
        ack_id,
        payload,
    })
}

/// Writes the engine.io MESSAGE prefix and the socket.io header (type, attachments, namespace, ack id).
fn header(kind: PacketType, attachments: usize, namespace: &str, ack_id: Option<u64>) -> String {
    let mut out = String::with_capacity(32 + namespace.len());
    out.push('4');
    out.push(kind.digit());
    if kind.is_binary() {
        // Writing to a String cannot fail.
        let _ = write!(out, "{attachments}-");
    }
    if namespace != "/" {
        out.push_str(namespace);
        out.push(',');
    }
    if let Some(id) = ack_id {
        let _ = write!(out, "{id}");
    }
    out
}

/// Appends `["event",arg1,...]`.
fn push_event_array(out: &mut String, event: &str, args: &[Value]) {
    out.push('[');
    let _ = write!(out, "{}", Value::from(event));
    for arg in args {
        out.push(',');
        let _ = write!(out, "{arg}");
    }
    out.push(']');
}

/// `40/ns,{auth}` (the auth JSON omitted when `None`).
pub(crate) fn encode_connect(namespace: &str, auth: Option<&Value>) -> String {
    let mut out = header(PacketType::Connect, 0, namespace, None);
    if let Some(auth) = auth {
        let _ = write!(out, "{auth}");
    }
    out
}

/// `41/ns,` (`41` for the root namespace).
pub(crate) fn encode_disconnect(namespace: &str) -> String {
    header(PacketType::Disconnect, 0, namespace, None)
}

/// `42/ns,<ack id>["event",args...]`.
pub(crate) fn encode_event(
    namespace: &str,
    ack_id: Option<u64>,
    event: &str,
    args: &[Value],
) -> String {
    let mut out = header(PacketType::Event, 0, namespace, ack_id);
    push_event_array(&mut out, event, args);
    out
}

/// `451-/ns,<ack id>["event",{"_placeholder":true,"num":0}]`: the text frame of a binary event
/// whose single argument is the one attachment sent in the next (binary) frame.
pub(crate) fn encode_binary_event(namespace: &str, ack_id: Option<u64>, event: &str) -> String {
    let mut out = header(PacketType::BinaryEvent, 1, namespace, ack_id);
    let placeholder = serde_json::json!({ "_placeholder": true, "num": 0 });
    push_event_array(&mut out, event, std::slice::from_ref(&placeholder));
    out
}

/// Replaces every `{"_placeholder":true,"num":n}` with attachment `n`, as a JSON array of byte
/// numbers (so `serde_json::from_value::<Vec<u8>>` gives the bytes back).
pub(crate) fn fill_placeholders(
    value: Value,
    attachments: &[Vec<u8>],
) -> Result<Value, PacketError> {
    match value {
        Value::Object(map) if map.get("_placeholder") == Some(&Value::Bool(true)) => {
            let index = map
                .get("num")
                .and_then(Value::as_u64)
                .and_then(|n| usize::try_from(n).ok());
            match index.and_then(|n| attachments.get(n)) {
                Some(bytes) => Ok(Value::Array(
                    bytes.iter().map(|&b| Value::from(b)).collect(),
                )),
                None => err("binary placeholder refers to a missing attachment"),
            }
        }
        Value::Object(map) => map
            .into_iter()
            .map(|(k, v)| Ok((k, fill_placeholders(v, attachments)?)))
            .collect::<Result<_, _>>()
            .map(Value::Object),
        Value::Array(items) => items
            .into_iter()
            .map(|v| fill_placeholders(v, attachments))
            .collect::<Result<_, _>>()
            .map(Value::Array),
        other => Ok(other),
    }
}

/// Splits an EVENT payload `["name",args...]` into its name and arguments.
pub(crate) fn split_event(payload: Option<Value>) -> Result<(String, Vec<Value>), PacketError> {
    let Some(Value::Array(mut items)) = payload else {
        return err("event payload is not an array");
    };
    if !matches!(items.first(), Some(Value::String(_))) {
        return err("event payload does not start with a string name");
    }
    let Value::String(name) = items.remove(0) else {
        return err("event payload does not start with a string name");
    };
    Ok((name, items))
}

/// The arguments of an ACK payload `[args...]`.
pub(crate) fn ack_args(payload: Option<Value>) -> Result<Vec<Value>, PacketError> {
    match payload {
        Some(Value::Array(items)) => Ok(items),
        _ => err("ack payload is not an array"),
    }
}

/// The socket.io sid of a CONNECT reply `{"sid":"..."}`.
pub(crate) fn connect_sid(payload: Option<&Value>) -> Result<String, PacketError> {
    match payload.and_then(|p| p.get("sid")).and_then(Value::as_str) {
        Some(sid) => Ok(sid.to_owned()),
        None => err("CONNECT reply has no string \"sid\""),
    }
}

/// The `message` and whole payload of a CONNECT_ERROR. Accepts the v5 object form
/// `{"message":"...","data":...}` and the older bare string form.
pub(crate) fn connect_error(payload: Option<Value>) -> (String, Value) {
    let payload = payload.unwrap_or(Value::Null);
    let message = match &payload {
        Value::String(s) => s.clone(),
        Value::Object(map) => match map.get("message") {
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
            None => String::new(),
        },
        Value::Null => String::new(),
        other => other.to_string(),
    };
    (message, payload)
}

/// `/` for an empty name; a leading `/` added when missing.
pub(crate) fn normalize_namespace(namespace: &str) -> String {
    if namespace.is_empty() {
        "/".to_owned()
    } else if namespace.starts_with('/') {
        namespace.to_owned()
    } else {
        format!("/{namespace}")
    }
}

/// Turns `http://host:port` (or `https`, `ws`, `wss`, or a bare `host:port`) into the engine.io
/// WebSocket URL `ws://host:port/socket.io/?EIO=4&transport=websocket`. A path in the base URL is
/// kept as a prefix.
pub(crate) fn websocket_url(base_url: &str) -> Result<String, PacketError> {
    let base = base_url.trim();
    let lower = base.to_ascii_lowercase();
    let (scheme, rest) = [
        ("http://", "ws://"),
        ("https://", "wss://"),
        ("ws://", "ws://"),
        ("wss://", "wss://"),
    ]
    .iter()
    .find(|(prefix, _)| lower.starts_with(prefix))
    .map_or(("ws://", base), |(prefix, scheme)| {
        (*scheme, &base[prefix.len()..])
    });
    let rest = rest.trim_end_matches('/');
    if rest.is_empty() || rest.starts_with('/') {
        return err(format!("no host in base URL {base_url:?}"));
    }
    if rest.contains(['?', '#']) {
        return err(format!(
            "base URL {base_url:?} must not have a query or fragment"
        ));
    }
    Ok(format!(
        "{scheme}{rest}/socket.io/?EIO=4&transport=websocket"
    ))
}

#[cfg(test)]
mod tests;
