import type { BoxConfig } from "../config";
import { ACTIONS, type ActionName, type ComputeCall } from "../policy/catalog";
import type { Compute } from "./compute";
import { bootstrapUserData, type StoredUserData } from "./user-data";

/**
 * Carries out an action on a box: the one place that turns the catalog's Compute call into a
 * request, for the watchdog's rungs and the receiver's confirmed actions alike. The store is read
 * only for a reinstall (the bootstrap user_data). Failures throw, as the Compute port does.
 */
export async function act(
  action: ActionName,
  box: BoxConfig,
  compute: Compute,
  store: StoredUserData,
): Promise<{ jobId: string }> {
  const call: ComputeCall = ACTIONS[action].compute;
  switch (call.kind) {
    case "start":
      return compute.start(box.serverId);
    case "reboot":
      return compute.reboot(box.serverId, call.type);
    case "reinstall":
      return compute.reinstall(box.serverId, await bootstrapUserData(box, store));
  }
}
