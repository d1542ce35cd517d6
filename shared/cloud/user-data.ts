import type { BoxConfig } from "../config";
import { ComputeError } from "../errors";
import type { StateStore } from "../state/port";

/** Whether the box can be re-bootstrapped: its user_data is inline in the config or in OBS. */
export function hasBootstrap(box: BoxConfig): boolean {
  return Boolean(box.bootstrapUserData) || box.bootstrapStored;
}

/** The user_data for a reinstall; read from OBS only when a rebootstrap actually happens. */
export async function bootstrapUserData(box: BoxConfig, store: StateStore): Promise<string> {
  const userData =
    box.bootstrapUserData ??
    (box.bootstrapStored ? await store.bootstrapUserData(box.name) : undefined);
  if (!userData) {
    throw new ComputeError(
      `no bootstrap user_data for box ${box.name}: run \`npm run infra -- deploy\` again so it is stored in OBS`,
    );
  }
  return userData;
}
