import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { Worker } from "node:worker_threads";
import { cpuFor, type FunctionRecord } from "./functiongraph-model";
import type { Iam } from "./iam";

export type InvocationTrigger = "SYNC" | "ASYNC" | "TIMER" | "APIG";
export type InvocationStatus = "queued" | "running" | "success" | "failed";

/** One invocation as the control API's `invocations` view shows it. */
export interface InvocationRecord {
  requestId: string;
  functionName: string;
  functionUrn: string;
  triggerType: InvocationTrigger;
  triggerName?: string;
  status: InvocationStatus;
  queuedAt: string;
  startedAt?: string;
  finishedAt?: string;
  durationMs?: number;
  /** The handler's return value as JSON text, or the runtime's error JSON when it failed. */
  result?: string;
  /** The runtime error code (4001 entry, 4002 handler threw, 4004/4007 result, 4010 timeout, 4011 crash). */
  errorCode?: number;
  log: string;
  event: unknown;
  instanceId?: string;
  coldStart?: boolean;
}

export interface RuntimeOptions {
  iam: Iam;
  /** Where each function's code is unpacked. */
  codeRoot: string;
  /** How many finished invocations the log keeps. */
  keep?: number;
  /**
   * host:port of what lies inside the VPC (the emulated boxes' gateways): only functions with VPC
   * access reach them, and they reach nothing else (fg-runner/runner.mjs).
   */
  vpcHosts?: () => readonly string[];
}

interface InstanceDeps extends RuntimeOptions {
  /** Unpacks a code version once, however many instances start from it at the same time. */
  prepare(fn: FunctionRecord, codeDir: string): Promise<void>;
}

const RUNNER = new URL("./fg-runner/runner.mjs", import.meta.url);
const ERR_TIMEOUT = 4010;
const ERR_CRASH = 4011;

interface Job {
  record: InvocationRecord;
  resolve(record: InvocationRecord): void;
}

/**
 * Runs invocations on warm instances (one worker thread each, one invocation at a time),
 * at most `maxInstanceNum` per function; the rest wait in order.
 */
export class FunctionRuntime {
  private readonly pools = new Map<string, InstancePool>();
  private readonly records: InvocationRecord[] = [];
  private readonly unpacked = new Map<string, Promise<void>>();
  private readonly deps: InstanceDeps;
  private closed = false;

  constructor(private readonly options: RuntimeOptions) {
    this.deps = { ...options, prepare: (fn, codeDir) => this.prepare(fn, codeDir) };
  }

  invoke(
    fn: FunctionRecord,
    event: unknown,
    triggerType: InvocationTrigger,
    triggerName?: string,
  ): { requestId: string; done: Promise<InvocationRecord> } {
    const record: InvocationRecord = {
      requestId: randomUUID(),
      functionName: fn.name,
      functionUrn: `${fn.urn}:latest`,
      triggerType,
      ...(triggerName === undefined ? {} : { triggerName }),
      status: "queued",
      queuedAt: new Date().toISOString(),
      log: "",
      event,
    };
    this.remember(record);
    const done = new Promise<InvocationRecord>((resolve) => {
      if (this.closed) {
        finish(
          record,
          false,
          runtimeError("the local FunctionGraph is shutting down", "ServiceClosed"),
          ERR_CRASH,
        );
        resolve(record);
        return;
      }
      this.pool(fn).submit({ record, resolve });
    });
    return { requestId: record.requestId, done };
  }

  /** Code or config changed: idle instances go now, busy ones after their invocation. */
  retire(fn: FunctionRecord): void {
    this.pools.get(fn.funcId)?.retireIdle();
  }

  /** The instance limit changed: waiting invocations may start now. */
  resize(fn: FunctionRecord): void {
    this.pools.get(fn.funcId)?.pump();
  }

  /** Forces cold starts, as when FunctionGraph reclaims idle instances. */
  reclaim(fn?: FunctionRecord): number {
    let count = 0;
    for (const [id, pool] of this.pools) if (!fn || fn.funcId === id) count += pool.reclaim();
    return count;
  }

