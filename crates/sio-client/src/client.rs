//! What a connected [`SioClient`] does: emit (with or without an ack), wait for events, send raw
//! frames for hostile-input tests, close.

use std::sync::Arc;
use std::time::Duration;

use futures_util::SinkExt;
use serde_json::Value;
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::Message;

use crate::packet;
use crate::{
    CLOSE_GRACE, ClientError, Disconnect, PendingAck, ReceivedEvent, SioClient, lock, write_error,
};

impl SioClient {
    /// The socket.io sid from the server's CONNECT reply.
    #[must_use]
    pub fn sid(&self) -> &str {
        &self.sid
    }

    /// Emits `event` with one argument, without asking for an ack.
    ///
    /// # Errors
    /// [`ClientError::Closed`] once disconnected, [`ClientError::Transport`] if the write fails.
    pub async fn emit(&self, event: &str, data: Value) -> Result<(), ClientError> {
        self.emit_args(event, vec![data]).await
    }

    /// Emits `event` with any number of arguments (possibly none), without asking for an ack.
    ///
    /// # Errors
    /// [`ClientError::Closed`] once disconnected, [`ClientError::Transport`] if the write fails.
    pub async fn emit_args(&self, event: &str, args: Vec<Value>) -> Result<(), ClientError> {
        self.ensure_connected()?;
        let frame = packet::encode_event(&self.namespace, None, event, &args);
        self.send_frames([Message::text(frame)]).await
    }

    /// Emits `event` with one argument and waits for the server's ack; returns the ack's first
    /// argument (`Null` if the ack had none).
    ///
    /// # Errors
    /// [`ClientError::Timeout`] if no ack arrives within `timeout` (which covers the write too),
    /// [`ClientError::Closed`] if the connection is or gets closed, [`ClientError::Transport`] if the
    /// write fails.
    pub async fn emit_with_ack(
        &self,
        event: &str,
        data: Value,
        timeout: Duration,
    ) -> Result<Value, ClientError> {
        let args = self.emit_args_with_ack(event, vec![data], timeout).await?;
        Ok(args.into_iter().next().unwrap_or(Value::Null))
    }

    /// Emits `event` with any number of arguments and waits for the server's ack; returns all the
    /// ack's arguments.
    ///
    /// # Errors
    /// As [`SioClient::emit_with_ack`].
    pub async fn emit_args_with_ack(
        &self,
        event: &str,
        args: Vec<Value>,
        timeout: Duration,
    ) -> Result<Vec<Value>, ClientError> {
        self.ensure_connected()?;
        let (tx, rx) = oneshot::channel();
        let id = {
            let mut acks = lock(&self.acks);
            if acks.closed {
                return Err(ClientError::Closed);
            }
            let id = acks.next_id;
            acks.next_id = acks.next_id.wrapping_add(1);
            acks.pending.insert(id, tx);
            id
        };
        let _pending = PendingAck {
            acks: &self.acks,
            id,
        };
        let frame = packet::encode_event(&self.namespace, Some(id), event, &args);
        let exchange = async {
            self.send_frames([Message::text(frame)]).await?;
            rx.await.map_err(|_| ClientError::Closed)
        };
        tokio::time::timeout(timeout, exchange)
            .await
            .unwrap_or(Err(ClientError::Timeout))
    }

    /// Emits `event` with a single binary argument: the text frame
    /// `451-/ns,["event",{"_placeholder":true,"num":0}]` followed by one binary frame with `bytes`.
    ///
    /// # Errors
    /// [`ClientError::Closed`] once disconnected, [`ClientError::Transport`] if the write fails.
    pub async fn emit_binary(&self, event: &str, bytes: Vec<u8>) -> Result<(), ClientError> {
        self.ensure_connected()?;
        let header = packet::encode_binary_event(&self.namespace, None, event);
        self.send_frames([Message::text(header), Message::binary(bytes)])
            .await
    }

    /// Sends `frame` verbatim as one WebSocket text frame: a whole engine.io packet, e.g.
    /// `"42/drivers,[\"x\""` (malformed on purpose). Nothing is added or checked.
    ///
    /// # Errors
    /// [`ClientError::Closed`] once disconnected, [`ClientError::Transport`] if the write fails.
    pub async fn send_raw(&self, frame: String) -> Result<(), ClientError> {
        self.ensure_connected()?;
        self.send_frames([Message::text(frame)]).await
    }

    /// The next server event, in arrival order (buffered ones first).
    ///
    /// # Errors
    /// [`ClientError::Timeout`] if none arrives within `timeout`; [`ClientError::Closed`] if the
    /// connection is closed and no event is left.
    pub async fn next_event(&mut self, timeout: Duration) -> Result<ReceivedEvent, ClientError> {
        if let Some(event) = self.buffered.pop_front() {
            return Ok(event);
        }
        match tokio::time::timeout(timeout, self.events.recv()).await {
            Ok(Some(event)) => Ok(event),
            Ok(None) => Err(ClientError::Closed),
            Err(_) => Err(ClientError::Timeout),
        }
    }

