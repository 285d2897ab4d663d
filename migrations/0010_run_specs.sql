-- Runtime-authored workflow specs, stored with the runs that run them. A spec run's workflow is
-- named `spec:<name>` and its definition_hash is the spec's fingerprint (the sha256 of its JSON
-- text): the row here that a worker builds the run's graph from, with its own action registry,
-- even after the spec was edited (a new version is a new fingerprint, a new row). Rows are
-- shared by every run of the same spec version and written with the first one, in the same
-- statement. The text is kept as text, not jsonb: jsonb would reorder keys, and the order of a
-- spec's nodes is part of it (a dependency phase runs its nodes in declaration order).
CREATE TABLE squid_mesh.run_specs (
  fingerprint  text        PRIMARY KEY,
  name         text        NOT NULL,
  spec         text        NOT NULL,
  created_at   timestamptz NOT NULL
);
