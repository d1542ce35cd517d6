import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { join } from "node:path";
import { ApigInstance, RELEASE_ENV } from "./apig-instance";
import { type ApigBackend, startApig, startApigHttps } from "./functiongraph-apig";
import {
  asObject,
  codeView,
  configView,
  envLimitFor,
  FgsError,
  type FunctionRecord,
  invalid,
  type Json,
  newFunction,
  parseCode,
  parseConfig,
  parseMaxInstances,
  parseTriggerStatus,
  type TriggerRecord,
  triggerView,
  validateTriggerName,
} from "./functiongraph-model";
import { FunctionRuntime, type InvocationRecord } from "./functiongraph-runtime";
import { parseSchedule } from "./functiongraph-schedule";
import { type Listening, listen, parseJson, sendJson, sleep } from "./http";
import type { Credential, Iam } from "./iam";
import { ControlError, type LocalService, ServiceFaults, type TimeScale } from "./service";
import { apigErrorBody, verifySdkHmac } from "./signing";
import type { HttpsListening } from "./tls";

export type { InvocationRecord } from "./functiongraph-runtime";

export interface FunctionGraphOptions {
  iam: Iam;
  /** Scales TIMER periods; function timeouts and the APIG backend timeout stay in real time. */
  time: TimeScale;
  /** Function code is unpacked under here. */
  dataDir: string;
  port?: number;
  apigPort?: number;
  /** How long APIG waits for a function before answering 504 (real seconds; default 30 s). */
  apigTimeoutMs?: number;
  /** host:port inside the VPC (the boxes' gateways): see RuntimeOptions.vpcHosts. */
  vpcHosts?: () => readonly string[];
}

export interface FunctionGraphService extends LocalService {
  /** The API gateway over HTTP (HTTP triggers): `<apigUrl><trigger path>`. */
  readonly apigUrl: string;
  /**
   * The dedicated APIG instance the gateway plays, with its one API group. Its management API
   * (env and group lookups) is served at `url` under `/v2/{project_id}/apigw/instances/`.
   */
  readonly apigInstance: { instanceId: string; groupId: string; envName: string };
  /** The same gateway over HTTPS on 127.a.b.c:8443: HTTPS triggers' (the default) invoke_url. */
  readonly apigHttpsUrl: string;
  /** PEM of the HTTPS front's self-signed certificate. */
  readonly apigCertificate: string;
  /** Recent invocations, oldest first (same as the `invocations` control action). */
  invocations(filter?: { functionName?: string; limit?: number }): InvocationRecord[];
  /** `urn:fss:<region>:<project>:function:<pkg>:<name>:latest` for this emulator. */
  functionUrn(name: string, pkg?: string): string;
}

const DEFAULT_APIG_TIMEOUT_MS = 30_000;
const MAX_SYNC_EVENT_BYTES = 6 * 1024 * 1024;
const MAX_ASYNC_EVENT_BYTES = 256 * 1024;
const MAX_TIMERS_PER_FUNCTION = 10;
const LOG_TAIL_BYTES = 4096;
const MAX_API_CALLS = 2_000;
/** Timers never spin faster than this, whatever the time scale. */
const MIN_TIMER_MS = 5;
/** What FunctionGraph does with the agency to attach a function to a VPC subnet. */
const VPC_ACCESS_ACTIONS = [
  "vpc:vpcs:get",
  "vpc:subnets:get",
  "vpc:ports:get",
  "vpc:ports:create",
  "vpc:ports:delete",
];
const APIG_METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "ANY"];

interface Reply {
  status: number;
  body?: unknown;
  /** A plain-text answer instead of JSON (the v0 invoke format). */
  text?: string;
  headers?: Record<string, string>;
}

/**
 * The local FunctionGraph: the API subset clawwatch's deploy and diagnose tools call (verified
 * SDK-HMAC-SHA256 like the real endpoint), a runner that executes uploaded zips in worker
 * threads with a faithful `context`, TIMER triggers on the scaled clock, and an API gateway for
 * APIG triggers. See infra/local/docs/functiongraph.md.
 */
export async function startFunctionGraph(
  options: FunctionGraphOptions,
): Promise<FunctionGraphService> {
  if (!(options.time.factor > 0)) throw new Error("the time scale factor must be greater than 0");
  const service = new LocalFunctionGraph(options);
  await service.start();
  return service;
}

class LocalFunctionGraph implements FunctionGraphService {
  readonly name = "functiongraph";
  private api: Listening | undefined;
  private apig: Listening | undefined;
  private apigHttps: HttpsListening | undefined;
  private readonly functions = new Map<string, FunctionRecord>();
  /** Every management API call (method, path, status), so tests can count what a command did. */
  private readonly apiCalls: { method: string; path: string; status: number }[] = [];
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly faults = new ServiceFaults();
  private readonly runtime: FunctionRuntime;
  private apigTimeoutMs: number;
  private closed = false;
  private dedicated: ApigInstance | undefined;
  /** More of the VPC than the boxes' gateways: a proxy put in front of one (the bench's delays). */
  private readonly extraVpcHosts = new Set<string>();

