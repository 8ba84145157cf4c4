'use strict';
// Prometheus metrics, exactly what the platform's alert catalog queries
// (components/alerts.py; tests/app/test_metrics_contract.py keeps the two in step):
//   http_requests_total{route,method,status}       high_error_rate
//   http_request_duration_seconds{route} histogram high_latency_p95
//   process_cpu_seconds_total, process_resident_memory_bytes, process_start_time_seconds
//                                                   high_cpu, high_memory, container_restarts
//   platform_cpu_limit_cores, platform_memory_limit_bytes   the limits those two divide by
// Prometheus adds the `service` label at scrape time; the app never sets it.
const client = require('prom-client');
const { cpuLimitCores, memoryLimitBytes } = require('./limits');

const registry = new client.Registry();
client.collectDefaultMetrics({ register: registry });

const requests = new client.Counter({
  name: 'http_requests_total',
  help: 'HTTP requests answered, by route, method and status code.',
  labelNames: ['route', 'method', 'status'],
  registers: [registry],
});

const duration = new client.Histogram({
  name: 'http_request_duration_seconds',
  help: 'Time to answer an HTTP request, by route.',
  labelNames: ['route'],
  // Up to the p95 alert's 800 ms threshold in fine steps, then coarse.
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.8, 1, 2.5, 5, 10],
  registers: [registry],
});

new client.Gauge({
  name: 'platform_cpu_limit_cores',
  help: "The container's CPU limit in cores (the machine's CPU count without one).",
  registers: [registry],
  collect() {
    this.set(cpuLimitCores());
  },
});

new client.Gauge({
  name: 'platform_memory_limit_bytes',
  help: "The container's memory limit in bytes (the machine's memory without one).",
  registers: [registry],
  collect() {
    this.set(memoryLimitBytes());
  },
});

/** Count one answered request. `route` is a route name, never the raw URL (bounded labels). */
function observeRequest(route, method, status, seconds) {
  requests.inc({ route, method, status: String(status) });
  duration.observe({ route }, seconds);
}

module.exports = { observeRequest, registry };
