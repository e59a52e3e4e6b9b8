//! The client against a tiny in-test engine.io/socket.io server built on tokio-tungstenite.
//!
//! The mock speaks just enough of the protocol to drive the client: OPEN, namespace CONNECT /
//! CONNECT_ERROR by auth token, echo with and without ack, binary echo, a ping that must be
//! answered, hostile frames, and server-side disconnects. It logs every frame it receives, so the
//! tests can check the exact wire format.
#![allow(clippy::unwrap_used, missing_docs)]
// The handshake callback's error type is fixed by tungstenite's `Callback` trait.
#![allow(clippy::result_large_err)]

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use rodando_sio_client::{
    ClientError, ClientOptions, ConnectError, Disconnect, ReceivedEvent, SioClient, connect,
};
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};

const WAIT: Duration = Duration::from_secs(3);
const NORMAL_OPEN: &str = r#"0{"sid":"engine-1","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#;

struct Mock {
    base_url: String,
    log: mpsc::UnboundedReceiver<String>,
}

impl Mock {
    async fn start(open: &'static str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let (tx, log) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, open, tx.clone()));
            }
        });
        Self { base_url, log }
    }

    /// A client admitted to `namespace` with the token the mock accepts.
    async fn admitted(&self, namespace: &str) -> SioClient {
        connect(&self.base_url, namespace, options("good"))
            .await
            .unwrap()
    }

    /// The next frame the server received (or a `<...>` marker).
    async fn next(&mut self) -> String {
        tokio::time::timeout(WAIT, self.log.recv())
            .await
            .expect("mock server log timed out")
            .expect("mock server log closed")
    }

    /// Skips log lines until `expected`; panics if it does not come.
    async fn wait_for(&mut self, expected: &str) {
        loop {
            if self.next().await == expected {
                return;
            }
        }
    }
}

fn split_namespace(rest: &str) -> (&str, &str) {
    if rest.starts_with('/') {
        match rest.find(',') {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, ""),
        }
    } else {
        ("/", rest)
    }
}

fn prefix(ns: &str) -> String {
    if ns == "/" {
        String::new()
    } else {
        format!("{ns},")
    }
}

