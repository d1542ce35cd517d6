import type { Config } from "../../shared/config";
import { ConfigError } from "../../shared/errors";
import type { FunctionSpec } from "../deploy/functions";
import { PROBE_FUNCTION, probeFunctionParts } from "../deploy/probe";
import type { CommandContext } from "./context";

export { PROBE_FUNCTION };

/**
 * The gateway-probe function: the only one with VPC access (a port in the box's subnet, so it
 * reaches the gateway's VPC address; it then has no internet and needs none).
 */
export function probeFunctionSpec(ctx: CommandContext, config: Config): FunctionSpec {
  const { deployment } = ctx;
  const network = deployment.network;
  if (!network) {
    throw new ConfigError([
      "functions.vpcId and functions.subnetId: set them to the box's VPC and subnet (VPC console); without a server block the gateway-probe function has no VPC to run in",
    ]);
  }
  return {
    name: PROBE_FUNCTION,
    zipPath: "",
    ...probeFunctionParts(config),
    agency: deployment.agencies.probe,
    // On the local cloud the VPC's reach is the emulated guests' gateway ports (docs/functiongraph.md).
    vpc: network,
  };
}
