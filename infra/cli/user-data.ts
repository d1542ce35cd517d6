import type { BoxConfig } from "../../shared/config";
import {
  type BootstrapInput,
  encodeUserData,
  renderBootstrap,
  UserDataTooLargeError,
} from "../bootstrap";

const DEFAULT_TELEGRAM_API_ROOT = "https://api.telegram.org";

export interface UserDataInput {
  box: BoxConfig;
  /** The gateway's Telegram Bot API root (the local fake on the local cloud). */
  telegramApiRoot: string;
  /**
   * The deployment file's `bootstrap` section, merged over what the box config says: pinned
   * `versions`, `npmRegistry`, `dataDevice`, `user`, and `gateway` / `maas` / `telegram`
   * extras such as `telegram.allowFrom` (the Telegram user ids the agent answers).
   */
  options: Record<string, unknown>;
}

/** The bootstrap script for the box and its base64 user_data (gzip when plain would not fit). */
export function renderUserData(input: UserDataInput): { script: string; base64: string } {
  const script = renderBootstrap(bootstrapInput(input));
  try {
    return { script, base64: encodeUserData(script) };
  } catch (error) {
    if (!(error instanceof UserDataTooLargeError)) throw error;
    // cloud-init unpacks gzip user_data itself.
    return { script, base64: encodeUserData(script, { gzip: true }) };
  }
}

export function bootstrapInput(input: UserDataInput): BootstrapInput {
  const { box, options } = input;
  const section = (key: string): Record<string, unknown> => {
    const value = options[key];
    return value !== null && typeof value === "object" && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : {};
  };
  const apiRoot =
    input.telegramApiRoot !== DEFAULT_TELEGRAM_API_ROOT ? { apiRoot: input.telegramApiRoot } : {};
  return {
    ...options,
    gateway: { token: box.gateway.token, ...section("gateway") },
    maas: {
      baseUrl: box.maas.baseUrl,
      apiKey: box.maas.apiKey,
      model: box.maas.model,
      ...section("maas"),
    },
    telegram: { botToken: box.telegram.botToken, ...apiRoot, ...section("telegram") },
  } as BootstrapInput;
}
