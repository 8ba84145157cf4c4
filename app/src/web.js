'use strict';
// shop-web: the HTTP service (`node src/web.js`, port $PORT).
//   GET  /api/health   liveness: 200 while the process is up, database or not
//   GET  /api/ready    readiness: 200 only when the database answers and every shipped
//                      migration is applied; 503 otherwise and from SIGTERM on (draining)
//   GET  /api/version  this image's release and migrations
//   GET  /api/orders   how many orders there are;  POST /api/orders  {total_cents} -> 201
//   GET  /metrics      Prometheus exposition (src/metrics.js)
// On SIGTERM it drains: readiness turns 503 so load balancers stop sending traffic, while it
// keeps answering for SHUTDOWN_DRAIN_SECONDS; then it stops accepting, lets in-flight requests
// finish and exits 0.
const http = require('node:http');
const { loadConfigOrExit } = require('./config');
const { createPool, describeError, isUnavailable } = require('./db');
const { createLogger } = require('./log');
const { observeRequest, registry } = require('./metrics');
const { checkReadiness, shippedMigrations } = require('./readiness');

const config = loadConfigOrExit('web');
const log = createLogger({ level: config.logLevel, release: config.release, service: 'shop-web' });
const pool = createPool(config.databaseUrl, log);
const migrations = shippedMigrations();
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
const MAX_BODY_BYTES = 64 * 1024;
let draining = false;

class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function send(res, status, body, type = 'application/json') {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  // While draining, ask keep-alive clients to reconnect (to another replica).
  if (draining) res.setHeader('connection', 'close');
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(text) });
  res.end(text);
  return status;
}

async function readJson(req) {
  let size = 0;
  const chunks = [];
  for await (const chunk of req) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, 'body too large');
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
  } catch {
    throw new HttpError(400, 'body is not JSON');
  }
}

async function database(query, params) {
  try {
    return await pool.query(query, params);
  } catch (error) {
    if (isUnavailable(error)) throw new HttpError(503, `database unavailable (${describeError(error)})`);
    throw error;
  }
}

// Route name -> method -> handler. The name is the metrics label: a fixed set, never the URL.
const ROUTES = {
  '/api/health': { GET: (req, res) => send(res, 200, { status: 'ok' }) },
  '/api/ready': {
    GET: async (req, res) => {
      const state = draining ? { ready: false, reason: 'shutting down' } : await checkReadiness(pool, migrations);
      return send(res, state.ready ? 200 : 503, state);
    },
  },
  '/api/version': { GET: (req, res) => send(res, 200, { release: config.release, migrations, features: config.features }) },
  '/api/orders': {
    GET: async (req, res) => {
      const result = await database('SELECT count(*)::int AS count FROM orders');
      return send(res, 200, result.rows[0]);
    },
    POST: async (req, res) => {
      const body = await readJson(req);
      const total = body.total_cents;
      if (!Number.isSafeInteger(total) || total < 0) {
        throw new HttpError(400, 'total_cents must be a non-negative integer');
      }
      const result = await database(
        'INSERT INTO orders (total_cents) VALUES ($1) RETURNING id, total_cents',
        [total],
      );
      return send(res, 201, result.rows[0]);
    },
  },
  '/metrics': {
    GET: async (req, res) => send(res, 200, await registry.metrics(), registry.contentType),
  },
  '/': { GET: (req, res) => send(res, 200, { service: 'shop-web', release: config.release }) },
};

async function handle(req, res, route) {
  if (route === 'other') return send(res, 404, { error: 'not found' });
  const handlers = ROUTES[route];
  const handler = handlers[req.method];
  if (!handler) {
    res.setHeader('allow', Object.keys(handlers).join(', '));
    return send(res, 405, { error: 'method not allowed' });
  }
  try {
    return await handler(req, res);
  } catch (error) {
    if (error instanceof HttpError) return send(res, error.status, { error: error.message });
    log.error('request failed', { route, error: describeError(error) });
    return res.headersSent ? 500 : send(res, 500, { error: 'internal error' });
  }
}

/** The route name of a request target; anything unknown (or unparsable) is "other". */
function routeOf(target) {
  try {
    const { pathname } = new URL(target, 'http://localhost');
    return Object.hasOwn(ROUTES, pathname) ? pathname : 'other';
  } catch {
    return 'other';
  }
}

const server = http.createServer((req, res) => {
  const start = process.hrtime.bigint();
  const route = routeOf(req.url);
  const method = METHODS.has(req.method) ? req.method : 'other';
  handle(req, res, route)
    .catch((error) => {
      // Only a failure to write the response itself gets here.
      log.error('response failed', { route, error: error.message });
      if (!res.headersSent) send(res, 500, { error: 'internal error' });
      return 500;
    })
    .then((status) => {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      observeRequest(route, method, status, seconds);
      log.debug('request', { method, route, status, ms: Math.round(seconds * 1000) });
    });
});
// Longer than the AWS load balancer's 60 s idle timeout: Node's default (5 s) would close
// connections the balancer still reuses, and it would answer those requests with 502.
server.keepAliveTimeout = 65_000;
server.headersTimeout = 66_000;

function shutdown(signal) {
  if (draining) {
    log.warn('second signal: exiting without finishing the drain', { signal });
    process.exit(1);
  }
  draining = true;
  log.info('draining: readiness now 503', { signal, drain_seconds: config.shutdownDrainSeconds });
  setTimeout(() => {
    log.info('drain over: closing the server');
    server.close(async () => {
      await pool.end().catch(() => {});
      log.info('stopped');
      process.exit(0);
    });
    server.closeIdleConnections();
    // In-flight requests get a bounded time to finish after the drain.
    setTimeout(() => {
      log.error('requests still open 10 s after the drain; exiting');
      process.exit(1);
    }, 10_000).unref();
  }, config.shutdownDrainSeconds * 1000);
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);

server.listen(config.port, () => {
  const secrets = Object.fromEntries(Object.entries(config.secrets).map(([k, v]) => [k, Boolean(v)]));
  log.info('listening', { port: server.address().port, node_env: config.nodeEnv, migrations, secrets });
});
