'use strict';
// GET /api/ready against a real database, through every state a deploy passes through.
const assert = require('node:assert/strict');
const { after, before, describe, test } = require('node:test');
const {
  applyMigrations,
  committedMigrations,
  createDatabase,
  markRolledBack,
  recordFailedMigration,
  request,
  startWeb,
  unreachableDatabaseUrl,
} = require('./helpers');

const migrations = committedMigrations();

test('the image ships at least init, orders and refunds, in that order', () => {
  assert.ok(migrations.length >= 3, migrations.join(', '));
  assert.deepEqual(
    migrations.slice(0, 3).map((name) => name.replace(/^\d+_/, '')),
    ['init', 'orders', 'refunds'],
  );
});

describe('readiness follows the migrations', () => {
  let db;
  let web;
  before(async () => {
    db = await createDatabase();
    web = await startWeb({ DATABASE_URL: db.url });
  });
  after(async () => {
    await web?.stop();
    await db?.drop();
  });

  test('503 before any migration ran (no _prisma_migrations table)', async () => {
    const { status, body } = await request(web.url, '/api/ready');
    assert.equal(status, 503);
    assert.equal(body.ready, false);
    assert.deepEqual(body.pending, migrations);
  });

  test('503 with one migration pending, naming it', async () => {
    await applyMigrations(db.url, migrations.slice(0, -1));
    const { status, body } = await request(web.url, '/api/ready');
    assert.equal(status, 503);
    assert.deepEqual(body.pending, migrations.slice(-1));
  });

  test('503 while the last migration is recorded as failed', async () => {
    await recordFailedMigration(db.url, migrations.at(-1));
    const { status, body } = await request(web.url, '/api/ready');
    assert.equal(status, 503);
    assert.deepEqual(body.pending, migrations.slice(-1));
  });

  test('200 once every shipped migration is finished (the failed try rolled back)', async () => {
    await markRolledBack(db.url, migrations.at(-1));
    await applyMigrations(db.url, migrations.slice(-1));
    const { status, body } = await request(web.url, '/api/ready');
    assert.equal(status, 200, JSON.stringify(body));
    assert.deepEqual(body, { ready: true });
  });

  test('a finished migration later rolled back counts as not applied', async () => {
    await db.query(
      `UPDATE "_prisma_migrations" SET rolled_back_at = now() WHERE migration_name = $1`,
      [migrations.at(-1)],
    );
    assert.equal((await request(web.url, '/api/ready')).status, 503);
    await db.query(
      `UPDATE "_prisma_migrations" SET rolled_back_at = NULL WHERE migration_name = $1`,
      [migrations.at(-1)],
    );
    assert.equal((await request(web.url, '/api/ready')).status, 200);
  });

  test('orders: POST inserts a row (201), GET counts them, bad bodies are 400', async () => {
    const json = { 'content-type': 'application/json' };
    const created = await request(web.url, '/api/orders', {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ total_cents: 1250 }),
    });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.body.total_cents, 1250);
    assert.ok(Number.isInteger(created.body.id));
    assert.deepEqual((await request(web.url, '/api/orders')).body, { count: 1 });
    for (const body of ['{"total_cents": -1}', '{"total_cents": "12"}', 'not json', '']) {
      const bad = await request(web.url, '/api/orders', { method: 'POST', headers: json, body });
      assert.equal(bad.status, 400, `${body}: ${bad.text}`);
    }
    assert.deepEqual((await db.query('SELECT total_cents FROM orders')).rows, [{ total_cents: 1250 }]);
  });

  test('version names the release, the shipped migrations and the feature flags', async () => {
    const { status, body } = await request(web.url, '/api/version');
    assert.equal(status, 200);
    const features = { newCheckout: false, ordersPageSize: 20 };
    assert.deepEqual(body, { release: 'unknown', migrations, features });
  });
});

describe('with the database unreachable', () => {
  let web;
  before(async () => {
    web = await startWeb({ DATABASE_URL: await unreachableDatabaseUrl() });
  });
  after(() => web?.stop());

  test('readiness is 503 and says the database is unavailable', async () => {
    const { status, body } = await request(web.url, '/api/ready');
    assert.equal(status, 503);
    assert.match(body.reason, /database unavailable \(ECONNREFUSED/);
  });

  test('liveness stays 200: the process is up', async () => {
    const { status, body } = await request(web.url, '/api/health');
    assert.equal(status, 200);
    assert.deepEqual(body, { status: 'ok' });
  });

  test('orders answer 503, not 500', async () => {
    assert.equal((await request(web.url, '/api/orders')).status, 503);
  });

  test('a request target that is not a URL is a 404, and the server stays up', async () => {
    const net = require('node:net');
    const { port } = new URL(web.url);
    const statusLine = await new Promise((resolve, reject) => {
      const socket = net.connect(Number(port), '127.0.0.1', () => {
        socket.end('GET http://[not-a-host/x HTTP/1.1\r\nHost: shop\r\nConnection: close\r\n\r\n');
      });
      let text = '';
      socket.on('data', (chunk) => {
        text += chunk;
      });
      socket.on('close', () => resolve(text.split('\r\n')[0]));
      socket.on('error', reject);
    });
    assert.equal(statusLine, 'HTTP/1.1 404 Not Found');
    assert.equal((await request(web.url, '/api/health')).status, 200);
  });

  test('unknown paths are 404 and wrong methods 405', async () => {
    assert.equal((await request(web.url, '/nope')).status, 404);
    const wrong = await request(web.url, '/api/ready', { method: 'DELETE' });
    assert.equal(wrong.status, 405);
    assert.equal(wrong.headers.get('allow'), 'GET');
  });
});
