import { type BoxConfig, type Config, parseConfig, secretsOf } from "../../shared/config";
import { createMemoryNotifier, type MemoryNotifier } from "../../shared/notify/memory";
import type { RenderedMessage } from "../../shared/notify/render";
import type { GatewayStatus, Observations, ServerStatus } from "../../shared/probes/types";
import {
  type ChatPort,
  createReceiver,
  type Invocation,
  type Ledger,
  MemoryLedger,
  type Receiver,
  type ReceiverServices,
  SECRET_HEADER,
} from "../../shared/receiver";
import { createJsonLogger, type Logger } from "../../shared/runtime/logger";
import { createRedactor } from "../../shared/runtime/redact";
import { MemoryStateStore } from "../../shared/state/memory";
import type { StateStore } from "../../shared/state/port";
import type { CycleReport } from "../../shared/watchdog/cycle";
import { runCycle } from "../../shared/watchdog/cycle";
import type { CycleDeps } from "../../shared/watchdog/ports";
import { MemoryCompute } from "../support/compute";
import { gatewayResult, observations as healthy, serverResult } from "../support/observations";

/**
 * One box watched by the real cycle and the real receiver, sharing one store (the OBS bucket) and
 * one ECS: what the issue-21 red team attacked. Ports in memory unless a test passes its own store.
 */

export const T0 = Date.UTC(2026, 10, 25, 12, 0, 0);
export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const ANN = { id: 7, username: "ann" };
export const MALLORY = { id: 666, username: "mallory" };
export const CHAT = -1001234;
export const SECRETS = {
  webhook: "hook_secret-0123456789ABCDEF",
  alertBot: "222222:ALERTS-token-abcdefghijklmnopqrstuvwxyz",
  gatewayBot: "111111:GATEWAY-token-abcdefghijklmnopqrstuvwxyz",
  gateway: "gw-token-prod-SECRET-9f8e7d",
  maas: "maas-key-prod-SECRET-1a2b3c",
} as const;

export function hostileConfig(policy: Record<string, unknown> = {}): Config {
  return parseConfig({
    boxes: [
      {
        name: "prod",
        serverId: "srv-prod",
        gateway: { url: "http://127.0.0.1:1", token: SECRETS.gateway },
        telegram: { botToken: SECRETS.gatewayBot },
        maas: { baseUrl: "http://127.0.0.1:2/v1", apiKey: SECRETS.maas, model: "m" },
      },
    ],
    alerts: {
      botToken: SECRETS.alertBot,
      chatId: CHAT,
      allowedUserIds: [ANN.id],
      webhookSecret: SECRETS.webhook,
    },
    cloud: { projectId: "p" },
    state: { bucket: "bucket-1" },
    // One-minute cycles step past each 30 s grace: every rung is one threshold apart.
    policy: {
      grace: { start: "30s", softReboot: "30s", hardReboot: "30s", rebootstrap: "30s" },
      ...policy,
    },
  });
}

export function observations(gateway: GatewayStatus, server?: ServerStatus): Observations {
  return healthy({
    gateway: gatewayResult(gateway),
    ...(server ? { server: serverResult(server) } : {}),
  });
}

/** The in-memory Compute, with the requests that act on a running box. */
export class RecordingCompute extends MemoryCompute {
  /** The reboots and reinstalls ECS accepted. */
  reboots(): string[] {
    return this.done().filter((c) => c.startsWith("reboot") || c.startsWith("reinstall"));
  }
}

export class MemoryChat implements ChatPort {
  readonly posts: { message: RenderedMessage; messageId: number }[] = [];
  readonly edits: RenderedMessage[] = [];
  readonly answers: string[] = [];
  private nextId = 500;

  async post(message: RenderedMessage) {
    this.nextId += 1;
    this.posts.push({ message, messageId: this.nextId });
    return this.nextId;
  }
  async editMessage(_messageId: number, message: RenderedMessage) {
    this.edits.push(message);
  }
  async answerCallback(_queryId: string, options: { text?: string } = {}) {
    this.answers.push(options.text ?? "");
  }
  async botUsername() {
    return "alerts_bot";
  }
  /** Every text the receiver put in the chat. */
  texts(): string[] {
    return [
      ...this.posts.map((p) => `${p.message.html}\n${p.message.text}`),
      ...this.edits.map((m) => `${m.html}\n${m.text}`),
      ...this.answers,
    ];
  }
}

