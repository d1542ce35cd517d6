import { buildCloudAdapters } from "../adapters";
import type { BoxConfig, Config } from "../config";
import type { FunctionContext } from "../runtime/context";
import type { Logger } from "../runtime/logger";
import { type Redactor, redactDeep } from "../runtime/redact";
import { createObsStateStore } from "../state/obs-store";
import type { CycleReport } from "../watchdog/cycle";
import { buildCycleDeps } from "../watchdog/deps";
import { runFleet } from "../watchdog/fleet";
import type { CycleDeps } from "../watchdog/ports";
import { createTelegramChat } from "./chat";
import { ReceiverError } from "./errors";
import { createObsLedger } from "./ledger";
import type { Invocation, ReceiverServices } from "./turn";

/**
 * The real adapters inside FunctionGraph: OBS with the agency's temporary key, the alert bot,
 * ECS loaded on first use, and the watchdog's own dry run for /status (on the same OBS client
 * and ECS adapter).
 */
export async function buildReceiverServices(
  config: Config,
  context: FunctionContext,
  log: Logger,
  redact: Redactor,
): Promise<ReceiverServices> {
  // Commands, events, the ledger and confirmation records: every write passes the redactor.
  const adapters = await buildCloudAdapters(config, context, redact);
  const client = adapters.objects;
  const { bucket, prefix } = config.state;
  let cycleDeps: Promise<CycleDeps> | undefined;
  return {
    // Its audit events go to operator-events/: the receiver's agency cannot write events/.
    store: createObsStateStore({ client, bucket, prefix, writer: "receiver" }),
    ledger: createObsLedger({ client, bucket, prefix }),
    chat: createTelegramChat({ alerts: config.alerts, log, redact }),
    compute: adapters.compute,
    diagnose: async (box) => {
      cycleDeps ??= buildCycleDeps(config, context, log, redact, { adapters });
      return redactDeep(redact, await diagnoseOne(box, await cycleDeps));
    },
  };
}

/** runFleet in dry-run mode for one box; a box skipped for lack of time is an error here. */
export async function diagnoseOne(box: BoxConfig, deps: CycleDeps): Promise<CycleReport> {
  const fleet = await runFleet([box], deps, "dry-run");
  const report = fleet.boxes[0];
  if (!report) {
    throw new ReceiverError(`${box.name} was not checked: the function is near its timeout`);
  }
  return report;
}

/** One APIG invocation's view of the FunctionGraph context, with its redactor. */
export function invocationFrom(
  context: FunctionContext,
  config: Config,
  log: Logger,
  redact: Redactor,
): Invocation {
  return {
    requestId: context.getRequestID(),
    log,
    redact,
    remainingMs: () => context.getRemainingTimeInMilliSeconds(),
    services: () => buildReceiverServices(config, context, log, redact),
  };
}
