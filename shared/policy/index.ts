export { CAUSE_INFO, type CauseClass, causeClass } from "./causes";
export { commandMaxAge } from "./commands";
export { type Decision, decide, type Explanation, explain, explainLines } from "./decide";
export { openThreshold, reminderInterval } from "./incidents";
export { stateResetNotice } from "./notifications";
export { applyOutcomes } from "./outcomes";
export { type BudgetKind, budgetKindOf, budgetUsed, graceFor, nextRung } from "./remediation";
export {
  BUDGET_EVENT_TYPES,
  type BudgetEvent,
  type BudgetRecovery,
  budgetFromEvents,
  resetState,
} from "./reset";
export {
  type BoxState,
  BUTTONS,
  type Button,
  boxStateSchema,
  CAUSES,
  type Cause,
  COMPONENTS,
  type Component,
  type Counter,
  type HistoryEntry,
  type Incident,
  initialState,
  LIMITS,
  MANUAL_ACTIONS,
  type ManualAction,
  NOTIFICATION_TYPES,
  type Notification,
  type NotificationType,
  notificationSchema,
  type OutboxEntry,
  PAUSE_LIMITS,
  REMEDIATIONS,
  type Remediation,
  type Severity,
  STATE_VERSION,
  type Step,
} from "./state";
export { formatDuration, formatTime, incidentRef } from "./text";
export {
  type Action,
  type AuditEvent,
  type AuditType,
  type Operator,
  type OperatorCommand,
  type Outcome,
  operatorCommandSchema,
  type Verdict,
  type Verdicts,
} from "./types";
export { type Evaluation, evaluate, serverCheckDue, watchdogNetworkDown } from "./verdicts";
