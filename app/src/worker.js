'use strict';
// shop-worker (`node src/worker.js`): every WORKER_INTERVAL_SECONDS it touches its heartbeat
// file, then picks up the orders placed since its last pass. The heartbeat comes first and does
// not depend on the database: liveness (src/healthcheck.js) must restart a stuck process, not
// one that waits for a database that is down (a restart would not bring it back).
const fs = require('node:fs');
const http = require('node:http');
const { loadConfigOrExit } = require('./config');
const { createPool, describeError } = require('./db');
const { createLogger } = require('./log');
const { registry } = require('./metrics');

const config = loadConfigOrExit('worker');
const log = createLogger({ level: config.logLevel, release: config.release, service: 'shop-worker' });
const pool = createPool(config.databaseUrl, log);
let lastOrderId = null; // null: not yet known (start from the newest order, not from zero)
let stopping = false;
let wake = () => {};

/** GET /metrics on METRICS_PORT, so Prometheus sees the worker's CPU, memory and restarts. */
function serveMetrics() {
  if (config.metricsPort === null) return null;
  const server = http.createServer(async (req, res) => {
    if (req.method !== 'GET' || req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': registry.contentType }).end(await registry.metrics());
  });
  server.listen(config.metricsPort, '0.0.0.0', () => {
    log.info('serving metrics', { port: server.address().port });
  });
  return server;
}

const metricsServer = serveMetrics();

function heartbeat() {
  fs.writeFileSync(config.heartbeatFile, `${Date.now()}\n`);
}

/** One pass over the orders placed since the last one. */
async function processNewOrders() {
  if (lastOrderId === null) {
    const { rows } = await pool.query('SELECT coalesce(max(id), 0)::int AS id FROM orders');
    lastOrderId = rows[0].id;
    log.info('watching orders', { after_id: lastOrderId });
    return;
  }
  const { rows } = await pool.query(
    'SELECT count(*)::int AS count, coalesce(sum(total_cents), 0)::bigint AS cents, max(id) AS last_id FROM orders WHERE id > $1',
    [lastOrderId],
  );
  const { count, cents, last_id: lastId } = rows[0];
  if (count > 0) {
    lastOrderId = lastId;
    log.info('new orders', { count, total_cents: Number(cents), last_id: lastId });
  }
}

async function run() {
  const secrets = Object.fromEntries(Object.entries(config.secrets).map(([k, v]) => [k, Boolean(v)]));
  log.info('started', { heartbeat: config.heartbeatFile, interval_seconds: config.workerIntervalSeconds, secrets });
  while (!stopping) {
    heartbeat();
    try {
      await processNewOrders();
    } catch (error) {
      log.warn('pass failed; retrying next interval', { error: describeError(error) });
    }
    await new Promise((resolve) => {
      wake = resolve;
      setTimeout(resolve, config.workerIntervalSeconds * 1000);
    });
  }
  await pool.end().catch(() => {});
  metricsServer?.close();
  // A stopped worker is not alive: remove the heartbeat so liveness says so at once.
  fs.rmSync(config.heartbeatFile, { force: true });
  log.info('stopped');
  process.exit(0);
}

function shutdown(signal) {
  if (stopping) process.exit(1);
  stopping = true;
  log.info('stopping after the current pass', { signal });
  wake();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);

run().catch((error) => {
  // Writing the heartbeat failed (or worse): exit so the platform restarts the worker.
  log.error('worker crashed', { error: error.message });
  process.exit(1);
});
