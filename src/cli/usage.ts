/**
 * The help texts: the overview (`squid-mesh --help`) and one per command and subcommand
 * (`squid-mesh runs list --help`), printed on stdout; after a usage error, on stderr.
 */

const STORE = `store (every command that reads or changes runs):
  --url <postgres url>     a Postgres database (its schema must be migrated: squid-mesh migrate)
  --data-dir <dir>         an embedded (PGlite) store directory
  default: $DATABASE_URL, else the project's embedded store (.squid-mesh/ at the project root, or
  $SQUID_MESH_DATA_DIR). An embedded store held by a running app is reached through the app's
  socket. The store is named on stderr ("squid-mesh: store: ..."); a URL never with its password.`

const EXIT_CODES = `exit codes:
  0  ok
  1  a check found a problem (check-replay: divergent runs; doctor: a problem), or an unexpected failure
  2  usage: a bad command, option or value; a missing module, store or schema. Nothing was written.
  3  not found: no run with that id (RunNotFoundError)
  4  refused: the run does not allow it (InvalidTransitionError, RerunRefusedError, InvalidPayloadError,
     PayloadTooLargeError, ConflictError, InvalidWorkflowError). Nothing was written.
  5  store: unreachable, locked or failing (StoreError, StoreLockedError)
Errors are one line on stderr: "squid-mesh: <ErrorTag>: <message>".`

/** The overview, printed by `squid-mesh --help`. */
export const USAGE = `usage: squid-mesh <command> [options]

runs:
  runs list [filters] [--all]           list runs, newest first, a page at a time
  runs show <run id> [--history]        a run; with its journal, tasks, children and audit events
  runs explain <run id>                 why the run is where it is, and the controls that would succeed
  runs graph <run id>                   the run as a graph: nodes, edges, path, children
controls (no workflow code needed):
  approve <run id> --actor A            decide a pending approval (also: reject)
  reject <run id> --actor A
  resume <run id> --actor A             continue a run paused at Workflow.pause
  cancel <run id> --actor A             cancel an open run
  rerun <run id> --actor A              start a new run with the same input
  signal <run id> <name> [--payload J]  send a signal
retention:
  purge --older-than <duration> --yes   delete terminal runs that finished longer ago (--dry-run counts)
  purges list                           the purge audit trail
web:
  dashboard [--port N] [--allow-actions]  serve the dashboard on 127.0.0.1 until SIGINT/SIGTERM
code (import --module <file>, which exports \`workflows\`):
  worker --module <file>                run a worker until SIGINT/SIGTERM, then drain
  schedules list --module <file>        the cron triggers and their next fire times
  check-replay --module <file>          deploy gate: replay every open run against the code
schema and setup:
  migrate [--url <postgres url>]        apply pending migrations (default: $DATABASE_URL)
  migrations list | print | copy <dir>  the migration files, for a host's own migration tool
  doctor [--url <postgres url>]         the runtime, the driver, the embedded store; with --url, the schema
  help, --help                          this text; <command> --help for a command's options

output: tables for people (times in ISO UTC); --json prints one JSON document on stdout
(the API's own value, times in epoch ms) on the commands that read or change runs.

${STORE}

${EXIT_CODES}`

const RUNS = `usage: squid-mesh runs <list | show | explain | graph> ...

  runs list [filters] [--all] [--json]
  runs show <run id> [--history] [--json]
  runs explain <run id> [--json]
  runs graph <run id> [--json]

See squid-mesh runs <subcommand> --help.

${STORE}`

const RUNS_LIST = `usage: squid-mesh runs list [filters] [--limit N] [--cursor C | --all] [--json]

Lists runs newest first (with --deadline: earliest due first), one page at a time; the next
page's cursor is printed after the table ("next: --cursor ...").

filters (every one given must match):
  --status <s>               running, paused, completed, failed, cancelled; repeat or comma-separate for any of several
  --workflow <name>
  --trigger <name>           the trigger that started the run (manual, or a cron trigger's name)
  --created-from <time>      created at or after (ISO 8601 time, or epoch milliseconds)
  --created-to <time>        created before
  --updated-from <time>      last changed at or after
  --updated-to <time>        last changed before
  --parent <run id>          child runs of this run
  --idempotency-key <key>    the run started with this key
  --attr <key=value>         a run attribute given at start; repeat: every pair must match
  --deadline <status>        open runs whose most urgent deadline is on_time, due_soon, overdue or escalated
paging:
  --limit <n>                runs per page, 1 to 1000 (default 100)
  --cursor <cursor>          the page after the one that printed this cursor (same filters)
  --all                      follow the cursors to the last page
  --json                     { "runs": [...], "nextCursor"?: "..." } (with --all, every run and no cursor)

${STORE}`

