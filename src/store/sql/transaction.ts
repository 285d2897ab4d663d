/**
 * Running an Effect inside one driver transaction (the store's `transaction`, used by steps
 * declared with `transaction: true`): the step's own writes and its recorded result commit
 * together, or not at all.
 */
import { Effect, Exit, Runtime } from "effect"
import type { StoreError } from "../../core/errors.js"
import type { Commit, CommitResult, TransactionScope } from "../Store.js"
import type { SqlClient } from "./SqlClient.js"
import { storeError } from "./storeError.js"

/**
 * Runs `f` in a transaction of `client`. `f` gets the driver's transaction handle and a
 * `commit` that writes through the transaction (`commitIn`). The transaction commits when `f`
 * succeeds; a failure or defect of `f` rolls it back and is returned as is. A failure of the
 * driver itself (BEGIN, COMMIT, a lost connection) is a classified `StoreError`.
 */
export const inTransaction = <A, E, R>(
  client: SqlClient,
  commitIn: (tx: SqlClient, commit: Commit) => Effect.Effect<CommitResult, StoreError>,
  f: (scope: TransactionScope) => Effect.Effect<A, E, R>,
): Effect.Effect<A, E | StoreError, R> =>
  Effect.flatMap(Effect.runtime<R>(), (runtime) => {
    const rollback = Symbol("rollback")
    let failed: Exit.Exit<A, E> | undefined
    return Effect.tryPromise({
      try: () =>
        client.transaction(async (tx) => {
          const exit = await Runtime.runPromiseExit(runtime)(f({ handle: tx.handle, commit: (c) => commitIn(tx, c) }))
          if (Exit.isFailure(exit)) {
            failed = exit
            throw rollback
          }
          return exit.value
        }),
      catch: (cause) => (cause === rollback ? rollback : storeError("transaction", cause)),
    }).pipe(Effect.catchAll((e): Effect.Effect<A, E | StoreError> => (e === rollback ? (failed as Exit.Exit<A, E>) : Effect.fail(e as StoreError))))
  })
