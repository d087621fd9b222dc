#!/usr/bin/env node
// The `tributary` command's entry point. It is committed, not built, so that npm links it
// into node_modules/.bin at install time: npm skips a bin whose file does not exist yet,
// and dist/ only exists after `npm run build`.
try {
  await import("../dist/bin.js");
} catch (err) {
  if (err?.code === "ERR_MODULE_NOT_FOUND" && String(err.message).includes("dist/bin.js")) {
    process.stderr.write("tributary: the command is not built yet: run npm run build first\n");
    process.exit(1);
  }
  throw err;
}