    /// Waits for the first event named `name` (buffered or new) and returns its first argument
    /// (`Null` if it had none). Events with other names stay buffered, in order, for later calls.
    ///
    /// # Errors
    /// [`ClientError::Timeout`] if no such event arrives within `timeout`; [`ClientError::Closed`]
    /// if the connection closes first.
    pub async fn expect_event(
        &mut self,
        name: &str,
        timeout: Duration,
    ) -> Result<Value, ClientError> {
        self.next_named(name, timeout).await.map(first_arg)
    }

    /// Checks that no event named `name` is buffered or arrives within `within`.
    ///
    /// Returns early with `Ok` if the connection closes (no event can arrive any more). Events
    /// with other names stay buffered.
    ///
    /// # Errors
    /// The offending event (removed from the buffer).
    pub async fn expect_no_event(
        &mut self,
        name: &str,
        within: Duration,
    ) -> Result<(), ReceivedEvent> {
        match self.next_named(name, within).await {
            Ok(event) => Err(event),
            // Timed out, or closed: no such event can arrive any more.
            Err(_) => Ok(()),
        }
    }

    /// The first event named `name`, buffered or arriving within `timeout`; events of other
    /// names that arrive meanwhile are buffered, in order.
    ///
    /// # Errors
    /// [`ClientError::Timeout`] if none arrives in time; [`ClientError::Closed`] if the connection
    /// closes first.
    async fn next_named(
        &mut self,
        name: &str,
        timeout: Duration,
    ) -> Result<ReceivedEvent, ClientError> {
        if let Some(event) = self.take_buffered(name) {
            return Ok(event);
        }
        let deadline = tokio::time::sleep(timeout);
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                biased;
                event = self.events.recv() => match event {
                    Some(event) if event.name == name => return Ok(event),
                    Some(event) => self.buffered.push_back(event),
                    None => return Err(ClientError::Closed),
                },
                () = &mut deadline => return Err(ClientError::Timeout),
            }
        }
    }

    /// Every event buffered or already arrived, in order, without waiting.
    pub fn drain_events(&mut self) -> Vec<ReceivedEvent> {
        let mut drained: Vec<ReceivedEvent> = self.buffered.drain(..).collect();
        while let Ok(event) = self.events.try_recv() {
            drained.push(event);
        }
        drained
    }

    /// Waits until the connection ends and says how. Events that arrive before the disconnect stay
    /// available to [`SioClient::next_event`] and friends.
    ///
    /// # Errors
    /// [`ClientError::Timeout`] if still connected after `timeout`.
    pub async fn wait_disconnect(&mut self, timeout: Duration) -> Result<Disconnect, ClientError> {
        match tokio::time::timeout(timeout, self.state.wait_for(Option::is_some)).await {
            Ok(Ok(reason)) => Ok(reason.clone().unwrap_or(Disconnect::EngineClosed)),
            // The reader is gone without recording a reason.
            Ok(Err(_)) => Ok(Disconnect::EngineClosed),
            Err(_) => Err(ClientError::Timeout),
        }
    }

    /// Whether the connection is still up (no disconnect seen yet).
    #[must_use]
    pub fn is_connected(&self) -> bool {
        self.state.borrow().is_none() && !self.reader.is_finished()
    }

    /// Disconnects gracefully: sends `41/ns,` (if still connected), closes the WebSocket and waits
    /// briefly for the server's close reply.
    pub async fn close(mut self) {
        if self.is_connected() {
            let frame = packet::encode_disconnect(&self.namespace);
            let sink = Arc::clone(&self.sink);
            let _ = tokio::time::timeout(CLOSE_GRACE, async move {
                let mut sink = sink.lock().await;
                if sink.send(Message::text(frame)).await.is_ok() {
                    let _ = sink.close().await;
                }
            })
            .await;
        }
        let _ = tokio::time::timeout(CLOSE_GRACE, &mut self.reader).await;
        // Dropping `self` aborts the reader if it is still running.
    }

    fn ensure_connected(&self) -> Result<(), ClientError> {
        if self.is_connected() {
            Ok(())
        } else {
            Err(ClientError::Closed)
        }
    }

    /// Writes the frames back to back (no other writer can interleave) and flushes.
    async fn send_frames<const N: usize>(&self, frames: [Message; N]) -> Result<(), ClientError> {
        let mut sink = self.sink.lock().await;
        for frame in frames {
            sink.feed(frame).await.map_err(write_error)?;
        }
        sink.flush().await.map_err(write_error)
    }

    fn take_buffered(&mut self, name: &str) -> Option<ReceivedEvent> {
        let index = self.buffered.iter().position(|event| event.name == name)?;
        self.buffered.remove(index)
    }
}

impl Drop for SioClient {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

fn first_arg(event: ReceivedEvent) -> Value {
    event.args.into_iter().next().unwrap_or(Value::Null)
}