  constructor(private readonly options: FunctionGraphOptions) {
    this.runtime = new FunctionRuntime({
      iam: options.iam,
      vpcHosts: () => [...(options.vpcHosts?.() ?? []), ...this.extraVpcHosts],
      codeRoot: join(options.dataDir, "code"),
    });
    this.apigTimeoutMs = options.apigTimeoutMs ?? DEFAULT_APIG_TIMEOUT_MS;
  }

  get url(): string {
    return this.api?.url ?? "";
  }

  get apigUrl(): string {
    return this.apig?.url ?? "";
  }

  get apigInstance() {
    const instance = this.instance();
    return { instanceId: instance.id, groupId: instance.group.id, envName: RELEASE_ENV.name };
  }

  // The debug domain (sl_domain) is the HTTPS front Telegram can call, once it listens.
  private instance(): ApigInstance {
    this.dedicated ??= new ApigInstance(new URL(this.apigHttpsUrl || this.apigUrl).host);
    return this.dedicated;
  }

  /** HTTPS on an address and port Telegram accepts for webhooks; HTTPS triggers' invoke_url. */
  get apigHttpsUrl(): string {
    return this.apigHttps?.url ?? "";
  }

  /** The HTTPS front's self-signed certificate (PEM), for the Telegram fake to trust. */
  get apigCertificate(): string {
    return this.apigHttps?.certificate.cert ?? "";
  }

  async start(): Promise<void> {
    this.api = await listen((req, res, body) => this.handle(req, res, body), this.options.port);
    const backend: ApigBackend = {
      routes: () => this.apigRoutes(),
      invoke: (fn, trigger, event) =>
        this.runtime.invoke(fn, event, "APIG", String(trigger.eventData.name ?? trigger.id)).done,
      backendTimeoutMs: (trigger) => backendTimeout(trigger) ?? this.apigTimeoutMs,
      latencyMs: () => this.faults.latencyMs,
    };
    try {
      this.apig = await startApig(backend, this.options.apigPort);
      this.apigHttps = await startApigHttps(backend);
    } catch (error) {
      await Promise.all([this.api.close(), this.apig?.close()]);
      throw error;
    }
  }

  functionUrn(name: string, pkg = "default"): string {
    const { region, projectId } = this.options.iam;
    return `urn:fss:${region}:${projectId}:function:${pkg}:${name}:latest`;
  }

  invocations(filter: { functionName?: string; limit?: number } = {}): InvocationRecord[] {
    return this.runtime.list(filter.functionName, filter.limit);
  }

  async control(action: string, params: Record<string, unknown>): Promise<unknown> {
    if (this.faults.apply(action, params)) return { ok: true };
    switch (action) {
      case "invocations":
        return this.invocations({
          ...(typeof params.functionName === "string" ? { functionName: params.functionName } : {}),
          ...(typeof params.limit === "number" ? { limit: params.limit } : {}),
        });
      case "fire-timer":
        return this.fireTimerNow(params);
      case "functions":
        return [...this.functions.values()].map((fn) => this.functionSummary(fn));
      case "calls":
        return this.apiCalls.map((call) => ({ ...call }));
      case "reclaim": {
        const fn =
          typeof params.functionName === "string" ? this.byName(params.functionName) : undefined;
        return { reclaimed: this.runtime.reclaim(fn) };
      }
      case "apig-bind-domain": {
        if (typeof params.domain !== "string")
          throw new ControlError("apig-bind-domain needs {domain}");
        try {
          this.instance().bindDomain(params.domain);
        } catch (error) {
          throw new ControlError((error as Error).message);
        }
        return { ok: true, domains: this.instance().group.boundDomains };
      }
      case "vpc-host": {
        if (typeof params.host !== "string" || !/^[\w.-]+:\d+$/.test(params.host)) {
          throw new ControlError('vpc-host needs {host: "127.0.0.1:<port>"}');
        }
        this.extraVpcHosts.add(params.host);
        return { ok: true, extra: [...this.extraVpcHosts] };
      }
      case "apig-timeout": {
        const ms = Number(params.ms);
        if (!Number.isFinite(ms) || ms < 1) throw new ControlError("apig-timeout needs {ms} >= 1");
        this.apigTimeoutMs = ms;
        return { ok: true };
      }
      default:
        throw new ControlError(
          `unknown functiongraph action ${action}: use latency, error, invocations, fire-timer, functions, reclaim, apig-bind-domain, apig-timeout or vpc-host`,
        );
    }
  }

  reset(): void {
    this.faults.reset();
    this.apigTimeoutMs = this.options.apigTimeoutMs ?? DEFAULT_APIG_TIMEOUT_MS;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    await Promise.all([
      this.api?.close(),
      this.apig?.close(),
      this.apigHttps?.close(),
      this.runtime.close(),
    ]);
  }

