import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { join } from "node:path";
import { Fleet, type NewServerSpec } from "./ecs-fleet";
import { bundleStandIn, type GuestKind, standinLauncher } from "./ecs-guest";
import {
  EcsApiError,
  GATEWAY_TIMINGS,
  type GuestSettings,
  invalidParameter,
  renderJob,
  renderServer,
  type ServerRecord,
  type ServerStatus,
} from "./ecs-model";
import { describeExit, type UnitState } from "./ecs-unit";
import type { GuestConfig } from "./guest/guest-config";
import { openclawLauncher } from "./guest/openclaw-guest";
import { listen, parseJson, sendJson, sleep } from "./http";
import type { Credential, Iam } from "./iam";
import { ControlError, type LocalService, ServiceFaults, type TimeScale } from "./service";
import { apigErrorBody, verifySdkHmac } from "./signing";

export type { GuestKind } from "./ecs-guest";
export { ECS_TIMINGS, GATEWAY_TIMINGS } from "./ecs-model";
export type { GuestConfig } from "./guest/guest-config";

/**
 * The local ECS: the API subset the watchdog and the infra scripts use, served to the real
 * `EcsClient` over HTTP, with servers whose guest is a real process (the stand-in gateway).
 * API list, control actions and timings: infra/local/docs/ecs.md.
 */

/**
 * What every server's guest gets unless overridden. `bootMs` and `connectGraceMs` are wall-clock
 * milliseconds handed to the guest as they are (scale them yourself, e.g. with `defaultGuestTimings`).
 */
export type GuestDefaults = GuestSettings;

export interface EcsOptions {
  readonly iam: Iam;
  readonly time: TimeScale;
  /** Holds the guest bundle and `servers/<id>/{system,data}`; use a fresh directory. */
  readonly dataDir: string;
  readonly guest: GuestDefaults;
  /** The guests' gateway: the stand-in (default) or the real openclaw (npm run openclaw:setup). */
  readonly guestKind?: GuestKind;
  /** Telegram user ids a real gateway answers (openclaw guests; none = OpenClaw's pairing). */
  readonly guestAllowFrom?: readonly number[];
  readonly port?: number;
  /** The API's clock for the x-sdk-date skew check (tests move it to skew requests). */
  readonly clock?: () => number;
}

export interface SeedServerOptions extends Partial<GuestDefaults> {
  readonly name: string;
  readonly metadata?: Record<string, string>;
  /** Plain-text user_data for the seeded box's bootstrap record (default: empty). */
  readonly userData?: string;
}

export interface SeededServer {
  readonly id: string;
  readonly name: string;
  readonly gatewayUrl: string;
  /** Exactly what the guest was started with (tokens included: keep it out of logs). */
  readonly guest: GuestConfig;
}

export interface ServerView {
  readonly id: string;
  readonly name: string;
  readonly status: ServerStatus;
  readonly taskState: string | null;
  readonly guestPid: number | undefined;
  readonly gatewayUrl: string;
  readonly boots: number;
  readonly bootstrapRuns: number;
  readonly pollingStalled: boolean;
  readonly hung: boolean;
  readonly bootMs: number;
  /** The gateway unit of this boot: running, auto-restart (waiting RestartSec), failed, stopped. */
  readonly unit: UnitState | "none";
  /** Automatic restarts of the unit this boot (`systemctl show -p NRestarts`). */
  readonly nRestarts: number;
  /** The gateway's last exit: "exit 78", "killed (SIGKILL)", … */
  readonly lastExit: string | undefined;
  /** Workload faults in force: crash-loop, exit-config, oom-every. */
  readonly faults: string[];
}

export interface CallRecord {
  readonly method: string;
  readonly path: string;
  /** SDK operation name (ShowServer, BatchRebootServers, …) or "unknown". */
  action: string;
  /** For actions on servers: "start", "stop", "reboot SOFT", "reboot HARD", "reinstall". */
  operation?: string;
  /** The servers an action names. */
  serverIds?: string[];
  status: number;
  readonly time: string;
}

export interface EcsService extends LocalService {
  readonly projectId: string;
  seedServer(options: SeedServerOptions): Promise<SeededServer>;
  servers(): ServerView[];
  calls(): CallRecord[];
}

