/** A host logger as an Effect Logger: the method by level, the annotations, details and cause as fields. */
import { Effect, Logger, LogLevel } from "effect"
import { expect, it } from "vitest"
import { fromHostLogger, type HostLogger } from "../../src/index.js"

it("calls the host's method for each level with the message, annotations, details, cause and level", () => {
  const calls: Array<[string, string, Record<string, unknown>]> = []
  const host: HostLogger = {
    debug: (m, f) => calls.push(["debug", m, f]),
    info: (m, f) => calls.push(["info", m, f]),
    warn: (m, f) => calls.push(["warn", m, f]),
    error: (m, f) => calls.push(["error", m, f]),
  }
  const program = Effect.gen(function* () {
    yield* Effect.logTrace("t")
    yield* Effect.logDebug("d")
    yield* Effect.logInfo("i", { n: 1 })
    yield* Effect.logWarning("w").pipe(Effect.annotateLogs({ runId: "r-1" }))
    yield* Effect.logError("e", new Error("boom"))
    yield* Effect.logFatal("f")
    yield* Effect.fail("broken").pipe(
      Effect.tapErrorCause((cause) => Effect.logError("failed", cause)),
      Effect.ignore,
    )
  })
  Effect.runSync(program.pipe(Logger.withMinimumLogLevel(LogLevel.All), Effect.provide(Logger.replace(Logger.defaultLogger, fromHostLogger(host)))))
  expect(calls.map(([method, message]) => [method, message])).toEqual([
    ["debug", "t"],
    ["debug", "d"],
    ["info", "i"],
    ["warn", "w"],
    ["error", "e"],
    ["error", "f"],
    ["error", "failed"],
  ])
  expect(calls[2]![2]).toEqual({ details: [{ n: 1 }], level: "INFO" })
  expect(calls[3]![2]).toEqual({ runId: "r-1", level: "WARN" })
  expect((calls[4]![2].details as Array<Error>)[0]!.message).toBe("boom")
  expect(calls[5]![2].level).toBe("FATAL")
  expect(calls[6]![2].cause).toContain("broken")
})
