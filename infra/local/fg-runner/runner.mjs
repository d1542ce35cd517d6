// @ts-check
/**
 * One FunctionGraph instance: a worker thread that loads the function's code once and runs
 * its handler for each invocation the emulator sends (see ../functiongraph-runtime.ts).
 * Plain JS so a worker can load it without tsx.
 *
 * Protocol (parentPort):
 *   in:  { type: "invoke", requestId, event, deadline, credentials: { ak, sk, token },
 *          network: { vpc, vpcHosts } }
 *   out: { type: "log", text }                      every write to stdout/stderr, in order
 *        { type: "done", requestId, ok: true, result }                    result: JSON text
 *        { type: "done", requestId, ok: false, code, error: { errorMessage, errorType, stackTrace? } }
 */
import { createRequire } from "node:module";
import net from "node:net";
import { join } from "node:path";
import { format } from "node:util";
import { parentPort, workerData } from "node:worker_threads";

/**
 * @typedef {object} InstanceData
 * @property {string} codeDir
 * @property {string} handler e.g. "index.handler"
 * @property {string} functionName
 * @property {string} pkg
 * @property {string} projectId
 * @property {number} memorySize
 * @property {number} cpu
 * @property {number} timeout seconds
 * @property {Record<string, string>} userData user_data and encrypted_user_data together
 */

/**
 * @typedef {object} Credentials
 * @property {string} ak
 * @property {string} sk
 * @property {string} token
 */

/**
 * @typedef {object} InvokeMessage
 * @property {"invoke"} type
 * @property {string} requestId
 * @property {unknown} event
 * @property {number} deadline epoch ms when the function times out
 * @property {Credentials} credentials
 * @property {Network} network
 */

/**
 * @typedef {object} Network
 * @property {boolean} vpc the function has VPC access
 * @property {string[]} vpcHosts host:port of what is inside the VPC (the boxes' gateways)
 */

/** The Node.js runtime's error codes (otc-functiongraph-nodejs-runtime error.js). */
const ENTRY_ERROR = 4001;
const USER_ERROR = 4002;
const RESULT_TOO_LARGE = 4004;
const RESULT_INVALID = 4007;
const MAX_RESULT_BYTES = 6 * 1024 * 1024;

if (!parentPort) throw new Error("runner.mjs must run in a worker thread");
const port = parentPort;
const data = /** @type {InstanceData} */ (workerData);

captureOutput();
/** @type {Network} */
let network = { vpc: false, vpcHosts: [] };
guardNetwork();

/** @type {((event: unknown, context: object, callback?: Function) => unknown) | undefined} */
let handlerFn;

port.on("message", (/** @type {InvokeMessage} */ message) => {
  if (message.type === "invoke") {
    network = message.network;
    void invoke(message);
  }
});

/**
 * FunctionGraph's network, on loopback. A function with VPC access gets a port in the box's
 * subnet and loses the default public network: without a NAT gateway it reaches its VPC and
 * nothing else ("VPC Access: This option disables the default NIC and uses the NIC bound to the
 * VPC instead … the function no longer has the default public network access permission",
 * https://support.huaweicloud.com/intl/en-us/usermanual-rms/rms_05_0593.html; user guide
 * "Configuring the Network", functiongraph_01_0222: "函数可访问所选VPC内的资源，默认禁用公网访问权限").
 * A function without it is on the public network and has no route to a VPC address. Here the
 * VPC is the emulated boxes' gateway ports, so every connect is checked against them. The real
 * network drops the packets and the connect times out; the emulator fails it at once
 * (ENETUNREACH) so that tests need no timing.
 */
function guardNetwork() {
  const connect = net.Socket.prototype.connect;
  /** @this {net.Socket} @param {unknown[]} args */
  net.Socket.prototype.connect = function (...args) {
    const refusal = refusalFor(destinationOf(args));
    if (!refusal) return /** @type {Function} */ (connect).apply(this, args);
    process.nextTick(() => this.destroy(refusal));
    return this;
  };
}

