-- Manual commands (resume, approve, reject, cancel) as audit events. Each is written in the
-- same commit as its effect, with its actor, note, redacted metadata and idempotency key.
-- A key names one command per run: a repeat returns the recorded outcome and writes nothing.
CREATE TABLE squid_mesh.commands (
  run_id           uuid        NOT NULL REFERENCES squid_mesh.runs (id) ON DELETE CASCADE,
  id               bigserial   NOT NULL,
  kind             text        NOT NULL,
  actor            text        NOT NULL,
  note             text        NULL,
  idempotency_key  text        NULL,
  metadata         jsonb       NULL,
  seq              integer     NULL,
  at               timestamptz NOT NULL,
  PRIMARY KEY (run_id, id)
);

CREATE UNIQUE INDEX commands_idempotency_idx ON squid_mesh.commands (run_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
