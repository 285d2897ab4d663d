/**
 * The engine's spans. Effect's built-in tracer keeps spans in memory and exports nothing, so
 * while it is the current tracer a span would only cost time on every step: the engine then
 * runs the effect without one (and builds no attributes). Install a tracer (e.g.
 * `@effect/opentelemetry`) to get them.
 *
 * The spans, with a tracer installed:
 * - `squid-mesh.start`, `squid-mesh.<control>` (approve, reject, resume, cancel, signal) and
 *   `squid-mesh.rerun`: one per call, around the advance it commits.
 * - `squid-mesh.step`: one per step (or compensation) attempt, around the attempt and the
 *   advance that records it; the step's own spans and logs are inside it.
 * - `squid-mesh.advance`: one per `advanceRun`, a child of the span that caused it (a start, a
 *   control, a step attempt), or a root span for a timer that fired.
 * Replay (rebuilding a run from its journal) makes no span: only new work does.
 */
import { Effect, type Tracer } from "effect"

/** The tracer every Effect program has unless its host installs another. */
const builtIn: Tracer.Tracer = Effect.runSync(Effect.tracer)

/** A span's attributes, or a function computing them (only called when a tracer is installed). */
export type SpanAttributes = Record<string, unknown> | (() => Record<string, unknown>)

/** Runs `effect` in a span named `name` when a tracer is installed; as it is otherwise. */
export function withEngineSpan(name: string, attributes: SpanAttributes): <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
/** The same, adding attributes from the effect's result (`outcome`) to the span when it succeeds. */
export function withEngineSpan<A>(
  name: string,
  attributes: SpanAttributes,
  outcome: (a: A) => Record<string, unknown>,
): <E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
export function withEngineSpan<A>(name: string, attributes: SpanAttributes, outcome?: (a: A) => Record<string, unknown>) {
  return <E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.tracerWith((tracer) => {
      if (tracer === builtIn) return effect
      const traced = outcome ? Effect.tap(effect, (a) => Effect.annotateCurrentSpan(outcome(a))) : effect
      return Effect.withSpan(traced, name, { attributes: typeof attributes === "function" ? attributes() : attributes, captureStackTrace: false })
    })
}
