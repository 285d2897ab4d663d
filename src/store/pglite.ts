/**
 * The PGlite Store backend: embedded Postgres (WebAssembly) in the same process, in memory or
 * in a data directory. The zero-setup default for examples, the CLI and local development.
 * It runs the same SQL and migrations as the postgres.js backend (see src/store/sql/).
 *
 * A data directory is opened by one process at a time (DESIGN.md §7, invariant 10; see
 * embedded/lock.ts). That process serves it on a local Unix socket (embedded/server.ts); a
 * second process that opens the same directory gets a Store over that socket instead (through
 * postgres.js), so "approve from another terminal" reaches the same database, and it takes the
 * directory over if the holder goes away (embedded/connector.ts). embedded/open.ts opens the
 * directory itself (from a shipped template on first use, embedded/template.ts).
 */
import { existsSync, mkdirSync } from "node:fs"
import { connect } from "node:net"
import { resolve } from "node:path"
import { hostname } from "node:os"
import { Effect, Layer, Runtime, type Scope } from "effect"
import postgres from "postgres"
import { StoreLockedError, type StoreError } from "../core/errors.js"
import { currentHolder, tryAcquire, type LockRecord } from "./embedded/lock.js"
import { makeConnector } from "./embedded/connector.js"
import { openHolding } from "./embedded/holding.js"
import { openMemory as openMemoryDb } from "./embedded/open.js"
import { pgliteClient } from "./embedded/pgliteClient.js"
import { socketPathFor, type SocketPath } from "./embedded/socketPath.js"
import { postgresClient } from "./postgres.js"
import { guardedSocketFrom } from "./postgresSocket.js"
import { migrate, requireCurrentSchema } from "./sql/migrate.js"
import type { SqlClient } from "./sql/SqlClient.js"
import { makeSqlStore } from "./sql/SqlStore.js"
import { storeError } from "./sql/storeError.js"
import { Store, type StoreService } from "./Store.js"

export { pgliteClient } from "./embedded/pgliteClient.js"
export { resolveDataDir, DATA_DIR_ENV } from "./embedded/dataDir.js"

/** Options of the PGlite store. */
export interface PgliteStoreOptions {
  /**
   * The data directory. Undefined means an in-memory database that disappears when the scope
   * closes. `createMesh` uses `resolveDataDir()` (`.squid-mesh/` in the project root).
   */
  readonly dataDir?: string | undefined
  /**
   * Apply pending migrations on open (default true); false opens the schema as it is;
   * "require" fails with `StoreError` unless the schema is current (read-only tools).
   */
  readonly migrate?: boolean | "require"
  /** Fail with `StoreError` (operation "open") instead of creating a store that does not exist yet. */
  readonly mustExist?: boolean
  /**
   * Serve the open directory on a local Unix socket, so other processes of this user reach it
   * (they connect automatically). Default true. With false, they get `StoreLockedError`.
   */
  readonly serve?: boolean
  /**
   * When another process holds the directory, how long to wait for its socket to accept (it may
   * still be opening the store). Default 30 000 ms.
   */
  readonly connectTimeoutMs?: number
  /**
   * The holder disconnects a socket client that holds the database (an open transaction, an
   * unfinished extended-protocol sequence) and sends nothing for this long, rolling its
   * transaction back: a hung process must not stall the store. Default 60 000 ms. A
   * `transaction: true` step that runs longer than this in another process fails.
   */
  readonly holdIdleTimeoutMs?: number
  /** Connections to a holder's socket. Default 3. */
  readonly max?: number
  /** Print one line on stderr while a first open creates the store. Default true. */
  readonly progress?: boolean
  /**
   * The folder of the template a new store is created from (default: the one `npm run build`
   * ships in dist/template/); false to always create with initdb (slower, more memory).
   */
  readonly template?: string | false
  /** Log which store was opened (`describeStore`) at Info rather than Debug. `createMesh` does. */
  readonly announce?: boolean
}

/** Which store `make` opened, for logs and `describeStore`. */
export type EmbeddedStoreInfo =
  | { readonly mode: "memory" }
  | {
      readonly mode: "holder"
      readonly dataDir: string
      readonly created: "template" | "initdb" | false
      readonly openMs: number
      readonly socket?: string
      /** Set when this process was a socket client and took the directory over from a holder that went away. */
      readonly tookOverFrom?: number
    }
  | { readonly mode: "client"; readonly dataDir: string; readonly holderPid: number; readonly holderHost: string; readonly socket: string }

const infos = new WeakMap<StoreService, EmbeddedStoreInfo>()

