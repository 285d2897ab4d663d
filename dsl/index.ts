/** The authoring DSL: what users write. */
export * as Workflow from "./Workflow.js"
export * as Step from "./Step.js"
export * as Trigger from "./Trigger.js"
export { Command, isCommand, type CommandResult, type WorkflowGenerator, type LogLevel } from "./Command.js"
export type { RetryPolicy, ExponentialBackoff, FixedBackoff } from "./Retry.js"
export type { StepContext, StepDef, StepOptions } from "./Step.js"
export type { WorkflowDef, AnyWorkflow, InputOf, OutputOf } from "./Workflow.js"
export type { ManualTrigger, PayloadOf, DefaultValue, ClockDefault } from "./Trigger.js"
