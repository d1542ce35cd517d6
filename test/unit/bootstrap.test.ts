import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import {
  type BootstrapInput,
  DEFAULT_VERSIONS,
  encodeUserData,
  renderBootstrap,
  renderCliWrapper,
  renderGatewayUnit,
  renderRepairUnit,
  shellQuote,
  USER_DATA_LIMIT_BYTES,
  UserDataTooLargeError,
} from "../../infra/bootstrap";
import { VPC_ADDRESS_PLACEHOLDER } from "../../infra/openclaw/config";
import { ConfigError } from "../../shared/errors";
import { SHELLCHECK, toolStatus } from "../support/system-tools";

const secrets = {
  gatewayToken: "gw-0123456789abcdef0123",
  maasKey: "maas-key-abcdef",
  botToken: "123456789:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
};

const input: BootstrapInput = {
  gateway: { token: secrets.gatewayToken },
  maas: {
    baseUrl: "https://api.modelarts-maas.com/v1/chat/completions",
    apiKey: secrets.maasKey,
    model: "DeepSeek-V3",
  },
  telegram: { botToken: secrets.botToken, allowFrom: [424242] },
};

/** Secrets a careless template would turn into command substitutions or broken quoting. */
const hostile: BootstrapInput = {
  ...input,
  gateway: { token: `tok'en"$(touch /tmp/pwned)\`id\`$HOME\\n;|&` },
  maas: { ...input.maas, apiKey: "key'$(reboot)'" },
  telegram: { botToken: "1:EOF\nCLAWWATCH_OPENCLAW_JSON\n$PATH", allowFrom: [1] },
};

const JSON_START = "<<'CLAWWATCH_OPENCLAW_JSON'";
const JSON_END = "CLAWWATCH_OPENCLAW_JSON";

/** Line numbers of the quoted heredoc that holds openclaw.json (exclusive bounds). */
function jsonHeredoc(script: string): { start: number; end: number } {
  const lines = script.split("\n");
  const start = lines.findIndex((l) => l.endsWith(JSON_START));
  const end = lines.findIndex((l, i) => i > start && l === JSON_END);
  expect(start).toBeGreaterThan(0);
  expect(end).toBeGreaterThan(start);
  return { start, end };
}

function linesHolding(script: string, needle: string): number[] {
  return script.split("\n").flatMap((line, i) => (line.includes(needle) ? [i] : []));
}

const shellcheck = toolStatus(SHELLCHECK);

