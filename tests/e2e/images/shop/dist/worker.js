'use strict';
// The fixture's worker: stays up, touches a heartbeat file every few seconds (what
// dist/healthcheck.js checks) and checks the database now and then.
const fs = require('node:fs');
const { describeError, log, pool, secretsPresent } = require('./common');

const HEARTBEAT = process.env.WORKER_HEARTBEAT_FILE || '/tmp/worker-heartbeat';
const TICK_MS = Number(process.env.WORKER_TICK_MS || 5000);
const DB_EVERY = 6; // ticks
const db = pool();
let ticks = 0;
let stopping = false;

async function tick() {
  fs.writeFileSync(HEARTBEAT, `${Date.now()}\n`);
  if (db && ticks % DB_EVERY === 0) {
    try {
      await db.query('SELECT 1');
      log('debug', 'database reachable');
    } catch (error) {
      log('warn', 'database unreachable', { error: describeError(error) });
    }
  }
  ticks += 1;
}

async function loop() {
  log('info', 'shop-worker started', { heartbeat: HEARTBEAT, secrets: secretsPresent() });
  while (!stopping) {
    await tick().catch((error) => log('error', 'tick failed', { error: error.message }));
    await new Promise((resolve) => setTimeout(resolve, TICK_MS));
  }
}

function shutdown(signal) {
  stopping = true;
  log('info', 'shutting down', { signal });
  try {
    fs.unlinkSync(HEARTBEAT);
  } catch {}
  Promise.resolve(db && db.end()).finally(() => process.exit(0));
  setTimeout(() => process.exit(0), 5000).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);

loop();
