-- Squid Mesh: initial schema. Forward-only; never edit once released, add 0002_... instead.
--
-- Conventions:
--   * Every object lives in the `squid_mesh` schema.
--   * JSON values are jsonb. An absent value (undefined in TypeScript) is SQL NULL; a JSON
--     null is the jsonb `null` literal, so the two round-trip distinctly.
--   * Times are timestamptz (microsecond precision), so epoch milliseconds round-trip exactly.

CREATE SCHEMA IF NOT EXISTS squid_mesh;

-- One row per workflow run. `revision` is the compare-and-set counter of the journal.
CREATE TABLE squid_mesh.runs (
  id               uuid        PRIMARY KEY,
  workflow         text        NOT NULL,
  trigger          text        NOT NULL,
  queue            text        NOT NULL,
  status           text        NOT NULL,
  input            jsonb       NOT NULL,
  output           jsonb       NULL,
  error            jsonb       NULL,
  revision         integer     NOT NULL DEFAULT 0,
  idempotency_key  text        NULL,
  request_hash     text        NOT NULL,
  definition_hash  text        NOT NULL,
  created_at       timestamptz NOT NULL,
  updated_at       timestamptz NOT NULL,
  finished_at      timestamptz NULL
);

-- listRuns: newest first, optionally filtered by status or workflow (ties broken by id).
CREATE INDEX runs_created_idx ON squid_mesh.runs (created_at DESC, id);
CREATE INDEX runs_status_created_idx ON squid_mesh.runs (status, created_at DESC, id);
CREATE INDEX runs_workflow_created_idx ON squid_mesh.runs (workflow, created_at DESC, id);

-- The journal: one row per command a run yielded, in sequence order.
CREATE TABLE squid_mesh.entries (
  run_id       uuid        NOT NULL REFERENCES squid_mesh.runs (id) ON DELETE CASCADE,
  seq          integer     NOT NULL,
  kind         text        NOT NULL,
  name         text        NOT NULL,
  status       text        NOT NULL,
  input        jsonb       NULL,
  output       jsonb       NULL,
  error        jsonb       NULL,
  attempts     integer     NOT NULL DEFAULT 0,
  created_at   timestamptz NOT NULL,
  resolved_at  timestamptz NULL,
  PRIMARY KEY (run_id, seq)
);

-- One row per finished try of a step.
CREATE TABLE squid_mesh.attempts (
  run_id       uuid        NOT NULL REFERENCES squid_mesh.runs (id) ON DELETE CASCADE,
  seq          integer     NOT NULL,
  attempt      integer     NOT NULL,
  status       text        NOT NULL,
  error        jsonb       NULL,
  owner        text        NOT NULL,
  started_at   timestamptz NOT NULL,
  finished_at  timestamptz NOT NULL,
  retry_at     timestamptz NULL,
  PRIMARY KEY (run_id, seq, attempt)
);

-- Work for workers: at most one live task per journal entry.
--
-- `available_at` is when the task can next be claimed: `visible_at` while unclaimed, and
-- `lease_until` while claimed (claims and heartbeats move it to the lease end). A task is
-- claimable when `available_at <= now`, so one index serves both claiming and nextDueAt.
-- Only the sha256 of the claim token is stored (`token_hash`).
CREATE TABLE squid_mesh.tasks (
  run_id        uuid        NOT NULL REFERENCES squid_mesh.runs (id) ON DELETE CASCADE,
  seq           integer     NOT NULL,
  queue         text        NOT NULL,
  kind          text        NOT NULL,
  attempt       integer     NOT NULL,
  visible_at    timestamptz NOT NULL,
  available_at  timestamptz NOT NULL,
  claim_id      text        NULL,
  token_hash    text        NULL,
  owner         text        NULL,
  lease_until   timestamptz NULL,
  PRIMARY KEY (run_id, seq)
);

-- Claims scan (queue, available_at <= now) in (available_at, run_id, seq) order with a LIMIT;
-- the trailing columns make that order come straight from the index.
CREATE INDEX tasks_claim_idx ON squid_mesh.tasks (queue, available_at, run_id, seq);
