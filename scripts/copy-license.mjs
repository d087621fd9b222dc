// prepack for every published package: npm packs only files inside the package folder, so
// the repository's one LICENSE is copied in (and ignored by git) rather than kept in five copies.
import { copyFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

copyFileSync(fileURLToPath(new URL("../LICENSE", import.meta.url)), "LICENSE");
