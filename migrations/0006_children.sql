-- Child runs: a child links to its parent run and the parent's journal entry that waits for it.
ALTER TABLE squid_mesh.runs ADD COLUMN parent_run_id uuid NULL;
ALTER TABLE squid_mesh.runs ADD COLUMN parent_seq integer NULL;
CREATE INDEX runs_parent_idx ON squid_mesh.runs (parent_run_id) WHERE parent_run_id IS NOT NULL;
