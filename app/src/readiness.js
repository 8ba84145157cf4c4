'use strict';
// Readiness: may this process take traffic? Only when the database answers and every migration
// shipped in this image is recorded as finished (and not rolled back) in Prisma's
// _prisma_migrations table. The platform runs `prisma migrate deploy` before starting the web
// containers; this check is what keeps a container whose schema is not there yet (or a
// half-applied release) out of the load balancer.
const fs = require('node:fs');
const path = require('node:path');
const { describeError } = require('./db');

const MIGRATIONS_DIR = path.join(__dirname, '..', 'prisma', 'migrations');

/** The migrations this image ships: the directories of prisma/migrations, in apply order. */
function shippedMigrations(dir = MIGRATIONS_DIR) {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
}

const FINISHED = `SELECT migration_name FROM "_prisma_migrations"
                   WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`;

/** { ready, reason?, pending? } for the database behind `pool`. */
async function checkReadiness(pool, shipped) {
  let finished;
  try {
    finished = new Set((await pool.query(FINISHED)).rows.map((row) => row.migration_name));
  } catch (error) {
    if (error.code === '42P01') return { ready: false, reason: 'no migration has been applied', pending: shipped };
    return { ready: false, reason: `database unavailable (${describeError(error)})` };
  }
  const pending = shipped.filter((name) => !finished.has(name));
  if (pending.length > 0) return { ready: false, reason: 'migrations pending', pending };
  return { ready: true };
}

module.exports = { MIGRATIONS_DIR, checkReadiness, shippedMigrations };