const RUNS_SHOW = `usage: squid-mesh runs show <run id> [--history] [--json]

A run: status, workflow, trigger, times, attributes, input, output or error. With --history, its
journal entries with their attempts, the live tasks, its child runs and its audit events. Dynamic
work added to the run is listed (key, mode, origin, nodes with their status). --json prints the
API's RunView, plus \`dynamicWork\` when the run has some.

${STORE}`

const RUNS_EXPLAIN = `usage: squid-mesh runs explain <run id> [--json]

Why the run is where it is: a reason code, a one-line summary, the controls that would succeed
now, and the evidence (retry times and last error, the pending gate, the lease owner, who serves
the queue...). --json prints the API's Explanation.

${STORE}`

const RUNS_GRAPH = `usage: squid-mesh runs graph <run id> [--json]

The run as a graph: its nodes (the journal's commands, with status, attempts and durations), the
edges between them (sequence, fork/join, compensation, transition, dynamic; not taken ones
marked), the path taken, the current nodes, its child runs and its dynamic work (nodes
\`recorded\` or run, by key). --json prints the API's RunGraph.

${STORE}`

const CONTROL_COMMON = `  --key <key>                an idempotency key: a repeat returns the recorded outcome and writes nothing
  --module <file>            register the module's workflows (not needed: controls are checked on the journal)
  --json                     print the outcome as JSON

Every control is recorded as an audit event with the actor. The run advances when a worker that
has the workflow's code picks it up.

${STORE}

exit: 0 done; 2 bad usage; 3 no such run; 4 refused (not in a state that allows it: InvalidTransitionError)`

const DECIDE = (verb: "approve" | "reject") => `usage: squid-mesh ${verb} <run id> --actor <who> [--note <text>] [--key <key>] [--json]

${verb === "approve" ? "Approves" : "Rejects"} the run's pending approval (Workflow.approval).

  --actor <who>              who decides (required; recorded)
  --note <text>              a note for the audit trail
${CONTROL_COMMON}`

const REASONED = (verb: "resume" | "cancel") => `usage: squid-mesh ${verb} <run id> --actor <who> [--reason <text>] [--key <key>] [--json]

${verb === "resume" ? "Continues a run paused at Workflow.pause." : "Cancels an open run: immediate and final; its tasks are withdrawn and in-flight results fenced out."}

  --actor <who>              who does it (required; recorded)
  --reason <text>            why, for the audit trail
${CONTROL_COMMON}`

const RERUN = `usage: squid-mesh rerun <run id> --actor <who> [--allow-irreversible] [--from-step <step>] [--key <key>] [--json]

Starts a new run with the stored input of an ended run, linked to it (rerunOf). Refused
(RerunRefusedError, exit 4) for an open run, or after irreversible steps without
--allow-irreversible.

  --actor <who>              who does it (required; recorded)
  --allow-irreversible       rerun although the run completed steps marked irreversible
  --from-step <step>         fork: keep the journal before this step and re-execute from there
                             (needs the workflow's code: give --module)
${CONTROL_COMMON}`

const SIGNAL = `usage: squid-mesh signal <run id> <signal name> [--payload <json> | --payload-file <file>] [--actor <who>] [--key <key>] [--json]

Sends a signal to a run. If the run waits for it, the payload is checked against the wait's
schema (journaled as JSON Schema) and the wait resolves; otherwise the signal is kept until the
run waits for it. Default payload: {}. An invalid payload is refused (InvalidPayloadError, exit 4).

  --payload <json>           the payload, as JSON
  --payload-file <file>      read the payload (JSON) from a file
  --actor <who>              who sends it (default "external")
${CONTROL_COMMON}`

const PURGE = `usage: squid-mesh purge --older-than <duration> [--status <s>] [--workflow <name>] (--yes | --dry-run) [--json]

Deletes terminal runs that finished more than <duration> ago ("30 days", "12 hours"), with
everything they own and their child runs, then the cron schedule events recorded before then
(each schedule keeps its 20 newest) and the stored specs no run references any more, in batches;
each batch is recorded in the purge audit trail (squid-mesh purges list). Refuses to delete
without --yes.

  --older-than <duration>    required
  --status <s>               completed, failed or cancelled; repeat or comma-separate (default: all three)
  --workflow <name>          only this workflow's runs and schedule events (and specs, for spec:<name>)
  --yes                      really delete
  --dry-run                  count the runs that match instead (child runs go with their parents,
                             and a run waits while a child of it is open, so the purge may take fewer)
  --json                     { "purged", "batches", "scheduleEvents", "specs" }
                             (with --dry-run: { "dryRun": true, "matching", "scheduleEvents", "specs", "finishedBefore" })

${STORE}`

const PURGES = `usage: squid-mesh purges list [--limit N] [--json]

The purge audit trail, newest batch first: when, what (the filter or the workflow's retention
policy), how many runs, schedule events and specs, the first and last run id (runs only).

  --limit <n>                batches to show, 1 to 1000 (default 100)
  --json                     the API's PurgeRecord array

${STORE}`

