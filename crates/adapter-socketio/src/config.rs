//! Transport settings.

use std::num::NonZeroU32;
use std::time::Duration;

/// Limits and timings of the Socket.IO transport.
#[derive(Debug, Clone)]
pub struct RealtimeConfig {
    /// engine.io heartbeat interval (`WS_PING_INTERVAL`).
    pub ping_interval: Duration,
    /// engine.io heartbeat timeout (`WS_PING_TIMEOUT`).
    pub ping_timeout: Duration,
    /// Largest engine.io payload accepted: one WebSocket message or frame (`ws_max_message_size`
    /// and `ws_max_frame_size` are set to it, so a frame header declaring more closes the
    /// connection before its payload is read), or one HTTP long-polling POST. 64 KiB: the
    /// largest legitimate event is about 8 KB (docs/protocol.md, "Transport limits").
    pub max_payload_bytes: u64,
    /// Sockets one user may hold on this node (`MAX_CONNECTIONS_PER_USER`).
    pub max_connections_per_user: usize,
    /// Sustained inbound events per second per socket (`RATE_LIMIT_EVENTS_PER_SEC`).
    pub rate_limit_per_sec: NonZeroU32,
    /// Burst of inbound events per socket (`RATE_LIMIT_BURST`).
    pub rate_limit_burst: NonZeroU32,
    /// At most one `driver:location:update` per driver per this window reaches `admin:drivers`.
    pub admin_location_window: Duration,
    /// Packets queued per connection before emits to it fail. Must stay well above what one
    /// burst of events produces (each refused event costs an ack and an `exception`), or acks
    /// are dropped; the queue is allocated as it fills, so a large bound costs idle sockets
    /// nothing.
    pub max_buffered_packets: usize,
    /// WebSocket read buffer per connection. Inbound frames are small (a ping is ~100 bytes),
    /// so 1 KiB instead of socketioxide's 4 KiB saves 3 KB per idle socket; larger frames are
    /// read in several passes.
    pub ws_read_buffer_bytes: usize,
}

impl Default for RealtimeConfig {
    fn default() -> Self {
        Self {
            ping_interval: Duration::from_secs(25),
            ping_timeout: Duration::from_secs(20),
            max_payload_bytes: 64 * 1024,
            max_connections_per_user: 5,
            rate_limit_per_sec: NonZeroU32::new(20).unwrap_or(NonZeroU32::MIN),
            rate_limit_burst: NonZeroU32::new(40).unwrap_or(NonZeroU32::MIN),
            admin_location_window: Duration::from_millis(500),
            max_buffered_packets: 1024,
            ws_read_buffer_bytes: 1024,
        }
    }
}
