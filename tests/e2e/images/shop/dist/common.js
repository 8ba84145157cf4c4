'use strict';
// Shared by the fixture's web and worker: configuration, the database, logging.
const fs = require('node:fs');
const path = require('node:path');
const { Pool } = require('pg');

const SECRET_ENV = ['PAYMENTS_API_KEY', 'EMAIL_API_KEY', 'SESSION_SECRET', 'DATABASE_URL'];
const MIGRATIONS_DIR = path.join(__dirname, '..', 'prisma', 'migrations');
const RELEASE = process.env.APP_RELEASE || 'unknown';

function log(level, message, fields = {}) {
  console.log(JSON.stringify({ time: new Date().toISOString(), level, message, release: RELEASE, ...fields }));
}

/** Which secrets the platform injected: names only, never values. */
function secretsPresent() {
  return Object.fromEntries(SECRET_ENV.map((name) => [name, Boolean(process.env[name])]));
}

/** The migrations this image ships (prisma/migrations/<name>/migration.sql). */
function imageMigrations() {
  return fs
    .readdirSync(MIGRATIONS_DIR, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
}

function pool() {
  if (!process.env.DATABASE_URL) return null;
  const p = new Pool({
    connectionString: process.env.DATABASE_URL,
    max: 3,
    connectionTimeoutMillis: 3000,
    idleTimeoutMillis: 10000,
  });
  p.on('error', (error) => log('warn', 'idle database connection failed', { error: error.code || error.message }));
  return p;
}

/** Database errors without anything from the connection string. */
function describeError(error) {
  return error.code ? `${error.code}: ${error.message}` : error.message;
}

module.exports = { RELEASE, describeError, imageMigrations, log, pool, secretsPresent };
