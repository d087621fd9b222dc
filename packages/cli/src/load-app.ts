import * as fs from "node:fs";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import type { App, Topology } from "@tributary/streams";
import { tsImport } from "tsx/esm/api";
import { CliError } from "./errors.js";

export interface LoadedApp {
  file: string;
  app: App;
  topology: Topology;
}

/**
 * Loads a topology file as the user wrote it, TypeScript or JavaScript, with no build
 * step (tsx compiles it on import), takes its default export (what `defineApp` returns)
 * and compiles the topology once, so every way the file can be wrong surfaces here as
 * one CliError("APP_FILE") naming the file and what to do.
 */
export async function loadApp(file: string): Promise<LoadedApp> {
  const abs = path.resolve(file);
  if (!fs.existsSync(abs)) {
    throw new CliError(
      "APP_FILE",
      `app file ${file} does not exist: give the path of a topology file (e.g. app.ts)`,
    );
  }
  let mod: { default?: unknown };
  try {
    mod = await tsImport(pathToFileURL(abs).href, { parentURL: import.meta.url, tsconfig: false });
  } catch (err) {
    throw new CliError("APP_FILE", `cannot load ${file}: ${describeLoadError(err, abs)}`, {
      cause: err,
    });
  }
  const app = unwrapDefault(mod);
  if (!isApp(app)) {
    throw new CliError(
      "APP_FILE",
      `${file} does not export an app by default: end it with export default defineApp({ applicationId, topology })`,
    );
  }
  let topology: Topology;
  try {
    topology = app.build();
  } catch (err) {
    throw new CliError("APP_FILE", `the topology in ${file} does not compile: ${oneLine(err)}`, {
      cause: err,
    });
  }
  return { file: abs, app, topology };
}

// A CommonJS-compiled file puts the ES default export one level down.
function unwrapDefault(mod: { default?: unknown }): unknown {
  const d = mod.default;
  if (d !== null && typeof d === "object" && !isApp(d) && "default" in d) {
    return (d as { default: unknown }).default;
  }
  return d;
}

function isApp(v: unknown): v is App {
  if (v === null || typeof v !== "object") return false;
  const a = v as Partial<App>;
  return (
    typeof a.applicationId === "string" &&
    typeof a.build === "function" &&
    typeof a.describe === "function"
  );
}

function describeLoadError(err: unknown, file: string): string {
  const e = err as Error & {
    code?: string;
    errors?: { text: string; location?: { file: string; line: number; column: number } }[];
  };
  // esbuild's syntax errors: the first one, with where it is.
  if (Array.isArray(e.errors) && e.errors.length > 0) {
    const first = e.errors[0]!;
    const at =
      first.location === undefined
        ? ""
        : ` at line ${first.location.line}:${first.location.column}`;
    return `syntax error${at}: ${first.text}`;
  }
  // tsx wraps esbuild's report in the message: "Transform failed with 1 error: <file>:<line>:<col>: ERROR: <text>"
  const m = /Transform failed with \d+ errors?:\s*(?:.*?):(\d+):(\d+): ERROR: ([^\n]*)/.exec(
    e.message ?? "",
  );
  if (m !== null) return `syntax error at line ${m[1]}:${m[2]}: ${m[3]}`;
  if (e.code === "ERR_MODULE_NOT_FOUND" || e.code === "MODULE_NOT_FOUND") {
    const missing = missingPackage(e.message ?? "");
    if (missing !== undefined) {
      const dir = path.dirname(file);
      return `it imports '${missing.specifier}', which is not installed where the app lives (looked in ${path.join(dir, "node_modules")} and the node_modules of every folder above it): run npm install ${missing.pkg} in ${dir}`;
    }
  }
  return withoutLoaderQuery(oneLine(err));
}

/**
 * The package a "Cannot find module/package 'x'" message names, when it is a bare
 * specifier (a relative path that is missing is the file's own mistake).
 */
function missingPackage(message: string): { specifier: string; pkg: string } | undefined {
  const m = /Cannot find (?:module|package) '([^']+)'/.exec(message);
  const specifier = m?.[1];
  if (specifier === undefined || specifier.startsWith(".") || path.isAbsolute(specifier)) {
    return undefined;
  }
  const parts = specifier.split("/");
  const pkg = specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]!;
  return { specifier, pkg };
}

// tsx loads the file as `<file>?namespace=<uuid>`: an internal detail, not the user's path.
function withoutLoaderQuery(text: string): string {
  return text.replace(/\?namespace=[0-9a-f-]+/g, "");
}

function oneLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.replace(/\s*\n\s*/g, " ").trim();
}
