-- Users of every type. E-mail and phone are stored normalized by the domain (`Email`,
-- `PhoneNumber`), so plain unique constraints are the uniqueness rules.
CREATE TABLE users (
    id            uuid        NOT NULL,
    email         text        NOT NULL,
    phone_number  text        NULL,
    name          text        NOT NULL,
    user_type     text        NOT NULL,
    status        text        NOT NULL DEFAULT 'active',
    password_hash text        NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_pkey PRIMARY KEY (id),
    CONSTRAINT users_email_key UNIQUE (email),
    CONSTRAINT users_phone_number_key UNIQUE (phone_number),
    CONSTRAINT users_user_type_check CHECK (user_type IN ('passenger', 'driver', 'admin')),
    CONSTRAINT users_status_check CHECK (status IN ('active', 'inactive', 'banned'))
);
