import { mkdir, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { type BuildOptions, build, type Metafile, type Plugin } from "esbuild";
import { ESBUILD_OPTIONS } from "../build.mjs";

/**
 * esbuild with build.mjs's options, plus what build.mjs does not expose: the metafile (who fills
 * the bundle) and a variant with every package left in node_modules (`packages: "external"`),
 * the "unbundled" baseline of the cold-start ratio.
 */
const BUILD_MJS_OPTIONS: BuildOptions = ESBUILD_OPTIONS;

const LAZY_MODULE = /\.lazy(\.[cm]?[jt]s)?$/;

export interface BundleFile {
  /** File name next to index.js: "index.js", "ecs.lazy.js". */
  file: string;
  path: string;
  bytes: number;
  /** Output bytes per package ("zod", "@grammyjs/types") or own folder ("shared/policy"). */
  contributors: { name: string; bytes: number }[];
}

/** Bundles `entry` and its `*.lazy` chunks into `outDir`; with `external`, packages stay outside. */
export async function bundleFunction(
  entry: string,
  outDir: string,
  external: boolean,
): Promise<BundleFile[]> {
  await mkdir(outDir, { recursive: true });
  // A CommonJS marker, as build.mjs writes: the file must load with require().
  await writeFile(join(outDir, "package.json"), '{ "type": "commonjs" }\n');
  const pending: { file: string; source: string }[] = [{ file: "index.js", source: entry }];
  const seen = new Set(["index.js"]);
  const files: BundleFile[] = [];
  for (let next = pending.shift(); next; next = pending.shift()) {
    const outfile = join(outDir, next.file);
    const lazy: string[] = [];
    const result = await build({
      ...BUILD_MJS_OPTIONS,
      entryPoints: [next.source],
      outfile,
      ...(external ? { packages: "external" as const } : {}),
      plugins: [lazyChunks(lazy)],
    });
    const output = result.outputFiles?.find((f) => f.path === outfile);
    if (!output) throw new Error(`esbuild wrote no ${outfile}`);
    await writeFile(outfile, output.contents);
    files.push({
      file: next.file,
      path: outfile,
      bytes: output.contents.byteLength,
      contributors: contributors(result.metafile as Metafile),
    });
    for (const source of lazy) {
      const file = `${basename(source).replace(/\.[cm]?[jt]s$/, "")}.js`;
      if (!seen.has(file)) {
        seen.add(file);
        pending.push({ file, source });
      }
    }
  }
  return files;
}

/** build.mjs's rule: a dynamic import of `*.lazy` becomes `require("./<name>.lazy.js")`. */
function lazyChunks(found: string[]): Plugin {
  return {
    name: "bench-lazy-chunks",
    setup(b) {
      b.onResolve({ filter: LAZY_MODULE }, async (args) => {
        if (args.kind !== "dynamic-import" || args.pluginData?.probe) return undefined;
        const resolved = await b.resolve(args.path, {
          kind: args.kind,
          importer: args.importer,
          resolveDir: args.resolveDir,
          pluginData: { probe: true },
        });
        if (resolved.errors.length > 0) return { errors: resolved.errors };
        found.push(resolved.path);
        const file = `${basename(resolved.path).replace(/\.[cm]?[jt]s$/, "")}.js`;
        return { path: `./${file}`, external: true };
      });
    },
  };
}

function contributors(metafile: Metafile): { name: string; bytes: number }[] {
  const totals = new Map<string, number>();
  for (const output of Object.values(metafile.outputs)) {
    for (const [path, input] of Object.entries(output.inputs)) {
      const name = ownerOf(path);
      totals.set(name, (totals.get(name) ?? 0) + input.bytesInOutput);
    }
  }
  return [...totals]
    .map(([name, bytes]) => ({ name, bytes }))
    .filter((c) => c.bytes > 0)
    .sort((a, b) => b.bytes - a.bytes);
}

/** The package a bundled file belongs to (the innermost node_modules), or its repo folder. */
function ownerOf(path: string): string {
  const parts = path.split("node_modules/");
  const last = parts.at(-1) ?? path;
  if (parts.length > 1) {
    const segments = last.split("/");
    return segments[0]?.startsWith("@")
      ? `${segments[0]}/${segments[1] ?? ""}`
      : (segments[0] ?? last);
  }
  return last.split("/").slice(0, 2).join("/");
}

export function kB(bytes: number): string {
  return `${(bytes / 1000).toFixed(1)} kB`;
}

/** "zod 470.3 kB, tr46 265.1 kB, …": the top contributors of one bundle file. */
export function topContributors(file: BundleFile, count = 8): string {
  return file.contributors
    .slice(0, count)
    .map((c) => `${c.name} ${kB(c.bytes)}`)
    .join(", ");
}
