'use strict';
// prisma/schema.prisma: valid for Prisma 6 (checked offline by the real CLI, whose validate and
// format need no engine), reading DATABASE_URL, and in step with the committed migrations.
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { after, test } = require('node:test');
const { APP_DIR, applyMigrations, committedMigrations, createDatabase } = require('./helpers');

const SCHEMA = fs.readFileSync(path.join(APP_DIR, 'prisma', 'schema.prisma'), 'utf8');

function prisma(...args) {
  // The CLI downloads its engines before any command unless told where they are; validate and
  // format use only its bundled WebAssembly, so placeholders stand in for the engines.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shop-prisma-'));
  fs.writeFileSync(path.join(dir, 'engine'), '');
  const done = spawnSync(process.execPath, [require.resolve('prisma/build/index.js'), ...args], {
    cwd: APP_DIR,
    encoding: 'utf8',
    timeout: 60_000,
    env: {
      PATH: process.env.PATH,
      HOME: dir,
      CHECKPOINT_DISABLE: '1',
      PRISMA_HIDE_UPDATE_MESSAGE: '1',
      PRISMA_SCHEMA_ENGINE_BINARY: path.join(dir, 'engine'),
      PRISMA_QUERY_ENGINE_LIBRARY: path.join(dir, 'engine'),
      DATABASE_URL: 'postgresql://shop_owner:unused@127.0.0.1:5432/shop',
    },
  });
  fs.rmSync(dir, { recursive: true, force: true });
  return { code: done.status, output: `${done.stdout}${done.stderr}` };
}

test('prisma validate and prisma format --check pass', () => {
  const validate = prisma('validate');
  assert.equal(validate.code, 0, validate.output);
  assert.match(validate.output, /is valid/);
  const format = prisma('format', '--check');
  assert.equal(format.code, 0, format.output);
});

test('the datasource is PostgreSQL at env("DATABASE_URL"), and no client is generated', () => {
  assert.match(SCHEMA, /datasource db \{\s*provider = "postgresql"\s*url\s*= env\("DATABASE_URL"\)\s*\}/);
  assert.doesNotMatch(SCHEMA, /^generator /m);
});

/** { table: [column, ...] } from the schema's models (scalar fields only). */
function schemaTables() {
  const models = new Set([...SCHEMA.matchAll(/^model (\w+) \{/gm)].map((m) => m[1]));
  const tables = {};
  for (const [, model, body] of SCHEMA.matchAll(/^model (\w+) \{\n([\s\S]*?)^\}/gm)) {
    const table = body.match(/@@map\("([^"]+)"\)/)?.[1] ?? model;
    tables[table] = body
      .split('\n')
      .map((line) => line.trim().match(/^(\w+)\s+(\w+)(\[\])?\??(.*)$/))
      .filter((m) => m && !models.has(m[2]))
      .map((m) => m[4].match(/@map\("([^"]+)"\)/)?.[1] ?? m[1])
      .sort();
  }
  return tables;
}

let db;
after(() => db?.drop());

test('the migrations create exactly the tables and columns the schema declares', async () => {
  db = await createDatabase();
  await applyMigrations(db.url, committedMigrations());
  const { rows } = await db.query(
    `SELECT table_name, column_name FROM information_schema.columns
      WHERE table_schema = 'public' AND table_name <> '_prisma_migrations'
      ORDER BY table_name, column_name`,
  );
  const actual = {};
  for (const { table_name: table, column_name: column } of rows) (actual[table] ??= []).push(column);
  assert.deepEqual(actual, schemaTables());
});
