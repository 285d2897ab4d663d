/**
 * The dashboard's controls (only with `allowActions`): approve, reject, resume, cancel,
 * signal and rerun of a run, and pause and resume of a cron schedule. Every one passes the
 * same checks first (`readControl`: same origin and CSRF secret, or the bearer token; a JSON
 * body; the actor), and records `via: "dashboard"` in its audit event's metadata where the
 * control takes metadata. None needs the workflow's code: without it the engine checks a
 * signal against the JSON Schema journaled with its wait, and reruns from the journal.
 */
import type { IncomingMessage, ServerResponse } from "node:http"
import type { MeshClient } from "../client.js"
import { actionRefusal, type AuthConfig } from "./auth.js"
import { sendBadOption } from "./failures.js"
import { readJsonBody, sendError, sendJson } from "./http.js"

/** The controls of a run the dashboard can issue. */
export const RUN_ACTIONS = ["approve", "reject", "resume", "cancel", "signal", "rerun"] as const

/** A control of a run the dashboard can issue. */
export type RunAction = (typeof RUN_ACTIONS)[number]

/** The controls of a cron schedule (backfill stays with the API and the CLI). */
export const SCHEDULE_ACTIONS = ["pause", "resume"] as const

/** A schedule control the dashboard can issue. */
export type ScheduleAction = (typeof SCHEDULE_ACTIONS)[number]

/** What the controls need: the client to act through, and the auth settings they check. */
export interface ControlContext {
  readonly mesh: MeshClient
  readonly auth: AuthConfig
}

/** What a control's body asks: who does it, their note (`note` or `reason`), its idempotency key, and the whole body. */
interface ControlRequest {
  readonly actor: string
  readonly note: string | undefined
  readonly idempotencyKey: string | undefined
  readonly body: Readonly<Record<string, unknown>>
}

const optionalText = (body: Readonly<Record<string, unknown>>, name: string): string | undefined => {
  const value = body[name]
  return typeof value === "string" && value.trim() !== "" ? value : undefined
}

/**
 * Checks that a control comes from the dashboard's page (or a bearer-authenticated script),
 * then reads its JSON body `{ actor, note?, reason?, idempotencyKey?, ... }`. On a refusal it
 * answers the request itself and returns undefined.
 */
const readControl = async (req: IncomingMessage, res: ServerResponse, ctx: ControlContext, viaBearer: boolean): Promise<ControlRequest | undefined> => {
  const refusal = actionRefusal(req, viaBearer, ctx.auth)
  if (refusal !== undefined) {
    req.resume()
    return void sendError(res, 403, "Forbidden", refusal)
  }
  const read = await readJsonBody(req)
  if (!("body" in read)) return void sendError(res, read.status, "BadRequest", read.message)
  const { body } = read
  if (typeof body.actor !== "string") return void sendBadOption(res, "actor", "expected a string (who does this)")
  return { actor: body.actor, note: optionalText(body, "note") ?? optionalText(body, "reason"), idempotencyKey: optionalText(body, "idempotencyKey"), body }
}

/** The audit options every control shares: the actor, the idempotency key, and `via: "dashboard"` (with the note, for controls that keep none of their own). */
const auditOf = (control: ControlRequest, note?: string) => ({
  actor: control.actor,
  metadata: { via: "dashboard", ...(note !== undefined ? { note } : {}) },
  ...(control.idempotencyKey !== undefined ? { idempotencyKey: control.idempotencyKey } : {}),
})

/** Sends a signal: `{ actor, name, payload, idempotencyKey? }`. The engine validates the payload against the wait's schema. */
const signal = async (res: ServerResponse, ctx: ControlContext, runId: string, control: ControlRequest): Promise<void> => {
  const { name, payload } = control.body
  if (typeof name !== "string" || name === "") return sendBadOption(res, "name", "expected the signal's name")
  // An absent payload is a signal without one (`undefined`, as `mesh.signal(id, name)` sends).
  const outcome = await ctx.mesh.signal(runId, name, payload, auditOf(control))
  sendJson(res, 200, { action: "signal", signal: name, ...outcome })
}

/** Reruns an ended run: `{ actor, note?, allowIrreversible?, fromStep?, idempotencyKey? }`; answers the new run's id as `runId`. */
const rerun = async (res: ServerResponse, ctx: ControlContext, runId: string, control: ControlRequest): Promise<void> => {
  const { allowIrreversible, fromStep } = control.body
  if (allowIrreversible !== undefined && typeof allowIrreversible !== "boolean") return sendBadOption(res, "allowIrreversible", "expected true or false")
  if (fromStep !== undefined && typeof fromStep !== "string") return sendBadOption(res, "fromStep", "expected a step name")
  // The engine writes its own note on a rerun's audit event ("rerun of <id>"): the operator's goes in the metadata.
  const outcome = await ctx.mesh.rerun(runId, {
    ...auditOf(control, control.note),
    ...(allowIrreversible === true ? { allowIrreversible } : {}),
    ...(fromStep !== undefined ? { fromStep } : {}),
  })
  sendJson(res, 200, { action: "rerun", ...outcome })
}

/**
 * Does one control of a run after the shared checks, and answers its outcome (`{ action,
 * runId, status, duplicate, ... }`). Engine failures are thrown, for the caller to answer with their tag.
 */
export const runControl = async (
  req: IncomingMessage,
  res: ServerResponse,
  ctx: ControlContext,
  viaBearer: boolean,
  runId: string,
  action: RunAction,
): Promise<void> => {
  const control = await readControl(req, res, ctx, viaBearer)
  if (control === undefined) return
  const { note } = control
  const base = auditOf(control)
  switch (action) {
    case "signal":
      return signal(res, ctx, runId, control)
    case "rerun":
      return rerun(res, ctx, runId, control)
    case "approve":
      return sendJson(res, 200, { action, ...(await ctx.mesh.approve(runId, { ...base, ...(note !== undefined ? { note } : {}) })) })
    case "reject":
      return sendJson(res, 200, { action, ...(await ctx.mesh.reject(runId, { ...base, ...(note !== undefined ? { note } : {}) })) })
    case "resume":
      return sendJson(res, 200, { action, ...(await ctx.mesh.resume(runId, { ...base, ...(note !== undefined ? { reason: note } : {}) })) })
    case "cancel":
      return sendJson(res, 200, { action, ...(await ctx.mesh.cancel(runId, { ...base, ...(note !== undefined ? { reason: note } : {}) })) })
  }
}

/** Pauses or resumes a cron schedule after the shared checks; the engine records the actor and note in its audit trail. */
export const scheduleControl = async (
  req: IncomingMessage,
  res: ServerResponse,
  ctx: ControlContext,
  viaBearer: boolean,
  schedule: { readonly workflow: string; readonly trigger: string; readonly action: ScheduleAction },
): Promise<void> => {
  const control = await readControl(req, res, ctx, viaBearer)
  if (control === undefined) return
  const options = { actor: control.actor, ...(control.note !== undefined ? { note: control.note } : {}) }
  const change = schedule.action === "pause" ? ctx.mesh.pauseSchedule : ctx.mesh.resumeSchedule
  sendJson(res, 200, { action: schedule.action, ...(await change(schedule.workflow, schedule.trigger, options)) })
}
