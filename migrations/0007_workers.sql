-- Worker liveness: each worker records, every few seconds, that it serves its queue. Explain
-- reads the latest per queue to tell "no worker serves this queue" from "the queue is busy".
-- One row per (queue, owner); `last_seen` only moves forward.
CREATE TABLE squid_mesh.workers (
  queue      text        NOT NULL,
  owner      text        NOT NULL,
  last_seen  timestamptz NOT NULL,
  PRIMARY KEY (queue, owner)
);

-- The latest worker of a queue.
CREATE INDEX workers_queue_seen_idx ON squid_mesh.workers (queue, last_seen DESC);
