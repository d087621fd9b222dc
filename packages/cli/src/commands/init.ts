import * as fs from "node:fs";
import * as path from "node:path";
import { InvalidArgumentError } from "@tributary/log";
import type { Command } from "commander";
import { starterFiles } from "../starter/starter-files.js";

/**
 * `tributary init <dir>`: a new project with a word-count app, its test and a README, whose
 * package.json depends on this command's own version of the @tributary packages. Refuses a
 * folder that holds anything, so it never overwrites a user's file.
 */
export function registerInitCommand(program: Command): void {
  program
    .command("init <dir>")
    .description("write a new project: an app, a test of it and a README")
    .option("--name <name>", "package name and applicationId (default: the folder's name)")
    .action((dir: string, flags: { name?: string }) => {
      const target = path.resolve(dir);
      const name = flags.name ?? path.basename(target).toLowerCase();
      if (!/^[a-z0-9][a-z0-9._-]{0,213}$/.test(name)) {
        throw new InvalidArgumentError(
          `init: "${name}" cannot be a package name and applicationId: use lower-case letters, digits, '.', '_' and '-' (pass --name)`,
        );
      }
      if (fs.existsSync(target) && fs.readdirSync(target).length > 0) {
        throw new InvalidArgumentError(
          `init: ${target} is not empty: choose a new folder, so no file of yours is overwritten`,
        );
      }
      const files = starterFiles({ name, tributaryRange: `^${ownVersion()}` });
      for (const [rel, text] of Object.entries(files)) {
        const file = path.join(target, rel);
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(file, text, { flag: "wx" });
      }
      const rel = path.relative(process.cwd(), target);
      const cd = rel === "" ? "." : rel.startsWith("..") ? target : rel;
      process.stdout.write(
        `wrote ${Object.keys(files).length} files to ${target}\nnext: cd ${cd} && npm install && npm test\n`,
      );
    });
}

function ownVersion(): string {
  // dist/commands/init.js -> the package's own package.json, shipped in every install.
  const pkg = JSON.parse(
    fs.readFileSync(new URL("../../package.json", import.meta.url), "utf8"),
  ) as { version: string };
  return pkg.version;
}
