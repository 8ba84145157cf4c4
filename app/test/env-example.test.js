'use strict';
// .env.example is the list of every variable the app reads (the platform's `infractl env
// --check` compares it with what each stack injects): it must match the code exactly.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { test } = require('node:test');
const { ALL_VARIABLES, OPTIONAL } = require('../src/config');
const { APP_DIR } = require('./helpers');

const lines = fs.readFileSync(path.join(APP_DIR, '.env.example'), 'utf8').split('\n');
const entries = lines
  .map((line, index) => ({ line, comment: lines[index - 1] ?? '' }))
  .filter(({ line }) => line && !line.startsWith('#'));

test('every line is a comment, blank, or NAME=value with a comment line right above it', () => {
  for (const { line, comment } of entries) {
    assert.match(line, /^[A-Z][A-Z0-9_]*=\S*$/, line);
    assert.match(comment, /^# \S/, `no comment above ${line}`);
  }
});

test('it lists exactly the variables src/config.js reads, each once', () => {
  const names = entries.map(({ line }) => line.split('=')[0]);
  assert.equal(new Set(names).size, names.length, names.join(', '));
  assert.deepEqual([...names].sort(), [...ALL_VARIABLES].sort());
});

test('the app knobs, and only they, are marked optional', () => {
  for (const { line, comment } of entries) {
    const name = line.split('=')[0];
    assert.equal(/\boptional\b/.test(comment), OPTIONAL.includes(name), `${name}: ${comment}`);
  }
});

test('no source file reads an environment variable config.js does not declare', () => {
  const src = path.join(APP_DIR, 'src');
  for (const file of fs.readdirSync(src)) {
    const text = fs.readFileSync(path.join(src, file), 'utf8');
    for (const [, name] of text.matchAll(/\benv\.([A-Z][A-Z0-9_]*)/g)) {
      assert.ok(ALL_VARIABLES.includes(name), `src/${file} reads ${name}`);
    }
  }
});