/** Boot and Telegram grace of the real gateway, scaled: a starting point for GuestDefaults. */
export function defaultGuestTimings(
  time: TimeScale,
): Pick<GuestDefaults, "bootMs" | "connectGraceMs"> {
  return {
    bootMs: time.scale(GATEWAY_TIMINGS.boot),
    connectGraceMs: time.scale(GATEWAY_TIMINGS.telegramConnectGrace),
  };
}

const MAX_CALLS = 1_000;
const MAX_USER_DATA_BYTES = 32 * 1024;
const MAX_CREATE_COUNT = 10;
const CONTROL_ACTIONS = [
  "crash",
  "kill-guest",
  "crash-loop",
  "exit-config",
  "oom-every",
  "heal",
  "hang",
  "resume",
  "slow-boot",
  "stall-polling",
  "resume-polling",
  "set-status",
  "latency",
  "error",
  "servers",
  "calls",
] as const;

export async function startEcs(options: EcsOptions): Promise<EcsService> {
  const guestDir = join(options.dataDir, "guest");
  const launcher =
    options.guestKind === "openclaw"
      ? openclawLauncher({ dir: guestDir, allowFrom: options.guestAllowFrom ?? [] })
      : standinLauncher(await bundleStandIn(guestDir));
  const fleet = new Fleet({
    time: options.time,
    dataDir: options.dataDir,
    launcher,
    guest: options.guest,
  });
  const api = new EcsApi(fleet, options);
  const http = await listen((req, res, body) => api.serve(req, res, body), options.port);
  const killGuestsOnExit = (): void => fleet.killAllNow();
  process.once("exit", killGuestsOnExit);

  const view = (s: ServerRecord): ServerView => ({
    id: s.id,
    name: s.name,
    status: s.status,
    taskState: s.taskState,
    guestPid: s.guest?.running ? s.guest.pid : undefined,
    gatewayUrl: fleet.gatewayUrl(s),
    boots: s.boots,
    bootstrapRuns: s.bootstrapRuns,
    pollingStalled: s.pollingStalled,
    hung: s.hung,
    bootMs: s.guestSettings.bootMs,
    unit: s.unit?.state ?? "none",
    nRestarts: s.unit?.nRestarts ?? 0,
    lastExit: describeExit(s.unit?.lastExit),
    faults: [
      ...(s.guestFaults.crashLoopAfterMs === undefined ? [] : ["crash-loop"]),
      ...(s.guestFaults.exitConfig ? ["exit-config"] : []),
      ...(s.guestFaults.oomEveryMs === undefined ? [] : ["oom-every"]),
    ],
  });

  const service: EcsService = {
    name: "ecs",
    url: http.url,
    projectId: options.iam.projectId,
    async seedServer(seed) {
      const { name, metadata, userData, ...guest } = seed;
      const server = await fleet.seed({
        name,
        flavorRef: "s6.large.2",
        imageRef: "local-ubuntu-22.04",
        metadata: metadata ?? {},
        userData: Buffer.from(userData ?? "").toString("base64"),
        // Seeded boxes were created with a key pair, as a real box usually is.
        keyName: SEEDED_KEY_NAME,
        guest,
      });
      return {
        id: server.id,
        name,
        gatewayUrl: fleet.gatewayUrl(server),
        guest: fleet.guestConfig(server),
      };
    },
    servers: () => fleet.all().map(view),
    calls: () => api.calls.map((call) => ({ ...call })),
    async control(action, params) {
      try {
        return await control(action, params);
      } catch (error) {
        if (error instanceof ControlError) throw error;
        if (error instanceof EcsApiError) throw new ControlError(error.message, error.status);
        throw new ControlError(error instanceof Error ? error.message : String(error), 500);
      }
    },
    reset: () => api.faults.reset(),
    async close() {
      process.off("exit", killGuestsOnExit);
      await fleet.close();
      await http.close();
    },
  };

  async function control(action: string, params: Record<string, unknown>): Promise<unknown> {
    switch (action) {
      case "servers":
        return service.servers();
      case "calls":
        return service.calls();
      case "latency":
        api.faults.apply(action, { ms: nonNegative(params.ms, "ms") });
        return { ok: true };
      case "error":
        api.faults.apply(action, {
          status: errorStatus(params.status),
          count: params.count === undefined ? undefined : positiveInt(params.count, "count"),
        });
        return { ok: true };
    }
    const server = serverParam(fleet, params);
    switch (action) {
      case "crash":
        await fleet.crash(server);
        break;
      case "kill-guest":
        await fleet.killGuest(server);
        break;
      case "crash-loop":
        await fleet.crashLoop(
          server,
          params.ms === undefined ? undefined : nonNegative(params.ms, "ms"),
        );
        break;
      case "exit-config":
        await fleet.breakConfig(server);
        break;
      case "oom-every":
        fleet.oomEvery(server, positiveMs(params.ms, "ms"));
        break;
      case "heal":
        await fleet.heal(server);
        break;
      case "hang":
        fleet.hangGuest(server, true);
        break;
      case "resume":
        fleet.hangGuest(server, false);
        break;
      case "slow-boot":
        server.guestSettings.bootMs = nonNegative(params.ms, "ms");
        break;
      case "stall-polling":
        await fleet.setPolling(server, true);
        break;
      case "resume-polling":
        await fleet.setPolling(server, false);
        break;
      case "set-status":
        await fleet.forceStatus(server, statusParam(params.status));
        break;
      default:
        throw new ControlError(
          `unknown ECS control action "${action}"; use one of: ${CONTROL_ACTIONS.join(", ")}`,
          404,
        );
    }
    return view(server);
  }

  return service;
}

