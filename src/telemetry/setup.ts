/**
 * The telemetry a Promise host hands to `createMesh` (a logger, a minimum log level, a tracer) as
 * one Layer under the mesh: everything the mesh runs (starts, controls, workers, the scheduler,
 * step bodies) logs and traces through it.
 */
import { Layer, Logger, LogLevel, type Tracer } from "effect"
import { InvalidOptionError, showValue } from "../core/errors.js"
import { fromHostLogger, type HostLogger } from "./hostLogger.js"

/** The lowest level that is logged. */
export type MinimumLogLevel = "trace" | "debug" | "info" | "warning" | "error" | "none"

/** Telemetry options of `createMesh`. */
export interface TelemetryOptions {
  /**
   * Where log lines go instead of Effect's default logger (logfmt on stdout): an object with
   * `debug`/`info`/`warn`/`error` (see `HostLogger`), or an Effect `Logger`.
   */
  readonly logger?: HostLogger | Logger.Logger<unknown, unknown>
  /** The lowest level logged. Default "info" (Effect's default). */
  readonly logLevel?: MinimumLogLevel
  /**
   * Spans for starts, controls, advances and step attempts. An Effect `Tracer` (from
   * `@effect/opentelemetry`: `Effect.runSync(Effect.provideService(OtelTracer.make, OtelTracer.OtelTracer, trace.getTracer("app")))`),
   * or a Layer that installs one (e.g. `NodeSdk.layer(...)`), built with the mesh and shut down by `close()`.
   */
  readonly tracer?: Tracer.Tracer | Layer.Layer<never, unknown>
}

const LEVELS: Record<MinimumLogLevel, LogLevel.LogLevel> = {
  trace: LogLevel.Trace,
  debug: LogLevel.Debug,
  info: LogLevel.Info,
  warning: LogLevel.Warning,
  error: LogLevel.Error,
  none: LogLevel.None,
}

const isTracerLayer = (tracer: Tracer.Tracer | Layer.Layer<never, unknown>): tracer is Layer.Layer<never, unknown> => Layer.isLayer(tracer)

/** The layer that installs the options' logger, log level and tracer (empty when none is given). */
export const telemetryLayer = (options: TelemetryOptions): Layer.Layer<never, unknown> => {
  const layers: Array<Layer.Layer<never, unknown>> = []
  if (options.logger !== undefined) {
    const logger = Logger.isLogger(options.logger) ? options.logger : fromHostLogger(options.logger)
    layers.push(Logger.replace(Logger.defaultLogger, logger))
  }
  if (options.logLevel !== undefined) layers.push(Logger.minimumLogLevel(LEVELS[options.logLevel]))
  if (options.tracer !== undefined) layers.push(isTracerLayer(options.tracer) ? options.tracer : Layer.setTracer(options.tracer))
  return layers.reduce<Layer.Layer<never, unknown>>((all, layer) => Layer.merge(all, layer), Layer.empty)
}

/** The first malformed telemetry option, if any (checked before anything opens). */
export const invalidTelemetryOption = (options: TelemetryOptions): InvalidOptionError | undefined => {
  const { logger, logLevel, tracer } = options
  if (logger !== undefined && !Logger.isLogger(logger)) {
    const missing = (["debug", "info", "warn", "error"] as const).filter((m) => typeof (logger as Partial<HostLogger> | null)?.[m] !== "function")
    if (missing.length > 0)
      return new InvalidOptionError({
        option: "logger",
        value: showValue(logger),
        reason: `expected an Effect Logger or an object with ${missing.join(", ")} methods`,
      })
  }
  if (logLevel !== undefined && !Object.hasOwn(LEVELS, logLevel))
    return new InvalidOptionError({ option: "logLevel", value: showValue(logLevel), reason: `expected one of ${Object.keys(LEVELS).join(", ")}` })
  if (tracer !== undefined && !Layer.isLayer(tracer) && typeof (tracer as Partial<Tracer.Tracer> | null)?.span !== "function")
    return new InvalidOptionError({ option: "tracer", value: showValue(tracer), reason: "expected an Effect Tracer or a Layer that installs one" })
  return undefined
}
