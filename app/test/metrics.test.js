'use strict';
// GET /metrics: the names, types and labels the platform's alert rules query, counted per
// request; and the cgroup parsing behind the limit gauges.
const assert = require('node:assert/strict');
const { after, before, describe, test } = require('node:test');
const { request, startWeb, unreachableDatabaseUrl } = require('./helpers');
const { parseCpuMax, parseMemoryMax } = require('../src/limits');

/** Exposition text -> [{ name, labels, value }]. */
function samples(text) {
  return text
    .split('\n')
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const match = line.match(/^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)/);
      assert.ok(match, `not a sample line: ${line}`);
      const labels = Object.fromEntries([...(match[2] || '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
      return { name: match[1], labels, value: Number(match[3]) };
    });
}

function find(all, name, labels = {}) {
  return all.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

describe('/metrics', () => {
  let web;
  before(async () => {
    web = await startWeb({ DATABASE_URL: await unreachableDatabaseUrl() });
  });
  after(() => web?.stop());

  test('is Prometheus text with the types the rules expect', async () => {
    const { status, text, headers } = await request(web.url, '/metrics');
    assert.equal(status, 200);
    assert.match(headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
    for (const [name, type] of [
      ['http_requests_total', 'counter'],
      ['http_request_duration_seconds', 'histogram'],
      ['process_cpu_seconds_total', 'counter'],
      ['process_resident_memory_bytes', 'gauge'],
      ['process_start_time_seconds', 'gauge'],
      ['platform_cpu_limit_cores', 'gauge'],
      ['platform_memory_limit_bytes', 'gauge'],
    ]) {
      assert.match(text, new RegExp(`^# TYPE ${name} ${type}$`, 'm'), name);
    }
  });

  test('counts each request by route, method and status, and times it by route', async () => {
    const before = samples((await request(web.url, '/metrics')).text);
    const count = (all, labels) => find(all, 'http_requests_total', labels)[0]?.value ?? 0;
    await request(web.url, '/api/health');
    await request(web.url, '/api/health');
    await request(web.url, '/api/ready'); // 503: no database
    await request(web.url, '/no/such/page?id=1'); // 404, under route "other", not its URL
    const all = samples((await request(web.url, '/metrics')).text);

    const health = { route: '/api/health', method: 'GET', status: '200' };
    assert.equal(count(all, health) - count(before, health), 2);
    assert.equal(count(all, { route: '/api/ready', method: 'GET', status: '503' }), 1);
    assert.equal(count(all, { route: 'other', method: 'GET', status: '404' }), 1);
    const routes = new Set(find(all, 'http_requests_total').map((s) => s.labels.route));
    assert.ok(![...routes].some((route) => route.includes('no/such')), [...routes].join(', '));
    for (const s of find(all, 'http_requests_total')) {
      assert.deepEqual(Object.keys(s.labels).sort(), ['method', 'route', 'status']);
    }

    const buckets = find(all, 'http_request_duration_seconds_bucket', { route: '/api/health' });
    assert.ok(buckets.length > 1);
    assert.deepEqual(Object.keys(buckets[0].labels).sort(), ['le', 'route']);
    assert.ok(buckets.some((b) => b.labels.le === '0.8'), 'a bucket at the p95 alert threshold');
    assert.equal(find(all, 'http_request_duration_seconds_bucket', { route: '/api/health', le: '+Inf' })[0].value, count(all, health));
    assert.equal(find(all, 'http_request_duration_seconds_count', { route: '/api/health' })[0].value, count(all, health));
  });

  test('process metrics and container limits have plausible values', async () => {
    const all = samples((await request(web.url, '/metrics')).text);
    const value = (name) => find(all, name)[0].value;
    const startedAgo = Date.now() / 1000 - value('process_start_time_seconds');
    // prom-client rounds the start time to a whole second.
    assert.ok(startedAgo > -1 && startedAgo < 120, `started ${startedAgo}s ago`);
    assert.ok(value('process_resident_memory_bytes') > 1e6);
    assert.ok(value('process_cpu_seconds_total') > 0);
    assert.ok(value('platform_cpu_limit_cores') > 0);
    assert.ok(value('platform_memory_limit_bytes') >= value('process_resident_memory_bytes'));
  });
});

test('cgroup limits: v2 cpu.max and memory.max, "max" meaning none', () => {
  assert.equal(parseCpuMax('25000 100000'), 0.25);
  assert.equal(parseCpuMax('200000 100000'), 2);
  assert.equal(parseCpuMax('max 100000'), null);
  assert.equal(parseCpuMax(null), null);
  assert.equal(parseMemoryMax('536870912', 8 * 2 ** 30), 536870912);
  assert.equal(parseMemoryMax('max', 8 * 2 ** 30), null);
  // cgroup v1 "no limit": 2^63 rounded down to a page, above any machine's memory
  assert.equal(parseMemoryMax('9223372036854771712', 8 * 2 ** 30), null);
  assert.equal(parseMemoryMax(null), null);
});