  async remove(fn: FunctionRecord): Promise<void> {
    const pool = this.pools.get(fn.funcId);
    this.pools.delete(fn.funcId);
    await pool?.close("the function was deleted");
    const dir = join(this.options.codeRoot, fn.funcId);
    for (const key of this.unpacked.keys()) if (key.startsWith(dir)) this.unpacked.delete(key);
    await rm(dir, { recursive: true, force: true });
  }

  instances(fn: FunctionRecord): { idle: number; busy: number; queued: number } {
    return this.pools.get(fn.funcId)?.stats() ?? { idle: 0, busy: 0, queued: 0 };
  }

  list(functionName?: string, limit?: number): InvocationRecord[] {
    const matching = this.records.filter((r) => !functionName || r.functionName === functionName);
    // Copies: a running invocation's record keeps changing.
    return (limit === undefined ? matching : matching.slice(-limit)).map((r) => ({ ...r }));
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(
      [...this.pools.values()].map((pool) => pool.close("the local FunctionGraph stopped")),
    );
    this.pools.clear();
  }

  private prepare(fn: FunctionRecord, codeDir: string): Promise<void> {
    let unpacking = this.unpacked.get(codeDir);
    if (!unpacking) {
      unpacking = unpack(fn, codeDir);
      this.unpacked.set(codeDir, unpacking);
      unpacking.catch(() => this.unpacked.delete(codeDir));
    }
    return unpacking;
  }

  private pool(fn: FunctionRecord): InstancePool {
    let pool = this.pools.get(fn.funcId);
    if (!pool) {
      pool = new InstancePool(fn, this.deps);
      this.pools.set(fn.funcId, pool);
    }
    return pool;
  }

  private remember(record: InvocationRecord): void {
    this.records.push(record);
    const keep = this.options.keep ?? 500;
    if (this.records.length > keep) this.records.splice(0, this.records.length - keep);
  }
}

class InstancePool {
  private readonly idle: Instance[] = [];
  private readonly busy = new Set<Instance>();
  private readonly queue: Job[] = [];
  private closed = false;

  constructor(
    private readonly fn: FunctionRecord,
    private readonly options: InstanceDeps,
  ) {}

  submit(job: Job): void {
    this.queue.push(job);
    this.pump();
  }

  stats() {
    return { idle: this.idle.length, busy: this.busy.size, queued: this.queue.length };
  }

  retireIdle(): void {
    for (const instance of this.idle.splice(0)) {
      if (instance.generation === this.fn.generation) this.idle.push(instance);
      else void instance.terminate();
    }
  }

  reclaim(): number {
    const idle = this.idle.splice(0);
    for (const instance of idle) void instance.terminate();
    return idle.length;
  }

  async close(reason: string): Promise<void> {
    this.closed = true;
    for (const job of this.queue.splice(0)) {
      finish(job.record, false, runtimeError(reason, "ServiceClosed"), ERR_CRASH);
      job.resolve(job.record);
    }
    const all = [...this.idle.splice(0), ...this.busy];
    await Promise.all(all.map((instance) => instance.terminate(reason)));
  }

  pump(): void {
    while (!this.closed && this.queue.length > 0) {
      const instance = this.idle.pop() ?? (this.canGrow() ? this.spawn() : undefined);
      if (!instance) return;
      const job = this.queue.shift() as Job;
      this.busy.add(instance);
      void instance.run(job).then(() => {
        this.busy.delete(instance);
        const reusable =
          instance.alive && instance.generation === this.fn.generation && !this.closed;
        if (reusable) this.idle.push(instance);
        else void instance.terminate();
        this.pump();
      });
    }
  }

  private canGrow(): boolean {
    const max = this.fn.maxInstanceNum;
    return max === -1 || this.busy.size + this.idle.length < max;
  }

  private spawn(): Instance {
    return new Instance(this.fn, this.options);
  }
}

/** A warm instance: its own worker thread, process.env and module state. */
class Instance {
  readonly id = randomUUID().slice(0, 8);
  readonly generation: number;
  alive = true;
  private worker: Worker | undefined;
  private invocations = 0;
  private current:
    | {
        job: Job;
        started: number;
        timer: NodeJS.Timeout;
        settle(ok: boolean, result: string, code?: number): void;
      }
    | undefined;
  private readonly credentials: { ak: string; sk: string; token: string };
  private readonly codeDir: string;
  private readonly snapshot: FunctionRecord;

