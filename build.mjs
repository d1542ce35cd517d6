// @ts-check
/**
 * Bundles every FunctionGraph function: `functions/<name>/index.ts` → `dist/<name>/index.js`
 * (CommonJS, node20, minified) and `dist/<name>.zip` with index.js at the zip root, ready for
 * CreateFunction / UpdateFunctionCode.
 *
 * Lazy chunks: `await import("./something.lazy")` (a module named `*.lazy.ts`) is not inlined.
 * It becomes `require("./something.lazy.js")` and is bundled as its own file next to index.js,
 * so a cold start that never calls it never pays for it (the ECS SDK alone costs ~85 ms).
 * A chunk is a separate bundle: modules it shares with index.js are copied, not shared, so pass
 * state across the boundary as arguments rather than through module-level variables.
 *
 * Run as `node build.mjs` (prints a size table) or import `buildFunctions`.
 */
import { existsSync } from "node:fs";
import { mkdir, readdir, rm, writeFile } from "node:fs/promises";
import { basename, join, relative, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { build } from "esbuild";
import { zipSync } from "fflate";

/**
 * Built from local fields because zip (DOS) times are local time: every time zone then writes
 * the same bytes, so rebuilding unchanged code gives an identical zip (and an unchanged digest).
 */
const ZIP_MTIME = new Date(2020, 0, 1, 0, 0, 0);
const ZIP_FILE_MODE = 0o644 << 16;
const UNIX = 3;
const LAZY_MODULE = /\.lazy(\.[cm]?[jt]s)?$/;

/**
 * @typedef {object} BuildOptions
 * @property {string} [srcDir] folder holding one `<name>/index.ts` per function
 * @property {string} [outDir] where `<name>/index.js` and `<name>.zip` are written
 * @property {string[]} [names] build only these functions (default: all)
 */

/**
 * @typedef {object} BuiltChunk
 * @property {string} file file name inside the zip, e.g. `ecs.lazy.js`
 * @property {string} path absolute path of the bundled chunk
 * @property {number} bytes
 */

/**
 * @typedef {object} BuiltFunction
 * @property {string} name
 * @property {string} bundlePath absolute path of `dist/<name>/index.js`
 * @property {string} zipPath absolute path of `dist/<name>.zip`
 * @property {number} bytes size of index.js
 * @property {number} zipBytes size of the zip
 * @property {BuiltChunk[]} chunks lazy chunks, loaded only when their import runs
 * @property {string[]} warnings esbuild warnings, as text
 */

/**
 * @param {BuildOptions} [options]
 * @returns {Promise<BuiltFunction[]>}
 */
export async function buildFunctions({ srcDir = "functions", outDir = "dist", names } = {}) {
  const src = resolve(srcDir);
  const out = resolve(outDir);
  const found = await functionNames(src);
  const wanted = names ?? found;
  const missing = wanted.filter((name) => !found.includes(name));
  if (missing.length > 0) {
    throw new Error(`no ${missing.map((n) => `${src}/${n}/index.ts`).join(", ")}: check the name`);
  }
  if (wanted.length === 0) {
    throw new Error(`no functions to build: expected ${src}/<name>/index.ts`);
  }
  await mkdir(out, { recursive: true });
  /** @type {BuiltFunction[]} */
  const built = [];
  for (const name of wanted)
    built.push(await buildFunction(name, join(src, name, "index.ts"), out));
  return built;
}

/** @param {string} src */
async function functionNames(src) {
  if (!existsSync(src)) return [];
  const entries = await readdir(src, { withFileTypes: true });
  return entries
    .filter((entry) => entry.isDirectory() && existsSync(join(src, entry.name, "index.ts")))
    .map((entry) => entry.name)
    .sort();
}

/**
 * @param {string} name
 * @param {string} entry
 * @param {string} out
 * @returns {Promise<BuiltFunction>}
 */
async function buildFunction(name, entry, out) {
  const dir = join(out, name);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });

  const chunks = new LazyChunks();
  const warnings = [];
  const index = await bundle(entry, join(dir, "index.js"), chunks, warnings);
  /** @type {BuiltChunk[]} */
  const built = [];
  for (let next = chunks.next(); next; next = chunks.next()) {
    const path = join(dir, next.file);
    built.push({
      file: next.file,
      path,
      bytes: (await bundle(next.source, path, chunks, warnings)).bytes,
    });
  }
  // The repo is "type": "module"; this marker lets `require()` load the bundle in place.
  await writeFile(join(dir, "package.json"), '{ "type": "commonjs" }\n');

  const zip = zipSync(
    Object.fromEntries(
      [
        ["index.js", index.contents],
        ...built.map((chunk) => [chunk.file, chunks.contents(chunk.file)]),
      ]
        .sort(([a], [b]) => String(a).localeCompare(String(b)))
        .map(([file, contents]) => [
          file,
          [contents, { mtime: ZIP_MTIME, os: UNIX, attrs: ZIP_FILE_MODE, level: 9 }],
        ]),
    ),
  );
  const zipPath = join(out, `${name}.zip`);
  await writeFile(zipPath, zip);
  return {
    name,
    bundlePath: join(dir, "index.js"),
    zipPath,
    bytes: index.bytes,
    zipBytes: zip.byteLength,
    chunks: built,
    warnings,
  };
}

