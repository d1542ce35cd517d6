import type { Compute } from "../cloud/compute";
import type { BoxConfig, Config } from "../config";
import type { Notifier } from "../notify/port";
import type { Observations } from "../probes/types";
import type { Logger } from "../runtime/logger";
import type { StateStore } from "../state/port";
import type { AlertChannel } from "../state/schema";

export interface ObservePlan {
  serverDue: boolean;
  completionDue: boolean;
}

/** Everything one cycle needs from the outside world, passed in (no singletons). */
export interface CycleDeps {
  config: Config;
  store: StateStore;
  notifier: Notifier;
  /** What the notifier knows about the alert chat (migration, permanent failure), for reports. */
  /** Reads the alert chat record (one OBS GET, once per invocation): diagnose only. */
  alertChannel?: () => Promise<AlertChannel | undefined>;
  /** Lazy: the ECS SDK is loaded only when a cycle needs the server or acts on it. */
  compute: () => Promise<Compute>;
  observe: (box: BoxConfig, plan: ObservePlan) => Promise<Observations>;
  log: Logger;
  clock: () => number;
  /** Milliseconds left before the function is killed. */
  remainingMs: () => number;
  requestId: string;
}
