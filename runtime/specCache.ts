/**
 * What an engine keeps of spec runs: its action registry, the workflows built from stored specs
 * (by fingerprint: a spec version is built once per engine), and which spec each run it saw
 * runs (by run id, bounded). runtime/specs.ts fills and reads it.
 */
import type { AnyWorkflow } from "../dsl/Workflow.js"
import type { ActionRegistry } from "../dsl/spec/Actions.js"
import type { StoredSpec } from "../src/store/Store.js"

/** A spec run's workflow (with the spec it was built from), or why this engine cannot run it. */
export type SpecLookup =
  | { readonly _tag: "Found"; readonly workflow: AnyWorkflow; readonly source?: StoredSpec }
  | { readonly _tag: "Missing"; readonly reason: string }

/** Run ids remembered with their spec's fingerprint; the oldest are forgotten past it. */
const MAX_RUNS = 10_000

/** The spec state of one engine. */
export class SpecCache {
  private readonly built = new Map<string, SpecLookup>()
  private readonly runs = new Map<string, string>()

  constructor(readonly actions: ActionRegistry) {}

  /** The workflow built (or refused) for a fingerprint, if any. */
  builtFor(fingerprint: string): SpecLookup | undefined {
    return this.built.get(fingerprint)
  }

  /** Keeps what building a fingerprint's spec gave (the registry is fixed per engine, so a refusal stays one). */
  keep(fingerprint: string, lookup: SpecLookup): SpecLookup {
    this.built.set(fingerprint, lookup)
    return lookup
  }

  /**
   * The stored form of a spec this engine built, by fingerprint: every new run of a spec workflow
   * (started, scheduled or rerun) stores it again, so a purge that freed the row loses nothing.
   */
  sourceOf(fingerprint: string): StoredSpec | undefined {
    const lookup = this.built.get(fingerprint)
    return lookup?._tag === "Found" ? lookup.source : undefined
  }

  /** The fingerprint of a run's spec, if known. */
  fingerprintOf(runId: string): string | undefined {
    return this.runs.get(runId)
  }

  /** Remembers the fingerprint of a run's spec. */
  remember(runId: string, fingerprint: string): void {
    if (this.runs.size >= MAX_RUNS) this.runs.delete(this.runs.keys().next().value!)
    this.runs.set(runId, fingerprint)
  }
}