/** The key pair every seeded server was "created" with. */
export const SEEDED_KEY_NAME = "clawwatch-local-key";

// ---- the HTTP API -------------------------------------------------------------------------------

type Answer = { status: number; body: unknown };
type Route = {
  method: string;
  pattern: RegExp;
  action: string;
  handle: (
    match: RegExpExecArray,
    req: IncomingMessage,
    body: Record<string, unknown>,
  ) => Promise<Answer> | Answer;
};

class EcsApi {
  readonly faults = new ServiceFaults();
  readonly calls: CallRecord[] = [];
  /** X-Client-Token → the first request's answer (a promise, so a concurrent retry waits for it). */
  private readonly idempotent = new Map<string, Promise<Answer>>();
  private readonly routes: Route[];

  constructor(
    private readonly fleet: Fleet,
    private readonly options: EcsOptions,
  ) {
    const P = "/v1/([^/]+)";
    this.routes = [
      {
        method: "GET",
        pattern: re(`${P}/cloudservers/detail`),
        action: "ListServersDetails",
        handle: (_m, req) => this.list(req),
      },
      {
        method: "GET",
        pattern: re(`${P}/cloudservers/([^/]+)`),
        action: "ShowServer",
        handle: (m) => this.show(m),
      },
      {
        method: "POST",
        pattern: re(`${P}/cloudservers/action`),
        action: "BatchServerAction",
        handle: (_m, _r, b) => this.action(b),
      },
      {
        method: "POST",
        pattern: re(`${P}/cloudservers/delete`),
        action: "DeleteServers",
        handle: (_m, _r, b) => this.remove(b),
      },
      {
        method: "POST",
        pattern: re(`${P}/cloudservers`),
        action: "CreatePostPaidServers",
        handle: (_m, req, b) => this.create(req, b),
      },
      {
        method: "POST",
        pattern: re("/v2/([^/]+)/cloudservers/([^/]+)/reinstallos"),
        action: "ReinstallServerWithCloudInit",
        handle: (m, _r, b) => this.reinstall(m, b),
      },
      {
        method: "GET",
        pattern: re(`${P}/jobs/([^/]+)`),
        action: "ShowJob",
        handle: (m) => ({ status: 200, body: renderJob(this.fleet.job(decode(m[2]))) }),
      },
    ];
  }

  async serve(req: IncomingMessage, res: ServerResponse, raw: Buffer): Promise<void> {
    const requestId = randomBytes(16).toString("hex");
    const [path = "/"] = (req.url ?? "/").split("?");
    const call: CallRecord = {
      method: req.method ?? "GET",
      path,
      action: "unknown",
      status: 0,
      time: new Date().toISOString(),
      ...describeAction(path, raw),
    };
    this.calls.push(call);
    if (this.calls.length > MAX_CALLS) this.calls.shift();
    if (this.faults.latencyMs > 0) await sleep(this.faults.latencyMs);
    const answer = await this.answer(req, path, raw, call, requestId);
    call.status = answer.status;
    sendJson(res, answer.status, answer.body, { "x-request-id": requestId });
  }