  // ---- API ----------------------------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> {
    const requestId = randomUUID();
    const headers = { "x-request-id": requestId };
    if (this.faults.latencyMs > 0) await sleep(this.faults.latencyMs);
    const auth = verifySdkHmac(req, body, this.options.iam);
    if (!auth.ok) {
      sendJson(res, auth.status, apigErrorBody(auth, requestId), headers);
      return;
    }
    let reply: Reply;
    try {
      reply = await this.route(req, body, auth.credential);
    } catch (error) {
      if (!(error instanceof FgsError)) throw error;
      reply = { status: error.status, body: { error_code: error.code, error_msg: error.message } };
    }
    this.apiCalls.push({
      method: req.method ?? "GET",
      path: (req.url ?? "/").split("?")[0] ?? "/",
      status: reply.status,
    });
    if (this.apiCalls.length > MAX_API_CALLS) this.apiCalls.shift();
    const replyHeaders = { ...headers, ...reply.headers };
    if (reply.text !== undefined) {
      res.writeHead(reply.status, { ...replyHeaders, "content-type": "text/plain; charset=utf-8" });
      res.end(reply.text);
    } else if (reply.body === undefined) {
      res.writeHead(reply.status, replyHeaders);
      res.end();
    } else {
      sendJson(res, reply.status, reply.body, replyHeaders);
    }
  }

  private async route(req: IncomingMessage, body: Buffer, credential: Credential): Promise<Reply> {
    const url = new URL(req.url ?? "/", "http://fgs.local");
    const parts = url.pathname.split("/").filter(Boolean).map(decodeURIComponent);
    const [version, project, fgs, kind, ...rest] = parts;
    const apigw = fgs === "apigw" && kind === "instances";
    if (version !== "v2" || (fgs !== "fgs" && !apigw) || !project) throw notFound(req);
    this.checkProject(req, project);
    const forced = this.faults.takeForcedStatus();
    if (forced !== undefined) {
      throw new FgsError(
        forced,
        `FSS.0${forced}`,
        "Internal server error (injected by the local cloud's control API)",
      );
    }
    const method = req.method ?? "GET";
    if (apigw) return this.instance().route(method, rest, url.searchParams);
    if (kind === "functions" || kind === "triggers") this.authorize(credential, method, kind, rest);
    if (kind === "functions") return this.routeFunctions(method, rest, url, req, body);
    if (kind === "triggers") return this.routeTriggers(method, rest, body);
    throw notFound(req);
  }

  /**
   * A call made with an agency's temporary key is allowed only when the agency's policies grant
   * its action on the function: `functiongraph:function:invoke` for a sync invoke (API reference
   * "Permissions Policies and Supported Actions", functiongraph_06_1100; OTC's runtime guide
   * "Invoke FunctionGraph Function from FunctionGraph"), on the resource
   * `FunctionGraph:<region>:<domain>:function:<package>/<name>` ("FunctionGraph Resources",
   * functiongraph_01_0406). The account's own key may do everything. The 403 FSS.0403 answer and
   * its wording ("Policy doesn't allow … to be performed", as ECS says it) are this emulator's.
   */
  private authorize(credential: Credential, method: string, kind: string, rest: string[]): void {
    const action = fgsAction(method, kind, rest);
    const [urn] = rest;
    const m = urn === undefined ? null : /^urn:fss:[^:]+:[^:]+:function:([^:]+):([^:]+)/.exec(urn);
    const { iam } = this.options;
    const resource = m
      ? `FunctionGraph:${iam.region}:${iam.domainId}:function:${m[1]}/${m[2]}`
      : undefined;
    const decision = iam.authorize(credential, action, resource);
    if (!decision.allowed) {
      throw new FgsError(403, "FSS.0403", `Policy doesn't allow ${action} to be performed.`);
    }
  }

  private checkProject(req: IncomingMessage, project: string): void {
    const header = req.headers["x-project-id"];
    const { projectId } = this.options.iam;
    if (project !== projectId || (typeof header === "string" && header !== projectId)) {
      throw new FgsError(
        403,
        "FSS.0403",
        `Forbidden: project ${project} is not the project of these credentials`,
      );
    }
  }

  private async routeFunctions(
    method: string,
    rest: string[],
    url: URL,
    req: IncomingMessage,
    body: Buffer,
  ): Promise<Reply> {
    const [urn, action, ...extra] = rest;
    if (extra.length > 0) throw notFound(req);
    if (urn === undefined) {
      if (method === "POST") return this.createFunction(jsonBody(body));
      if (method === "GET") return this.listFunctions(url);
      throw notFound(req);
    }
    const fn = this.resolve(urn);
    const key = `${method} ${action ?? ""}`;
    switch (key) {
      case "DELETE ":
        await this.deleteFunction(fn);
        return { status: 204 };
      case "GET config":
        return { status: 200, body: this.config(fn) };
      case "PUT config":
        return this.updateConfig(fn, jsonBody(body));
      case "GET code":
        return { status: 200, body: codeView(fn, this.options.iam.domainId) };
      case "PUT code":
        return this.updateCode(fn, jsonBody(body));
      case "PUT config-max-instance":
        fn.maxInstanceNum = parseMaxInstances(jsonBody(body));
        this.runtime.resize(fn);
        return { status: 200, body: omit(this.config(fn), MAX_INSTANCE_ANSWER_LACKS) };
      case "POST invocations":
        return this.invokeSync(fn, req, body);
      case "POST invocations-async":
        return this.invokeAsync(fn, body);
      default:
        throw notFound(req);
    }
  }

  private createFunction(body: Json): Reply {
    const fn = newFunction(body, this.options.iam.region, this.options.iam.projectId);
    this.checkVpcAccess(fn.config);
    const key = `${fn.pkg}/${fn.name}`;
    if (this.functions.has(key)) {
      throw new FgsError(
        409,
        "FSS.1061",
        `The function already exists: ${fn.pkg}/${fn.name}; update its code and config instead`,
      );
    }
    this.functions.set(key, fn);
    return { status: 200, body: this.config(fn) };
  }

  private listFunctions(url: URL): Reply {
    const marker = Number(url.searchParams.get("marker") ?? "0");
    const maxItems = Number(url.searchParams.get("maxitems") ?? "400");
    if (
      !Number.isInteger(marker) ||
      marker < 0 ||
      !Number.isInteger(maxItems) ||
      maxItems < 1 ||
      maxItems > 400
    ) {
      throw invalid("FSS.1001", "Invalid query parameter: marker must be >= 0 and maxitems 1-400");
    }
    const pkg = url.searchParams.get("package_name");
    const name = url.searchParams.get("func_name");
    const matching = [...this.functions.values()].filter(
      (fn) => (!pkg || fn.pkg === pkg) && (!name || fn.name.includes(name)),
    );
    const page = matching.slice(marker, marker + maxItems);
    return {
      status: 200,
      body: {
        functions: page.map((fn) => this.config(fn)),
        next_marker: marker + page.length,
        count: matching.length,
      },
    };
  }

  private async deleteFunction(fn: FunctionRecord): Promise<void> {
    for (const trigger of fn.triggers.values()) this.disarm(trigger.id);
    this.functions.delete(`${fn.pkg}/${fn.name}`);
    await this.runtime.remove(fn);
  }

  private updateConfig(fn: FunctionRecord, body: Json): Reply {
    if (body.func_name !== fn.name) {
      throw invalid(
        "FSS.1002",
        `Invalid function name: func_name is required and must be ${fn.name}`,
      );
    }
    const config = parseConfig(body, envLimitFor(this.options.iam.region), fn.config);
    this.checkVpcAccess(config);
    fn.config = config;
    this.changed(fn);
    return { status: 200, body: omit(this.config(fn), UPDATE_CONFIG_ANSWER_LACKS) };
  }

  /**
   * FunctionGraph creates and removes the function's VPC port with the function's agency, so
   * VPC access needs an agency whose policies grant these actions (shared/reference/
   * huawei-cloud-facts.md §4 and issue 19: vpc:ports:delete, not vpc:vips:delete). The 403
   * FSS.0403 code is this emulator's; the VPC itself is not emulated (no port is made).
   */
  private checkVpcAccess(config: FunctionRecord["config"]): void {
    if (!config.vpc) return;
    if (!config.xrole) {
      throw invalid("FSS.0400", "Invalid parameter: VPC access (func_vpc) needs an agency (xrole)");
    }
    const { iam } = this.options;
    const agency = { ak: "", sk: "", agency: config.xrole };
    const missing = VPC_ACCESS_ACTIONS.filter((action) => !iam.authorize(agency, action).allowed);
    if (missing.length > 0) {
      throw new FgsError(
        403,
        "FSS.0403",
        `The agency ${config.xrole} lacks the permissions VPC access needs: ${missing.join(", ")}`,
      );
    }
  }

  private updateCode(fn: FunctionRecord, body: Json): Reply {
    const code = parseCode(body);
    if (code.digest === fn.code.digest) {
      throw invalid(
        "FSS.0400",
        "Update function code failed: the uploaded package is the same code as the current code (nothing to update)",
      );
    }
    fn.code = code;
    this.changed(fn);
    const { func_code: _file, ...view } = codeView(fn, this.options.iam.domainId);
    return { status: 200, body: view };
  }

  private changed(fn: FunctionRecord): void {
    fn.generation += 1;
    fn.lastModified = new Date().toISOString();
    this.runtime.retire(fn);
  }

  private async invokeSync(fn: FunctionRecord, req: IncomingMessage, body: Buffer): Promise<Reply> {
    if (body.byteLength > MAX_SYNC_EVENT_BYTES) {
      throw new FgsError(
        413,
        "FSS.1201",
        "The request body is too large: sync invocations take at most 6 MB",
      );
    }
    const version = requestVersion(req);
    const record = await this.runtime.invoke(fn, jsonEvent(body), "SYNC").done;
    const tail = String(req.headers["x-cff-log-type"] ?? "").toLowerCase() === "tail";
    const log = tail ? logTail(record.log) : "";
    const ok = record.status === "success";
    const headers: Record<string, string> = {
      "x-cff-request-id": record.requestId,
      "x-cff-response-version": version,
      "x-cff-invoke-summary": JSON.stringify({
        duration: record.durationMs ?? 0,
        billingDuration: Math.max(1, record.durationMs ?? 0),
        memorySize: fn.config.memorySize,
      }),
      "x-func-err-code": ok ? "0" : String(record.errorCode ?? 4002),
      "x-is-func-err": ok ? "false" : "true",
    };
    if (tail) headers["x-cff-function-log"] = log;
    // v0, the default, answers the function's result as bare text: no status, no log in the
    // body (InvokeFunction API reference, X-CFF-Request-Version: "v0: text format (default),
    // v1: JSON format, which the SDKs must use"; the Go SDK model doc says the same).
    if (version === "v0") return { status: 200, headers, text: record.result ?? "" };
    return {
      status: 200,
      headers,
      body: {
        request_id: record.requestId,
        result: record.result ?? "",
        log,
        status: ok ? 200 : 500,
      },
    };
  }

  private invokeAsync(fn: FunctionRecord, body: Buffer): Reply {
    if (body.byteLength > MAX_ASYNC_EVENT_BYTES) {
      throw new FgsError(
        413,
        "FSS.1201",
        "The request body is too large: async invocations take at most 256 KB",
      );
    }
    const { requestId } = this.runtime.invoke(fn, jsonEvent(body), "ASYNC");
    return { status: 202, body: { request_id: requestId } };
  }

  // ---- triggers -----------------------------------------------------------------------------

  private routeTriggers(method: string, rest: string[], body: Buffer): Reply {
    const [urn, type, id, ...extra] = rest;
    if (urn === undefined || extra.length > 0 || (type !== undefined && id === undefined)) {
      throw new FgsError(404, "FSS.0404", "The specified resource was not found");
    }
    const fn = this.resolve(urn);
    if (type === undefined) {
      if (method === "POST") return this.createTrigger(fn, jsonBody(body));
      if (method === "GET")
        return { status: 200, body: [...fn.triggers.values()].map(triggerView) };
      if (method === "DELETE") {
        for (const trigger of fn.triggers.values()) this.disarm(trigger.id);
        fn.triggers.clear();
        return { status: 204 };
      }
      throw new FgsError(404, "FSS.0404", "The specified resource was not found");
    }
    const trigger = fn.triggers.get(id ?? "");
    if (!trigger || trigger.type !== type) {
      throw new FgsError(
        404,
        "FSS.1131",
        `The trigger does not exist: ${type}/${id} on ${fn.name}`,
      );
    }
    if (method === "GET") return { status: 200, body: triggerView(trigger) };
    if (method === "PUT") return this.updateTrigger(fn, trigger, jsonBody(body));
    if (method === "DELETE") {
      this.disarm(trigger.id);
      fn.triggers.delete(trigger.id);
      return { status: 204 };
    }
    throw new FgsError(404, "FSS.0404", "The specified resource was not found");
  }

  private createTrigger(fn: FunctionRecord, body: Json): Reply {
    const type = body.trigger_type_code;
    if (type === "APIG") {
      // The shared API gateway is closed to new users; a dedicated gateway's trigger is
      // DEDICATEDGATEWAY (CreateFunctionTrigger reference; huawei-cloud-facts.md §4).
      throw invalid(
        "FSS.1107",
        "Invalid APIG trigger parameters: the shared API gateway is not available to this account; create a DEDICATEDGATEWAY trigger with the dedicated gateway's instance_id",
      );
    }
    if (type !== "TIMER" && type !== "DEDICATEDGATEWAY") {
      throw invalid(
        "FSS.1101",
        `Invalid trigger type ${String(type)}: the local emulator supports TIMER and DEDICATEDGATEWAY`,
      );
    }
    const status = parseTriggerStatus(body.trigger_status, "ACTIVE");
    const eventData = asObject(body.event_data ?? {}, "event_data");
    const now = new Date().toISOString();
    const id = randomUUID();
    const trigger: TriggerRecord =
      type === "TIMER"
        ? {
            id,
            type,
            status,
            createdTime: now,
            lastUpdatedTime: now,
            ...this.timerData(fn, eventData),
          }
        : {
            id,
            type,
            status,
            createdTime: now,
            lastUpdatedTime: now,
            ...this.apigData(fn, id, eventData),
          };
    fn.triggers.set(id, trigger);
    this.arm(fn, trigger);
    return { status: 201, body: triggerView(trigger) };
  }

  private timerData(fn: FunctionRecord, eventData: Json, current?: TriggerRecord) {
    const name = validateTriggerName(eventData.name, "FSS.1109");
    const schedule = parseSchedule(eventData.schedule_type, eventData.schedule);
    if (eventData.user_event !== undefined && typeof eventData.user_event !== "string") {
      throw invalid(
        "FSS.1109",
        "Invalid timer trigger parameters: user_event must be a string (JSON.stringify it)",
      );
    }
    const timers = [...fn.triggers.values()].filter((t) => t.type === "TIMER" && t !== current);
    if (timers.some((t) => t.eventData.name === name)) {
      throw new FgsError(
        409,
        "FSS.1148",
        `The timer trigger already exists: ${name} on ${fn.name}`,
      );
    }
    if (timers.length >= MAX_TIMERS_PER_FUNCTION) {
      throw invalid(
        "FSS.1306",
        `The number of triggers exceeds the maximum allowed limit (${MAX_TIMERS_PER_FUNCTION} TIMER triggers per function)`,
      );
    }
    return { eventData: { ...eventData, name }, schedule };
  }

  /**
   * What a DEDICATEDGATEWAY trigger's event_data must carry (the SDK model marks env_id and
   * func_info.timeout required; terraform-provider-huaweicloud's resource_huaweicloud_fgs_trigger.go
   * buildApigEventData also sends instance_id, group_id, env_name, backend_type FUNCTION, type 1
   * and sl_domain, the last two looked up from the gateway): every reference must name this
   * instance's own group and environment.
   */
  private dedicatedGateway(eventData: Json): void {
    const bad = (what: string) =>
      invalid("FSS.1107", `Invalid DEDICATEDGATEWAY trigger parameters: ${what}`);
    const instance = this.instance();
    if (eventData.instance_id !== instance.id) {
      throw bad("instance_id is required and must be the dedicated gateway's instance id");
    }
    if (eventData.group_id !== instance.group.id) {
      throw bad("group_id is required and must be an API group of that gateway");
    }
    const env = instance.environments.find((e) => e.name === eventData.env_name);
    if (!env) throw bad("env_name is required and must be an environment of that gateway");
    if (eventData.env_id !== env.id) {
      throw bad(`env_id is required and must be the id of environment ${env.name}`);
    }
    if (eventData.backend_type !== "FUNCTION") throw bad('backend_type must be "FUNCTION"');
    if (eventData.sl_domain !== instance.group.slDomain) {
      throw bad("sl_domain is required and must be the API group's debug domain (sl_domain)");
    }
    if (eventData.type !== undefined && eventData.type !== 1 && eventData.type !== 2) {
      throw bad("type must be 1 (public API) or 2 (private API)");
    }
    if (
      eventData.protocol !== undefined &&
      !["HTTP", "HTTPS"].includes(String(eventData.protocol))
    ) {
      throw bad("protocol must be HTTP or HTTPS");
    }
    const funcInfo = eventData.func_info;
    const timeout =
      funcInfo && typeof funcInfo === "object" ? (funcInfo as Json).timeout : undefined;
    if (timeout === undefined)
      throw bad("func_info.timeout (the backend timeout in ms) is required");
  }

  private apigData(fn: FunctionRecord, id: string, eventData: Json) {
    this.dedicatedGateway(eventData);
    const path = eventData.path;
    if (typeof path !== "string" || !/^\/[A-Za-z0-9/_.{}+-]*$/.test(path)) {
      throw invalid(
        "FSS.1107",
        "Invalid APIG trigger parameters: path is required and must start with /",
      );
    }
    const method = String(eventData.req_method ?? "ANY").toUpperCase();
    if (!APIG_METHODS.includes(method)) {
      throw invalid(
        "FSS.1107",
        `Invalid APIG trigger parameters: req_method must be one of ${APIG_METHODS.join(", ")}`,
      );
    }
    const auth = eventData.auth ?? "NONE";
    if (auth !== "NONE") {
      throw invalid(
        "FSS.1107",
        `Invalid APIG trigger parameters: auth ${String(auth)} is not emulated; use NONE`,
      );
    }
    const matchMode = eventData.match_mode ?? "NORMAL";
    if (matchMode !== "NORMAL" && matchMode !== "SWA") {
      throw invalid(
        "FSS.1107",
        "Invalid APIG trigger parameters: match_mode must be NORMAL or SWA",
      );
    }
    const stage = typeof eventData.env_name === "string" ? eventData.env_name : "RELEASE";
    const funcInfo =
      eventData.func_info === undefined ? {} : asObject(eventData.func_info, "func_info");
    const timeout = funcInfo.timeout;
    if (
      timeout !== undefined &&
      (!Number.isInteger(timeout) || (timeout as number) < 1 || (timeout as number) > 60_000)
    ) {
      throw invalid(
        "FSS.1107",
        "Invalid APIG trigger parameters: func_info.timeout is the backend timeout in ms, 1-60000",
      );
    }
    for (const { trigger } of this.apigRoutes(true)) {
      const r = trigger.route;
      const methodsOverlap = r.method === "ANY" || method === "ANY" || r.method === method;
      if (r.path === path && r.stage === stage && methodsOverlap) {
        throw new FgsError(409, "FSS.1147", `The request path already exists: ${method} ${path}`);
      }
    }
    const name = validateTriggerName(
      eventData.name ?? `API_${fn.name.replace(/-/g, "_")}`,
      "FSS.1107",
    );
    const protocol = String(eventData.protocol ?? "HTTPS").toUpperCase();
    const front = protocol === "HTTP" ? this.apigUrl : this.apigHttpsUrl;
    return {
      route: { path, method, matchMode, stage } as const,
      eventData: {
        ...eventData,
        name,
        path,
        req_method: method,
        auth,
        match_mode: matchMode,
        env_name: stage,
        protocol,
        type: eventData.type ?? 1,
        group_name: this.instance().group.name,
        api_id: id,
        // The debug domain (sl_domain) and path, on the front the protocol asks for.
        invoke_url: `${front}${path}`,
      },
    };
  }

  private updateTrigger(fn: FunctionRecord, trigger: TriggerRecord, body: Json): Reply {
    const status = parseTriggerStatus(body.trigger_status, trigger.status);
    if (body.event_data !== undefined && trigger.type === "TIMER") {
      const merged = {
        ...trigger.eventData,
        ...asObject(body.event_data, "event_data"),
        name: trigger.eventData.name,
      };
      const { eventData, schedule } = this.timerData(fn, merged, trigger);
      trigger.eventData = eventData;
      trigger.schedule = schedule;
    }
    trigger.status = status;
    trigger.lastUpdatedTime = new Date().toISOString();
    this.arm(fn, trigger);
    return { status: 200, body: triggerView(trigger) };
  }

  private *apigRoutes(includeDisabled = false) {
    for (const fn of this.functions.values()) {
      for (const trigger of fn.triggers.values()) {
        const { route } = trigger;
        if (route && (includeDisabled || trigger.status === "ACTIVE"))
          yield { fn, trigger: { ...trigger, route } };
      }
    }
  }

  // ---- timers -------------------------------------------------------------------------------

  /** (Re)starts a TIMER trigger's clock; DISABLED or deleted triggers have none. */
  private arm(fn: FunctionRecord, trigger: TriggerRecord): void {
    this.disarm(trigger.id);
    const schedule = trigger.schedule;
    if (!schedule || trigger.status !== "ACTIVE" || this.closed) return;
    const { factor } = this.options.time;
    const armedAt = Date.now();
    // Cron schedules run on an emulated clock that goes 1/factor times faster than the real one.
    const emulatedNow = () => armedAt + (Date.now() - armedAt) / factor;
    let nextEmulated: number | undefined;
    const scheduleNext = () => {
      let delay: number;
      if (schedule.kind === "every") {
        delay = this.options.time.scale(schedule.periodMs);
      } else {
        const now = emulatedNow();
        nextEmulated = schedule.next(nextEmulated ?? now);
        // Like cron, skip the runs a stalled event loop missed instead of firing them in a burst.
        if (nextEmulated < now) nextEmulated = schedule.next(now);
        delay = Math.round((nextEmulated - now) * factor);
      }
      const timer = setTimeout(
        () => {
          if (this.timers.get(trigger.id) !== timer) return;
          this.fire(fn, trigger);
          scheduleNext();
        },
        Math.max(MIN_TIMER_MS, delay),
      );
      timer.unref();
      this.timers.set(trigger.id, timer);
    };
    scheduleNext();
  }

  private disarm(triggerId: string): void {
    clearTimeout(this.timers.get(triggerId));
    this.timers.delete(triggerId);
  }

  private fire(
    fn: FunctionRecord,
    trigger: TriggerRecord,
  ): { requestId: string; done: Promise<InvocationRecord> } {
    const name = String(trigger.eventData.name);
    const event = {
      version: "v1.0",
      time: timerEventTime(new Date()),
      trigger_type: "TIMER",
      trigger_name: name,
      user_event:
        typeof trigger.eventData.user_event === "string" ? trigger.eventData.user_event : "",
    };
    return this.runtime.invoke(fn, event, "TIMER", name);
  }

  private async fireTimerNow(params: Record<string, unknown>) {
    if (typeof params.functionName !== "string")
      throw new ControlError("fire-timer needs {functionName}");
    const fn = this.byName(params.functionName);
    const triggers = [...fn.triggers.values()].filter(
      (t) =>
        t.type === "TIMER" &&
        t.status === "ACTIVE" &&
        (params.triggerName === undefined || t.eventData.name === params.triggerName),
    );
    if (triggers.length === 0) {
      throw new ControlError(
        `${fn.name} has no ACTIVE TIMER trigger${params.triggerName ? ` named ${String(params.triggerName)}` : ""}`,
        404,
      );
    }
    const fired = triggers.map((trigger) => this.fire(fn, trigger));
    if (params.wait !== true) return { requestIds: fired.map((f) => f.requestId) };
    return {
      requestIds: fired.map((f) => f.requestId),
      invocations: await Promise.all(fired.map((f) => f.done)),
    };
  }

  // ---- lookups and views ---------------------------------------------------------------------

  private resolve(urn: string): FunctionRecord {
    const m = /^urn:fss:([^:]+):([^:]+):function:([^:]+):([^:]+)(?::([^:]+))?$/.exec(urn);
    if (!m)
      throw invalid(
        "FSS.1309",
        `Invalid function URN ${urn}: use urn:fss:<region>:<project>:function:<package>:<name>:latest`,
      );
    const [, region, project, pkg, name, version] = m;
    const fn = this.functions.get(`${pkg}/${name}`);
    if (!fn || region !== this.options.iam.region || project !== this.options.iam.projectId) {
      throw new FgsError(404, "FSS.1051", `The function does not exist: ${urn}`);
    }
    if (version !== undefined && version !== "latest") {
      throw new FgsError(
        404,
        "FSS.1052",
        `The version does not exist: ${version} (the local emulator has latest only)`,
      );
    }
    return fn;
  }

  private byName(name: string): FunctionRecord {
    const fn = [...this.functions.values()].find((f) => f.name === name);
    if (!fn) throw new ControlError(`no function named ${name}`, 404);
    return fn;
  }

  private config(fn: FunctionRecord) {
    const { iam } = this.options;
    return configView(fn, iam.domainId, iam.region, iam.projectId);
  }

  private functionSummary(fn: FunctionRecord) {
    return {
      name: fn.name,
      package: fn.pkg,
      urn: `${fn.urn}:latest`,
      runtime: fn.config.runtime,
      handler: fn.config.handler,
      memorySize: fn.config.memorySize,
      timeout: fn.config.timeout,
      xrole: fn.config.xrole,
      maxInstanceNum: fn.maxInstanceNum,
      digest: fn.code.digest,
      codeSize: fn.code.zip.byteLength,
      env: Object.keys(fn.config.userData),
      // Names only: the values are secrets.
      encryptedEnv: Object.keys(fn.config.encryptedUserData),
      lastModified: fn.lastModified,
      triggers: [...fn.triggers.values()].map((t) => ({
        id: t.id,
        type: t.type,
        status: t.status,
        name: t.eventData.name,
        ...(t.type === "TIMER"
          ? { schedule: t.eventData.schedule, scheduleType: t.eventData.schedule_type }
          : {}),
        ...(t.route ? { invokeUrl: t.eventData.invoke_url } : {}),
      })),
      instances: this.runtime.instances(fn),
    };
  }
}

