'use strict';
// The fixture's web service: GET /api/ready is 200 only when the database answers and every
// migration shipped in this image is recorded as finished in _prisma_migrations, 503 before.
// Also: GET /api/version, GET/POST /api/orders (the app role reads and writes), GET /metrics.
const http = require('node:http');
const { RELEASE, describeError, imageMigrations, log, pool, secretsPresent } = require('./common');

const PORT = Number(process.env.PORT || 3000);
const MIGRATIONS = imageMigrations();
const db = pool();
const started = Date.now() / 1000;
const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const requests = new Map(); // "route|status" -> count
const durations = { buckets: BUCKETS.map(() => 0), sum: 0, count: 0 };

async function readiness() {
  if (!db) return { ready: false, reason: 'DATABASE_URL is not set' };
  let finished;
  try {
    const result = await db.query(
      `SELECT migration_name FROM "_prisma_migrations"
        WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`,
    );
    finished = new Set(result.rows.map((row) => row.migration_name));
  } catch (error) {
    const reason = error.code === '42P01' ? 'no migrations applied yet' : `database: ${describeError(error)}`;
    return { ready: false, reason };
  }
  const pending = MIGRATIONS.filter((name) => !finished.has(name));
  if (pending.length > 0) return { ready: false, reason: 'migrations not applied', pending };
  return { ready: true, migrations: MIGRATIONS };
}

function send(res, status, body, type = 'application/json') {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    let data = '';
    req.on('data', (chunk) => {
      data += chunk;
      if (data.length > 65536) reject(new Error('body too large'));
    });
    req.on('end', () => resolve(data));
    req.on('error', reject);
  });
}

function metrics() {
  const lines = [];
  lines.push('# TYPE http_requests_total counter');
  for (const [key, count] of requests) {
    const [route, status] = key.split('|');
    lines.push(`http_requests_total{route="${route}",status="${status}"} ${count}`);
  }
  lines.push('# TYPE http_request_duration_seconds histogram');
  BUCKETS.forEach((le, i) => lines.push(`http_request_duration_seconds_bucket{le="${le}"} ${durations.buckets[i]}`));
  lines.push(`http_request_duration_seconds_bucket{le="+Inf"} ${durations.count}`);
  lines.push(`http_request_duration_seconds_sum ${durations.sum}`);
  lines.push(`http_request_duration_seconds_count ${durations.count}`);
  const cpu = process.cpuUsage();
  lines.push('# TYPE process_cpu_seconds_total counter');
  lines.push(`process_cpu_seconds_total ${(cpu.user + cpu.system) / 1e6}`);
  lines.push('# TYPE process_resident_memory_bytes gauge');
  lines.push(`process_resident_memory_bytes ${process.memoryUsage().rss}`);
  lines.push('# TYPE process_start_time_seconds gauge');
  lines.push(`process_start_time_seconds ${started}`);
  return `${lines.join('\n')}\n`;
}

async function route(req, res) {
  const url = new URL(req.url, 'http://localhost');
  if (req.method === 'GET' && url.pathname === '/api/ready') {
    const state = await readiness();
    return ['/api/ready', send(res, state.ready ? 200 : 503, state), state.ready ? 200 : 503];
  }
  if (req.method === 'GET' && url.pathname === '/api/version') {
    return ['/api/version', send(res, 200, { release: RELEASE, migrations: MIGRATIONS }), 200];
  }
  if (req.method === 'GET' && url.pathname === '/metrics') {
    return ['/metrics', send(res, 200, metrics(), 'text/plain; version=0.0.4'), 200];
  }
  if (url.pathname === '/api/orders' && (req.method === 'GET' || req.method === 'POST')) {
    if (!db) return ['/api/orders', send(res, 503, { error: 'no database' }), 503];
    try {
      if (req.method === 'POST') {
        const body = JSON.parse((await readBody(req)) || '{}');
        const total = Number.isInteger(body.total_cents) ? body.total_cents : 100;
        const result = await db.query(
          'INSERT INTO orders (total_cents) VALUES ($1) RETURNING id, total_cents',
          [total],
        );
        return ['/api/orders', send(res, 201, result.rows[0]), 201];
      }
      const result = await db.query('SELECT count(*)::int AS count FROM orders');
      return ['/api/orders', send(res, 200, result.rows[0]), 200];
    } catch (error) {
      return ['/api/orders', send(res, 500, { error: describeError(error) }), 500];
    }
  }
  if (req.method === 'GET' && url.pathname === '/') {
    return ['/', send(res, 200, { service: 'shop-web', release: RELEASE }), 200];
  }
  return ['other', send(res, 404, { error: 'not found' }), 404];
}

const server = http.createServer((req, res) => {
  const start = process.hrtime.bigint();
  route(req, res)
    .catch((error) => {
      log('error', 'request failed', { error: error.message });
      if (!res.headersSent) send(res, 500, { error: 'internal error' });
      return ['other', undefined, 500];
    })
    .then(([name, , status]) => {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      const key = `${name}|${status}`;
      requests.set(key, (requests.get(key) || 0) + 1);
      BUCKETS.forEach((le, i) => {
        if (seconds <= le) durations.buckets[i] += 1;
      });
      durations.sum += seconds;
      durations.count += 1;
    });
});

function shutdown(signal) {
  log('info', 'shutting down', { signal });
  server.close();
  Promise.resolve(db && db.end()).finally(() => process.exit(0));
  setTimeout(() => process.exit(0), 5000).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);

server.listen(PORT, '0.0.0.0', () => {
  log('info', 'shop-web listening', { port: PORT, migrations: MIGRATIONS, secrets: secretsPresent() });
});