  private async answer(
    req: IncomingMessage,
    path: string,
    raw: Buffer,
    call: CallRecord,
    requestId: string,
  ): Promise<Answer> {
    const route = this.routes.find((r) => r.method === req.method && r.pattern.test(path));
    const match = route?.pattern.exec(path);
    if (!route || !match) {
      return {
        status: 404,
        body: {
          error_msg: "The API does not exist or has not been published in the environment",
          error_code: "APIGW.0101",
          request_id: requestId,
        },
      };
    }
    call.action = route.action;
    const auth = verifySdkHmac(req, raw, this.options.iam, (this.options.clock ?? Date.now)());
    if (!auth.ok) return { status: auth.status, body: apigErrorBody(auth, requestId) };
    const projectInPath = decode(match[1]);
    const projectHeader = req.headers["x-project-id"];
    if (
      projectInPath !== this.options.iam.projectId ||
      (typeof projectHeader === "string" && projectHeader !== projectInPath)
    ) {
      return errorAnswer(
        new EcsApiError(
          403,
          "Ecs.0003",
          "The project ID in the request is not this account's project; check the project ID you configured.",
        ),
      );
    }
    const forced = this.faults.takeForcedStatus();
    if (forced !== undefined) return forcedAnswer(forced, requestId);
    try {
      const body = raw.length === 0 ? {} : parseBody(raw);
      if (route.action === "BatchServerAction") call.action = batchActionName(body);
      this.authorize(auth.credential, call.action, match, body);
      return await route.handle(match, req, body);
    } catch (error) {
      if (error instanceof EcsApiError) return errorAnswer(error);
      throw error;
    }
  }

  /**
   * Each call is checked against the caller's IAM policies (an agency's key gets only what its
   * policies allow). A refusal is 403 in ECS's error body with IAM's wording ("Policy doesn't
   * allow <action> to be performed.", as Huawei's IAM-checked APIs word it); the code Ecs.0319
   * is this emulator's choice, no public list gives ECS's code for it.
   */
  private authorize(
    credential: Credential,
    operation: string,
    match: RegExpExecArray,
    body: Record<string, unknown>,
  ): void {
    const action = IAM_ACTIONS[operation];
    if (action === undefined) return;
    const { iam } = this.options;
    const resources = serverResources(operation, match, body).map(
      (id) => `ECS:${iam.region}:${iam.domainId}:instance:${id}`,
    );
    for (const resource of resources.length > 0 ? resources : [undefined]) {
      const decision = iam.authorize(credential, action, resource);
      if (!decision.allowed) {
        throw new EcsApiError(403, "Ecs.0319", `Policy doesn't allow ${action} to be performed.`);
      }
    }
  }

  private show(match: RegExpExecArray): Answer {
    const server = this.fleet.get(decode(match[2]));
    return { status: 200, body: { server: renderServer(server, this.options.iam.projectId) } };
  }

  private list(req: IncomingMessage): Answer {
    const query = new URL(req.url ?? "/", "http://ecs.invalid").searchParams;
    const limit = queryInt(query, "limit", 25, 1, 1_000);
    // Huawei's `offset` here is a page number (1-based; 0 means the first page).
    const page = Math.max(1, queryInt(query, "offset", 1, 0, 1_000_000));
    const name = query.get("name");
    const status = query.get("status");
    const matching = this.fleet
      .all()
      .filter((s) => (status === null ? s.status !== "DELETED" : s.status === status))
      .filter((s) => name === null || s.name.includes(name));
    const servers = matching
      .slice((page - 1) * limit, page * limit)
      .map((s) => renderServer(s, this.options.iam.projectId));
    return { status: 200, body: { count: matching.length, servers } };
  }

  private action(body: Record<string, unknown>): Answer {
    const keys = Object.keys(body);
    if (keys.length !== 1) {
      throw invalidParameter('the body needs exactly one of "os-start", "os-stop", "reboot"');
    }
    const option = objectParam(body, keys[0] as string);
    const ids = serverIds(option);
    switch (keys[0]) {
      case "os-start":
        return jobAnswer(this.fleet.start(ids));
      case "os-stop":
        return jobAnswer(this.fleet.stop(ids, hardType(option, "SOFT")));
      case "reboot":
        if (option.type === undefined)
          throw invalidParameter('reboot.type is required ("SOFT" or "HARD")');
        return jobAnswer(this.fleet.reboot(ids, hardType(option, "SOFT")));
      default:
        throw invalidParameter(`unsupported action "${keys[0]}"; use os-start, os-stop or reboot`);
    }
  }