/** `event_data.func_info.timeout`: how long APIG waits for this trigger's function, in ms. */
function backendTimeout(trigger: { eventData: Json }): number | undefined {
  const info = trigger.eventData.func_info;
  const timeout =
    info && typeof info === "object" ? (info as { timeout?: unknown }).timeout : undefined;
  return typeof timeout === "number" ? timeout : undefined;
}

function notFound(req: IncomingMessage): FgsError {
  return new FgsError(
    404,
    "FSS.0404",
    `The specified resource was not found: ${req.method} ${(req.url ?? "").split("?")[0]} is not in the local FunctionGraph API subset`,
  );
}

function jsonBody(body: Buffer): Json {
  return asObject(jsonEvent(body), "the request body");
}

function jsonEvent(body: Buffer): unknown {
  try {
    return parseJson(body);
  } catch {
    throw invalid("FSS.0400", "Invalid parameter: the request body is not valid JSON");
  }
}

/** `X-CFF-Request-Version`: v0 (the default) or v1; anything else is refused. */
function requestVersion(req: IncomingMessage): "v0" | "v1" {
  const value = String(req.headers["x-cff-request-version"] ?? "v0").toLowerCase();
  if (value !== "v0" && value !== "v1") {
    throw invalid(
      "FSS.0400",
      `Invalid parameter: X-CFF-Request-Version must be v0 or v1, not ${value}`,
    );
  }
  return value;
}

