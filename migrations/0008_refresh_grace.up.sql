-- The refresh token the latest rotation replaced, and when: presenting it again within
-- JWT_REFRESH_REUSE_GRACE is a retry (the same pair is answered), later it is theft.
ALTER TABLE sessions
    ADD COLUMN previous_refresh_jti uuid,
    ADD COLUMN rotated_at timestamptz,
    ADD CONSTRAINT sessions_rotation_complete
        CHECK ((previous_refresh_jti IS NULL) = (rotated_at IS NULL));
