/**
 * Deadlines (SLAs) of steps and approvals. Due times are computed once, when the step or gate
 * is first planned, and persisted with its journal entry (retries keep them). Their status is
 * evaluated at read time from the Clock; deadlines never stop work by themselves (an approval
 * can declare `onDeadline` to decide itself).
 */
import { Duration } from "effect"

/** A deadline policy. */
export interface DeadlinePolicy {
  /** Due this long after the step or gate is planned. */
  readonly within: Duration.DurationInput
  /** Reported `due_soon` this long before it is due. */
  readonly dueSoon?: Duration.DurationInput
  /** Reported `escalated` this long after it is overdue. */
  readonly escalateAfter?: Duration.DurationInput
  /** What the host should do when it escalates (descriptive: shown by inspection). */
  readonly escalation?: string
}

/** The persisted due times of a deadline (epoch ms). */
export interface DeadlineTimes {
  readonly dueAt: number
  readonly dueSoonAt?: number
  readonly escalatedAt?: number
  readonly escalation?: string
}

/** Where a deadline stands at a given time. */
export type DeadlineStatus = "on_time" | "due_soon" | "overdue" | "escalated"

/** The due times of a policy for something planned at `plannedAt`. */
export const deadlineTimes = (policy: DeadlinePolicy, plannedAt: number): DeadlineTimes => {
  const dueAt = plannedAt + Duration.toMillis(policy.within)
  return {
    dueAt,
    ...(policy.dueSoon !== undefined ? { dueSoonAt: dueAt - Duration.toMillis(policy.dueSoon) } : {}),
    ...(policy.escalateAfter !== undefined ? { escalatedAt: dueAt + Duration.toMillis(policy.escalateAfter) } : {}),
    ...(policy.escalation !== undefined ? { escalation: policy.escalation } : {}),
  }
}

/** The status of a deadline at time `now`. */
export const deadlineStatus = (times: DeadlineTimes, now: number): DeadlineStatus =>
  times.escalatedAt !== undefined && now >= times.escalatedAt
    ? "escalated"
    : now >= times.dueAt
      ? "overdue"
      : times.dueSoonAt !== undefined && now >= times.dueSoonAt
        ? "due_soon"
        : "on_time"

/** Most urgent first: escalated, overdue, due soon, on time; then the earliest due. */
export const DEADLINE_RANK: Record<DeadlineStatus, number> = { escalated: 0, overdue: 1, due_soon: 2, on_time: 3 }
