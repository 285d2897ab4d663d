/**
 * Building a `Commit`: one place spells out what a commit holds by default (nothing resolved,
 * appended, attempted, scheduled or withdrawn), so each caller names only what it changes.
 */
import type { Commit } from "../src/store/Store.js"

/** What a caller gives: the run and time, and only the parts it changes. */
export type CommitParts = Pick<Commit, "runId" | "now"> & Partial<Omit<Commit, "runId" | "now">>

/** A commit with empty defaults for every part the caller leaves out. */
export const commitOf = (parts: CommitParts): Commit => ({ resolve: [], append: [], attempts: [], tasks: [], withdraw: [], ...parts })