/** @param {unknown[]} args @returns {{ host: string; port: number } | undefined} */
function destinationOf(args) {
  // net.connect() hands the socket its normalized [options, callback] array.
  const first = Array.isArray(args[0]) ? args[0][0] : args[0];
  if (typeof first === "number" || (typeof first === "string" && /^\d+$/.test(first))) {
    return { host: typeof args[1] === "string" ? args[1] : "localhost", port: Number(first) };
  }
  if (first === null || typeof first !== "object") return undefined;
  const options = /** @type {{ port?: unknown; host?: unknown; path?: unknown }} */ (first);
  if (options.path !== undefined || options.port === undefined) return undefined;
  return {
    host: typeof options.host === "string" ? options.host : "localhost",
    port: Number(options.port),
  };
}

/** @param {{ host: string; port: number } | undefined} dest */
function refusalFor(dest) {
  if (!dest) return undefined;
  const host = ["localhost", "::1", "[::1]"].includes(dest.host) ? "127.0.0.1" : dest.host;
  const inVpc = network.vpcHosts.includes(`${host}:${dest.port}`);
  if (network.vpc === inVpc) return undefined;
  const why = network.vpc
    ? "this function has VPC access and no NAT gateway: it reaches only its VPC"
    : "this function has no VPC access: the gateway's VPC address is not routed";
  const error = /** @type {NodeJS.ErrnoException} */ (
    new Error(`connect ENETUNREACH ${host}:${dest.port} (${why})`)
  );
  error.code = "ENETUNREACH";
  error.errno = -101;
  error.syscall = "connect";
  return error;
}

/** Everything the function prints lands in its invocation log, in order with the result. */
function captureOutput() {
  for (const stream of [process.stdout, process.stderr]) {
    stream.write = /** @type {typeof stream.write} */ (
      (chunk, encoding, callback) => {
        const text = typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8");
        port.postMessage({ type: "log", text });
        const done = typeof encoding === "function" ? encoding : callback;
        if (typeof done === "function") done();
        return true;
      }
    );
  }
}

/** @param {InvokeMessage} message */
async function invoke(message) {
  const { requestId } = message;
  let fn;
  try {
    fn = loadHandler();
  } catch (error) {
    port.postMessage({
      type: "done",
      requestId,
      ok: false,
      code: ENTRY_ERROR,
      error: entryError(error),
    });
    return;
  }
  let value;
  try {
    value = await callHandler(fn, message.event, createContext(message));
  } catch (error) {
    port.postMessage({
      type: "done",
      requestId,
      ok: false,
      code: USER_ERROR,
      error: userError(error),
    });
    return;
  }
  let result;
  try {
    result = value === undefined ? "" : JSON.stringify(value);
  } catch (error) {
    const err = /** @type {Error} */ (error);
    port.postMessage({
      type: "done",
      requestId,
      ok: false,
      code: RESULT_INVALID,
      error: {
        errorMessage: `function result is invalid, error: ${err.message}`,
        errorType: err.name,
      },
    });
    return;
  }
  if (Buffer.byteLength(result) > MAX_RESULT_BYTES) {
    port.postMessage({
      type: "done",
      requestId,
      ok: false,
      code: RESULT_TOO_LARGE,
      error: {
        errorMessage: "the return value of the function exceeds the maximum allowed limit",
        errorType: "Error",
      },
    });
    return;
  }
  port.postMessage({ type: "done", requestId, ok: true, result });
}

