/**
 * `/assets/dialog.js`: the actor dialog every control goes through (the run page's buttons
 * and the schedules page's). It asks for the actor (remembered in this browser), an optional
 * note and any fields the control adds (a signal's JSON payload, a rerun's "allow
 * irreversible steps"), then POSTs the JSON body with the CSRF header. A refusal, the page's
 * own (an actor missing, a payload that is not JSON) or the engine's, stays in the dialog with
 * its tag and the fields it names.
 */
export const DIALOG_JS = String.raw`
import { h, api, clear, errorBox } from "./dom.js"

const ACTOR_KEY = "squid-mesh-dashboard-actor"

function rememberedActor() {
  try {
    return localStorage.getItem(ACTOR_KEY) || ""
  } catch (e) {
    return ""
  }
}

function fieldItem(kind, field, problem) {
  return h("li", { class: "field-error", "data-kind": kind, "data-field": field }, h("code", null, field), ": " + problem)
}

/**
 * A refusal with its tag and message, then what it names: a payload's missing, unknown and
 * invalid fields (InvalidPayloadError), the steps a rerun is refused over (RerunRefusedError).
 */
export function refusalBox(error) {
  const box = errorBox(error)
  const d = (error && error.details) || {}
  const items = []
  for (const field of Array.isArray(d.missing) ? d.missing : []) items.push(fieldItem("missing", String(field), "missing"))
  for (const field of Array.isArray(d.unknown) ? d.unknown : []) items.push(fieldItem("unknown", String(field), "not in the schema"))
  for (const f of Array.isArray(d.invalid) ? d.invalid : []) items.push(fieldItem("invalid", String(f && f.field), String(f && f.message)))
  for (const step of Array.isArray(d.steps) ? d.steps : []) items.push(h("li", { class: "refused-step" }, "step ", h("code", null, String(step))))
  if (items.length > 0) box.appendChild(h("ul", { class: "field-errors" }, items))
  return box
}

/** A refusal made by the page itself, before anything is sent. */
export class PageRefusal extends Error {
  constructor(tag, message) {
    super(message)
    this.tag = tag
  }
}

/**
 * Asks for the actor and a note, then POSTs { actor, note?, ...request.read() } to
 * request.path with the CSRF header, and calls request.done(outcome). request: { action,
 * title, detail?, confirm (the button's label), noteLabel (no note field without it), fields?
 * (more inputs, after the note), read? (the fields' part of the body; it throws a PageRefusal
 * to send nothing), path, config, done }.
 */
export function askAndPost(request) {
  const old = document.getElementById("action-dialog")
  if (old) old.remove()
  const actor = h("input", { type: "text", id: "action-actor", name: "actor", autocomplete: "username", value: rememberedActor() })
  const note = request.noteLabel ? h("textarea", { id: "action-note", name: "note" }) : null
  const problem = h("div", { class: "dialog-problem" })
  const confirm = h("button", { type: "submit", class: "btn primary", id: "action-confirm" }, request.confirm)
  const dialog = h("dialog", { id: "action-dialog", "data-action": request.action })
  const close = () => {
    dialog.close()
    dialog.remove()
  }
  const submit = async (event) => {
    event.preventDefault()
    clear(problem)
    const who = actor.value.trim()
    try {
      if (who === "") throw new PageRefusal("InvalidOptionError", "say who does this (the actor is recorded in the audit trail)")
      const body = Object.assign({ actor: who }, note && note.value.trim() !== "" ? { note: note.value } : {}, request.read ? request.read() : {})
      confirm.disabled = true
      const outcome = await api(request.path, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-Squid-Mesh-CSRF": request.config.csrf || "" },
        body: JSON.stringify(body),
      })
      try {
        localStorage.setItem(ACTOR_KEY, who)
      } catch (e) {}
      close()
      request.done(outcome)
    } catch (error) {
      problem.appendChild(refusalBox(error))
      confirm.disabled = false
    }
  }
  const form = h(
    "form",
    { on: { submit } },
    h("h2", null, request.title),
    request.detail ? h("p", { class: "muted dialog-detail" }, request.detail) : null,
    h("label", { for: "action-actor" }, "Actor (who does this; recorded in the audit trail)"),
    actor,
    note ? [h("label", { for: "action-note" }, request.noteLabel), note] : null,
    request.fields || null,
    problem,
    h("div", { class: "buttons" }, h("button", { type: "button", class: "btn", id: "action-dismiss", on: { click: close } }, "Dismiss"), confirm),
  )
  dialog.appendChild(form)
  document.body.appendChild(dialog)
  dialog.showModal()
  actor.focus()
}
`
