import type { Deployment } from "./deployment";
import type { CliIo } from "./io";
import type { Cloud } from "./target";

/** What every command gets: where to write, which cloud, and the deployment it acts on. */
export interface CommandContext {
  readonly io: CliIo;
  readonly cloud: Cloud;
  readonly deployment: Deployment;
}
