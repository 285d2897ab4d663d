-- Deadlines (SLAs) of steps and approvals: due times persisted when the step or gate is
-- planned. The partial index serves "list runs by deadline status" (pending entries only).
ALTER TABLE squid_mesh.entries ADD COLUMN deadline jsonb NULL;
CREATE INDEX entries_pending_deadline_idx ON squid_mesh.entries (run_id, seq) WHERE status = 'pending' AND deadline IS NOT NULL;
