-- Fails, leaving the extension, while anything outside this schema still uses it.
DROP EXTENSION IF EXISTS postgis;
