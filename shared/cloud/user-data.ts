import { createHash } from "node:crypto";
import type { BoxConfig } from "../config";
import { ComputeError } from "../errors";

/** Where a deploy stored user_data (the StateStore has this method; cloud does not import state). */
export interface StoredUserData {
  /** The box's stored bootstrap user_data (base64), when the deploy put one there. */
  bootstrapUserData(box: string): Promise<string | undefined>;
}

/** Whether the box can be re-bootstrapped: its user_data is inline in the config or in OBS. */
export function hasBootstrap(box: BoxConfig): boolean {
  return Boolean(box.bootstrapUserData) || box.bootstrapStored;
}

/** The hash `infra deploy` records for a stored user_data (over the base64 text as stored). */
export function userDataSha256(base64: string): string {
  return createHash("sha256").update(base64.trim()).digest("hex");
}

/**
 * The user_data for a reinstall; read from OBS only when a rebootstrap actually happens. A reinstall
 * runs that script as root on the box, and OBS is writable by more than `deploy`: the stored copy
 * is used only when it matches the hash deploy put in the function's configuration.
 */
export async function bootstrapUserData(box: BoxConfig, store: StoredUserData): Promise<string> {
  if (box.bootstrapUserData) return box.bootstrapUserData;
  const userData = box.bootstrapStored ? await store.bootstrapUserData(box.name) : undefined;
  if (!userData) {
    throw new ComputeError(
      `no bootstrap user_data for box ${box.name}: run \`npm run infra -- deploy\` again so it is stored in OBS`,
    );
  }
  if (box.bootstrapSha256 === undefined) {
    throw new ComputeError(
      `reinstall of ${box.name} refused: the deploy recorded no hash of its stored user_data; run \`npm run infra -- deploy\` again`,
    );
  }
  const found = userDataSha256(userData);
  if (found !== box.bootstrapSha256) {
    throw new ComputeError(
      `reinstall of ${box.name} refused: the stored bootstrap user_data does not match what deploy stored (sha256 ${found.slice(0, 12)}…, expected ${box.bootstrapSha256.slice(0, 12)}…); someone changed it in OBS. Check who wrote it, then run \`npm run infra -- deploy\` to store it again`,
    );
  }
  return userData;
}
