//! Transport limits (issue 16, item 5): the largest legitimate event against the 64 KiB packet
//! limit, and the bounded handshake `auth` payload.

use rodando_sio_client::{ClientOptions, ConnectError};
use serde_json::{Value, json};

use crate::helpers::{Hears, WAIT, refusal, spawn_app};

/// engine.io's packet limit (`maxPayload`, and the WebSocket frame and message limits).
const PACKET_LIMIT: usize = 64 * 1024;

/// `s` as JSON with every non-ASCII character escaped (`\ud83d\ude95`): the longest encoding of
/// the same value.
fn ascii_json(value: &Value) -> String {
    let mut out = String::new();
    for c in value.to_string().chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut units = [0_u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    out
}

#[tokio::test]
async fn the_largest_legitimate_event_is_accepted_and_far_below_the_packet_limit() {
    let app = spawn_app().await;
    let (mut passenger, _) = app.joined("passenger1@rodando.local").await;
    // The largest inbound event: trip:request with both addresses at their 300-character
    // limit, in 4-byte characters, every one escaped as a UTF-16 surrogate pair (12 bytes).
    let address = "🚕".repeat(300);
    let payload = json!({
        "pickup": {"latitude": -23.136_712_345_678, "longitude": -82.359_412_345_678, "address": address},
        "dropoff": {"latitude": -23.133_012_345_678, "longitude": -82.383_012_345_678, "address": address},
        "paymentMethod": "cash",
    });
    let frame = format!(
        "42/passengers,{}",
        ascii_json(&json!(["trip:request", payload]))
    );
    println!(
        "largest legitimate event: {} bytes as sent ({} with raw UTF-8); packet limit {PACKET_LIMIT}",
        frame.len(),
        format!("42/passengers,{}", json!(["trip:request", payload])).len()
    );
    assert!(frame.len() * 8 < PACKET_LIMIT, "{} bytes", frame.len());
    passenger.send_raw(frame).await.unwrap();
    let requested = passenger.heard("trip:requested", WAIT).await;
    assert_eq!(
        requested["pickup"]["address"],
        address.as_str(),
        "{requested}"
    );
    assert_eq!(requested["dropoff"]["address"], address.as_str());
}

#[tokio::test]
async fn an_oversized_handshake_auth_is_refused_before_anything_is_verified() {
    let app = spawn_app().await;
    let login = app.login("driver1@rodando.local").await;
    // Over the 10 KiB auth bound but within the packet limit: refused with the token's code.
    assert_eq!(
        refusal(
            app.connect_with_token("/drivers", &"x".repeat(12_000))
                .await
        ),
        "invalid_token"
    );
    let padded = ClientOptions {
        auth: Some(json!({"token": login.access, "pad": "y".repeat(12_000)})),
        ..ClientOptions::default()
    };
    assert_eq!(
        refusal(app.connect_with("/drivers", padded).await),
        "invalid_token",
        "a valid token does not make a 12 KB auth acceptable"
    );
    // Over the packet limit: the CONNECT packet is never read; the connection is closed.
    let huge = ClientOptions {
        auth: Some(json!({"token": "z".repeat(100_000)})),
        ..ClientOptions::default()
    };
    match app.connect_with("/drivers", huge).await {
        Err(ConnectError::Transport(_)) => {}
        Err(other) => panic!("expected the connection closed, got {other}"),
        Ok(_) => panic!("a 100 KB CONNECT packet was admitted"),
    }
    // An ordinary handshake of the same user is still admitted.
    app.socket_of(&login, "/drivers").await;
}

/// Reads `tcp` until what came holds `marker` (`what`, for the message), within [`WAIT`] of
/// each read; returns what came.
async fn read_until(tcp: &mut tokio::net::TcpStream, marker: &str, what: &str) -> Vec<u8> {
    use tokio::io::AsyncReadExt;
    let mut received = Vec::new();
    let mut buffer = [0_u8; 4096];
    while !String::from_utf8_lossy(&received).contains(marker) {
        let n = tokio::time::timeout(WAIT, tcp.read(&mut buffer))
            .await
            .unwrap_or_else(|_| panic!("{what} not in time"))
            .unwrap();
        assert!(n > 0, "closed before {what}");
        received.extend_from_slice(&buffer[..n]);
    }
    received
}

/// Opens the WebSocket transport by hand (no token), reads the engine.io open packet, sends one
/// ordinary frame (answered), then writes the header of a masked text frame declaring
/// `declared` bytes and 64 KiB of it, never the rest. Returns how long after the header the server closed the connection.
async fn declare_frame(base: &str, declared: u64) -> std::time::Duration {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address = base.trim_start_matches("http://");
    let mut tcp = tokio::net::TcpStream::connect(address).await.unwrap();
    let request = format!(
        "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: {address}\r\n\
         Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Version: 13\r\n\r\n"
    );
    tcp.write_all(request.as_bytes()).await.unwrap();
    let received = read_until(&mut tcp, "0{\"sid\"", "the open packet").await;
    assert!(received.starts_with(b"HTTP/1.1 101"));
    // Control: an ordinary frame on this connection is read and answered.
    let mask = [1_u8, 2, 3, 4];
    let connect = b"40/nope,";
    let mut small = vec![0x81, 0x80 | u8::try_from(connect.len()).unwrap()];
    small.extend_from_slice(&mask);
    small.extend(connect.iter().zip(mask.iter().cycle()).map(|(b, m)| b ^ m));
    tcp.write_all(&small).await.unwrap();
    read_until(&mut tcp, "44/nope,", "an answer to CONNECT /nope").await;
    let mut frame = vec![0x81, 0x80 | 127];
    frame.extend_from_slice(&declared.to_be_bytes());
    frame.extend_from_slice(&mask);
    frame.extend(std::iter::repeat_n(b'x', 64 * 1024));
    let mut buffer = [0_u8; 4096];
    let sent = std::time::Instant::now();
    // The server may close while this is being written: a reset is as good as an end.
    let _ = tcp.write_all(&frame).await;
    loop {
        match tokio::time::timeout(WAIT, tcp.read(&mut buffer)).await {
            Ok(Ok(0) | Err(_)) => return sent.elapsed(),
            Ok(Ok(_)) => {} // a close frame, maybe
            Err(_) => panic!("still open {WAIT:?} after a frame header declaring {declared} bytes"),
        }
    }
}

#[tokio::test]
async fn a_frame_header_over_the_packet_limit_closes_the_connection_before_its_payload() {
    let app = spawn_app().await;
    let closed = declare_frame(&app.base, 15_000_000).await;
    println!("a 15 MB frame header: closed after {closed:?}");
    assert!(closed < std::time::Duration::from_secs(2), "{closed:?}");
    declare_frame(&app.base, PACKET_LIMIT as u64 + 1).await;
    // The server still admits and greets an ordinary client.
    let _ = app.joined("driver1@rodando.local").await;
}
