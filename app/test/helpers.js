'use strict';
// Shared by the tests: a database of their own on the PostgreSQL server TEST_DATABASE_URL
// names (an admin DSN), the committed migrations applied and recorded the way Prisma Migrate
// does it (its own CLI needs engines these machines cannot download), and the app's entry
// points run as child processes, as the platform runs them.
const { spawn } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { Client } = require('pg');

const APP_DIR = path.join(__dirname, '..');
const MIGRATIONS_DIR = path.join(APP_DIR, 'prisma', 'migrations');
const running = new Set();

function adminUrl() {
  const url = process.env.TEST_DATABASE_URL;
  if (!url) {
    throw new Error(
      'TEST_DATABASE_URL is not set: give an admin DSN of a PostgreSQL server where the tests may ' +
        'create and drop databases (tests/app/test_node_suite.py starts one and sets it)',
    );
  }
  return url;
}

async function withClient(url, fn) {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** A fresh database; `drop()` removes it, connections and all. */
async function createDatabase(prefix = 'shop_test') {
  const name = `${prefix}_${crypto.randomBytes(4).toString('hex')}`;
  await withClient(adminUrl(), (c) => c.query(`CREATE DATABASE "${name}"`));
  const url = new URL(adminUrl());
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    query: (sql, params) => withClient(url.toString(), (c) => c.query(sql, params)),
    drop: () => withClient(adminUrl(), (c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)),
  };
}

/** The migrations committed in prisma/migrations, in the order Prisma applies them. */
function committedMigrations() {
  return fs
    .readdirSync(MIGRATIONS_DIR, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
}

// Prisma Migrate's bookkeeping table, as `prisma migrate deploy` creates it.
const PRISMA_MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`;

/**
 * Apply committed migrations by name as `prisma migrate deploy` does: the row is recorded
 * before the script runs (checksum = sha256 of migration.sql), the script runs in one
 * transaction, then finished_at and applied_steps_count are set.
 */
async function applyMigrations(url, names) {
  await withClient(url, async (client) => {
    await client.query(PRISMA_MIGRATIONS_TABLE);
    for (const name of names) {
      const script = fs.readFileSync(path.join(MIGRATIONS_DIR, name, 'migration.sql'));
      const id = crypto.randomUUID();
      await client.query(
        `INSERT INTO "_prisma_migrations" ("id", "checksum", "migration_name", "started_at", "applied_steps_count")
         VALUES ($1, $2, $3, now(), 0)`,
        [id, crypto.createHash('sha256').update(script).digest('hex'), name],
      );
      await client.query('BEGIN');
      await client.query(script.toString('utf8'));
      await client.query('COMMIT');
      await client.query(
        `UPDATE "_prisma_migrations" SET "finished_at" = now(), "applied_steps_count" = 1 WHERE "id" = $1`,
        [id],
      );
    }
  });
}

/** What a failed `migrate deploy` leaves: the row without finished_at, the error in logs. */
async function recordFailedMigration(url, name) {
  await withClient(url, async (client) => {
    await client.query(PRISMA_MIGRATIONS_TABLE);
    await client.query(
      `INSERT INTO "_prisma_migrations" ("id", "checksum", "migration_name", "logs", "started_at")
       VALUES ($1, $2, $3, 'Database error code: 42P07', now())`,
      [crypto.randomUUID(), '0'.repeat(64), name],
    );
  });
}

/** `prisma migrate resolve --rolled-back <name>`. */
async function markRolledBack(url, name) {
  await withClient(url, (client) =>
    client.query(
      `UPDATE "_prisma_migrations" SET "rolled_back_at" = now()
        WHERE "migration_name" = $1 AND "finished_at" IS NULL AND "rolled_back_at" IS NULL`,
      [name],
    ),
  );
}

/** A database URL nothing answers on: a port just bound and released. */
async function unreachableDatabaseUrl() {
  const net = require('node:net');
  const port = await new Promise((resolve) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const { port: free } = probe.address();
      probe.close(() => resolve(free));
    });
  });
  return `postgresql://shop_app:unused@127.0.0.1:${port}/shop`;
}

/** The environment the platform injects into a service, with test values. */
function serviceEnv(overrides = {}) {
  const env = {
    PATH: process.env.PATH,
    NODE_ENV: 'test',
    LOG_LEVEL: 'debug',
    PAYMENTS_API_KEY: 'test-payments-key',
    EMAIL_API_KEY: 'test-email-key',
    SESSION_SECRET: 'test-session-secret',
    ...overrides,
  };
  for (const [name, value] of Object.entries(env)) if (value === undefined) delete env[name];
  return env;
}

/** One of the app's entry points as a child process; its JSON log lines are parsed. */
class AppProcess {
  constructor(script, env) {
    this.logs = [];
    this.stdout = '';
    this.stderr = '';
    this.waiters = [];
    this.child = spawn(process.execPath, [script], { cwd: APP_DIR, env, stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(this.child);
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        running.delete(this.child);
        resolve({ code, signal });
      });
    });
    let partial = '';
    this.child.stdout.on('data', (chunk) => {
      this.stdout += chunk;
      partial += chunk;
      const lines = partial.split('\n');
      partial = lines.pop();
      for (const line of lines) {
        try {
          this.logs.push(JSON.parse(line));
        } catch {
          continue;
        }
        this.waiters = this.waiters.filter((waiter) => !waiter());
      }
    });
    this.child.stderr.on('data', (chunk) => {
      this.stderr += chunk;
    });
  }

  /** The first log line matching `predicate`, waiting for it up to `timeoutMs`. */
  waitForLog(predicate, timeoutMs = 10_000) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`no matching log line within ${timeoutMs} ms; output:\n${this.output()}`));
      }, timeoutMs);
      const waiter = () => {
        const found = this.logs.find(predicate);
        if (!found) return false;
        clearTimeout(timer);
        resolve(found);
        return true;
      };
      if (!waiter()) this.waiters.push(waiter);
    });
  }

  output() {
    return `--- stdout\n${this.stdout}--- stderr\n${this.stderr}`;
  }

  async stop() {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    return this.exited;
  }
}

/** `node src/web.js` on a free port, once it listens; `.url` is its base URL. */
async function startWeb(env) {
  const web = new AppProcess('src/web.js', serviceEnv({ PORT: '0', ...env }));
  const listening = await Promise.race([
    web.waitForLog((line) => line.message === 'listening'),
    web.exited.then(({ code }) => {
      throw new Error(`web exited with ${code} before listening:\n${web.output()}`);
    }),
  ]);
  web.url = `http://127.0.0.1:${listening.port}`;
  return web;
}

/** GET (or `init.method`) a path: { status, body, text, headers }. */
async function request(base, pathname, init = {}) {
  const response = await fetch(`${base}${pathname}`, { ...init, signal: AbortSignal.timeout(10_000) });
  const text = await response.text();
  let body = null;
  try {
    body = JSON.parse(text);
  } catch {
    body = null;
  }
  return { status: response.status, body, text, headers: response.headers };
}

// A test run that fails half-way must not leave servers behind.
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

module.exports = {
  APP_DIR,
  AppProcess,
  applyMigrations,
  committedMigrations,
  createDatabase,
  markRolledBack,
  recordFailedMigration,
  request,
  serviceEnv,
  startWeb,
  unreachableDatabaseUrl,
};
