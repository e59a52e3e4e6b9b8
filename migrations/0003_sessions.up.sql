-- Login sessions. `refresh_jti` is the only refresh token that may be used next; a refresh
-- swaps it with one guarded UPDATE (compare-and-set on the old jti).
CREATE TABLE sessions (
    id                 uuid        NOT NULL,
    user_id            uuid        NOT NULL,
    session_type       text        NOT NULL,
    app_audience       text        NOT NULL,
    access_expires_at  timestamptz NOT NULL,
    refresh_expires_at timestamptz NOT NULL,
    refresh_jti        uuid        NOT NULL,
    revoked_at         timestamptz NULL,
    revoke_reason      text        NULL,
    last_activity_at   timestamptz NOT NULL,
    device_info        text        NULL,
    created_at         timestamptz NOT NULL,
    CONSTRAINT sessions_pkey PRIMARY KEY (id),
    CONSTRAINT sessions_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT sessions_refresh_jti_key UNIQUE (refresh_jti),
    CONSTRAINT sessions_session_type_check CHECK (session_type IN ('web', 'mobile_app', 'api_client')),
    CONSTRAINT sessions_app_audience_check CHECK (app_audience IN ('driver_app', 'passenger_app', 'admin_panel')),
    CONSTRAINT sessions_revoke_reason_check CHECK (revoke_reason IN ('logout', 'refresh_token_reuse', 'admin'))
);

-- Live sessions of a user (operators ending them all) and the foreign key's deletes.
CREATE INDEX sessions_user_id_idx ON sessions (user_id);
