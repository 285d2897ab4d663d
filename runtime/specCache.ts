/**
 * What an engine keeps of spec runs: its action registry, the workflows built from stored specs
 * (by fingerprint: a spec version is built once per engine), and which spec each run it saw
 * runs (by run id, bounded). runtime/specs.ts fills and reads it.
 */
import type { AnyWorkflow } from "../dsl/Workflow.js"
import type { ActionRegistry } from "../dsl/spec/Actions.js"

/** A spec run's workflow, or why this engine cannot run it. */
export type SpecLookup = { readonly _tag: "Found"; readonly workflow: AnyWorkflow } | { readonly _tag: "Missing"; readonly reason: string }

/** Run ids remembered with their spec's fingerprint; the oldest are forgotten past it. */
const MAX_RUNS = 10_000

/** The spec state of one engine. */
export class SpecCache {
  private readonly built = new Map<string, SpecLookup>()
  /** The specs this engine activated (`specs` in its config), by fingerprint: new runs store theirs. */
  private readonly sources = new Map<string, { readonly fingerprint: string; readonly name: string; readonly text: string }>()
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

  /** Keeps an activated spec's stored form, so the runs its triggers start store it. */
  activate(source: { readonly fingerprint: string; readonly name: string; readonly text: string }): void {
    this.sources.set(source.fingerprint, source)
  }

  /** The stored form of an activated spec, by fingerprint. */
  sourceOf(fingerprint: string): { readonly fingerprint: string; readonly name: string; readonly text: string } | undefined {
    return this.sources.get(fingerprint)
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
