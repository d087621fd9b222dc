// Prints "N passed, M failed" from vitest's JSON report; exits 1 if anything failed or
// the report is missing (a run that produced no report did not pass).
import fs from "node:fs";

const file = process.argv[2];
let report;
try {
  report = JSON.parse(fs.readFileSync(file, "utf8"));
} catch (err) {
  console.error(`no vitest JSON report at ${file}: ${err.message}`);
  console.log("0 passed, 1 failed");
  process.exit(1);
}
const passed = report.numPassedTests ?? 0;
// A file that failed to load has no failed tests of its own: count it as one failure.
const brokenFiles = (report.testResults ?? []).filter(
  (f) => f.status === "failed" && !(f.assertionResults ?? []).some((a) => a.status === "failed"),
).length;
const failed = (report.numFailedTests ?? 0) + brokenFiles;
const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
if (skipped > 0) console.error(`${skipped} tests were skipped or todo: they count as nothing`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