async fn serve(stream: TcpStream, open: &'static str, log: mpsc::UnboundedSender<String>) {
    let request_log = log.clone();
    let callback = move |request: &Request, response: Response| {
        let auth = request
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("-");
        let _ = request_log.send(format!("<request {} {auth}>", request.uri()));
        Ok(response)
    };
    let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(stream, callback).await else {
        return;
    };
    ws.send(Message::text(open)).await.unwrap();

    let mut awaiting_pong_ns: Option<String> = None;
    let mut awaiting_binary_ns: Option<String> = None;
    loop {
        let message = match ws.next().await {
            Some(Ok(message)) => message,
            _ => break,
        };
        let mut replies: Vec<Message> = Vec::new();
        match message {
            Message::Text(text) => {
                let text = text.as_str().to_owned();
                let _ = log.send(text.clone());
                if text == "3" {
                    if let Some(ns) = awaiting_pong_ns.take() {
                        replies.push(Message::text(format!("42{}[\"pong-ok\"]", prefix(&ns))));
                    }
                } else if let Some(rest) = text.strip_prefix("40") {
                    let (ns, auth) = split_namespace(rest);
                    let reply = if auth.contains("bad") {
                        format!(r#"44{}{{"message":"nope"}}"#, prefix(ns))
                    } else {
                        format!(r#"40{}{{"sid":"x"}}"#, prefix(ns))
                    };
                    replies.push(Message::text(reply));
                } else if let Some(rest) = text.strip_prefix("451-") {
                    let (ns, _) = split_namespace(rest);
                    awaiting_binary_ns = Some(ns.to_owned());
                } else if let Some(rest) = text.strip_prefix("42") {
                    let (ns, rest) = split_namespace(rest);
                    let p = prefix(ns);
                    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
                    let ack_id = &rest[..digits];
                    let Ok(Value::Array(items)) = serde_json::from_str::<Value>(&rest[digits..])
                    else {
                        continue;
                    };
                    let Some((name, args)) = items.split_first() else {
                        continue;
                    };
                    let args: Vec<String> = args.iter().map(Value::to_string).collect();
                    match name.as_str().unwrap_or("") {
                        "echo" if !ack_id.is_empty() => {
                            replies
                                .push(Message::text(format!("43{p}{ack_id}[{}]", args.join(","))));
                        }
                        "echo" => {
                            let mut all = vec!["\"echo\"".to_owned()];
                            all.extend(args);
                            replies.push(Message::text(format!("42{p}[{}]", all.join(","))));
                        }
                        "ping-me" => {
                            awaiting_pong_ns = Some(ns.to_owned());
                            replies.push(Message::text("2"));
                        }
                        "burst" => {
                            for (name, n) in [("a", 1), ("b", 2), ("c", 3)] {
                                replies.push(Message::text(format!("42{p}[\"{name}\",{n}]")));
                            }
                        }
                        "spam" => {
                            for garbage in [
                                "",
                                "garbage",
                                "é",
                                "4",
                                "4garbage",
                                "42/other,[\"wrong-namespace\"]",
                                "6",
                                "5",
                                "3",
                                "0{}",
                            ] {
                                replies.push(Message::text(garbage));
                            }
                            for garbage in [
                                "not json",
                                "[1,2]",
                                "{}",
                                "[\"unterminated\"",
                                "[]",
                                "99999999999999999999999[\"huge-ack-id\"]",
                            ] {
                                replies.push(Message::text(format!("42{p}{garbage}")));
                            }
                            for garbage in ["999[1]", "[1]", "0{}", "0\"not an array\""] {
                                replies.push(Message::text(format!("43{p}{garbage}")));
                            }
                            replies.push(Message::text(format!(r#"40{p}{{"sid":"other"}}"#)));
                            replies.push(Message::text(format!(r#"44{p}{{"message":"late"}}"#)));
                            // A binary event whose placeholder points past its attachments.
                            replies.push(Message::text(format!(
                                r#"451-{p}["bad-binary",{{"_placeholder":true,"num":5}}]"#
                            )));
                            replies.push(Message::binary(vec![9u8]));
                            // A binary frame nobody announced.
                            replies.push(Message::binary(vec![1u8, 2, 3]));
                            // A binary event interrupted by a text frame.
                            replies.push(Message::text(format!(
                                r#"452-{p}["interrupted",{{"_placeholder":true,"num":0}}]"#
                            )));
                            replies.push(Message::text(format!("42{p}[\"after-spam\"]")));
                        }
                        "kick" => replies.push(Message::text(format!("41{p}"))),
                        "engine-close" => replies.push(Message::text("1")),
                        _ => {}
                    }
                }
            }
            Message::Binary(bytes) => {
                let _ = log.send(format!("<binary {:?}>", bytes.as_ref()));
                if let Some(ns) = awaiting_binary_ns.take() {
                    let p = prefix(&ns);
                    replies.push(Message::text(format!(
                        r#"451-{p}["bin-echo",{{"_placeholder":true,"num":0}}]"#
                    )));
                    replies.push(Message::binary(bytes));
                }
            }
            Message::Close(_) => {
                let _ = log.send("<close>".to_owned());
            }
            _ => {}
        }
        for reply in replies {
            if ws.send(reply).await.is_err() {
                break;
            }
        }
    }
    let _ = log.send("<eof>".to_owned());
}

fn options(token: &str) -> ClientOptions {
    ClientOptions {
        auth: Some(json!({ "token": token })),
        headers: vec![("Authorization".to_owned(), "Bearer abc".to_owned())],
        ..ClientOptions::default()
    }
}

#[tokio::test]
async fn full_flow_on_a_namespace() {
    let mut server = Mock::start(NORMAL_OPEN).await;
    let mut client = server.admitted("/ns").await;

    assert_eq!(client.sid(), "x");
    assert!(client.is_connected());
    assert_eq!(
        server.next().await,
        "<request /socket.io/?EIO=4&transport=websocket Bearer abc>"
    );
    assert_eq!(server.next().await, r#"40/ns,{"token":"good"}"#);

    // Ack ids start at 0 and increase.
    let reply = client
        .emit_with_ack("echo", json!({"n": 1}), WAIT)
        .await
        .unwrap();
    assert_eq!(reply, json!({"n": 1}));
    assert_eq!(server.next().await, r#"42/ns,0["echo",{"n":1}]"#);
    let replies = client
        .emit_args_with_ack("echo", vec![json!(1), json!("two")], WAIT)
        .await
        .unwrap();
    assert_eq!(replies, vec![json!(1), json!("two")]);
    assert_eq!(server.next().await, r#"42/ns,1["echo",1,"two"]"#);
    let empty = client
        .emit_args_with_ack("echo", vec![], WAIT)
        .await
        .unwrap();
    assert!(empty.is_empty());
    assert_eq!(server.next().await, r#"42/ns,2["echo"]"#);

    // Plain emit; the server echoes it back as an event.
    client.emit("echo", json!("hi")).await.unwrap();
    assert_eq!(server.next().await, r#"42/ns,["echo","hi"]"#);
    assert_eq!(
        client.expect_event("echo", WAIT).await.unwrap(),
        json!("hi")
    );

    // Binary both ways.
    client.emit_binary("bin", vec![1, 2, 3]).await.unwrap();
    assert_eq!(
        server.next().await,
        r#"451-/ns,["bin",{"_placeholder":true,"num":0}]"#
    );
    assert_eq!(server.next().await, "<binary [1, 2, 3]>");
    assert_eq!(
        client.expect_event("bin-echo", WAIT).await.unwrap(),
        json!([1, 2, 3])
    );

    // The server pings; the client must pong before the server answers "pong-ok".
    client.emit_args("ping-me", vec![]).await.unwrap();
    assert_eq!(server.next().await, r#"42/ns,["ping-me"]"#);
    assert_eq!(server.next().await, "3");
    assert_eq!(
        client.expect_event("pong-ok", WAIT).await.unwrap(),
        Value::Null
    );

    // Raw frames go out verbatim, and a malformed one does not hurt the client.
    client.send_raw("42/ns,[\"x\"".to_owned()).await.unwrap();
    assert_eq!(server.next().await, "42/ns,[\"x\"");

    // Server-side namespace disconnect.
    client.emit_args("kick", vec![]).await.unwrap();
    assert_eq!(
        client.wait_disconnect(WAIT).await.unwrap(),
        Disconnect::ByServer
    );
    assert!(!client.is_connected());
    assert!(matches!(
        client.emit("echo", json!(1)).await,
        Err(ClientError::Closed)
    ));
    assert!(matches!(
        client.emit_with_ack("echo", json!(1), WAIT).await,
        Err(ClientError::Closed)
    ));
    assert!(matches!(
        client.send_raw("3".to_owned()).await,
        Err(ClientError::Closed)
    ));
    assert!(matches!(
        client.next_event(WAIT).await,
        Err(ClientError::Closed)
    ));
    // The client closes the WebSocket after the server's DISCONNECT.
    server.wait_for("<close>").await;
    server.wait_for("<eof>").await;
    client.close().await;
}

#[tokio::test]
async fn refused_by_auth() {
    let server = Mock::start(NORMAL_OPEN).await;
    let error = connect(&server.base_url, "/ns", options("bad"))
        .await
        .unwrap_err();
    match error {
        ConnectError::Refused { message, data } => {
            assert_eq!(message, "nope");
            assert_eq!(data, json!({"message": "nope"}));
        }
        other => panic!("expected Refused, got {other:?}"),
    }
}

#[tokio::test]
async fn events_of_other_names_stay_buffered_in_order() {
    let server = Mock::start(NORMAL_OPEN).await;
    let mut client = server.admitted("ns").await;

    client.emit_args("burst", vec![]).await.unwrap();
    assert_eq!(client.expect_event("c", WAIT).await.unwrap(), json!(3));
    let a = client.next_event(WAIT).await.unwrap();
    assert_eq!(
        a,
        ReceivedEvent {
            name: "a".to_owned(),
            args: vec![json!(1)]
        }
    );
    assert_eq!(a.data(), &json!(1));
    assert_eq!(client.next_event(WAIT).await.unwrap().name, "b");
    assert!(matches!(
        client.next_event(Duration::from_millis(50)).await,
        Err(ClientError::Timeout)
    ));

    client.emit_args("burst", vec![]).await.unwrap();
    let unexpected = client
        .expect_no_event("b", Duration::from_secs(2))
        .await
        .unwrap_err();
    assert_eq!(unexpected.args, vec![json!(2)]);
    // Wait until "c" has arrived too, then check what is left.
    client
        .expect_no_event("zzz", Duration::from_millis(200))
        .await
        .unwrap();
    let names: Vec<String> = client.drain_events().into_iter().map(|e| e.name).collect();
    assert_eq!(names, ["a", "c"]);
    assert!(client.drain_events().is_empty());

    // An already-buffered event counts for expect_no_event.
    client.emit_args("burst", vec![]).await.unwrap();
    assert_eq!(client.expect_event("c", WAIT).await.unwrap(), json!(3));
    assert_eq!(
        client
            .expect_no_event("a", Duration::from_millis(10))
            .await
            .unwrap_err()
            .name,
        "a"
    );
    assert_eq!(client.expect_event("b", WAIT).await.unwrap(), json!(2));

    // A timed-out ack (the mock ignores unknown events).
    assert!(matches!(
        client
            .emit_with_ack("silence", json!(null), Duration::from_millis(100))
            .await,
        Err(ClientError::Timeout)
    ));
    client.close().await;
}

#[tokio::test]
async fn root_namespace_hostile_input_and_graceful_close() {
    let mut server = Mock::start(NORMAL_OPEN).await;
    let mut client = connect(&server.base_url, "/", ClientOptions::default())
        .await
        .unwrap();
    assert_eq!(
        server.next().await,
        "<request /socket.io/?EIO=4&transport=websocket ->"
    );
    assert_eq!(server.next().await, "40");

    client.emit("echo", json!(5)).await.unwrap();
    assert_eq!(server.next().await, r#"42["echo",5]"#);
    assert_eq!(client.next_event(WAIT).await.unwrap().args, vec![json!(5)]);
    assert_eq!(
        client
            .emit_with_ack("echo", json!([1]), WAIT)
            .await
            .unwrap(),
        json!([1])
    );
    assert_eq!(server.next().await, r#"420["echo",[1]]"#);

    // None of the garbage becomes an event, and the client stays connected.
    client.emit_args("spam", vec![]).await.unwrap();
    let next = client.next_event(WAIT).await.unwrap();
    assert_eq!(next.name, "after-spam");
    assert!(client.is_connected());
    assert!(client.drain_events().is_empty());
    assert_eq!(
        client
            .emit_with_ack("echo", json!("ok"), WAIT)
            .await
            .unwrap(),
        json!("ok")
    );

    client.close().await;
    server.wait_for("41").await;
    assert_eq!(server.next().await, "<close>");
    assert_eq!(server.next().await, "<eof>");
}

#[tokio::test]
async fn engine_close_packet() {
    let server = Mock::start(NORMAL_OPEN).await;
    let mut client = server.admitted("/ns").await;
    client.emit_args("burst", vec![]).await.unwrap();
    client.emit_args("engine-close", vec![]).await.unwrap();
    assert_eq!(
        client.wait_disconnect(WAIT).await.unwrap(),
        Disconnect::EngineClosed
    );
    // Events that arrived before the disconnect are still there, then Closed.
    for name in ["a", "b", "c"] {
        assert_eq!(client.next_event(WAIT).await.unwrap().name, name);
    }
    assert!(matches!(
        client.next_event(WAIT).await,
        Err(ClientError::Closed)
    ));
    assert!(matches!(
        client.expect_event("a", WAIT).await,
        Err(ClientError::Closed)
    ));
    assert!(client.expect_no_event("a", WAIT).await.is_ok());
}

#[tokio::test]
async fn pending_ack_fails_with_closed_on_disconnect() {
    let server = Mock::start(NORMAL_OPEN).await;
    let client = server.admitted("/ns").await;
    let started = std::time::Instant::now();
    let result = client
        .emit_with_ack("kick", json!(null), Duration::from_secs(10))
        .await;
    assert!(matches!(result, Err(ClientError::Closed)), "{result:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn silent_server_is_detected_after_ping_interval_plus_timeout() {
    let server =
        Mock::start(r#"0{"sid":"e","upgrades":[],"pingInterval":100,"pingTimeout":100}"#).await;
    let mut client = server.admitted("/ns").await;
    assert!(client.is_connected());
    assert_eq!(
        client.wait_disconnect(WAIT).await.unwrap(),
        Disconnect::EngineClosed
    );
    assert!(!client.is_connected());
}

#[tokio::test]
async fn dropping_the_client_closes_the_connection() {
    let mut server = Mock::start(NORMAL_OPEN).await;
    let client = server.admitted("/ns").await;
    server.wait_for(r#"40/ns,{"token":"good"}"#).await;
    drop(client);
    server.wait_for("<eof>").await;
}

#[tokio::test]
async fn handshake_timeout() {
    // Accepts TCP but never answers the upgrade.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base_url = format!("http://{}", listener.local_addr().unwrap());
    let _hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    let options = ClientOptions {
        connect_timeout: Duration::from_millis(200),
        ..ClientOptions::default()
    };
    let error = connect(&base_url, "/", options).await.unwrap_err();
    assert!(matches!(error, ConnectError::Timeout), "{error:?}");
}

#[tokio::test]
async fn transport_errors() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base_url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let error = connect(&base_url, "/", ClientOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(error, ConnectError::Transport(_)), "{error:?}");

    let bad_header = ClientOptions {
        headers: vec![("Bad Header".to_owned(), "x".to_owned())],
        ..ClientOptions::default()
    };
    let error = connect("http://127.0.0.1:1", "/", bad_header)
        .await
        .unwrap_err();
    assert!(matches!(error, ConnectError::Transport(_)), "{error:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_clients_connect_ack_and_are_dropped() {
    const CLIENTS: usize = 200;
    let mut server = Mock::start(NORMAL_OPEN).await;
    let base_url = server.base_url.clone();
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|i| {
            let base_url = base_url.clone();
            tokio::spawn(async move {
                let client = connect(&base_url, "/ns", options("good")).await.unwrap();
                let reply = client.emit_with_ack("echo", json!(i), WAIT).await.unwrap();
                assert_eq!(reply, json!(i));
                client
            })
        })
        .collect();
    let mut clients = Vec::with_capacity(CLIENTS);
    for task in tasks {
        clients.push(task.await.unwrap());
    }
    assert!(clients.iter().all(|c| c.is_connected()));
    drop(clients);
    let mut closed = 0;
    while closed < CLIENTS {
        if server.next().await == "<eof>" {
            closed += 1;
        }
    }
}

#[tokio::test]
async fn connects_from_the_given_local_address() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base_url = format!("http://{}", listener.local_addr().unwrap());
    let (peers_tx, mut peers) = mpsc::unbounded_channel();
    let (log_tx, _log) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((stream, peer)) = listener.accept().await {
            let _ = peers_tx.send(peer.ip());
            tokio::spawn(serve(stream, NORMAL_OPEN, log_tx.clone()));
        }
    });
    for source in ["127.0.0.2", "127.0.0.3"] {
        let source: std::net::IpAddr = source.parse().unwrap();
        let options = ClientOptions {
            local_address: Some(source),
            ..options("good")
        };
        let client = connect(&base_url, "/ns", options).await.unwrap();
        assert_eq!(peers.recv().await.unwrap(), source);
        let reply = client
            .emit_with_ack("echo", json!({"from": source.to_string()}), WAIT)
            .await
            .unwrap();
        assert_eq!(reply, json!({"from": source.to_string()}));
        client.close().await;
    }

    // An address this host does not have cannot be bound.
    let foreign = ClientOptions {
        local_address: Some("192.0.2.1".parse().unwrap()),
        ..options("good")
    };
    let error = connect(&base_url, "/ns", foreign).await.unwrap_err();
    assert!(
        matches!(error, ConnectError::Transport(ref d) if d.contains("bind")),
        "{error:?}"
    );
    // An IPv6 source cannot reach an IPv4-only host.
    let v6 = ClientOptions {
        local_address: Some("::1".parse().unwrap()),
        ..options("good")
    };
    let error = connect(&base_url, "/ns", v6).await.unwrap_err();
    assert!(matches!(error, ConnectError::Transport(_)), "{error:?}");
}