describe("renderBootstrap (structure)", () => {
  const script = renderBootstrap(input);

  it("is a bash script with strict mode, well under the 32 KB user_data limit", () => {
    expect(script.startsWith("#!/bin/bash\n")).toBe(true);
    expect(script).toContain("\nset -euo pipefail\n");
    expect(script).not.toContain("\r");
    const bytes = Buffer.byteLength(script);
    expect(bytes).toBeLessThan(USER_DATA_LIMIT_BYTES);
    expect(script).not.toMatch(/# @[A-Z_]+@/);
    expect(spawnSync("bash", ["-n"], { input: script }).status).toBe(0);
  });

  it("pins the versions (defaults, or the ones given)", () => {
    expect(script).toContain("OPENCLAW_VERSION='2026.9.6'");
    expect(script).toContain("NODE_VERSION='24.21.0'");
    expect(script).toContain(
      "ExecStart=/opt/openclaw/node-24.21.0/bin/node /opt/openclaw/openclaw-2026.9.6/node_modules/openclaw/openclaw.mjs gateway run",
    );
    const bumped = renderBootstrap({
      ...input,
      versions: { openclaw: "2026.10.1", node: "24.22.0" },
    });
    expect(bumped).toContain("OPENCLAW_VERSION='2026.10.1'");
    expect(bumped).toContain("APP_DIR='/opt/openclaw/openclaw-2026.10.1'");
    expect(bumped).toContain("NODE_DIR='/opt/openclaw/node-24.22.0'");
  });

  it("has each secret exactly once, inside the quoted openclaw.json heredoc", () => {
    for (const rendered of [script, renderBootstrap(hostile)]) {
      const { start, end } = jsonHeredoc(rendered);
      const config = JSON.parse(
        rendered
          .split("\n")
          .slice(start + 1, end)
          .join("\n"),
      );
      const values = [
        config.gateway.auth.token,
        config.models.providers.maas.apiKey,
        config.channels.telegram.botToken,
      ];
      for (const value of values) {
        const encoded = JSON.stringify(value).slice(1, -1);
        const where = linesHolding(rendered, encoded);
        expect(where).toHaveLength(1);
        expect(where[0]).toBeGreaterThan(start);
        expect(where[0]).toBeLessThan(end);
      }
    }
    const { start, end } = jsonHeredoc(renderBootstrap(hostile));
    const config = JSON.parse(
      renderBootstrap(hostile)
        .split("\n")
        .slice(start + 1, end)
        .join("\n"),
    );
    expect(config.gateway.auth.token).toBe(hostile.gateway.token);
    expect(config.channels.telegram.botToken).toBe(hostile.telegram.botToken);
  });

  it("writes secret-bearing files with mode 600, through a root-only temporary file", () => {
    expect(script).toContain('put_file "$CONFIG_FILE" 600 "$OWNER" < <(openclaw_json "$addr")');
    expect(script).toContain('put_file "$SELF" 600 root:root <"$self_source"');
    expect(script).toContain('(umask 077 && cp "$SCRATCH/next" "$target.clawwatch-new")');
    expect(script).toContain("CONFIG_FILE='/var/lib/openclaw/state/openclaw.json'");
    // Nothing else is written from the embedded JSON.
    expect(linesHolding(script, "openclaw_json ")).toHaveLength(1);
  });

  it("guards mkfs: only a blank, unpartitioned, unmounted disk is formatted", () => {
    expect(linesHolding(script, "mkfs.")).toHaveLength(1);
    const body = script.slice(script.indexOf("ensure_data_disk() {"));
    const guarded = body.slice(0, body.indexOf("mkfs.ext4"));
    expect(guarded).toContain('if mountpoint -q "$ROOT$DATA_DIR"; then return 0; fi');
    expect(guarded).toContain('info=$(probe "$dev")\n  if [ -z "$info" ]; then');
    expect(guarded).toContain('if in_use "$dev"; then die');
    expect(script).toContain("blkid -p -o export");
  });

  it("mounts by UUID with nofail", () => {
    expect(script).toContain(
      'local line="UUID=$1 $DATA_DIR $2 defaults,nofail,x-systemd.device-timeout=30s 0 2"',
    );
    expect(script).toContain('mount -t "$type" -o defaults "UUID=$uuid" "$ROOT$DATA_DIR"');
  });

  it("embeds the gateway unit: restart always, but not on exit 78; user, env and no secrets", () => {
    const unit = renderGatewayUnit({ openclaw: "2026.9.6", node: "24.21.0", npm: "11.19.1" }, "oc");
    for (const line of [
      "Restart=always",
      "RestartPreventExitStatus=78",
      "User=oc",
      "Environment=OPENCLAW_STATE_DIR=/var/lib/openclaw/state",
      "Environment=OPENCLAW_NO_AUTO_UPDATE=1",
      "Environment=OPENCLAW_WORKSPACE_DIR=/mnt/data/clawd",
      "Environment=TMPDIR=/var/lib/openclaw/tmp",
      "After=network-online.target clawwatch-bootstrap.service",
      "WantedBy=multi-user.target",
    ]) {
      expect(unit.split("\n")).toContain(line);
    }
    expect(script).toContain(
      renderGatewayUnit({ openclaw: "2026.9.6", node: "24.21.0", npm: "11.19.1" }, "openclaw"),
    );
    for (const secret of Object.values(secrets)) expect(unit).not.toContain(secret);
  });

  it("embeds the per-boot repair unit, ordered before the gateway", () => {
    const unit = renderRepairUnit();
    expect(unit.split("\n")).toEqual(
      expect.arrayContaining([
        "Type=oneshot",
        "Before=openclaw-gateway.service",
        "ExecStart=/bin/bash /usr/local/sbin/clawwatch-bootstrap --boot",
      ]),
    );
    expect(script).toContain(unit);
  });

  it("installs an `openclaw` CLI wrapper that runs as the gateway's user with its environment", () => {
    const wrapper = renderCliWrapper(DEFAULT_VERSIONS, "openclaw");
    expect(wrapper).toContain("exec runuser -u openclaw -- env HOME=/var/lib/openclaw");
    expect(wrapper).toContain("OPENCLAW_STATE_DIR=/var/lib/openclaw/state");
    expect(script).toContain(wrapper);
    expect(script).toContain('put_file "$CLI" 755 root:root < <(cli_wrapper)');
  });

  it("fills in the bind address it was given instead of looking it up", () => {
    const fixed = renderBootstrap({
      ...input,
      gateway: { ...input.gateway, bindHost: "10.1.2.3" },
    });
    expect(fixed).toContain("BIND_HOST='10.1.2.3'");
    expect(fixed).toContain('"customBindHost": "10.1.2.3"');
    expect(script).toContain("BIND_HOST=''");
    expect(script).toContain('"customBindHost": "__CLAWWATCH_VPC_ADDRESS__"');
  });

  it("refuses a gateway token that is the address placeholder, bind address given or not", () => {
    // With a fixed bind address the box would otherwise replace the token with that address.
    for (const bindHost of ["10.1.2.3", undefined]) {
      const gateway = {
        token: VPC_ADDRESS_PLACEHOLDER,
        ...(bindHost === undefined ? {} : { bindHost }),
      };
      expect(() => renderBootstrap({ ...input, gateway })).toThrow(
        /no setting may contain __CLAWWATCH_VPC_ADDRESS__/,
      );
    }
  });

  it("the box substitutes its address on the bind line only", () => {
    expect(script).toContain(
      'sed "s/\\"customBindHost\\": \\"$VPC_ADDRESS_PLACEHOLDER\\"/\\"customBindHost\\": \\"$1\\"/"',
    );
  });

  it("takes a data device only as one name under /dev", () => {
    for (const dataDevice of ["/dev/vdb", "/dev/disk/by-id/virtio-abc_1", "/dev/nvme1n1"]) {
      expect(() => renderBootstrap({ ...input, dataDevice })).not.toThrow();
    }
    for (const dataDevice of [
      "/dev/../etc/passwd",
      "/dev/vdb/../../etc",
      "/dev/.",
      "/dev/./vdb",
      "/dev/",
      "/dev/shm/x",
      "/dev/-rf",
      "/tmp/disk.img",
    ]) {
      expect(() => renderBootstrap({ ...input, dataDevice }), dataDevice).toThrow(
        /bootstrap\.dataDevice/,
      );
    }
  });

  it("lists every invalid setting at once", () => {
    let error: unknown;
    try {
      renderBootstrap({
        ...input,
        user: "root",
        versions: { node: "22.1.0", openclaw: "latest" },
        dataDevice: "vdb; rm -rf /",
        npmRegistry: "file:///etc",
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const text = (error as ConfigError).problems.join("\n");
    for (const path of [
      "bootstrap.user",
      "bootstrap.versions.node",
      "bootstrap.versions.openclaw",
      "bootstrap.dataDevice",
      "bootstrap.npmRegistry",
    ]) {
      expect(text).toContain(path);
    }
  });

  // Skipped (with a notice from test/support/global-setup.ts) where shellcheck is missing;
  // CI sets CLAWWATCH_REQUIRE_SHELLCHECK=1, and then a missing shellcheck fails here.
  it.skipIf(shellcheck.kind === "skip")("passes shellcheck", () => {
    if (shellcheck.kind === "required") throw new Error(shellcheck.error);
    // One shellcheck process for both variants: it is slow to start.
    const dir = mkdtempSync(join(tmpdir(), "clawwatch-shellcheck-"));
    try {
      const files = [
        script,
        renderBootstrap({
          ...hostile,
          gateway: { ...hostile.gateway, bindHost: "10.1.2.3" },
          dataDevice: "/dev/vdb",
        }),
      ].map((variant, i) => {
        const file = join(dir, `bootstrap-${i}.sh`);
        writeFileSync(file, variant);
        return file;
      });
      const result = spawnSync("shellcheck", ["--shell=bash", "--severity=style", ...files], {
        encoding: "utf8",
      });
      expect(result.stdout + result.stderr).toBe("");
      expect(result.status).toBe(0);
      // The embedded `openclaw` wrapper is a script of its own (POSIX sh).
      const wrapper = spawnSync("shellcheck", ["--shell=sh", "--severity=style", "-"], {
        input: renderCliWrapper(DEFAULT_VERSIONS, "openclaw"),
        encoding: "utf8",
      });
      expect(wrapper.stdout + wrapper.stderr).toBe("");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("shellQuote", () => {
  it("round-trips any text through bash", () => {
    for (const value of ["plain", "it's", "$(id) `id` $HOME", "a\nb", "'''", "", '\\ " *']) {
      const out = spawnSync("bash", ["-c", `printf %s ${shellQuote(value)}`], { encoding: "utf8" });
      expect(out.stdout).toBe(value);
    }
  });
});

describe("encodeUserData", () => {
  const script = renderBootstrap(input);

  it("base64-encodes the script as ECS wants it", () => {
    expect(Buffer.from(encodeUserData(script), "base64").toString("utf8")).toBe(script);
  });

  it("can gzip it first (cloud-init unpacks gzip user_data)", () => {
    const encoded = encodeUserData(script, { gzip: true });
    expect(gunzipSync(Buffer.from(encoded, "base64")).toString("utf8")).toBe(script);
    expect(encoded.length).toBeLessThan(encodeUserData(script).length / 2);
  });

  it("refuses more than 32 KB with a clear error, without echoing the content", () => {
    const tooBig = `#!/bin/bash\n# ${secrets.maasKey}\n${"#".repeat(USER_DATA_LIMIT_BYTES)}\n`;
    expect(() => encodeUserData(tooBig)).toThrow(UserDataTooLargeError);
    expect(() => encodeUserData(tooBig)).toThrow(/at most 32768 bytes \(before base64\)/);
    try {
      encodeUserData(tooBig);
    } catch (error) {
      expect(String(error)).not.toContain(secrets.maasKey);
    }
  });

  it("renderBootstrap itself refuses settings that push the script past 32 KB", () => {
    const many = Array.from({ length: 3_000 }, (_, i) => 1_000_000 + i);
    expect(() =>
      renderBootstrap({ ...input, telegram: { ...input.telegram, allowFrom: many } }),
    ).toThrow(UserDataTooLargeError);
  });
});
