/**
 * Visibility policies: who sees how much of a run. A policy maps an actor (a user id, a service
 * name, or an id with roles) to one of three scopes:
 * - `auditor`: everything, unredacted;
 * - `operator`: status, structure and errors (codes, never messages), and who did what;
 * - `external`: status and structure only.
 *
 * The field-by-field rules of each scope are in src/read/visibility.ts. Secrets are removed
 * before anything is stored (src/core/redact.ts); a policy is a second, role-based layer on
 * top, applied when a read model is shown. It never changes what is stored.
 *
 * An actor the policy does not name gets the policy's default scope, which is `external`
 * (the most restrictive) unless the policy says otherwise.
 */
import { Effect } from "effect"
import { InvalidOptionError, showValue } from "../core/errors.js"

/** How much of a run an actor sees. */
export type VisibilityScope = "auditor" | "operator" | "external"

/** The scopes, widest first. */
export const VISIBILITY_SCOPES: ReadonlyArray<VisibilityScope> = ["auditor", "operator", "external"]

/** Who reads: an id (`"ops:ana"`), or an id with roles (`{ id: "ana", roles: ["support"] }`). */
export type Actor = string | { readonly id: string; readonly roles?: ReadonlyArray<string> }

/**
 * The rules of a policy: a function from an actor to its scope, or tables. With tables, an
 * actor named in `actors` gets that scope; otherwise the widest scope any of its `roles` maps
 * to; otherwise `default` (`external` when not given).
 */
export type VisibilityRules =
  | ((actor: Actor) => VisibilityScope)
  | {
      readonly actors?: Readonly<Record<string, VisibilityScope>>
      readonly roles?: Readonly<Record<string, VisibilityScope>>
      readonly default?: VisibilityScope
    }

/** A validated policy (see `visibilityPolicy`): the scope of any actor. */
export interface VisibilityPolicy {
  readonly _tag: "VisibilityPolicy"
  /**
   * The scope of an actor. A malformed actor, or a rules function answering anything but a
   * scope, gets `external`: a policy fails closed.
   */
  readonly scopeOf: (actor: Actor) => VisibilityScope
}

const isScope = (value: unknown): value is VisibilityScope => typeof value === "string" && (VISIBILITY_SCOPES as ReadonlyArray<string>).includes(value)

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value)

const bad = (option: string, value: unknown, reason: string) => new InvalidOptionError({ option, value: showValue(value), reason })

/** Why an actor is malformed, if it is: an `as` option must name someone. */
export const invalidActor = (actor: unknown): InvalidOptionError | undefined => {
  if (typeof actor === "string") return actor.trim().length > 0 ? undefined : bad("as", actor, "expected a non-empty actor id")
  if (!isRecord(actor) || typeof actor.id !== "string" || actor.id.trim().length === 0)
    return bad("as", actor, "expected an actor id, or { id, roles? } with a non-empty id")
  const roles = actor.roles
  if (roles !== undefined && (!Array.isArray(roles) || roles.some((r) => typeof r !== "string")))
    return bad("as.roles", roles, "expected an array of role names")
  return undefined
}

/** The first malformed part of a table of scopes, if any. */
const invalidTable = (option: string, table: unknown): InvalidOptionError | undefined => {
  if (table === undefined) return undefined
  if (!isRecord(table)) return bad(option, table, "expected an object mapping names to scopes")
  for (const [name, scope] of Object.entries(table))
    if (!isScope(scope)) return bad(`${option}.${name}`, scope, `expected one of ${VISIBILITY_SCOPES.join(", ")}`)
  return undefined
}

/** The widest of some scopes (auditor before operator before external), if any. */
const widest = (scopes: ReadonlyArray<VisibilityScope>): VisibilityScope | undefined => VISIBILITY_SCOPES.find((s) => scopes.includes(s))

/**
 * Validates rules into a policy, or returns the InvalidOptionError that names the first
 * malformed part (`visibility`, `visibility.actors.<name>`, `visibility.default`...).
 */
export const validatePolicy = (rules: unknown): VisibilityPolicy | InvalidOptionError => {
  if (typeof rules === "function") {
    const decide = rules as (actor: Actor) => unknown
    return {
      _tag: "VisibilityPolicy",
      scopeOf: (actor) => {
        if (invalidActor(actor)) return "external"
        const scope = decide(actor)
        return isScope(scope) ? scope : "external"
      },
    }
  }
  if (!isRecord(rules)) return bad("visibility", rules, "expected a function from actor to scope, or { actors?, roles?, default? }")
  const unknown = Object.keys(rules).find((k) => !["actors", "roles", "default"].includes(k))
  if (unknown !== undefined) return bad(`visibility.${unknown}`, rules[unknown], "unknown field (known: actors, roles, default)")
  const invalid = invalidTable("visibility.actors", rules.actors) ?? invalidTable("visibility.roles", rules.roles)
  if (invalid) return invalid
  if (rules.default !== undefined && !isScope(rules.default)) return bad("visibility.default", rules.default, `expected one of ${VISIBILITY_SCOPES.join(", ")}`)
  const actors = new Map(Object.entries((rules.actors ?? {}) as Record<string, VisibilityScope>))
  const roles = new Map(Object.entries((rules.roles ?? {}) as Record<string, VisibilityScope>))
  const fallback: VisibilityScope = rules.default ?? "external"
  return {
    _tag: "VisibilityPolicy",
    scopeOf: (actor) => {
      if (invalidActor(actor)) return "external"
      const id = typeof actor === "string" ? actor : actor.id
      const named = actors.get(id)
      if (named) return named
      const granted = typeof actor === "string" ? [] : (actor.roles ?? []).flatMap((r) => roles.get(r) ?? [])
      return widest(granted) ?? fallback
    },
  }
}

/**
 * Makes a policy from rules: a function `(actor) => scope`, or tables `{ actors?, roles?,
 * default? }`. Malformed rules fail with an InvalidOptionError, before anything is read.
 *
 * @example
 * const policy = yield* visibilityPolicy({ actors: { "ops:ana": "operator" }, roles: { audit: "auditor" } })
 * policy.scopeOf("ops:ana")                          // "operator"
 * policy.scopeOf({ id: "bob", roles: ["audit"] })    // "auditor"
 * policy.scopeOf("someone-else")                     // "external"
 */
export const visibilityPolicy = (rules: VisibilityRules): Effect.Effect<VisibilityPolicy, InvalidOptionError> => {
  const policy = validatePolicy(rules)
  return policy instanceof InvalidOptionError ? Effect.fail(policy) : Effect.succeed(policy)
}

/** The `as` option of the read methods: read as this actor, through the mesh's visibility policy. */
export interface ViewAs {
  readonly as: Actor
}

/** Who a read is for, and the policy that decides what they see. */
export interface Reader {
  readonly actor: Actor
  readonly policy: VisibilityPolicy
}

/**
 * The reader of a read call: none without `as` (the host itself reads: nothing is withheld).
 * `as` on a mesh without a policy, or a malformed actor, is an InvalidOptionError, before
 * anything is read: a view meant for someone must never come back unredacted.
 */
export const readerOf = (policy: VisibilityPolicy | undefined, options: Partial<ViewAs> | undefined): Effect.Effect<Reader | undefined, InvalidOptionError> => {
  if (options?.as === undefined) return Effect.succeed(undefined)
  const invalid = invalidActor(options.as)
  if (invalid) return Effect.fail(invalid)
  if (!policy) return Effect.fail(bad("as", options.as, "this mesh has no visibility policy (create it with `visibility`)"))
  return Effect.succeed({ actor: options.as, policy })
}
