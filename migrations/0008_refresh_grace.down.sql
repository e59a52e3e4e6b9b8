ALTER TABLE sessions
    DROP CONSTRAINT sessions_rotation_complete,
    DROP COLUMN rotated_at,
    DROP COLUMN previous_refresh_jti;
