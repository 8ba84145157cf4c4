'use strict';
// The worker's liveness command (`node src/healthcheck.js`, run inside its container by the
// platform): exit 0 while the worker's heartbeat file is fresher than
// WORKER_HEARTBEAT_MAX_AGE_SECONDS, 1 otherwise, with one line saying why. It reads only the
// heartbeat settings, so a liveness check never depends on secrets or the database.
const fs = require('node:fs');
const { heartbeatConfig } = require('./config');

function check() {
  const { heartbeatFile, heartbeatMaxAgeSeconds } = heartbeatConfig();
  let ageSeconds;
  try {
    ageSeconds = (Date.now() - fs.statSync(heartbeatFile).mtimeMs) / 1000;
  } catch (error) {
    return [1, `unhealthy: no worker heartbeat at ${heartbeatFile} (${error.code || error.message})`];
  }
  if (ageSeconds > heartbeatMaxAgeSeconds) {
    return [1, `unhealthy: worker heartbeat is ${Math.round(ageSeconds)}s old (limit ${heartbeatMaxAgeSeconds}s)`];
  }
  return [0, `healthy: worker heartbeat ${ageSeconds.toFixed(1)}s old`];
}

let result;
try {
  result = check();
} catch (error) {
  result = [1, `unhealthy: ${error.message}`];
}
const [code, message] = result;
(code === 0 ? process.stdout : process.stderr).write(`${message}\n`);
process.exit(code);