  private reinstall(match: RegExpExecArray, body: Record<string, unknown>): Answer {
    const option = objectParam(body, "os-reinstall");
    const metadata = option.metadata === undefined ? {} : objectParam(option, "metadata");
    const userData = metadata.user_data;
    if (
      option.adminpass === undefined &&
      option.keyname === undefined &&
      (typeof userData !== "string" || userData === "")
    ) {
      throw invalidParameter("os-reinstall needs adminpass, keyname or metadata.user_data");
    }
    if (option.mode !== undefined && option.mode !== "withStopServer") {
      throw invalidParameter('os-reinstall.mode may only be "withStopServer"');
    }
    // "adminpass and keyname are mutually exclusive" (ReinstallServerWithCloudInit, ecs_02_0201).
    if (option.adminpass !== undefined && option.keyname !== undefined) {
      throw invalidParameter("os-reinstall takes adminpass or keyname, not both");
    }
    const keyName = option.keyname === undefined ? "" : stringParam(option, "keyname");
    const encoded = typeof userData === "string" ? checkUserData(userData) : "";
    return jobAnswer(
      this.fleet.reinstall(decode(match[2]), encoded, option.mode === "withStopServer", keyName),
    );
  }

  private create(req: IncomingMessage, body: Record<string, unknown>): Promise<Answer> {
    const token = req.headers["x-client-token"];
    if (typeof token !== "string" || token === "") return this.createServers(body);
    const known = this.idempotent.get(token);
    if (known) return known;
    const answer = this.createServers(body);
    this.idempotent.set(token, answer);
    // A request that failed may be retried with the same token.
    answer.catch(() => this.idempotent.delete(token));
    return answer;
  }

  private async createServers(body: Record<string, unknown>): Promise<Answer> {
    const server = objectParam(body, "server");
    const name = stringParam(server, "name");
    const flavorRef = stringParam(server, "flavorRef");
    const imageRef = stringParam(server, "imageRef");
    const count = server.count === undefined ? 1 : positiveInt(server.count, "server.count");
    if (count > MAX_CREATE_COUNT) {
      throw invalidParameter(
        `server.count ${count} exceeds the local limit of ${MAX_CREATE_COUNT}`,
      );
    }
    const metadata =
      server.metadata === undefined ? {} : stringRecord(objectParam(server, "metadata"));
    const userData =
      server.user_data === undefined ? "" : checkUserData(stringParam(server, "user_data"));
    const keyName = server.key_name === undefined ? "" : stringParam(server, "key_name");
    const tags = serverTags(server.server_tags);
    const securityGroupIds = Array.isArray(server.security_groups)
      ? server.security_groups.map((g: unknown) => stringParam(g as Record<string, unknown>, "id"))
      : [];
    if (body.dry_run === true) return { status: 202, body: {} };
    const specs: NewServerSpec[] = Array.from({ length: count }, (_, i) => ({
      // Huawei appends -0001, -0002, … when one request creates several servers.
      name: count === 1 ? name : `${name}-${String(i + 1).padStart(4, "0")}`,
      flavorRef,
      imageRef,
      metadata,
      tags,
      securityGroupIds,
      userData,
      keyName,
    }));
    const { jobId, serverIds } = await this.fleet.create(specs);
    return { status: 200, body: { job_id: jobId, serverIds } };
  }

  private remove(body: Record<string, unknown>): Answer {
    const ids = serverIds(body);
    return jobAnswer(this.fleet.delete(ids, body.delete_volume === true));
  }
}

// ---- request parsing helpers --------------------------------------------------------------------

/**
 * server_tags of CreatePostPaidServers: at most 10, key 1-36 and value 0-43 characters, keys
 * unique (ECS API reference, "Creating an ECS (Pay-per-Use)", PostPaidServerTag; SDK model
 * node_modules/@huaweicloud/huaweicloud-sdk-ecs/v2/model/PostPaidServerTag.d.ts). ShowServer
 * lists them as "key=value" (ServerDetail.tags).
 */
