/**
 * `/assets/actions.js`: the action buttons of a run page (only when the server allows
 * actions, and only the controls `explainRun` says would succeed now), each opening the actor
 * dialog (`dialog.js`). A signal's dialog asks for its JSON payload (checked as JSON here; the
 * engine checks it against the wait's schema); a rerun's offers "allow irreversible steps" when
 * the explanation says a rerun is refused over them, and opens the new run once made.
 */
export const ACTIONS_JS = String.raw`
import { h, runHref } from "./dom.js"
import { askAndPost, PageRefusal } from "./dialog.js"

const LABELS = { approve: "Approve", reject: "Reject", resume: "Resume", cancel: "Cancel run", signal: "Signal", rerun: "Rerun" }
const NOTES = { approve: "Note (optional)", reject: "Note (optional)", resume: "Reason (optional)", cancel: "Reason (optional)", rerun: "Note (optional; kept in the audit event's metadata)" }

function pathOf(runId, action) {
  return "/api/runs/" + encodeURIComponent(runId) + "/" + action
}

/** The payload field of a signal's dialog, and its reading: JSON, or a refusal before sending. */
function payloadField() {
  const input = h("textarea", { id: "action-payload", name: "payload", class: "mono", spellcheck: "false", placeholder: '{ "field": "value" }' })
  const read = () => {
    const text = input.value.trim()
    if (text === "") throw new PageRefusal("InvalidJson", "enter the signal's payload as JSON (null for none)")
    try {
      return { payload: JSON.parse(text) }
    } catch (e) {
      throw new PageRefusal("InvalidJson", "the payload is not valid JSON: " + (e && e.message ? e.message : String(e)))
    }
  }
  return { nodes: [h("label", { for: "action-payload" }, "Payload (JSON, checked against the signal's schema)"), input], read }
}

/** The "allow irreversible steps" checkbox of a rerun's dialog (only when a rerun is refused over them). */
function irreversibleField(steps) {
  const box = h("input", { type: "checkbox", id: "action-allow-irreversible", name: "allowIrreversible" })
  const label = h("label", { for: "action-allow-irreversible", class: "check" }, box, " Allow irreversible steps: run " + steps.join(", ") + " again")
  return { nodes: [label], read: () => (box.checked ? { allowIrreversible: true } : {}) }
}

function openDialog(runId, explanation, offer, config, done) {
  const extra = offer.action === "signal" ? payloadField() : offer.irreversible ? irreversibleField(offer.irreversible) : null
  const named = offer.gate || offer.signal
  askAndPost({
    action: offer.action,
    title: LABELS[offer.action] + (named ? " — " + named : ""),
    detail:
      offer.action === "rerun"
        ? "Starts a new run of " + explanation.workflow + " with this run's input." + (offer.irreversible ? " This run completed irreversible steps: " + offer.irreversible.join(", ") + "." : "")
        : null,
    confirm: LABELS[offer.action],
    noteLabel: NOTES[offer.action],
    fields: extra ? extra.nodes : null,
    read: () => Object.assign(offer.signal ? { name: offer.signal } : {}, extra ? extra.read() : {}),
    path: pathOf(runId, offer.action),
    config,
    // A rerun is another run: open it. Every other control changes this one: draw it again.
    done: offer.action === "rerun" ? (outcome) => location.assign(runHref(outcome.runId)) : done,
  })
}

/**
 * The controls to offer: those explainRun offers, and a rerun it refuses only over
 * irreversible steps (the dialog then asks to allow them).
 */
function offersOf(explanation) {
  const offered = explanation.nextActions.filter((a) => Object.prototype.hasOwnProperty.call(LABELS, a.action))
  const refused = explanation.evidence.rerunRefused
  const steps = explanation.evidence.irreversibleSteps
  if (!offered.some((a) => a.action === "rerun") && refused && refused.reason === "irreversible_steps" && Array.isArray(steps) && steps.length > 0)
    offered.push({ action: "rerun", irreversible: steps })
  return offered
}

/** The buttons for the controls that would succeed now, or nothing when actions are not allowed. */
export function actionBar(runId, explanation, config, done) {
  if (!config.allowActions) return null
  const offered = offersOf(explanation)
  if (offered.length === 0) return null
  return h(
    "div",
    { class: "row actions" },
    offered.map((offer) => {
      const named = offer.gate || offer.signal
      return h(
        "button",
        {
          type: "button",
          class: "btn act-" + offer.action,
          "data-action": offer.action,
          "data-signal": offer.signal,
          on: { click: () => openDialog(runId, explanation, offer, config, done) },
        },
        LABELS[offer.action] + (named ? " “" + named + "”" : ""),
      )
    }),
  )
}
`
