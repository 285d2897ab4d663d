/**
 * Starting and talking to the child processes of the embedded-store tests (embeddedProcess.ts,
 * embeddedLockRace.ts): IPC messages awaited by type, with the child's output in every failure.
 */
import { fork, type ChildProcess } from "node:child_process"
import { join } from "node:path"

const here = import.meta.dirname

/** A running child process. */
export interface Child {
  readonly process: ChildProcess
  readonly pid: number
  /** Everything it printed so far (stdout and stderr). */
  readonly output: () => string
  /** The first message of this type (already received or still to come). */
  readonly next: <M = Record<string, unknown>>(type: string, timeoutMs?: number) => Promise<M>
  readonly send: (type: string) => void
  /** Resolves with the exit code (or signal) once it has exited. */
  readonly exited: Promise<number | string>
}

/** Forks `script` (a .ts file next to this one) through tsx, with `env` added. */
export const spawnChild = (script: string, env: Record<string, string>): Child => {
  const child = fork(join(here, script), [], {
    execArgv: ["--import", "tsx", "--conditions=squid-mesh-source"],
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe", "ipc"],
  })
  if (child.pid === undefined) throw new Error(`could not start ${script}`)
  let output = ""
  child.stdout!.on("data", (d: Buffer) => (output += d.toString()))
  child.stderr!.on("data", (d: Buffer) => (output += d.toString()))
  const messages: Array<Record<string, unknown>> = []
  const listeners = new Set<() => void>()
  child.on("message", (m: Record<string, unknown>) => {
    messages.push(m)
    listeners.forEach((l) => l())
  })
  let exitedWith: number | string | undefined
  const exited = new Promise<number | string>((resolve) =>
    child.on("exit", (code, signal) => {
      exitedWith = code ?? signal ?? "unknown"
      listeners.forEach((l) => l())
      resolve(exitedWith)
    }),
  )
  const next = <M>(type: string, timeoutMs = 240_000): Promise<M> =>
    new Promise<M>((resolve, reject) => {
      const check = () => {
        const found = messages.find((m) => m.type === type)
        const failed = messages.find((m) => m.type === "error")
        if (found) return done(() => resolve(found as M))
        if (failed) return done(() => reject(new Error(`child ${child.pid} failed waiting for "${type}": ${JSON.stringify(failed)}\n${output}`)))
        if (exitedWith !== undefined) return done(() => reject(new Error(`child ${child.pid} exited (${exitedWith}) before "${type}"\n${output}`)))
      }
      const timer = setTimeout(() => done(() => reject(new Error(`child ${child.pid}: no "${type}" within ${timeoutMs} ms\n${output}`))), timeoutMs)
      const done = (f: () => void) => {
        clearTimeout(timer)
        listeners.delete(check)
        f()
      }
      listeners.add(check)
      check()
    })
  return {
    process: child,
    pid: child.pid,
    output: () => output,
    next,
    send: (type) => void child.send({ type }),
    exited,
  }
}
