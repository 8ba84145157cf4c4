'use strict';
// The app's PostgreSQL access: a small pg pool on DATABASE_URL (the app role: reads and writes
// rows, no DDL; Prisma Migrate runs separately with the owner role).
const { Pool } = require('pg');

/**
 * DATABASE_URL as pg should read it. The platform writes libpq's `sslmode=require` on AWS
 * (encrypted, the RDS certificate not checked against a CA bundle the image lacks), and
 * Prisma reads it that way; pg 8 would treat it as verify-full unless `uselibpqcompat=true`.
 * Prisma's `schema` parameter becomes the search_path.
 */
function poolOptions(databaseUrl) {
  const url = new URL(databaseUrl);
  const options = {};
  const schema = url.searchParams.get('schema');
  if (schema) {
    url.searchParams.delete('schema');
    options.options = `-c search_path=${schema}`;
  }
  if (url.searchParams.has('sslmode') && !url.searchParams.has('uselibpqcompat')) {
    url.searchParams.set('uselibpqcompat', 'true');
  }
  return { connectionString: url.toString(), ...options };
}

function createPool(databaseUrl, log) {
  const pool = new Pool({
    ...poolOptions(databaseUrl),
    max: 5,
    // Fail fast: readiness must answer within the probe's 5 s timeout, DB down or not.
    connectionTimeoutMillis: 2000,
    statement_timeout: 3000,
    idleTimeoutMillis: 10000,
  });
  // An idle client losing its connection (database restart) must not crash the process.
  pool.on('error', (error) => log.warn('idle database connection lost', { error: describeError(error) }));
  return pool;
}

/** A database error without anything from the connection string. */
function describeError(error) {
  return error.code ? `${error.code}: ${error.message}` : error.message;
}

/** Errors that mean "the database cannot serve this now" (503), not "this request failed" (500). */
function isUnavailable(error) {
  // Socket errors carry a Node code (ECONNREFUSED...), pg's own connect timeout no code at all;
  // server errors a SQLSTATE: shutting down, too many connections, statement timeout, no such
  // database, or a table whose migration has not run yet.
  if (!error.code || /^E[A-Z]+$/.test(error.code)) return true;
  return ['57P01', '57P02', '57P03', '53300', '57014', '3D000', '42P01'].includes(error.code);
}

module.exports = { createPool, describeError, isUnavailable, poolOptions };
