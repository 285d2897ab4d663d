-- Retention of cron schedule events and stored specs: a purge batch deletes runs, schedule
-- events or unreferenced specs, and its audit row counts each. Only a batch of runs names a
-- first and last run.
ALTER TABLE squid_mesh.purges ADD COLUMN schedule_events integer NOT NULL DEFAULT 0;
ALTER TABLE squid_mesh.purges ADD COLUMN specs integer NOT NULL DEFAULT 0;
ALTER TABLE squid_mesh.purges ALTER COLUMN first_run_id DROP NOT NULL;
ALTER TABLE squid_mesh.purges ALTER COLUMN last_run_id DROP NOT NULL;

-- Whether a stored spec is still needed: the runs of spec workflows by definition hash (the
-- spec's fingerprint). Partial, so code workflows' runs are not indexed; definition_hash and
-- workflow never change, so commits' updates of a run stay HOT.
CREATE INDEX runs_spec_idx ON squid_mesh.runs (definition_hash) WHERE workflow LIKE 'spec:%';
