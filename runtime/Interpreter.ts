/**
 * The replay interpreter's public face. The interpreter lives in runtime/interpreter/, one
 * concept per module: the generator driver (replayer), the placement table of command kinds,
 * waits and groups, the saga, the inbox and patches, and the journal payload codecs.
 */
export { Replayer } from "./interpreter/replayer.js"
export type { Decision, Env, NewTask, Outcome } from "./interpreter/model.js"