/** One line saying which embedded store this is, e.g. `embedded store /app/.squid-mesh (opened in 812 ms, serving /app/.squid-mesh/.s.PGSQL.5432)`. */
export const describeEmbedded = (info: EmbeddedStoreInfo): string => {
  switch (info.mode) {
    case "memory":
      return "embedded store in memory"
    case "holder": {
      const how =
        info.tookOverFrom !== undefined
          ? `taken over from process ${info.tookOverFrom}`
          : info.created === "template"
            ? "created from the template"
            : info.created === "initdb"
              ? "created"
              : "opened"
      return `embedded store ${info.dataDir} (${how} in ${info.openMs} ms, ${info.socket ? `serving ${info.socket}` : "not serving"})`
    }
    case "client":
      return `embedded store ${info.dataDir} via the socket of process ${info.holderPid} (${info.socket})`
  }
}

/** Describes the store `make` returned (see `describeEmbedded`); other stores by backend name. */
export const describeStore = (store: StoreService): string => {
  const info = infos.get(store)
  return info ? describeEmbedded(info) : `${store.backend} store`
}

/** How the embedded store behind a Store was opened, if it is one. */
export const storeInfo = (store: StoreService): EmbeddedStoreInfo | undefined => infos.get(store)

const attempt = <A>(operation: string, f: () => Promise<A>) => Effect.tryPromise({ try: f, catch: (cause) => storeError(operation, cause) })

/** Migrates, checks or leaves the schema, as `options.migrate` asks. */
const migrateAsAsked = (client: SqlClient, options: PgliteStoreOptions, where: string) =>
  options.migrate === false
    ? Effect.void
    : options.migrate === "require"
      ? attempt("migrate", () => requireCurrentSchema(client, where))
      : Effect.asVoid(attempt("migrate", () => migrate(client)))

/**
 * Remembers how the store was opened, and logs it: at Info with `announce`, else at Debug
 * (a command printing machine-readable output shares the console the default logger writes to).
 */
const register = (store: StoreService, info: EmbeddedStoreInfo, options: PgliteStoreOptions) =>
  Effect.sync(() => infos.set(store, info)).pipe(
    Effect.zipRight(
      info.mode === "memory" ? Effect.void : options.announce === true ? Effect.logInfo(describeEmbedded(info)) : Effect.logDebug(describeEmbedded(info)),
    ),
    Effect.as(store),
  )

/** The in-memory database: no lock, no socket. */
const openMemory = (options: PgliteStoreOptions) =>
  Effect.acquireRelease(
    attempt("open", async () => {
      const db = await openMemoryDb(options.template)
      try {
        if (options.migrate !== false) await migrate(pgliteClient(db))
      } catch (cause) {
        await db.close().catch(() => undefined)
        throw cause
      }
      return db
    }),
    (db) => attempt("close", () => (db.closed ? Promise.resolve() : db.close())).pipe(Effect.ignoreLogged),
  ).pipe(Effect.flatMap((db) => register(makeSqlStore(pgliteClient(db), "pglite"), { mode: "memory" }, options)))

const holdingOptions = (options: PgliteStoreOptions) => ({
  progress: options.progress !== false,
  mustExist: options.mustExist === true,
  template: options.template,
  holdIdleTimeoutMs: options.holdIdleTimeoutMs,
})

/** This process holds the lock: open PGlite on the directory, serve it, migrate. */
const openHolder = (dataDir: string, options: PgliteStoreOptions, socket: SocketPath | undefined, release: () => void) =>
  Effect.gen(function* () {
    const holding = yield* Effect.acquireRelease(
      attempt("open", () => openHolding(dataDir, holdingOptions(options), socket, release)),
      (h) => Effect.promise(h.close),
    )
    const client = pgliteClient(holding.db, holding.server?.listen)
    yield* migrateAsAsked(client, options, dataDir)
    const info: EmbeddedStoreInfo = {
      mode: "holder",
      dataDir,
      created: holding.created,
      openMs: holding.openMs,
      ...(holding.server ? { socket: holding.server.path } : {}),
    }
    return yield* register(makeSqlStore(client, "pglite"), info, options)
  })

/**
 * Another live process holds the directory and serves it: a Store through its socket (see
 * embedded/connector.ts), which takes the directory over if that process goes away.
 */
