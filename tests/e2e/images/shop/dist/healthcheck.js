'use strict';
// Liveness of the worker: exits 0 while its heartbeat file is fresh, 1 otherwise.
const fs = require('node:fs');

const HEARTBEAT = process.env.WORKER_HEARTBEAT_FILE || '/tmp/worker-heartbeat';
const MAX_AGE_MS = Number(process.env.WORKER_HEARTBEAT_MAX_AGE_MS || 30000);

try {
  const age = Date.now() - fs.statSync(HEARTBEAT).mtimeMs;
  if (age > MAX_AGE_MS) {
    console.error(`worker heartbeat is ${Math.round(age / 1000)}s old`);
    process.exit(1);
  }
  process.exit(0);
} catch (error) {
  console.error(`no worker heartbeat (${error.code || error.message})`);
  process.exit(1);
}