function serverTags(value: unknown): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.length > 10) {
    throw invalidParameter("server_tags must be an array of at most 10 tags");
  }
  const keys = new Set<string>();
  return value.map((tag: unknown) => {
    const { key, value: tagValue } = (tag ?? {}) as { key?: unknown; value?: unknown };
    if (typeof key !== "string" || key.length < 1 || key.length > 36 || keys.has(key)) {
      throw invalidParameter("server_tags: each key must be 1-36 characters and unique");
    }
    if (typeof tagValue !== "string" || tagValue.length > 43) {
      throw invalidParameter("server_tags: each value must be a string of at most 43 characters");
    }
    keys.add(key);
    return `${key}=${tagValue}`;
  });
}

function re(path: string): RegExp {
  return new RegExp(`^${path}$`);
}

function decode(part: string | undefined): string {
  try {
    return decodeURIComponent(part ?? "");
  } catch {
    return part ?? "";
  }
}

function parseBody(raw: Buffer): Record<string, unknown> {
  let body: unknown;
  try {
    body = parseJson(raw);
  } catch {
    throw invalidParameter("the request body is not valid JSON");
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw invalidParameter("the request body must be a JSON object");
  }
  return body as Record<string, unknown>;
}

/**
 * The IAM action of each API, from Huawei's ECS permission tables ("Permissions and Supported
 * Actions": ECS Status Management ecs_06_0003 for rebuild, Batch Operations ecs_06_0004 for
 * start/stop/reboot; the start API page ecs_02_0301 names ecs:cloudServers:start too).
 * get/list/create/delete: Lifecycle Management (ecs_06_0002, en-us edition). Checked against
 * those tables by test/contract/iam-actions.test.ts. ShowJob (GET /v1/{project_id}/jobs/{job_id},
 * ecs_02_0901) has no action in those tables nor on its page: any key of the project may read a
 * job, so it is not checked here.
 */
export const IAM_ACTIONS: Record<string, string | undefined> = {
  ListServersDetails: "ecs:cloudServers:list",
  ShowServer: "ecs:cloudServers:get",
  BatchStartServers: "ecs:cloudServers:start",
  BatchStopServers: "ecs:cloudServers:stop",
  BatchRebootServers: "ecs:cloudServers:reboot",
  DeleteServers: "ecs:cloudServers:delete",
  CreatePostPaidServers: "ecs:cloudServers:create",
  ReinstallServerWithCloudInit: "ecs:cloudServers:rebuild",
};

/** The servers a call acts on, for the policy's Resource (none for list and create). */
function serverResources(
  operation: string,
  match: RegExpExecArray,
  body: Record<string, unknown>,
): string[] {
  if (operation === "ShowServer" || operation === "ReinstallServerWithCloudInit") {
    return [decode(match[2])];
  }
  const option = Object.values(body)[0] as { servers?: { id?: unknown }[] } | undefined;
  const servers = Array.isArray(option?.servers) ? option.servers : [];
  return servers.flatMap((s) => (typeof s?.id === "string" ? [s.id] : []));
}

function batchActionName(body: Record<string, unknown>): string {
  if ("os-start" in body) return "BatchStartServers";
  if ("os-stop" in body) return "BatchStopServers";
  if ("reboot" in body) return "BatchRebootServers";
  return "BatchServerAction";
}

function objectParam(parent: Record<string, unknown>, key: string): Record<string, unknown> {
  const value = parent[key];
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw invalidParameter(`"${key}" must be an object`);
  }
  return value as Record<string, unknown>;
}

function stringParam(parent: Record<string, unknown>, key: string): string {
  const value = parent[key];
  if (typeof value !== "string" || value === "")
    throw invalidParameter(`"${key}" must be a non-empty string`);
  return value;
}

function stringRecord(value: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, String(v)]));
}

function serverIds(parent: Record<string, unknown>): string[] {
  const servers = parent.servers;
  if (!Array.isArray(servers) || servers.length === 0) {
    throw invalidParameter('"servers" must be a non-empty list of {"id": …}');
  }
  return servers.map((entry: unknown) => {
    const id = (entry as { id?: unknown } | null)?.id;
    if (typeof id !== "string" || id === "")
      throw invalidParameter('every entry of "servers" needs an "id"');
    return id;
  });
}

