import { gzipSync } from "node:zlib";
import { ClawwatchError } from "../../shared/errors";

/** ECS limit on user_data, counted before base64 encoding. */
export const USER_DATA_LIMIT_BYTES = 32 * 1024;

/** The user_data would be refused by ECS. */
export class UserDataTooLargeError extends ClawwatchError {
  constructor(readonly bytes: number) {
    super(
      `The bootstrap user_data is ${bytes} bytes; ECS accepts at most ${USER_DATA_LIMIT_BYTES} ` +
        "bytes (before base64). Shorten the settings (fewer allowFrom ids, shorter model names) " +
        "or encode it with { gzip: true }.",
    );
  }
}

export function assertUserDataSize(data: string | Uint8Array): void {
  const bytes = typeof data === "string" ? Buffer.byteLength(data, "utf8") : data.byteLength;
  if (bytes > USER_DATA_LIMIT_BYTES) throw new UserDataTooLargeError(bytes);
}

/**
 * The script as ECS wants it: base64. With gzip, cloud-init unpacks it itself (gzip user_data is
 * documented for ECS), which leaves room under the limit and shrinks what has to be stored.
 */
export function encodeUserData(script: string, options: { gzip?: boolean } = {}): string {
  const raw = Buffer.from(script, "utf8");
  const payload = options.gzip ? gzipSync(raw, { level: 9 }) : raw;
  assertUserDataSize(payload);
  return payload.toString("base64");
}
