#!/usr/bin/env node
// Reads a vitest JSON report (--reporter=json) and prints "N passed, M failed, K skipped".
//
// Counts every test by its own status (assertionResults[].status: passed / failed / anything else,
// i.e. skipped, pending, todo, disabled, is skipped). A test file whose status is failed without a
// failed test in it (a suite that failed to load, or an error in a hook) counts as one failure, and
// so does a missing or unreadable report. Exits 1 when anything failed. Not here: running vitest.
import fs from 'node:fs';

function count(report) {
  const c = { passed: 0, failed: 0, skipped: 0, notes: [] };
  const files = Array.isArray(report.testResults) ? report.testResults : [];
  if (files.length === 0) {
    c.failed++;
    c.notes.push('the report lists no test file');
  }
  for (const file of files) {
    const tests = Array.isArray(file.assertionResults) ? file.assertionResults : [];
    for (const t of tests) {
      if (t.status === 'passed') c.passed++;
      else if (t.status === 'failed') c.failed++;
      else c.skipped++;
    }
    if (file.status === 'failed' && !tests.some((t) => t.status === 'failed')) {
      c.failed++;
      c.notes.push(`suite failed: ${file.name}: ${String(file.message ?? '').split('\n')[0]}`);
    }
  }
  return c;
}

let c;
try {
  c = count(JSON.parse(fs.readFileSync(process.argv[2], 'utf8')));
} catch (e) {
  c = { passed: 0, failed: 1, skipped: 0, notes: [`no readable vitest report: ${e.message}`] };
}
for (const n of c.notes) console.log(n);
console.log(`${c.passed} passed, ${c.failed} failed, ${c.skipped} skipped`);
process.exit(c.failed > 0 ? 1 : 0);
