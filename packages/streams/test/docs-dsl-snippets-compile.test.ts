import { execFile } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const PACKAGE_DIR = path.resolve(import.meta.dirname, "..");
const DSL_DOC = path.resolve(PACKAGE_DIR, "../../docs/dsl.md");

/**
 * Names the docs' snippets use without importing or declaring them: fragments continue a
 * topology (`grouped.windowedBy(…)`) or test an `app` shown before. Each snippet gets
 * these, minus what it imports itself.
 */
const PREAMBLE_IMPORTS = [
  "Serdes",
  "TimeWindows",
  "SlidingWindows",
  "SessionWindows",
  "untilWindowCloses",
  "windowedSerde",
  "type App",
  "type KGroupedStream",
  "type Serde",
  "type StreamsBuilder",
];
const PREAMBLE_DECLARATIONS = [
  "declare const app: App;",
  "declare const grouped: KGroupedStream<string, string>;",
  "declare const b: StreamsBuilder;",
  "declare const consumed: { keySerde: Serde<string> };",
  // the record types of the joins' examples
  "declare type Product = { productId: string; price: number };",
  "declare type Order = { productId: string; customerId: string | null };",
  "declare type Customer = { name: string };",
  "declare type OrderWithCustomer = Order & { customerName: string };",
];

/** The ```ts blocks of a markdown page, in order. */
export function tsBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
}

/** A snippet as a module: the preamble's imports it lacks, its declarations, itself. */
function asModule(snippet: string): string {
  const imported = new Set<string>();
  for (const m of snippet.matchAll(/import\s+(?:type\s+)?\{([^}]*)\}\s+from/g)) {
    for (const name of m[1]!.split(",")) {
      const n = name.trim().replace(/^type\s+/, "");
      if (n !== "") imported.add(n);
    }
  }
  const wanted = PREAMBLE_IMPORTS.filter((n) => !imported.has(n.replace(/^type\s+/, "")));
  const declared = PREAMBLE_DECLARATIONS.filter((d) => {
    const name = /declare (?:const|type) (\w+)/.exec(d)![1]!;
    return !new RegExp(`\\b(const|let|class|function|type|interface)\\s+${name}\\b`).test(snippet);
  });
  return [
    wanted.length === 0 ? "" : `import { ${wanted.join(", ")} } from "@tributary/streams";`,
    ...declared,
    snippet,
    "export {};",
  ].join("\n");
}

describe("docs/dsl.md", () => {
  // tsc on the snippets and the package sources they import: a few seconds, more when loaded
  it("has TypeScript snippets that compile against the package's code", {
    timeout: 120_000,
  }, async () => {
    const blocks = tsBlocks(fs.readFileSync(DSL_DOC, "utf8"));
    expect(blocks.length).toBeGreaterThanOrEqual(4);
    expect(blocks.some((b) => b.includes(".process("))).toBe(true);
    // inside the package, so `types: ["node"]` and the workspace resolve as for its tests
    const dir = fs.mkdtempSync(path.join(PACKAGE_DIR, ".docs-check-"));
    try {
      blocks.forEach((b, i) => {
        fs.writeFileSync(path.join(dir, `snippet-${i + 1}.ts`), asModule(b));
      });
      fs.writeFileSync(
        path.join(dir, "tsconfig.json"),
        JSON.stringify({
          extends: "../../../tsconfig.base.json",
          compilerOptions: {
            noEmit: true,
            composite: false,
            declaration: false,
            declarationMap: false,
            rootDir: "../../..",
            // the sources, not dist: the docs are checked against the code as it stands
            paths: {
              "@tributary/streams": ["../src/index.ts"],
              "@tributary/streams/testing": ["../src/testing/index.ts"],
            },
          },
          include: ["*.ts"],
        }),
      );
      const tsc = path.resolve(PACKAGE_DIR, "../../node_modules/typescript/bin/tsc");
      const result = await promisify(execFile)(process.execPath, [tsc, "-p", dir], {
        cwd: dir,
      }).then(
        () => "",
        (e: { stdout?: string; stderr?: string }) => `${e.stdout ?? ""}${e.stderr ?? ""}`,
      );
      // a failure names the snippet file and line: snippet-N is the Nth ```ts block
      expect(result).toBe("");
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
