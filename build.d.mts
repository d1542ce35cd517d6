export interface BuiltFunction {
  name: string;
  bundlePath: string;
  zipPath: string;
  bytes: number;
  zipBytes: number;
  chunks: { file: string; path: string; bytes: number }[];
  warnings: string[];
}
export const ESBUILD_OPTIONS: import("esbuild").BuildOptions & {
  metafile: true;
  write: false;
};
export function buildFunctions(options?: {
  srcDir?: string;
  outDir?: string;
  names?: string[];
}): Promise<BuiltFunction[]>;
