'use strict';
// SIGTERM: readiness turns 503 at once, the server keeps answering through the drain period,
// a request still in flight when the drain ends is finished, then the process exits 0.
const assert = require('node:assert/strict');
const http = require('node:http');
const { after, before, test } = require('node:test');
const { applyMigrations, committedMigrations, createDatabase, request, startWeb } = require('./helpers');

const DRAIN_SECONDS = 1;
let db;
let web;

before(async () => {
  db = await createDatabase();
  await applyMigrations(db.url, committedMigrations());
  web = await startWeb({ DATABASE_URL: db.url, SHUTDOWN_DRAIN_SECONDS: String(DRAIN_SECONDS) });
});
after(async () => {
  await web?.stop();
  await db?.drop();
});

/** A POST whose body arrives only when `finish()` is called: a request in flight. */
function slowOrder(base) {
  const req = http.request(`${base}/api/orders`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
  });
  const response = new Promise((resolve, reject) => {
    req.on('response', (res) => {
      let text = '';
      res.on('data', (chunk) => {
        text += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode, body: JSON.parse(text) }));
    });
    req.on('error', reject);
  });
  req.write('{"total_cents":');
  return { response, finish: () => req.end('700}') };
}

test('SIGTERM: 503 while still serving, in-flight requests finish, then exit 0', async () => {
  assert.equal((await request(web.url, '/api/ready')).status, 200);
  const inFlight = slowOrder(web.url);
  await new Promise((resolve) => setTimeout(resolve, 100)); // the request has reached the server

  const signalled = Date.now();
  web.child.kill('SIGTERM');
  await web.waitForLog((line) => line.message.startsWith('draining'));

  const ready = await request(web.url, '/api/ready');
  assert.equal(ready.status, 503);
  assert.deepEqual(ready.body, { ready: false, reason: 'shutting down' });
  assert.equal(ready.headers.get('connection'), 'close');
  // New requests are still answered during the drain.
  assert.equal((await request(web.url, '/api/health')).status, 200);
  assert.equal((await request(web.url, '/api/orders')).status, 200);

  // The drain ends and the server closes while the POST is still open; it is finished anyway.
  await web.waitForLog((line) => line.message.startsWith('drain over'), 5000);
  inFlight.finish();
  const created = await inFlight.response;
  assert.equal(created.status, 201);
  assert.equal(created.body.total_cents, 700);

  const { code, signal } = await web.exited;
  assert.equal(signal, null, web.output());
  assert.equal(code, 0, web.output());
  assert.ok(Date.now() - signalled >= DRAIN_SECONDS * 1000, 'exited before the drain period ended');
  await assert.rejects(request(web.url, '/api/health'), 'still answering after exit');
  assert.deepEqual((await db.query('SELECT count(*)::int AS n FROM orders')).rows, [{ n: 1 }]);
});