/** The last 4 KB of the log, base64, as `X-Cff-Log-Type: tail` returns it. */
function logTail(log: string): string {
  const bytes = Buffer.from(log, "utf8");
  return bytes.subarray(Math.max(0, bytes.byteLength - LOG_TAIL_BYTES)).toString("base64");
}

/**
 * Fields of the function config that these answers do not have: UpdateFunctionConfigResponse
 * and UpdateFunctionMaxInstanceConfigResponse in the SDK (node_modules/@huaweicloud/
 * huaweicloud-sdk-functiongraph/v2/model/*.d.ts; the Go SDK's models agree) start at func_urn.
 */
const UPDATE_CONFIG_ANSWER_LACKS = ["depend_version_list"] as const;
const MAX_INSTANCE_ANSWER_LACKS = ["func_id", "resource_id", "depend_version_list"] as const;

function omit<T extends Record<string, unknown>>(
  view: T,
  keys: readonly string[],
): Record<string, unknown> {
  return Object.fromEntries(Object.entries(view).filter(([k]) => !keys.includes(k)));
}

/**
 * The TIMER event's `time` as Huawei's sample has it: whole seconds, China Standard Time offset
 * ("2023-06-01T08:30:00+08:00"; FunctionGraph Developer Guide, TIMER event sample
 * timer_event.json — huawei-cloud-facts.md §5, infra/local/docs/contracts.md).
 */
export function timerEventTime(now: Date): string {
  const shifted = new Date(now.getTime() + 8 * 3_600_000);
  return `${shifted.toISOString().slice(0, 19)}+08:00`;
}

/** The IAM action of a FunctionGraph API call (functiongraph_06_1100's table of actions). */
function fgsAction(method: string, kind: string, rest: string[]): string {
  const [urn, sub] = rest;
  if (kind === "triggers") {
    const op =
      method === "POST"
        ? "create"
        : method === "GET"
          ? "list"
          : method === "PUT"
            ? "update"
            : "delete";
    return `functiongraph:trigger:${op}`;
  }
  if (urn === undefined)
    return method === "POST" ? "functiongraph:function:create" : "functiongraph:function:list";
  const ops: Record<string, string> = {
    "POST invocations": "invoke",
    "POST invocations-async": "invokeAsync",
    "GET config": "getConfig",
    "PUT config": "updateConfig",
    "PUT config-max-instance": "updateConfig",
    "GET code": "getCode",
    "PUT code": "updateCode",
    "DELETE ": "delete",
  };
  return `functiongraph:function:${ops[`${method} ${sub ?? ""}`] ?? "getConfig"}`;
}
