// Prints one line "N passed, M failed" summed over vitest JSON reports; exits 1 if anything
// failed or a report is missing (a run that produced no report did not pass).
import fs from "node:fs";

let passed = 0;
let failed = 0;
let skipped = 0;
for (const file of process.argv.slice(2)) {
  let report;
  try {
    report = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (err) {
    console.error(`no vitest JSON report at ${file}: ${err.message}`);
    failed += 1;
    continue;
  }
  // A file that failed to load has no failed tests of its own: count it as one failure.
  const brokenFiles = (report.testResults ?? []).filter(
    (f) => f.status === "failed" && !(f.assertionResults ?? []).some((a) => a.status === "failed"),
  ).length;
  passed += report.numPassedTests ?? 0;
  failed += (report.numFailedTests ?? 0) + brokenFiles;
  skipped += (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
}
if (skipped > 0) console.error(`${skipped} tests were skipped or todo: they count as nothing`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
