/**
 * Visibility policies: tables and functions, the default scope (external), validation when a
 * policy or a mesh is made, `as` without a policy or with a malformed actor, the Promise
 * client, and the result types (withheld fields optional, `hidden` typed).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Layer } from "effect"
import { expectTypeOf } from "vitest"
import {
  createMesh,
  Mesh,
  Store,
  visibilityPolicy,
  type Actor,
  type Json,
  type RunView,
  type VisibilityRules,
  type VisibleExplanation,
  type VisibleRunGraph,
  type VisibleRunView,
} from "../../src/index.js"
import * as TestMesh from "../../src/testing/index.js"
import { AUDITOR, EXTERNAL, Full, Inner, OPERATOR, expectClean, json, rules, withMesh } from "./visibilityFixtures.js"

describe("visibility: policies", () => {
  const scopeOf = (r: VisibilityRules, actor: Actor) => Effect.runSync(visibilityPolicy(r)).scopeOf(actor)

  it("tables: named actors, then the widest role, then the default (external unless given)", () => {
    expect(scopeOf(rules, AUDITOR)).toBe("auditor")
    expect(scopeOf(rules, OPERATOR)).toBe("operator")
    expect(scopeOf(rules, { id: OPERATOR, roles: ["audit"] })).toBe("operator")
    expect(scopeOf(rules, { id: "bob", roles: ["support"] })).toBe("operator")
    expect(scopeOf(rules, { id: "bob", roles: ["support", "audit"] })).toBe("auditor")
    expect(scopeOf(rules, "stranger")).toBe("external")
    expect(scopeOf({}, "anyone")).toBe("external")
    expect(scopeOf({ default: "operator" }, "anyone")).toBe("operator")
  })

  it("functions: their answer, and external when they answer anything else or the actor is malformed", () => {
    const byPrefix = (actor: Actor) => ((typeof actor === "string" ? actor : actor.id).startsWith("ops:") ? "operator" : "bogus") as "operator"
    expect(scopeOf(byPrefix, "ops:x")).toBe("operator")
    expect(scopeOf(byPrefix, "other")).toBe("external")
    expect(scopeOf(() => "auditor", "" as Actor)).toBe("external")
  })

  it("malformed rules are an InvalidOptionError naming the field", () => {
    const error = (r: unknown) => {
      return Effect.runSync(Effect.flip(visibilityPolicy(r as VisibilityRules)))
    }
    expect(error("auditor")).toMatchObject({ _tag: "InvalidOptionError", option: "visibility" })
    expect(error({ actors: { ana: "admin" } })).toMatchObject({ _tag: "InvalidOptionError", option: "visibility.actors.ana" })
    expect(error({ roles: ["x"] })).toMatchObject({ option: "visibility.roles" })
    expect(error({ default: "everyone" })).toMatchObject({ option: "visibility.default" })
    expect(error({ actor: {} })).toMatchObject({ option: "visibility.actor" })
  })

  it.effect("a mesh with a malformed policy fails to build, before anything is read", () =>
    Effect.gen(function* () {
      const built = yield* Layer.build(TestMesh.meshLayer({ workflows: [Full], visibility: { default: "root" as "auditor" } })).pipe(
        Effect.provide(Layer.succeed(Store, TestMesh.memoryStore())),
        Effect.scoped,
        Effect.exit,
      )
      expect(Exit.isFailure(built)).toBe(true)
      expect(json(built)).toContain("visibility.default")
    }),
  )

  it.effect("reads without `as` are unchanged; `as` without a policy, or a malformed actor, is an InvalidOptionError", () =>
    Effect.gen(function* () {
      const mesh = yield* Mesh.Mesh
      const { runId } = yield* TestMesh.start(Full, { secret: "IN-SENTINEL" })
      expect((yield* mesh.inspectRun(runId)).input).toEqual({ secret: "IN-SENTINEL" })
      const refused = yield* mesh.explainRun(runId, { as: OPERATOR }).pipe(Effect.flip)
      expect(refused).toMatchObject({ _tag: "InvalidOptionError", option: "as" })
      expect(yield* mesh.listRuns({}, { as: OPERATOR }).pipe(Effect.flip)).toMatchObject({ _tag: "InvalidOptionError", option: "as" })
    }).pipe(Effect.provide(TestMesh.layer({ workflows: [Full, Inner] }))),
  )

  it.effect("a malformed actor on a mesh with a policy is refused", () =>
    withMesh(
      Effect.gen(function* () {
        const mesh = yield* Mesh.Mesh
        const { runId } = yield* TestMesh.start(Full, { secret: "IN-SENTINEL" })
        expect(yield* mesh.inspectRunGraph(runId, { as: "" }).pipe(Effect.flip)).toMatchObject({ _tag: "InvalidOptionError", option: "as" })
        expect(yield* mesh.inspectRun(runId, { as: { id: 7 } as never }).pipe(Effect.flip)).toMatchObject({ _tag: "InvalidOptionError", option: "as" })
        expect((yield* mesh.inspectRun(Full, runId, { as: AUDITOR })).input).toEqual({ secret: "IN-SENTINEL" })
      }),
    ),
  )

  it("the Promise client applies the policy given to createMesh", async () => {
    const mesh = await createMesh({ workflows: [Full, Inner], store: { kind: "memory" }, visibility: rules })
    try {
      const { runId } = await mesh.start(Full, { secret: "IN-SENTINEL" })
      await mesh.executeNext()
      expect((await mesh.inspectRun(runId, { history: true })).history![0]!.output).toEqual({ out: "OUT-SENTINEL-IN-SENTINEL" })
      const external = await mesh.inspectRun(runId, { history: true, as: EXTERNAL })
      expect(external.scope).toBe("external")
      expectClean(external, "external")
      expectClean(await mesh.explainRun(runId, { as: EXTERNAL }), "external")
      expectClean(await mesh.inspectRunGraph(runId, { as: OPERATOR }), "operator")
      expectClean(await mesh.listRuns(undefined, { as: OPERATOR }), "operator")
      expect("scope" in (await mesh.explainRun(runId))).toBe(false)
      // awaitRun too: the run as the actor may see it once it ended; without `as`, all of it.
      await expect(mesh.awaitRun(runId, { as: "" })).rejects.toMatchObject({ _tag: "InvalidOptionError", option: "as" })
      await mesh.cancel(runId, { actor: "ops", reason: "done looking" })
      const awaited = await mesh.awaitRun(runId, { as: EXTERNAL, timeout: "10 seconds" })
      expect(awaited).toMatchObject({ status: "cancelled", scope: "external" })
      expectClean(awaited, "external")
      expect("scope" in (await mesh.awaitRun(runId))).toBe(false)
    } finally {
      await mesh.close()
    }
  })
})

describe("visibility: types", () => {
  it("withheld fields are optional, hidden names only what a scope can withhold, and a typed read keeps its output type", () => {
    expectTypeOf<VisibleRunView["input"]>().toEqualTypeOf<Json | undefined>()
    expectTypeOf<NonNullable<VisibleRunView["hidden"]>[number]>().toEqualTypeOf<"input" | "output" | "error" | "idempotencyKey" | "attributes">()
    expectTypeOf<VisibleRunView["status"]>().toEqualTypeOf<RunView["status"]>()
    expectTypeOf<NonNullable<VisibleRunView["error"]>["message"]>().toEqualTypeOf<string | undefined>()
    expectTypeOf<NonNullable<VisibleRunView["history"]>[number]["hidden"]>().toEqualTypeOf<ReadonlyArray<"input" | "output" | "error"> | undefined>()
    expectTypeOf<NonNullable<NonNullable<VisibleExplanation["evidence"]["wait"]>["lastError"]>["message"]>().toEqualTypeOf<string | undefined>()
    expectTypeOf<VisibleExplanation["scope"]>().toEqualTypeOf<"auditor" | "operator" | "external">()
    expectTypeOf<VisibleRunGraph["nodes"][number]["hidden"]>().toEqualTypeOf<ReadonlyArray<"error"> | undefined>()
    type FullRead = Effect.Effect.Success<ReturnType<typeof read>>
    const read = (mesh: Mesh.MeshService, runId: string) => mesh.inspectRun(Full, runId, { as: OPERATOR })
    expectTypeOf<NonNullable<FullRead["output"]>["result"]>().toEqualTypeOf<string>()
  })
})
