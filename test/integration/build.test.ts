import { readFileSync } from "node:fs";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { unzipSync } from "fflate";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

interface BuiltFunction {
  name: string;
  bundlePath: string;
  zipPath: string;
  bytes: number;
  zipBytes: number;
  chunks: { file: string; path: string; bytes: number }[];
  warnings: string[];
}
type BuildFunctions = (options?: {
  srcDir?: string;
  outDir?: string;
  names?: string[];
}) => Promise<BuiltFunction[]>;

const FIXTURES = resolve("test/fixtures/functions");

async function loadBuild(): Promise<BuildFunctions> {
  // build.mjs is plain JS with JSDoc; a computed specifier keeps tsc from asking for .d.ts files.
  const module: { buildFunctions: BuildFunctions } = await import(
    pathToFileURL(resolve("build.mjs")).href
  );
  return module.buildFunctions;
}

describe("build.mjs", () => {
  let buildFunctions: BuildFunctions;
  let dir: string;
  let built: BuiltFunction[];

  beforeAll(async () => {
    buildFunctions = await loadBuild();
    dir = await mkdtemp(join(tmpdir(), "clawwatch-build-"));
    built = await buildFunctions({ srcDir: FIXTURES, outDir: join(dir, "first") });
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("writes one bundle and one zip per function, index.js at the zip root", async () => {
    expect(built.map((fn) => fn.name)).toEqual(["contract", "echo", "lazy", "probe"]);
    for (const fn of built) {
      expect(fn.bundlePath).toBe(join(dir, "first", fn.name, "index.js"));
      expect(fn.zipPath).toBe(join(dir, "first", `${fn.name}.zip`));
      expect(fn.warnings).toEqual([]);
      const zip = readFileSync(fn.zipPath);
      expect(fn.zipBytes).toBe(zip.byteLength);
      const files = unzipSync(zip);
      expect(Object.keys(files).sort()).toEqual(
        ["index.js", ...fn.chunks.map((c) => c.file)].sort(),
      );
      expect(Buffer.from(files["index.js"] ?? []).equals(readFileSync(fn.bundlePath))).toBe(true);
      expect(fn.bytes).toBe(readFileSync(fn.bundlePath).byteLength);
    }
    expect((await readdir(join(dir, "first"))).sort()).toEqual([
      "contract",
      "contract.zip",
      "echo",
      "echo.zip",
      "lazy",
      "lazy.zip",
      "probe",
      "probe.zip",
    ]);
  });

  it("produces a CommonJS bundle whose handler runs", async () => {
    const echo = built.find((fn) => fn.name === "echo");
    if (!echo) throw new Error("echo was not built");
    const load = createRequire(echo.bundlePath);
    const mod = load(echo.bundlePath) as { handler(event: unknown): Promise<unknown> };
    await expect(mod.handler({ ping: 1 })).resolves.toEqual({
      fixture: "echo",
      event: { ping: 1 },
    });
  });

  it("keeps the error class names the logs print, minified or not", async () => {
    const { build } = await import("esbuild");
    const { ESBUILD_OPTIONS } = (await import(pathToFileURL(resolve("build.mjs")).href)) as {
      ESBUILD_OPTIONS: Record<string, unknown>;
    };
    const out = await build({
      ...ESBUILD_OPTIONS,
      metafile: false,
      stdin: {
        contents:
          'import { StateStoreError } from "./shared/errors"; module.exports = new StateStoreError("x").name;',
        resolveDir: resolve("."),
        loader: "ts",
      },
    });
    const code = out.outputFiles?.[0]?.text ?? "";
    const module = { exports: undefined as unknown };
    new Function("module", "require", code)(module, createRequire(import.meta.url));
    expect(module.exports).toBe("StateStoreError");
  });

  it("keeps a .lazy module in its own chunk, loaded only when the import runs", async () => {
    const lazy = built.find((fn) => fn.name === "lazy");
    if (!lazy) throw new Error("lazy was not built");
    expect(lazy.chunks.map((c) => c.file)).toEqual(["ecs.lazy.js"]);
    const chunk = lazy.chunks[0];
    if (!chunk) throw new Error("no chunk");
    // The ECS SDK lives in the chunk, not in index.js.
    expect(lazy.bytes).toBeLessThan(5_000);
    expect(chunk.bytes).toBeGreaterThan(100_000);
    expect(readFileSync(lazy.bundlePath, "utf8")).toContain('require("./ecs.lazy.js")');

    const load = createRequire(lazy.bundlePath);
    const mod = load(lazy.bundlePath) as { handler(event: unknown): Promise<string> };
    const folder = join(dir, "first", "lazy");
    const loaded = () => Object.keys(load.cache).filter((path) => path.startsWith(folder));
    await expect(mod.handler({})).resolves.toBe("light");
    expect(loaded()).toEqual([lazy.bundlePath]);
    // Running the chunk proves the SDK's undeclared `uuid` require resolved at bundle time.
    await expect(mod.handler({ heavy: true })).resolves.toBe("heavy:function");
    expect(loaded().sort()).toEqual([chunk.path, lazy.bundlePath].sort());
  });

  it("gives byte-identical zips when built twice", async () => {
    const again = await buildFunctions({ srcDir: FIXTURES, outDir: join(dir, "second") });
    for (const fn of built) {
      const twin = again.find((other) => other.name === fn.name);
      expect(twin).toBeDefined();
      expect(readFileSync(twin?.zipPath ?? "").equals(readFileSync(fn.zipPath))).toBe(true);
    }
  });

  it("builds only the functions asked for and names a missing one", async () => {
    const only = await buildFunctions({
      srcDir: FIXTURES,
      outDir: join(dir, "only"),
      names: ["echo"],
    });
    expect(only.map((fn) => fn.name)).toEqual(["echo"]);
    await expect(
      buildFunctions({ srcDir: FIXTURES, outDir: join(dir, "none"), names: ["nope"] }),
    ).rejects.toThrow(/nope\/index\.ts/);
  });
});