function loadHandler() {
  if (handlerFn) return handlerFn;
  const dot = data.handler.lastIndexOf(".");
  const file = `./${data.handler.slice(0, dot)}.js`;
  const exported = data.handler.slice(dot + 1);
  const load = createRequire(join(data.codeDir, "__runner__.js"));
  let mod;
  try {
    mod = load(file);
  } catch (error) {
    const err = /** @type {NodeJS.ErrnoException} */ (error);
    if (err.code === "MODULE_NOT_FOUND" && String(err.message).includes(file)) {
      throw new LoadError(`not found module '${file}'`, "FunctionLoadError");
    }
    throw error;
  }
  const fn = mod?.[exported];
  if (typeof fn !== "function") {
    throw new LoadError(
      `handler '${exported}' not found in module '${file}'`,
      "FunctionConfigError",
    );
  }
  handlerFn = fn;
  return fn;
}

class LoadError extends Error {
  /** @param {string} message @param {string} type */
  constructor(message, type) {
    super(message);
    this.type = type;
  }
}

/**
 * Async handlers return a promise; callback-style ones take a third argument.
 * @param {Function} fn @param {unknown} event @param {object} context
 */
function callHandler(fn, event, context) {
  if (fn.length >= 3) {
    return new Promise((resolve, reject) => {
      const callback = (/** @type {unknown} */ error, /** @type {unknown} */ value) =>
        error ? reject(error) : resolve(value);
      Promise.resolve(fn(event, context, callback)).catch(reject);
    });
  }
  return Promise.resolve(fn(event, context));
}

/** @param {unknown} error */
function entryError(error) {
  if (error instanceof LoadError) {
    return {
      errorMessage: `function entry exception, error: ${error.message}`,
      errorType: error.type,
    };
  }
  const err = toError(error);
  return {
    errorMessage: `function entry exception, error: ${err.message}`,
    errorType: err.name,
    stackTrace: stackLines(err),
  };
}

/** @param {unknown} error */
function userError(error) {
  const err = toError(error);
  return {
    errorMessage: `function invocation exception, error: ${err.message}`,
    errorType: err.name,
    stackTrace: stackLines(err),
  };
}

/** @param {unknown} error */
function toError(error) {
  return error instanceof Error ? error : new Error(String(error));
}

/** @param {Error} error */
function stackLines(error) {
  return (error.stack ?? "")
    .split("\n")
    .slice(1)
    .map((line) => line.trim())
    .filter(Boolean);
}

/**
 * The `context` of FunctionGraph's Node.js runtime.
 * @param {InvokeMessage} message
 */
function createContext(message) {
  const { requestId, deadline, credentials } = message;
  const logger = createLogger(requestId);
  return {
    getRequestID: () => requestId,
    getRemainingTimeInMilliSeconds: () => Math.max(0, deadline - Date.now()),
    getSecurityAccessKey: () => credentials.ak,
    getSecuritySecretKey: () => credentials.sk,
    getSecurityToken: () => credentials.token,
    // Deprecated by FunctionGraph: they no longer return keys.
    getAccessKey: () => "",
    getSecretKey: () => "",
    getToken: () => "",
    getUserData: (/** @type {string} */ key) => data.userData[key],
    getFunctionName: () => data.functionName,
    getRunningTimeInSeconds: () => data.timeout,
    getVersion: () => "latest",
    getMemorySize: () => data.memorySize,
    getCPUNumber: () => data.cpu,
    getPackage: () => data.pkg,
    getProjectID: () => data.projectId,
    getAlias: () => "",
    getLogger: () => logger,
  };
}

/**
 * `<time> <requestId> <LEVEL> <content>` lines, like the runtime's logger.
 * @param {string} requestId
 */
function createLogger(requestId) {
  /** @param {string} level @param {unknown[]} args */
  const write = (level, args) =>
    process.stdout.write(`${new Date().toISOString()} ${requestId} ${level} ${format(...args)}\n`);
  return {
    info: (/** @type {unknown[]} */ ...args) => write("INFO", args),
    warn: (/** @type {unknown[]} */ ...args) => write("WARN", args),
    error: (/** @type {unknown[]} */ ...args) => write("ERROR", args),
    debug: (/** @type {unknown[]} */ ...args) => write("DEBUG", args),
  };
}