  constructor(
    fn: FunctionRecord,
    private readonly options: InstanceDeps,
  ) {
    this.generation = fn.generation;
    // The record changes under us on update; this instance keeps the code/config it started with.
    this.snapshot = { ...fn, config: { ...fn.config }, code: fn.code };
    this.codeDir = join(options.codeRoot, fn.funcId, fn.code.digest.slice(0, 16));
    const temporary = fn.config.xrole ? options.iam.issueTemporary(fn.config.xrole) : undefined;
    this.credentials = temporary
      ? { ak: temporary.ak, sk: temporary.sk, token: temporary.securityToken }
      : { ak: "", sk: "", token: "" };
  }

  async run(job: Job): Promise<void> {
    const { record } = job;
    try {
      if (!this.worker) {
        const started = await this.start();
        if (!this.alive) {
          // Stopped (service closing) while it booted: do not leave the worker behind.
          await started.terminate();
          throw new Error("the instance was stopped while starting");
        }
        this.worker = started;
      }
    } catch (error) {
      this.alive = false;
      finish(
        record,
        false,
        runtimeError(`cannot start the instance: ${(error as Error).message}`, "RuntimeError"),
        ERR_CRASH,
      );
      job.resolve(record);
      return;
    }
    const worker = this.worker;
    const timeoutMs = this.snapshot.config.timeout * 1000;
    const started = Date.now();
    record.status = "running";
    record.startedAt = new Date(started).toISOString();
    record.instanceId = this.id;
    record.coldStart = this.invocations === 0;
    this.invocations += 1;
    record.log = `${record.startedAt} Start invoke request '${record.requestId}', version: latest\n`;

    await new Promise<void>((resolve) => {
      const settle = (ok: boolean, result: string, code?: number) => {
        if (this.current?.job !== job) return;
        clearTimeout(this.current.timer);
        this.current = undefined;
        finish(record, ok, result, code, started, this.snapshot.config.memorySize);
        job.resolve(record);
        resolve();
      };
      const timer = setTimeout(() => {
        settle(
          false,
          runtimeError(
            `invocation timed out after ${this.snapshot.config.timeout}s (the function's configured timeout)`,
            "TimeoutError",
          ),
          ERR_TIMEOUT,
        );
        // A timed-out instance may be stuck in a loop: FunctionGraph kills it.
        void this.terminate();
      }, timeoutMs);
      this.current = { job, started, timer, settle };
      worker.postMessage({
        type: "invoke",
        requestId: record.requestId,
        event: record.event,
        deadline: started + timeoutMs,
        credentials: this.credentials,
        network: {
          vpc: this.snapshot.config.vpc !== undefined,
          vpcHosts: [...(this.options.vpcHosts?.() ?? [])],
        },
      });
    });
  }

  async terminate(reason = "the instance was stopped"): Promise<void> {
    this.alive = false;
    this.current?.settle(false, runtimeError(reason, "RuntimeError"), ERR_CRASH);
    const worker = this.worker;
    this.worker = undefined;
    if (worker) await worker.terminate().catch(() => undefined);
  }

  private async start(): Promise<Worker> {
    await this.options.prepare(this.snapshot, this.codeDir);
    const fn = this.snapshot;
    const worker = new Worker(RUNNER, {
      env: instanceEnv(fn, this.codeDir),
      stdout: true,
      stderr: true,
      workerData: {
        codeDir: this.codeDir,
        handler: fn.config.handler,
        functionName: fn.name,
        pkg: fn.pkg,
        projectId: this.options.iam.projectId,
        memorySize: fn.config.memorySize,
        cpu: cpuFor(fn.config.memorySize),
        timeout: fn.config.timeout,
        userData: { ...fn.config.userData, ...fn.config.encryptedUserData },
      },
      resourceLimits: { maxOldGenerationSizeMb: fn.config.memorySize },
    });
    worker.on("message", (message: WorkerMessage) => this.onMessage(message));
    const append = (chunk: Buffer) => this.appendLog(chunk.toString("utf8"));
    worker.stdout.on("data", append);
    worker.stderr.on("data", append);
    worker.on("error", (error) => {
      this.alive = false;
      this.current?.settle(
        false,
        runtimeError(`runtime process crashed: ${error.message}`, error.name),
        ERR_CRASH,
      );
    });
    worker.on("exit", (code) => {
      this.alive = false;
      this.current?.settle(
        false,
        runtimeError(`runtime process exited with code ${code}`, "RuntimeExit"),
        ERR_CRASH,
      );
    });
    return worker;
  }

