-- Cron schedules: durable state per (workflow, cron trigger), its audit trail, and the
-- intended window of a scheduled run.
--
-- Every change of a schedule is a compare-and-set on `revision` in the same transaction as
-- what it decided (the run of a window, a skipped or missed window, a pause): of several
-- schedulers on one database, exactly one decides each window, and a crash leaves either the
-- whole decision or none of it.
CREATE TABLE squid_mesh.schedules (
  workflow       text        NOT NULL,
  trigger        text        NOT NULL,
  revision       integer     NOT NULL,
  -- Windows at or before this instant are decided; schedulers decide the ones after it, in order.
  decided_until  timestamptz NOT NULL,
  last_fired     timestamptz NULL,
  last_run_id    uuid        NULL,
  -- bufferOne: the window waiting for the open run to finish.
  buffered       timestamptz NULL,
  paused         boolean     NOT NULL DEFAULT false,
  paused_by      text        NULL,
  paused_at      timestamptz NULL,
  pause_note     text        NULL,
  updated_at     timestamptz NOT NULL,
  PRIMARY KEY (workflow, trigger)
);

-- Skipped, buffered and missed windows, and operators' pause, resume and backfill (with actor).
-- Started windows are runs (`runs.scheduled_for`).
CREATE TABLE squid_mesh.schedule_events (
  id           bigserial   PRIMARY KEY,
  workflow     text        NOT NULL,
  trigger      text        NOT NULL,
  kind         text        NOT NULL,
  window_from  timestamptz NULL,
  window_to    timestamptz NULL,
  count        integer     NULL,
  run_id       uuid        NULL,
  actor        text        NULL,
  note         text        NULL,
  detail       jsonb       NULL,
  at           timestamptz NOT NULL
);
CREATE INDEX schedule_events_trigger_idx ON squid_mesh.schedule_events (workflow, trigger, id);

-- The window a cron run was started for (by the scheduler or a backfill); NULL for other runs.
ALTER TABLE squid_mesh.runs ADD COLUMN scheduled_for timestamptz NULL;
