/**
 * What changed between two specs, for an editor's review before it saves or starts a new
 * version: nodes added, removed or changed (with the fields that differ), transitions added or
 * removed, triggers added, removed or changed. Pure: compares the JSON, knows nothing of runs.
 */
import { canonicalJson } from "../../src/core/json.js"
import type { TransitionSpec, WorkflowSpec } from "./schema.js"

/** What `diffSpecs` returns. */
export interface SpecDiff {
  readonly steps: {
    readonly added: ReadonlyArray<string>
    readonly removed: ReadonlyArray<string>
    readonly changed: ReadonlyArray<{ readonly name: string; readonly fields: ReadonlyArray<string> }>
  }
  readonly transitions: { readonly added: ReadonlyArray<TransitionSpec>; readonly removed: ReadonlyArray<TransitionSpec> }
  readonly triggers: { readonly added: ReadonlyArray<string>; readonly removed: ReadonlyArray<string>; readonly changed: ReadonlyArray<string> }
  /** Top-level fields besides steps, transitions and triggers that differ (`name`, `queue`, `description`). */
  readonly fields: ReadonlyArray<string>
  /** True when nothing differs. */
  readonly same: boolean
}

const differs = (a: unknown, b: unknown): boolean => canonicalJson(a ?? null) !== canonicalJson(b ?? null)

/** The keys whose values differ between two records, in first-seen order. */
const changedKeys = (a: Readonly<Record<string, unknown>>, b: Readonly<Record<string, unknown>>): Array<string> =>
  [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((key) => differs(a[key], b[key]))

/**
 * Compares two specs (`a` the old, `b` the new). Transitions are compared whole (a changed
 * transition is one removed and one added); nodes by name, field by field.
 *
 * @example
 * const d = diffSpecs(current, draft)
 * d.steps.changed  // [{ name: "charge", fields: ["retry"] }]
 */
export const diffSpecs = (a: WorkflowSpec, b: WorkflowSpec): SpecDiff => {
  const before = Object.keys(a.steps)
  const after = Object.keys(b.steps)
  const changed = before
    .filter((name) => after.includes(name))
    .map((name) => ({ name, fields: changedKeys(a.steps[name]!, b.steps[name]!) }))
    .filter((c) => c.fields.length > 0)
  const keyed = (ts: ReadonlyArray<TransitionSpec> | undefined) => new Map((ts ?? []).map((t) => [canonicalJson(t), t]))
  const ta = keyed(a.transitions)
  const tb = keyed(b.transitions)
  const triggersA = Object.keys(a.triggers)
  const triggersB = Object.keys(b.triggers)
  const { steps: _s1, transitions: _t1, triggers: _g1, ...headA } = a
  const { steps: _s2, transitions: _t2, triggers: _g2, ...headB } = b
  const diff = {
    steps: { added: after.filter((n) => !before.includes(n)), removed: before.filter((n) => !after.includes(n)), changed },
    transitions: { added: [...tb].filter(([k]) => !ta.has(k)).map(([, t]) => t), removed: [...ta].filter(([k]) => !tb.has(k)).map(([, t]) => t) },
    triggers: {
      added: triggersB.filter((n) => !triggersA.includes(n)),
      removed: triggersA.filter((n) => !triggersB.includes(n)),
      changed: triggersA.filter((n) => triggersB.includes(n) && differs(a.triggers[n], b.triggers[n])),
    },
    fields: changedKeys(headA, headB),
  }
  const same =
    diff.steps.added.length + diff.steps.removed.length + changed.length + diff.transitions.added.length + diff.transitions.removed.length === 0 &&
    diff.triggers.added.length + diff.triggers.removed.length + diff.triggers.changed.length + diff.fields.length === 0
  return { ...diff, same }
}