  private onMessage(message: WorkerMessage): void {
    if (message.type === "log") {
      this.appendLog(message.text);
      return;
    }
    if (message.type === "done" && this.current?.job.record.requestId === message.requestId) {
      if (message.ok) this.current.settle(true, message.result);
      else this.current.settle(false, JSON.stringify(message.error), message.code);
    }
  }

  private appendLog(text: string): void {
    if (this.current) this.current.job.record.log += text;
  }
}

type WorkerMessage =
  | { type: "log"; text: string }
  | { type: "done"; requestId: string; ok: true; result: string }
  | {
      type: "done";
      requestId: string;
      ok: false;
      code: number;
      error: { errorMessage: string; errorType: string; stackTrace?: string[] };
    };

/**
 * What the worker sees as process.env: its own copy, like a separate runtime process. The plain
 * user_data is there and in RUNTIME_USERDATA (the JSON the Node.js runtime's context reads,
 * otc-functiongraph-nodejs-runtime fg-runtime/src/context.js); encrypted variables are not:
 * FunctionGraph's Node.js guide points to `context.getUserData(key)` for them and they are
 * reported as not visible in process.env (shared/reference/huawei-cloud-facts.md §5, issue 19).
 */
function instanceEnv(fn: FunctionRecord, codeDir: string): Record<string, string> {
  return {
    PATH: process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin",
    HOME: join(dirname(codeDir), "home"),
    ...fn.config.userData,
    RUNTIME_USERDATA: JSON.stringify(fn.config.userData),
    RUNTIME_FUNC_NAME: fn.name,
    RUNTIME_PACKAGE: fn.pkg,
    RUNTIME_FUNC_VERSION: "latest",
    RUNTIME_HANDLER: fn.config.handler,
    RUNTIME_TIMEOUT: String(fn.config.timeout),
    RUNTIME_MEMORY: String(fn.config.memorySize),
    RUNTIME_CPU: String(cpuFor(fn.config.memorySize)),
    RUNTIME_CODE_ROOT: codeDir,
  };
}

/**
 * Writes the zip's files once per code version. A `{"type":"commonjs"}` marker stands in for
 * FunctionGraph's code directory, which has no package.json above it (ours may: the repo is ESM).
 */
async function unpack(fn: FunctionRecord, codeDir: string): Promise<void> {
  if (existsSync(join(codeDir, ".unpacked"))) return;
  await mkdir(join(dirname(codeDir), "home"), { recursive: true });
  for (const [name, contents] of Object.entries(fn.code.files)) {
    if (name.endsWith("/")) {
      await mkdir(join(codeDir, name), { recursive: true });
      continue;
    }
    await mkdir(dirname(join(codeDir, name)), { recursive: true });
    await writeFile(join(codeDir, name), contents);
  }
  await mkdir(codeDir, { recursive: true });
  if (!fn.code.files["package.json"])
    await writeFile(join(codeDir, "package.json"), '{ "type": "commonjs" }\n');
  await writeFile(join(codeDir, ".unpacked"), fn.code.digest);
}

function runtimeError(errorMessage: string, errorType: string): string {
  return JSON.stringify({ errorMessage, errorType });
}

function finish(
  record: InvocationRecord,
  ok: boolean,
  result: string,
  errorCode?: number,
  started?: number,
  memorySize?: number,
): void {
  const now = Date.now();
  record.status = ok ? "success" : "failed";
  record.result = result;
  if (!ok && errorCode !== undefined) record.errorCode = errorCode;
  record.finishedAt = new Date(now).toISOString();
  if (started !== undefined) {
    const duration = now - started;
    record.durationMs = duration;
    if (!record.log.endsWith("\n") && record.log !== "") record.log += "\n";
    if (!ok) record.log += `${record.finishedAt} ${record.requestId} ERROR ${result}\n`;
    record.log += `${record.finishedAt} Finish invoke request '${record.requestId}', duration: ${duration}ms, billing duration: ${Math.max(1, duration)}ms, billing memory: ${memorySize ?? 0}MB\n`;
  }
}