function hardType(option: Record<string, unknown>, fallback: "SOFT" | "HARD"): boolean {
  const type = option.type ?? fallback;
  if (type !== "SOFT" && type !== "HARD") throw invalidParameter('"type" must be "SOFT" or "HARD"');
  return type === "HARD";
}

/** user_data must be base64 of at most 32 KB, as on Huawei Cloud. */
function checkUserData(encoded: string): string {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(encoded.replace(/\s/g, ""))) {
    throw invalidParameter("user_data must be base64-encoded");
  }
  if (Buffer.from(encoded, "base64").length > MAX_USER_DATA_BYTES) {
    throw invalidParameter("user_data exceeds 32 KB before encoding");
  }
  return encoded;
}

function queryInt(
  query: URLSearchParams,
  key: string,
  fallback: number,
  min: number,
  max: number,
): number {
  const raw = query.get(key);
  if (raw === null) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw invalidParameter(`query parameter ${key} must be an integer from ${min} to ${max}`);
  }
  return n;
}

function jobAnswer(jobId: string): Answer {
  return { status: 200, body: { job_id: jobId } };
}

function errorAnswer(error: EcsApiError): Answer {
  return { status: error.status, body: error.body() };
}

function forcedAnswer(status: number, requestId: string): Answer {
  if (status === 429) {
    return {
      status,
      body: {
        error_msg: "The throttling threshold has been reached: policy user over ratelimit",
        error_code: "APIGW.0308",
        request_id: requestId,
      },
    };
  }
  return errorAnswer(
    new EcsApiError(
      status,
      "Ecs.0000",
      "Request error. Try again later or contact customer service.",
    ),
  );
}

// ---- control parameter helpers ------------------------------------------------------------------

function serverParam(fleet: Fleet, params: Record<string, unknown>): ServerRecord {
  const id = params.serverId;
  if (typeof id !== "string" || id === "") {
    throw new ControlError('this action needs "serverId" (see the "servers" view for ids)');
  }
  try {
    return fleet.get(id);
  } catch {
    throw new ControlError(`no server ${id}; see the "servers" view for ids`, 404);
  }
}

function statusParam(value: unknown): "ACTIVE" | "SHUTOFF" | "ERROR" {
  if (value === "ACTIVE" || value === "SHUTOFF" || value === "ERROR") return value;
  throw new ControlError('"status" must be "ACTIVE", "SHUTOFF" or "ERROR"');
}

function nonNegative(value: unknown, name: string): number {
  const n = Number(value);
  if (value === undefined || !Number.isFinite(n) || n < 0) {
    throw new ControlError(`"${name}" must be a number of milliseconds ≥ 0`);
  }
  return n;
}

function positiveMs(value: unknown, name: string): number {
  const n = Number(value);
  if (value === undefined || !Number.isFinite(n) || n <= 0) {
    throw new ControlError(`"${name}" must be a number of milliseconds > 0`);
  }
  return n;
}

function positiveInt(value: unknown, name: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    if (name.startsWith("server.")) throw invalidParameter(`${name} must be a positive integer`);
    throw new ControlError(`"${name}" must be a positive integer`);
  }
  return n;
}

function errorStatus(value: unknown): number {
  const status = value === undefined ? 500 : Number(value);
  if (!Number.isInteger(status) || status < 400 || status > 599) {
    throw new ControlError(
      '"status" must be an HTTP error status from 400 to 599 (e.g. 500, 503, 429)',
    );
  }
  return status;
}

/** What a server action asked for, for the `calls` view (tests assert on exact ECS actions). */
function describeAction(path: string, raw: Buffer): Pick<CallRecord, "operation" | "serverIds"> {
  const reinstall = /\/cloudservers\/([^/]+)\/reinstallos$/.exec(path);
  if (reinstall) return { operation: "reinstall", serverIds: [decode(reinstall[1])] };
  if (!path.endsWith("/cloudservers/action")) return {};
  try {
    const body = JSON.parse(raw.toString("utf8")) as Record<
      string,
      { servers?: { id?: string }[]; type?: string }
    >;
    const [key, option] = Object.entries(body)[0] ?? [];
    if (!key || !option) return {};
    const serverIds = (option.servers ?? []).map((s) => String(s.id));
    const operation = key === "reboot" ? `reboot ${option.type ?? "?"}` : key.replace("os-", "");
    return { operation, serverIds };
  } catch {
    return {};
  }
}
