// Prints one line "N passed, M failed" summed over vitest JSON reports; exits 1 if anything
// failed or a report is missing (a run that produced no report did not pass).
import fs from "node:fs";

let passed = 0;
let failed = 0;
let skipped = 0;
const failures = [];
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
  for (const f of report.testResults ?? []) {
    const failedTests = (f.assertionResults ?? []).filter((a) => a.status === "failed");
    if (f.status === "failed" && failedTests.length === 0) {
      failures.push(`${f.name}: the file failed to run\n${firstLines(f.message)}`);
    }
    for (const a of failedTests) {
      failures.push(
        `${f.name} > ${a.fullName}\n${firstLines((a.failureMessages ?? []).join("\n"))}`,
      );
    }
  }
  passed += report.numPassedTests ?? 0;
  failed += (report.numFailedTests ?? 0) + brokenFiles;
  skipped += (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
}
// CI keeps only the tail of the output: name each failure here, just above the summary line.
for (const failure of failures) console.log(`FAILED ${failure}\n`);
if (skipped > 0) console.error(`${skipped} tests were skipped or todo: they count as nothing`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);

function firstLines(text) {
  return String(text ?? "")
    .split("\n")
    .slice(0, 12)
    .map((line) => `    ${line.slice(0, 400)}`)
    .join("\n");
}