/**
 * @param {string} entry
 * @param {string} outfile
 * @param {LazyChunks} chunks
 * @param {string[]} warnings
 * @returns {Promise<{ bytes: number; contents: Uint8Array }>}
 */
/** The esbuild options of every function bundle (the bench builds its baselines with them too). */
export const ESBUILD_OPTIONS = /** @type {const} */ ({
  bundle: true,
  platform: "node",
  target: "node20",
  format: "cjs",
  minify: true,
  // Errors name themselves from their class (ClawwatchError: new.target.name) and logs print that
  // name: minified, every subclass would log as "e" or "il".
  keepNames: true,
  sourcemap: false,
  legalComments: "none",
  metafile: true,
  // Dynamic imports of chunks must become require(): the chunk is CommonJS.
  supported: { "dynamic-import": false },
  logLevel: "silent",
  write: false,
});

async function bundle(entry, outfile, chunks, warnings) {
  const result = await build({
    ...ESBUILD_OPTIONS,
    entryPoints: [entry],
    outfile,
    plugins: [lazyChunkPlugin(chunks)],
  });
  for (const warning of result.warnings) warnings.push(formatMessage(warning));
  const output = result.outputFiles.find((file) => file.path === outfile);
  if (!output) throw new Error(`esbuild wrote no ${outfile}`);
  await writeFile(outfile, output.contents);
  chunks.remember(basename(outfile), output.contents);
  // Metafile keys are relative to esbuild's working directory.
  const bytes = result.metafile.outputs[relative(process.cwd(), outfile)]?.bytes;
  if (bytes === undefined) throw new Error(`esbuild's metafile has no entry for ${outfile}`);
  return { bytes, contents: output.contents };
}

/** @param {import("esbuild").Message} message */
function formatMessage(message) {
  const where = message.location ? `${message.location.file}:${message.location.line}: ` : "";
  return `${where}${message.text}`;
}

/** Lazy modules found while bundling, each built once under a file name unique per function. */
class LazyChunks {
  /** @type {Map<string, string>} file name → source path */
  #sources = new Map();
  /** @type {string[]} */
  #pending = [];
  /** @type {Map<string, Uint8Array>} */
  #contents = new Map();

  /** @param {string} source absolute path of the `.lazy.ts` module */
  add(source) {
    const file = `${basename(source).replace(/\.[cm]?[jt]s$/, "")}.js`;
    const known = this.#sources.get(file);
    if (known && known !== source) {
      throw new Error(
        `two lazy modules would both be ${file} (${known} and ${source}): rename one of them`,
      );
    }
    if (!known) {
      this.#sources.set(file, source);
      this.#pending.push(file);
    }
    return file;
  }

  next() {
    const file = this.#pending.shift();
    const source = file ? this.#sources.get(file) : undefined;
    return file && source ? { file, source } : undefined;
  }

  /** @param {string} file @param {Uint8Array} contents */
  remember(file, contents) {
    this.#contents.set(file, contents);
  }

  /** @param {string} file */
  contents(file) {
    const contents = this.#contents.get(file);
    if (!contents) throw new Error(`lazy chunk ${file} was not built`);
    return contents;
  }
}

/**
 * Keeps `*.lazy` modules out of the bundle that imports them: a dynamic import becomes an
 * external `./<name>.lazy.js`, and the module is queued to be bundled on its own.
 * @param {LazyChunks} chunks
 * @returns {import("esbuild").Plugin}
 */
function lazyChunkPlugin(chunks) {
  return {
    name: "lazy-chunks",
    setup(build) {
      build.onResolve({ filter: LAZY_MODULE }, async (args) => {
        if (args.kind === "entry-point" || args.pluginData?.lazyProbe) return undefined;
        const resolved = await build.resolve(args.path, {
          kind: args.kind,
          importer: args.importer,
          resolveDir: args.resolveDir,
          pluginData: { lazyProbe: true },
        });
        if (resolved.errors.length > 0) return { errors: resolved.errors };
        if (args.kind !== "dynamic-import") {
          return {
            errors: [
              {
                text: `${args.path} is a lazy chunk: load it with \`await import("${args.path}")\` so it stays out of the main bundle`,
              },
            ],
          };
        }
        return { path: `./${chunks.add(resolved.path)}`, external: true };
      });
    },
  };
}

/** @param {number} bytes */
function kB(bytes) {
  return `${(bytes / 1000).toFixed(1)} kB`;
}

/** @param {BuiltFunction[]} built */
function sizeTable(built) {
  const rows = [["function", "index.js", "zip", "lazy chunks"]];
  for (const fn of built) {
    rows.push([
      fn.name,
      kB(fn.bytes),
      kB(fn.zipBytes),
      fn.chunks.map((chunk) => `${chunk.file} ${kB(chunk.bytes)}`).join(", ") || "-",
    ]);
  }
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((row) => row[i]?.length ?? 0))) ?? [];
  return rows
    .map((row) =>
      row
        .map((cell, i) =>
          i === 0 || i === 3 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0),
        )
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

const runAsScript =
  process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href;
if (runAsScript) {
  try {
    const built = await buildFunctions();
    for (const fn of built)
      for (const warning of fn.warnings) console.warn(`warning (${fn.name}): ${warning}`);
    console.log(sizeTable(built));
  } catch (error) {
    console.error(`build failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  }
}
