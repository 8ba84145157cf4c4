'use strict';
// The worker and its liveness command (`node src/healthcheck.js`), as the platform runs them.
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { after, before, describe, test } = require('node:test');
const {
  APP_DIR,
  AppProcess,
  applyMigrations,
  committedMigrations,
  createDatabase,
  serviceEnv,
  unreachableDatabaseUrl,
} = require('./helpers');

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shop-worker-test-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The liveness command with the container's environment: { code, output }. */
function liveness(env) {
  const done = spawnSync(process.execPath, ['src/healthcheck.js'], { cwd: APP_DIR, env, encoding: 'utf8' });
  return { code: done.status, output: done.stdout + done.stderr };
}

function startWorker(env) {
  return new AppProcess('src/worker.js', serviceEnv({ SESSION_SECRET: undefined, ...env }));
}

describe('a running worker', () => {
  let db;
  let worker;
  const heartbeat = path.join(dir, 'running');
  const env = { WORKER_HEARTBEAT_FILE: heartbeat, WORKER_HEARTBEAT_MAX_AGE_SECONDS: '30' };
  before(async () => {
    db = await createDatabase();
    await applyMigrations(db.url, committedMigrations());
    // No SESSION_SECRET: the platform injects none into the worker, and it needs none.
    worker = startWorker({ ...env, DATABASE_URL: db.url, WORKER_INTERVAL_SECONDS: '0.1', METRICS_PORT: '0' });
    await worker.waitForLog((line) => line.message === 'watching orders');
  });
  after(async () => {
    await worker?.stop();
    await db?.drop();
  });

  test('passes liveness while it runs', () => {
    const { code, output } = liveness(serviceEnv(env));
    assert.equal(code, 0, output);
    assert.match(output, /^healthy: worker heartbeat [\d.]+s old\n$/);
  });

  test('serves its metrics on METRICS_PORT, for the cpu, memory and restart alerts', async () => {
    const line = await worker.waitForLog((l) => l.message === 'serving metrics');
    const res = await fetch(`http://127.0.0.1:${line.port}/metrics`);
    assert.equal(res.status, 200);
    const text = await res.text();
    for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'process_start_time_seconds']) {
      assert.match(text, new RegExp(`^${name} `, 'm'));
    }
    assert.equal((await fetch(`http://127.0.0.1:${line.port}/other`)).status, 404);
  });

  test('picks up orders placed since its last pass', async () => {
    await db.query('INSERT INTO orders (total_cents) VALUES (500), (250)');
    const line = await worker.waitForLog((l) => l.message === 'new orders');
    assert.equal(line.count, 2);
    assert.equal(line.total_cents, 750);
  });

  test('never logs a secret value', () => {
    for (const value of Object.values(serviceEnv())) {
      if (value.startsWith('test-')) assert.ok(!worker.stdout.includes(value), value);
    }
    assert.ok(!worker.stdout.includes(db.url));
  });

  test('SIGTERM: exits 0 and removes its heartbeat, so liveness fails at once', async () => {
    worker.child.kill('SIGTERM');
    const { code } = await worker.exited;
    assert.equal(code, 0, worker.output());
    assert.equal(fs.existsSync(heartbeat), false);
    const { code: after, output } = liveness(serviceEnv(env));
    assert.equal(after, 1);
    assert.match(output, /^unhealthy: no worker heartbeat at .* \(ENOENT\)\n$/);
  });
});

test('liveness fails when the heartbeat is stale (a stuck worker), without the database', async () => {
  const heartbeat = path.join(dir, 'stale');
  const env = { WORKER_HEARTBEAT_FILE: heartbeat, WORKER_HEARTBEAT_MAX_AGE_SECONDS: '30' };
  // A long interval: after its first heartbeat the worker writes no other during the test.
  const worker = startWorker({ ...env, DATABASE_URL: await unreachableDatabaseUrl(), WORKER_INTERVAL_SECONDS: '600' });
  try {
    await worker.waitForLog((line) => line.message === 'pass failed; retrying next interval');
    assert.equal(liveness(serviceEnv(env)).code, 0, 'a database that is down must not fail liveness');
    const minuteAgo = new Date(Date.now() - 60_000);
    fs.utimesSync(heartbeat, minuteAgo, minuteAgo);
    const { code, output } = liveness(serviceEnv(env));
    assert.equal(code, 1);
    assert.match(output, /^unhealthy: worker heartbeat is 60s old \(limit 30s\)\n$/);
  } finally {
    await worker.stop();
  }
});
