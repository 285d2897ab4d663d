-- Reruns: a run started from another run's input (or forked from its journal) links to it.
ALTER TABLE squid_mesh.runs ADD COLUMN rerun_of uuid NULL;
CREATE INDEX runs_rerun_of_idx ON squid_mesh.runs (rerun_of) WHERE rerun_of IS NOT NULL;
