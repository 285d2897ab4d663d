-- Run attributes, listing runs at volume, and retention.
--
-- Attributes: string key/value pairs given at start (`start(..., { attributes })`). They are
-- kept twice: as jsonb on the run (read with it, and checked with `@>` when a filter names
-- several pairs) and as one row per pair in `run_attributes`, whose (key, value, created_at,
-- run_id) index answers "newest runs with tenant = acme" as an ordered index scan, however
-- common the pair is. (A GIN jsonb_path_ops index finds the rows but not in created order: a
-- common pair then costs a sort of every match. test/bench/extras.ts measures both.)
ALTER TABLE squid_mesh.runs ADD COLUMN attributes jsonb NULL;

CREATE TABLE squid_mesh.run_attributes (
  run_id      uuid        NOT NULL REFERENCES squid_mesh.runs (id) ON DELETE CASCADE,
  key         text        NOT NULL,
  value       text        NOT NULL,
  created_at  timestamptz NOT NULL,
  PRIMARY KEY (run_id, key)
);
CREATE INDEX run_attributes_lookup_idx ON squid_mesh.run_attributes (key, value, created_at, run_id);

-- listRuns pages newest first by (created_at DESC, id DESC) with a keyset cursor
-- `(created_at, id) < (cursor)`. Each filter has a btree whose trailing columns are
-- (created_at, id), scanned backwards, so a page is a bounded index range scan. The 0001
-- indexes were (created_at DESC, id): their tie order cannot serve `id DESC`, so they go.
DROP INDEX squid_mesh.runs_created_idx;
DROP INDEX squid_mesh.runs_status_created_idx;
DROP INDEX squid_mesh.runs_workflow_created_idx;
DROP INDEX squid_mesh.runs_parent_idx;
CREATE INDEX runs_created_idx ON squid_mesh.runs (created_at, id);
CREATE INDEX runs_status_created_idx ON squid_mesh.runs (status, created_at, id);
CREATE INDEX runs_workflow_created_idx ON squid_mesh.runs (workflow, created_at, id);
CREATE INDEX runs_trigger_created_idx ON squid_mesh.runs (trigger, created_at, id);
-- Also getChildren's (created_at, id) order, scanned forwards.
CREATE INDEX runs_parent_created_idx ON squid_mesh.runs (parent_run_id, created_at, id) WHERE parent_run_id IS NOT NULL;
CREATE INDEX runs_idempotency_created_idx ON squid_mesh.runs (idempotency_key, created_at, id) WHERE idempotency_key IS NOT NULL;
-- updated_at changes on every commit. A btree on it would make every commit's row update a
-- non-HOT one (a new entry in each index of the table); a BRIN index is summarizing, so from
-- PostgreSQL 16 on it keeps those updates HOT. Recent updates sit in recent pages, which is
-- what an updated-time range mostly asks for.
CREATE INDEX runs_updated_brin ON squid_mesh.runs USING brin (updated_at) WITH (pages_per_range = 16);
-- Retention: terminal runs by finish time (finished_at is set once, by the terminal commit,
-- which changes status and so is never a HOT update anyway).
CREATE INDEX runs_finished_idx ON squid_mesh.runs (finished_at, id) WHERE finished_at IS NOT NULL;

-- The audit trail of retention: one row per purge batch (its own transaction).
CREATE TABLE squid_mesh.purges (
  id            bigserial   PRIMARY KEY,
  at            timestamptz NOT NULL,
  reason        jsonb       NOT NULL,
  purged        integer     NOT NULL,
  first_run_id  uuid        NOT NULL,
  last_run_id   uuid        NOT NULL
);
