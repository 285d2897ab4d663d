-- The signal inbox: a signal sent before its run waits for it is kept here, and consumed
-- (consumed_seq set) by the journal entry of the wait that receives it.
CREATE TABLE squid_mesh.signals (
  run_id           uuid        NOT NULL REFERENCES squid_mesh.runs (id) ON DELETE CASCADE,
  id               bigserial   NOT NULL,
  name             text        NOT NULL,
  payload          jsonb       NULL,
  received_at      timestamptz NOT NULL,
  consumed_seq     integer     NULL,
  PRIMARY KEY (run_id, id)
);

CREATE INDEX signals_pending_idx ON squid_mesh.signals (run_id, name, id) WHERE consumed_seq IS NULL;
