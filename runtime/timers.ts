/** Timers due within this horizon are kept and fired locally by the worker that created them. */
export const LOCAL_TIMER_HORIZON_MS = 30_000