const openClient = (dataDir: string, record: LockRecord & { readonly socket: string }, options: PgliteStoreOptions) =>
  Effect.gen(function* () {
    const runtime = yield* Effect.runtime<never>()
    let store: StoreService | undefined
    const connector = yield* Effect.acquireRelease(
      Effect.sync(() =>
        makeConnector(dataDir, {
          ...holdingOptions(options),
          mustExist: false,
          connectTimeoutMs: options.connectTimeoutMs ?? 30_000,
          onTakeover: (holding, previous) => {
            const info: EmbeddedStoreInfo = {
              mode: "holder",
              dataDir,
              created: holding.created,
              openMs: holding.openMs,
              socket: holding.server!.path,
              tookOverFrom: previous?.pid ?? record.pid,
            }
            if (store) infos.set(store, info)
            Runtime.runFork(runtime)(Effect.logInfo(describeEmbedded(info)))
          },
        }),
      ),
      (c) => Effect.promise(c.close),
    )
    const sql = yield* Effect.acquireRelease(
      Effect.sync(() =>
        postgres({
          // postgres.js calls this for every new connection (its typings omit the option).
          ...({ socket: guardedSocketFrom(connector.socket, dataDir) } as object),
          max: options.max ?? 3,
          username: "postgres",
          database: "postgres",
          onnotice: () => undefined,
          connection: { application_name: "squid-mesh" },
          connect_timeout: Math.max(1, Math.ceil((options.connectTimeoutMs ?? 30_000) / 1000)),
        }),
      ),
      // The store sends its wakeups (NOTIFY) a few milliseconds after a commit: let the last
      // ones out first, or a process that approves and exits right away never wakes the worker.
      (pool) => Effect.sleep("30 millis").pipe(Effect.zipRight(Effect.promise(() => pool.end({ timeout: 5 })))),
    )
    const client = postgresClient(sql)
    yield* attempt("open", () => sql`SELECT 1`)
    yield* migrateAsAsked(client, options, dataDir)
    const info: EmbeddedStoreInfo = { mode: "client", dataDir, holderPid: record.pid, holderHost: record.host, socket: record.socket }
    store = yield* register(makeSqlStore(client, "pglite"), info, options)
    return store
  })

/** True when something accepts connections on the Unix socket `path`. */
const accepts = (path: string): Promise<boolean> =>
  new Promise<boolean>((resolvePromise) => {
    const socket = connect(path)
    socket.once("connect", () => {
      socket.end()
      resolvePromise(true)
    })
    socket.once("error", () => resolvePromise(false))
  })

type Decision =
  | { readonly _tag: "Holder"; readonly release: () => void; readonly socket: SocketPath | undefined }
  | { readonly _tag: "Client"; readonly record: LockRecord & { readonly socket: string } }

/**
 * Takes the lock, or finds a holder whose socket accepts. A holder that is still opening gets
 * `connectTimeoutMs` to start serving; one that dies meanwhile is taken over.
 */
const decide = (dataDir: string, options: PgliteStoreOptions): Effect.Effect<Decision, StoreError | StoreLockedError> =>
  Effect.gen(function* () {
    const deadline = Date.now() + (options.connectTimeoutMs ?? 30_000)
    for (;;) {
      const socket = options.serve === false ? undefined : socketPathFor(dataDir)
      const outcome = yield* Effect.try({ try: () => tryAcquire(dataDir, { socket: socket?.path }), catch: (cause) => storeError("lock", cause) })
      if (outcome._tag === "Acquired") return { _tag: "Holder", release: outcome.lock.release, socket } as const
      socket?.cleanup()
      const record = outcome.record
      const locked = new StoreLockedError({ dataDir, holderPid: record.pid, holderHost: record.host, ...(record.socket ? { socket: record.socket } : {}) })
      if (record.socket === undefined || record.host !== hostname()) return yield* locked
      if (yield* Effect.promise(() => accepts(record.socket!))) return { _tag: "Client", record: record as LockRecord & { socket: string } } as const
      if (Date.now() > deadline) return yield* locked
      yield* Effect.sleep("100 millis")
    }
  })

/**
 * Opens the PGlite store: in memory when `dataDir` is undefined; otherwise the data directory,
 * locked to this process and served on a local socket, or, when another live process already
 * holds it, through that process's socket. Applies pending migrations (unless `migrate:
 * false`). Everything is released when the scope closes: the socket, the database, the lock.
 * Fails with `StoreLockedError` when the holder does not serve (or is on another host), and
 * with `StoreError` when the database cannot be opened, created (`mustExist`) or migrated.
 * Logs one line saying which store it opened (`describeStore`; at Info with `announce`).
 */
export const make = (options: PgliteStoreOptions = {}): Effect.Effect<StoreService, StoreError | StoreLockedError, Scope.Scope> =>
  Effect.gen(function* () {
    if (options.dataDir === undefined) return yield* openMemory(options)
    const dataDir = resolve(options.dataDir)
    if (options.mustExist === true && !existsSync(dataDir)) {
      return yield* storeError("open", new Error(`no embedded store in ${dataDir} (mustExist)`))
    }
    yield* Effect.try({ try: () => mkdirSync(dataDir, { recursive: true, mode: 0o700 }), catch: (cause) => storeError("open", cause) })
    const decision = yield* decide(dataDir, options)
    return decision._tag === "Holder"
      ? yield* openHolder(dataDir, options, decision.socket, decision.release)
      : yield* openClient(dataDir, decision.record, options)
  })

/** A scoped layer providing the PGlite Store; the database closes (and the lock is released) when the layer is released. */
export const layer = (options: PgliteStoreOptions = {}): Layer.Layer<Store, StoreError | StoreLockedError> => Layer.scoped(Store, make(options))

/** The live process holding `dataDir`, if any (pid, host, socket). */
export const holderOf = (dataDir: string): LockRecord | undefined => (existsSync(dataDir) ? currentHolder(resolve(dataDir)) : undefined)