export class World {
  now = T0;
  readonly notifier: MemoryNotifier = createMemoryNotifier();
  readonly compute = new RecordingCompute();
  readonly chat = new MemoryChat();
  readonly ledger: Ledger;
  readonly logs: string[] = [];
  readonly log: Logger;
  gateway: GatewayStatus = "ok";
  private nextUpdate = 1000;

  constructor(
    readonly config: Config = hostileConfig(),
    readonly store: StateStore = new MemoryStateStore(),
    ledger?: Ledger,
  ) {
    this.ledger = ledger ?? new MemoryLedger();
    // No secrets given to the logger: a secret that reaches a log line at all shows up in a scan.
    this.log = createJsonLogger({ level: "debug", write: (line) => this.logs.push(line) });
  }

  get box(): BoxConfig {
    const box = this.config.boxes[0];
    if (!box) throw new Error("no box");
    return box;
  }

  deps(): CycleDeps {
    return {
      config: this.config,
      store: this.store,
      notifier: this.notifier,
      compute: async () => this.compute,
      observe: async () => observations(this.gateway, this.gateway === "ok" ? undefined : "ACTIVE"),
      log: this.log,
      clock: () => this.now,
      remainingMs: () => 60_000,
      requestId: "req-cycle",
    };
  }

  /** One watchdog cycle, a minute after the last. */
  async cycle(gateway: GatewayStatus = this.gateway): Promise<CycleReport> {
    this.now += MINUTE;
    this.gateway = gateway;
    return runCycle(this.box, this.deps(), "act");
  }

  async cycles(count: number, gateway: GatewayStatus): Promise<CycleReport[]> {
    const reports: CycleReport[] = [];
    for (let i = 0; i < count; i++) reports.push(await this.cycle(gateway));
    return reports;
  }

  /** A receiver instance (a FunctionGraph instance: its own memory, the shared OBS and ECS). */
  receiver(claimSettleMs = 5): Receiver {
    return createReceiver({
      config: this.config,
      clock: () => this.now,
      settings: { claimSettleMs },
    });
  }

  invocation(): Invocation {
    const services: ReceiverServices = {
      store: this.store,
      ledger: this.ledger,
      chat: this.chat,
      compute: async () => this.compute,
      diagnose: async (box) => runCycle(box, this.deps(), "dry-run"),
    };
    return {
      requestId: "req-hook",
      log: this.log,
      remainingMs: () => 30_000,
      services: async () => services,
      redact: createRedactor(this.secrets()),
    };
  }

  async send(app: Receiver, update: unknown, secret: string = SECRETS.webhook) {
    return app.handle(
      {
        method: "POST",
        headers: { [SECRET_HEADER]: secret },
        // JSON.stringify(undefined) is undefined: an empty body then, as a client would send.
        body: Buffer.from(JSON.stringify(update) ?? ""),
      },
      this.invocation(),
    );
  }

  say(text: string, from: { id: number; username?: string } = ANN) {
    const id = this.nextUpdate++;
    return {
      update_id: id,
      message: {
        message_id: id + 1,
        date: 1,
        chat: { id: CHAT, type: "supergroup" },
        from: { ...from, is_bot: false, first_name: "x" },
        text,
      },
    };
  }

  press(data: string, messageId: number, from: { id: number; username?: string } = ANN) {
    const id = this.nextUpdate++;
    return {
      update_id: id,
      callback_query: {
        id: `q-${id}`,
        from: { ...from, is_bot: false, first_name: "x" },
        chat_instance: "1",
        data,
        message: { message_id: messageId, date: 1, chat: { id: CHAT, type: "supergroup" } },
      },
    };
  }

  /** Every secret the product knows of; none may appear in any output. */
  secrets(): string[] {
    return [...secretsOf(this.config), SECRETS.webhook];
  }
}
