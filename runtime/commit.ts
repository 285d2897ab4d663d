/**
 * Building a `Commit`: one place spells out what a commit holds by default (nothing resolved,
 * appended, attempted, scheduled or withdrawn), so each caller names only what it changes;
 * and retrying one that failed transiently.
 */
import { Effect, Schedule } from "effect"
import type { StoreError } from "../src/core/errors.js"
import type { Commit } from "../src/store/Store.js"

/** What a caller gives: the run and time, and only the parts it changes. */
export type CommitParts = Pick<Commit, "runId" | "now"> & Partial<Omit<Commit, "runId" | "now">>

/** A commit with empty defaults for every part the caller leaves out. */
export const commitOf = (parts: CommitParts): Commit => ({ resolve: [], append: [], attempts: [], tasks: [], withdraw: [], ...parts })

/**
 * Retries a commit that failed with a transient StoreError (connection lost, database
 * restarting, serialization failure) up to 5 times with exponential backoff from 100 ms. Any
 * other StoreError (a SQL error, a constraint violation) fails at once: it would fail the same
 * way again. Safe: commits are fenced, so a retry after an unseen success is refused.
 */
export const retryTransient = <A>(commit: Effect.Effect<A, StoreError>): Effect.Effect<A, StoreError> =>
  // The schedule is only built once a commit failed: the success path stays one effect.
  Effect.catchIf(
    commit,
    (error) => error.transient,
    () => Effect.retry(commit, { schedule: TRANSIENT_RETRY, while: (error) => error.transient }),
  )

const TRANSIENT_RETRY = Schedule.intersect(Schedule.exponential("100 millis"), Schedule.recurs(4))
