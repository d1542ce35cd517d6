import type { Cause, Component, Severity } from "./state";

/**
 * box: the box itself is broken and an action on it can help (the ladder).
 * human: the box is broken beyond what the watchdog may do (ERROR, DELETED).
 * alert: something else is wrong (a key, a URL, a channel, an outside service): a reboot
 * cannot fix it, so the watchdog only tells.
 */
export type CauseClass = "box" | "human" | "alert";

interface CauseInfo {
  component: Component;
  class: CauseClass;
  /** Cannot be transient, so the incident may open at the first failure. */
  deterministic: boolean;
  severity: Severity;
  title: string;
  hint: string;
}

export const CAUSE_INFO: Record<Cause, CauseInfo> = {
  down: {
    component: "gateway",
    class: "box",
    deterministic: false,
    severity: "critical",
    title: "gateway down",
    hint: "The watchdog will reboot the box (soft, then hard), then re-run its bootstrap.",
  },
  "crash-loop": {
    component: "gateway",
    class: "box",
    deterministic: false,
    severity: "critical",
    title: "gateway crash-looping",
    hint: "systemd restarts it and it dies again before it is ready; the watchdog will reboot the box (soft, then hard), then re-run its bootstrap.",
  },
  "unit-failed": {
    component: "gateway",
    class: "human",
    deterministic: false,
    severity: "critical",
    title: "gateway unit failed (config?)",
    // From outside this looks the same as a gateway that dies before it listens (restarts.ts).
    hint: "Not listening since the reboot: systemd gave up (exit 78: a config OpenClaw rejects, or its state dir taken). Reboots cannot fix it: systemctl status openclaw-gateway; openclaw config validate.",
  },
  "ingress-stalled": {
    component: "gateway",
    class: "box",
    deterministic: false,
    severity: "critical",
    title: "gateway stopped reading Telegram",
    hint: "Telegram updates wait while /readyz says ready (the known polling stall); the watchdog will reboot the box.",
  },
  "server-shutoff": {
    component: "gateway",
    class: "box",
    deterministic: false,
    severity: "critical",
    title: "server is shut off",
    hint: "The watchdog will start it. Mute first if it was stopped on purpose.",
  },
  "server-error": {
    component: "gateway",
    class: "human",
    deterministic: false,
    severity: "critical",
    title: "server in ERROR state",
    hint: "Automatic repair cannot fix this: needs a human (ECS console, or open a ticket).",
  },
  "server-deleted": {
    component: "gateway",
    class: "human",
    deterministic: false,
    severity: "critical",
    title: "server deleted",
    hint: "Automatic repair cannot fix this: needs a human (recreate the box with the infra scripts).",
  },
  misconfigured: {
    component: "gateway",
    class: "alert",
    deterministic: true,
    severity: "critical",
    title: "gateway misconfigured",
    hint: "A reboot cannot fix this: check the gateway URL, token and bind address in the watchdog config and on the box.",
  },
  degraded: {
    component: "gateway",
    class: "alert",
    deterministic: false,
    severity: "warning",
    title: "gateway degraded",
    hint: "A channel is failing; the watchdog does not reboot for this. Check the channel's credentials and the gateway log.",
  },
  auth: {
    component: "maas",
    class: "alert",
    deterministic: true,
    severity: "critical",
    title: "MaaS rejects the API key",
    hint: "Check the key: MaaS answered 401/403.",
  },
  "not-found": {
    component: "maas",
    class: "alert",
    deterministic: true,
    severity: "critical",
    title: "MaaS URL or model not found",
    hint: "Check the base URL and model: the base URL must not end with /chat/completions.",
  },
  "rate-limited": {
    component: "maas",
    class: "alert",
    deterministic: false,
    severity: "warning",
    title: "MaaS rate-limited",
    hint: "MaaS answers 429: check the quota of the key and model.",
  },
  "maas-down": {
    component: "maas",
    class: "alert",
    deterministic: false,
    severity: "warning",
    title: "MaaS unavailable",
    hint: "MaaS fails or does not answer; the box is not rebooted for this.",
  },
  "token-revoked": {
    component: "telegram",
    class: "alert",
    deterministic: true,
    severity: "critical",
    title: "gateway's Telegram token rejected",
    hint: "Telegram answers 401 to the gateway's bot token: create a new one with BotFather and update the gateway config.",
  },
  "telegram-down": {
    component: "telegram",
    class: "alert",
    deterministic: false,
    severity: "warning",
    title: "Telegram API unavailable",
    hint: "The box is not rebooted for this; alerts wait in the outbox until Telegram is back.",
  },
  network: {
    component: "watchdog",
    class: "alert",
    deterministic: false,
    severity: "warning",
    title: "watchdog cannot reach the internet",
    hint: "MaaS and Telegram are both unreachable from the function: the watchdog must run on FunctionGraph's default public network (no VPC access; only the gateway-probe function has it). Nothing is done to the box meanwhile.",
  },
  "probe-unavailable": {
    component: "watchdog",
    class: "alert",
    deterministic: false,
    severity: "warning",
    title: "watchdog cannot run its gateway probe",
    hint: "The gateway-probe function could not be invoked or gave no valid answer (throttled, deleted, timing out, or the agency lacks functiongraph:function:invoke). The box's state is unknown and nothing is done to it: run `infra deploy` again or check the function in the FunctionGraph console.",
  },
};

export function causeClass(cause: Cause): CauseClass {
  return CAUSE_INFO[cause].class;
}
