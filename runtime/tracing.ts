/**
 * The engine's spans. Effect's built-in tracer keeps spans in memory and exports nothing, so
 * while it is the current tracer a span would only cost time on every step: the engine then
 * runs the effect without one. Install a tracer (e.g. `@effect/opentelemetry`) to get them.
 */
import { Effect, type Tracer } from "effect"

/** The tracer every Effect program has unless its host installs another. */
const builtIn: Tracer.Tracer = Effect.runSync(Effect.tracer)

/** Runs `effect` in a span named `name` when a tracer is installed; as it is otherwise. */
export const withEngineSpan =
  (name: string, attributes: Record<string, unknown>) =>
  <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.tracerWith((tracer) => (tracer === builtIn ? effect : Effect.withSpan(effect, name, { attributes, captureStackTrace: false })))
