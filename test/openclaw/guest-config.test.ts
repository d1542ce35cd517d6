import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { guestDirs, renderGuestConfig } from "../../infra/local/guest/openclaw-guest";
import { requireOpenclawInstall } from "../../infra/openclaw/install";

/**
 * The local guest's openclaw.json comes from the bootstrap's renderer (infra/openclaw/config.ts); the
 * real CLI must accept it as it is.
 */
const dir = mkdtempSync(join(tmpdir(), "clawwatch-openclaw-config-"));

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("the real gateway's config for a local guest", () => {
  it("is rendered by infra/openclaw/config.ts and valid for `openclaw config validate`", () => {
    const install = requireOpenclawInstall();
    const config = {
      port: 18_790,
      gatewayToken: "gw-0123456789abcdef0123456789abcdef",
      telegramBotToken: "123456:relay-token-for-validation",
      telegramApiRoot: "http://127.0.0.1:1",
      maasBaseUrl: "http://127.0.0.1:2/v1",
      maasApiKey: "maas-key-for-validation",
      model: "deepseek-v3",
      bootMs: 0,
      connectGraceMs: 120_000,
      systemDir: join(dir, "system"),
      dataDir: join(dir, "data"),
    };
    const dirs = guestDirs(config);
    const text = renderGuestConfig(config, dirs, [4_242_424], "http://127.0.0.1:3");
    const json = JSON.parse(text);
    expect(json.gateway).toMatchObject({ mode: "local", port: 18_790, bind: "loopback" });
    expect(json.gateway.auth.mode).toBe("token");
    expect(json.update).toEqual({ checkOnStart: false });
    expect(json.logging.file.startsWith(dirs.stateDir)).toBe(true);
    expect(json.agents.defaults).toMatchObject({
      heartbeat: { every: "0m" },
      workspace: dirs.workspaceDir,
      model: { primary: "maas/deepseek-v3" },
    });
    expect(json.channels.telegram).toMatchObject({
      apiRoot: "http://127.0.0.1:3",
      dmPolicy: "allowlist",
      allowFrom: ["4242424"],
    });

    const file = join(dirs.stateDir, "openclaw.json");
    mkdirSync(dirname(file), { recursive: true });
    mkdirSync(dirs.homeDir, { recursive: true });
    mkdirSync(dirs.tmpDir, { recursive: true });
    writeFileSync(file, text, { mode: 0o600 });
    const result = spawnSync(install.node, [install.entry, "config", "validate"], {
      encoding: "utf8",
      env: {
        PATH: `${dirname(install.node)}:/usr/bin:/bin`,
        HOME: dirs.homeDir,
        TMPDIR: dirs.tmpDir,
        OPENCLAW_STATE_DIR: dirs.stateDir,
        OPENCLAW_NO_AUTO_UPDATE: "1",
        OPENCLAW_OFFLINE: "1",
      },
      timeout: 120_000,
    });
    expect(`${result.stdout}${result.stderr}`).toContain("Config valid");
    expect(result.status).toBe(0);
  });
});
