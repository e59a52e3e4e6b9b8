-- Each trip's place in its event stream (`seq` of every trip:* event, `trip:sync`): the seq of
-- the latest event announced for the trip. A new trip is at 1 (`trip:requested`); every
-- dispatch write adds the number of events it announces, in the same transaction as the change
-- it announces, so a client that holds seq n and sees n + 2 knows it missed one.
ALTER TABLE trips
    ADD COLUMN seq bigint NOT NULL DEFAULT 1,
    ADD CONSTRAINT trips_seq_positive CHECK (seq >= 1);