const WORKER = `usage: squid-mesh worker --module <file> [--concurrency N] [--queue Q] [--scheduler]

Runs a worker for the workflows the module exports (\`workflows\` array, or a default export)
until SIGINT or SIGTERM, then drains: it stops claiming and waits for the steps in flight. A
second signal exits at once. Logs go to stderr. It creates the embedded store if it does not
exist, and applies pending migrations.

  --module <file>            required: the module exporting the workflows
  --concurrency <n>          tasks run at once, per queue (default 10)
  --queue <name>             serve this queue only (default: every queue of the module's workflows)
  --scheduler                also run the cron scheduler for the module's cron triggers

${STORE}`

const DASHBOARD = `usage: squid-mesh dashboard [--module <file>] [--host H] [--port N] [--token T | --token-env VAR] [--allow-actions]

Serves the operators' dashboard (runs, filters, a run's explanation, graph, timeline, attempts,
children, dynamic work and audit trail, updated live; cron schedules; a spec previewer) until
SIGINT or SIGTERM, and prints its URL on stdout. Read-only unless --allow-actions, which adds
approve, reject, resume, cancel, signal and rerun buttons, and pause and resume for schedules,
that ask for the actor. Needs no workflow code; with --module, schedules show their next fire times and can be
paused, and graph workflows are drawn as declared.

  --module <file>            a module exporting the workflows (its \`workflows\` array)
  --host <name>              address to bind (default 127.0.0.1; any other needs a token)
  --port <n>                 port (default: a free one)
  --token <t>                require this access token (at least 16 characters); the URL carries it
  --token-env <VAR>          read the token from this environment variable instead
  --allow-actions            enable the action buttons

${STORE}`

const SCHEDULES = `usage: squid-mesh schedules list --module <file> [--next N] [--json]

The cron triggers of the module's workflows with their next fire times, computed in each
trigger's time zone. Opens no store.

  --module <file>            required: the module exporting the workflows
  --next <n>                 fire times to show per trigger, 1 to 100 (default 1)
  --json                     [{ workflow, trigger, expression, timeZone, next: [epoch ms...] }]`

const MIGRATE = `usage: squid-mesh migrate [--url <postgres url>]

Applies the pending migrations to a Postgres database (default: $DATABASE_URL), in one
transaction under an advisory lock; safe when several processes run it at once. The embedded
store migrates itself when opened.`

const MIGRATIONS = `usage: squid-mesh migrations <list | print | copy <dir> [--prefix P]>

  migrations list            the migration files shipped with the package, in order
  migrations print           their SQL, in order (pipe it into a host migration)
  migrations copy <dir>      copy them into <dir>; file names get the prefix P (default "squid_mesh_")`

const DOCTOR = `usage: squid-mesh doctor [--url <postgres url>]

Reports what a bug report needs: the Node version, the postgres.js driver and its crash guard,
the migrations shipped, the project's embedded store (where, whether an app holds it). With
--url, whether the database is reachable and its schema current.

exit: 0 fine; 1 a problem found`

const CHECK_REPLAY = `usage: squid-mesh check-replay --module <file> [--url <postgres url> | --data-dir <dir>]

Deploy gate: replays every open run against the workflows the module exports (a \`workflows\`
array or a default export) and prints a JSON report on stdout. Read-only: a Postgres session
that cannot write, an embedded store whose schema must be current. --pglite <dir> is an alias
of --data-dir.

${STORE}

exit: 0 every open run replays; 1 divergent runs (listed); 2 could not check`

const HELP: Readonly<Record<string, string>> = {
  runs: RUNS,
  "runs list": RUNS_LIST,
  "runs show": RUNS_SHOW,
  "runs explain": RUNS_EXPLAIN,
  "runs graph": RUNS_GRAPH,
  approve: DECIDE("approve"),
  reject: DECIDE("reject"),
  resume: REASONED("resume"),
  cancel: REASONED("cancel"),
  rerun: RERUN,
  signal: SIGNAL,
  purge: PURGE,
  purges: PURGES,
  "purges list": PURGES,
  worker: WORKER,
  schedules: SCHEDULES,
  "schedules list": SCHEDULES,
  migrate: MIGRATE,
  migrations: MIGRATIONS,
  doctor: DOCTOR,
  "check-replay": CHECK_REPLAY,
  dashboard: DASHBOARD,
}

/** The help of a command (`runs list`, `approve`), or of its family (`runs`); the overview otherwise. */
export const helpFor = (command: string, subcommand?: string): string =>
  (subcommand !== undefined ? HELP[`${command} ${subcommand}`] : undefined) ?? HELP[command] ?? USAGE
