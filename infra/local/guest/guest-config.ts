/**
 * What the stand-in gateway reads from the JSON file named by its first argument.
 * All durations are wall-clock milliseconds: the emulator has already applied its time scale.
 */
export interface GuestConfig {
  readonly port: number;
  readonly gatewayToken: string;
  /** Empty string = Telegram channel not configured (never polled, never failing). */
  readonly telegramBotToken: string;
  readonly telegramApiRoot: string;
  readonly maasBaseUrl: string;
  readonly maasApiKey: string;
  readonly model: string;
  /** Time from process start until /startupz and /readyz turn 200. */
  readonly bootMs: number;
  /** How long the Telegram Bot API may stay unreachable before /readyz reports `failing: ["telegram"]`. */
  readonly connectGraceMs: number;
  /** Wiped by a reinstall: logs and the bootstrap record live here. */
  readonly systemDir: string;
  /** Survives a reinstall: the workspace lives here. */
  readonly dataDir: string;
}

/** A config the guest cannot start with: like OpenClaw, it then exits 78 (EX_CONFIG). */
export class GuestConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "GuestConfigError";
  }
}

const STRING_KEYS = [
  "gatewayToken",
  "telegramBotToken",
  "telegramApiRoot",
  "maasBaseUrl",
  "maasApiKey",
  "model",
  "systemDir",
  "dataDir",
] as const;
const NUMBER_KEYS = ["port", "bootMs", "connectGraceMs"] as const;

/** Checks the parsed config file; the message names the bad key, never a value (they hold tokens). */
export function parseGuestConfig(value: unknown): GuestConfig {
  if (typeof value !== "object" || value === null) {
    throw new GuestConfigError("guest config must be a JSON object; rewrite the config file");
  }
  const record = value as Record<string, unknown>;
  for (const key of STRING_KEYS) {
    if (typeof record[key] !== "string") {
      throw new GuestConfigError(`guest config: "${key}" must be a string; fix the config file`);
    }
  }
  for (const key of NUMBER_KEYS) {
    const n = record[key];
    if (typeof n !== "number" || !Number.isFinite(n) || n < 0) {
      throw new GuestConfigError(
        `guest config: "${key}" must be a non-negative number; fix the config file`,
      );
    }
  }
  return record as unknown as GuestConfig;
}
