'use strict';
// JSON lines on stdout, one per event: what Docker and CloudWatch Logs collect as they are.
// Callers pass names, counts and error codes; never a secret or a connection string.
const { LOG_LEVELS } = require('./config');

function createLogger({ level = 'info', release = 'unknown', service } = {}) {
  const threshold = LOG_LEVELS.indexOf(level);
  const write = (name) => (message, fields = {}) => {
    if (LOG_LEVELS.indexOf(name) < threshold) return;
    const line = { time: new Date().toISOString(), level: name, service, release, message, ...fields };
    process.stdout.write(`${JSON.stringify(line)}\n`);
  };
  return Object.fromEntries(LOG_LEVELS.map((name) => [name, write(name)]));
}

module.exports = { createLogger };
