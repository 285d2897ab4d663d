-- What a process without the workflow's code needs to act on a run: whether a step entry is
-- irreversible (a rerun must not repeat it unasked). NULL on entries journaled before this
-- column existed: unknown, so such a rerun needs the workflow's code.
ALTER TABLE squid_mesh.entries ADD COLUMN irreversible boolean;
