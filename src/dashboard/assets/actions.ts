/**
 * `/assets/actions.js`: the action buttons of a run page (only when the server allows
 * actions, and only the controls `explainRun` says would succeed now), and the dialog that
 * asks for the actor and a note before it POSTs with the CSRF header (the schedules page uses
 * it too). A refusal from the engine stays in the dialog with its tag.
 */
export const ACTIONS_JS = String.raw`
import { h, api, clear, errorBox } from "./dom.js"

const LABELS = { approve: "Approve", reject: "Reject", resume: "Resume", cancel: "Cancel run" }
const NOTES = { approve: "Note (optional)", reject: "Note (optional)", resume: "Reason (optional)", cancel: "Reason (optional)" }
const ACTOR_KEY = "squid-mesh-dashboard-actor"

function rememberedActor() {
  try {
    return localStorage.getItem(ACTOR_KEY) || ""
  } catch (e) {
    return ""
  }
}

/**
 * Asks for the actor (remembered in this browser) and a note, then POSTs { actor, note? } to
 * request.path with the CSRF header, and calls request.done(outcome). The engine's refusal
 * stays in the dialog. request: { action, title, detail?, confirm (the button's label),
 * noteLabel, path, config, done }.
 */
export function askAndPost(request) {
  const old = document.getElementById("action-dialog")
  if (old) old.remove()
  const actor = h("input", { type: "text", id: "action-actor", name: "actor", autocomplete: "username", value: rememberedActor() })
  const note = h("textarea", { id: "action-note", name: "note" })
  const problem = h("div", { class: "dialog-problem" })
  const confirm = h("button", { type: "submit", class: "btn primary", id: "action-confirm" }, request.confirm)
  const dialog = h("dialog", { id: "action-dialog", "data-action": request.action })
  const close = () => {
    dialog.close()
    dialog.remove()
  }
  const form = h(
    "form",
    {
      on: {
        submit: async (event) => {
          event.preventDefault()
          clear(problem)
          const who = actor.value.trim()
          if (who === "") {
            problem.appendChild(errorBox({ tag: "InvalidOptionError", message: "say who does this (the actor is recorded in the audit trail)" }))
            return
          }
          confirm.disabled = true
          try {
            const body = { actor: who }
            if (note.value.trim() !== "") body.note = note.value
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
            problem.appendChild(errorBox(error))
            confirm.disabled = false
          }
        },
      },
    },
    h("h2", null, request.title),
    request.detail ? h("p", { class: "muted dialog-detail" }, request.detail) : null,
    h("label", { for: "action-actor" }, "Actor (who does this; recorded in the audit trail)"),
    actor,
    h("label", { for: "action-note" }, request.noteLabel),
    note,
    problem,
    h("div", { class: "buttons" }, h("button", { type: "button", class: "btn", id: "action-dismiss", on: { click: close } }, "Dismiss"), confirm),
  )
  dialog.appendChild(form)
  document.body.appendChild(dialog)
  dialog.showModal()
  actor.focus()
}

function openDialog(runId, offer, config, done) {
  askAndPost({
    action: offer.action,
    title: LABELS[offer.action] + (offer.gate ? " — " + offer.gate : ""),
    confirm: LABELS[offer.action],
    noteLabel: NOTES[offer.action],
    path: "/api/runs/" + encodeURIComponent(runId) + "/" + offer.action,
    config,
    done,
  })
}

/** The buttons for the controls that would succeed now, or nothing when actions are not allowed. */
export function actionBar(runId, explanation, config, done) {
  if (!config.allowActions) return null
  const offered = explanation.nextActions.filter((a) => Object.prototype.hasOwnProperty.call(LABELS, a.action))
  if (offered.length === 0) return null
  return h(
    "div",
    { class: "row actions" },
    offered.map((offer) =>
      h(
        "button",
        { type: "button", class: "btn act-" + offer.action, "data-action": offer.action, on: { click: () => openDialog(runId, offer, config, done) } },
        LABELS[offer.action] + (offer.gate ? " “" + offer.gate + "”" : ""),
      ),
    ),
  )
}
`
