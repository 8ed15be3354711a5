-- ingest_id / ingest_seq: the idempotency identity of a sample written by a request that carried an
-- Idempotency-Key (a hash of caller, route and key; '' otherwise) and the sample's position in that request.
-- A retry of a request whose API died before answering counts what landed under its id and writes only the
-- rest, so a sample is stored once however the API fails (issue 7, scenario 2).
-- 18.16 has no ADD COLUMN IF NOT EXISTS: the migration runner treats "column already exists" as applied.
ALTER TABLE ${db}.performance_events ADD COLUMN ingest_id String, ADD COLUMN ingest_seq UInt32
