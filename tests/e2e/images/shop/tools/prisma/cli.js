#!/usr/bin/env node
// Offline stand-in for the Prisma CLI, for the platform's e2e images of app/ only (Prisma's
// engines download from binaries.prisma.sh, which these machines cannot reach). It implements
//   prisma migrate deploy
//   prisma migrate resolve --applied <name> | --rolled-back <name>
// on PostgreSQL the way Prisma Migrate does: migrations are prisma/migrations/<ts>_<name>/
// migration.sql applied in name order, each recorded in "_prisma_migrations" (Prisma's DDL)
// with checksum = sha256 of the file, under Prisma's advisory lock (72707369). A migration is
// recorded before it runs; its script runs in one transaction; success sets finished_at and
// applied_steps_count, failure keeps finished_at NULL and stores the error in logs (P3018), and
// a failed migration blocks later deploys (P3009) until it is resolved.
// The connection string comes from the datasource's env("...") in prisma/schema.prisma.
'use strict';

const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { Client } = require('pg');

const ADVISORY_LOCK = 72707369;
const SCHEMA_PATH = path.join('prisma', 'schema.prisma');
const MIGRATIONS_DIR = path.join('prisma', 'migrations');
const RESOLVE_URL = 'https://pris.ly/d/migrate-resolve';

const CREATE_TABLE = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`;

class CliError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

function datasourceEnv() {
  if (!fs.existsSync(SCHEMA_PATH)) {
    throw new CliError('P1012', `Could not find Prisma Schema at ${SCHEMA_PATH}`);
  }
  const match = fs.readFileSync(SCHEMA_PATH, 'utf8').match(/url\s*=\s*env\("([^"]+)"\)/);
  return match ? match[1] : 'DATABASE_URL';
}

function connectionString(envName) {
  const url = process.env[envName];
  if (!url) {
    throw new CliError(
      'P1012',
      `error: Environment variable not found: ${envName}.\n  -->  ${SCHEMA_PATH}`,
    );
  }
  return url;
}

function describe(url) {
  // Host, port, database and schema only: never the credentials.
  try {
    const parsed = new URL(url);
    const db = decodeURIComponent(parsed.pathname.replace(/^\//, '')) || 'postgres';
    const schema = parsed.searchParams.get('schema') || 'public';
    return `PostgreSQL database "${db}", schema "${schema}" at "${parsed.hostname}:${parsed.port || 5432}"`;
  } catch {
    return 'PostgreSQL database';
  }
}

function localMigrations() {
  if (!fs.existsSync(MIGRATIONS_DIR)) return [];
  return fs
    .readdirSync(MIGRATIONS_DIR, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort()
    .map((name) => {
      const script = fs.readFileSync(path.join(MIGRATIONS_DIR, name, 'migration.sql'));
      return {
        name,
        script: script.toString('utf8'),
        checksum: crypto.createHash('sha256').update(script).digest('hex'),
      };
    });
}

async function connect(url) {
  // libpq-style sslmode in the URL is honoured by pg; Prisma's ?schema= is not a pg option.
  const parsed = new URL(url);
  const schema = parsed.searchParams.get('schema');
  parsed.searchParams.delete('schema');
  const client = new Client({ connectionString: parsed.toString() });
  try {
    await client.connect();
  } catch (error) {
    throw new CliError(
      'P1001',
      `Can't reach database server at \`${parsed.hostname}:${parsed.port || 5432}\`\n\n` +
        `Please make sure your database server is running at \`${parsed.hostname}:${parsed.port || 5432}\`. (${error.code || error.message})`,
    );
  }
  if (schema) await client.query(`SET search_path TO "${schema.replace(/"/g, '""')}"`);
  return client;
}

function rows(result) {
  return result.rows;
}

async function deploy(client, migrations) {
  console.log(`\n${migrations.length} migration${migrations.length === 1 ? '' : 's'} found in prisma/migrations\n`);
  await client.query(CREATE_TABLE);
  const applied = rows(
    await client.query(
      `SELECT "id", "checksum", "finished_at", "migration_name", "rolled_back_at", "started_at"
         FROM "_prisma_migrations" ORDER BY "started_at" ASC`,
    ),
  );
  const failed = applied.filter((row) => row.finished_at === null && row.rolled_back_at === null);
  if (failed.length > 0) {
    const lines = failed.map(
      (row) => `The \`${row.migration_name}\` migration started at ${row.started_at.toISOString()} failed`,
    );
    throw new CliError(
      'P3009',
      `migrate found failed migrations in the target database, new migrations will not be applied. Read more about how to resolve migration issues in a production database: ${RESOLVE_URL}\n${lines.join('\n')}`,
    );
  }
  const done = new Map();
  for (const row of applied) {
    if (row.finished_at !== null && row.rolled_back_at === null) done.set(row.migration_name, row);
  }
  const local = new Set(migrations.map((m) => m.name));
  const missing = [...done.keys()].filter((name) => !local.has(name));
  if (missing.length > 0) {
    console.log(
      `The following migration(s) are applied to the database but missing from the local migrations directory: ${missing.join(', ')}\n`,
    );
  }
  const pending = migrations.filter((m) => !done.has(m.name));
  for (const m of migrations) {
    const row = done.get(m.name);
    if (row && row.checksum !== m.checksum) {
      console.log(`WARNING: migration \`${m.name}\` was modified after it was applied.`);
    }
  }
  if (pending.length === 0) {
    console.log('No pending migrations to apply.');
    return;
  }
  for (const m of pending) {
    console.log(`Applying migration \`${m.name}\``);
    const id = crypto.randomUUID();
    await client.query(
      `INSERT INTO "_prisma_migrations" ("id", "checksum", "migration_name", "started_at", "applied_steps_count")
       VALUES ($1, $2, $3, now(), 0)`,
      [id, m.checksum, m.name],
    );
    try {
      await client.query('BEGIN');
      await client.query(m.script); // simple query protocol: the whole script, one transaction
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      const message = `ERROR: ${error.message}`;
      const logs = `Migration name: ${m.name}\n\nDatabase error code: ${error.code || 'unknown'}\n\nDatabase error:\n${message}\n`;
      await client.query('UPDATE "_prisma_migrations" SET "logs" = $2 WHERE "id" = $1', [id, logs]);
      throw new CliError(
        'P3018',
        `A migration failed to apply. New migrations cannot be applied before the error is recovered from. Read more about how to resolve migration issues in a production database: ${RESOLVE_URL}\n\n${logs}`,
      );
    }
    await client.query(
      `UPDATE "_prisma_migrations" SET "finished_at" = now(), "applied_steps_count" = "applied_steps_count" + 1
        WHERE "id" = $1`,
      [id],
    );
  }
  console.log('\nThe following migration(s) have been applied:\n\nmigrations/');
  for (const m of pending) console.log(`  └─ ${m.name}/\n    └─ migration.sql`);
  console.log('      \nAll migrations have been successfully applied.');
}

async function resolve(client, migrations, flag, name) {
  await client.query(CREATE_TABLE);
  const migration = migrations.find((m) => m.name === name);
  if (!migration) {
    throw new CliError('P3017', `The migration ${name} could not be found.`);
  }
  if (flag === '--rolled-back') {
    const result = await client.query(
      `UPDATE "_prisma_migrations" SET "rolled_back_at" = now()
        WHERE "migration_name" = $1 AND "finished_at" IS NULL AND "rolled_back_at" IS NULL`,
      [name],
    );
    if (result.rowCount === 0) {
      throw new CliError('P3012', `Migration \`${name}\` cannot be rolled back because it is not in a failed state.`);
    }
    console.log(`Migration ${name} marked as rolled back.`);
    return;
  }
  const done = await client.query(
    `SELECT 1 FROM "_prisma_migrations"
      WHERE "migration_name" = $1 AND "finished_at" IS NOT NULL AND "rolled_back_at" IS NULL`,
    [name],
  );
  if (done.rowCount > 0) {
    throw new CliError('P3008', `The migration \`${name}\` is already recorded as applied in the database.`);
  }
  await client.query(
    `UPDATE "_prisma_migrations" SET "rolled_back_at" = now()
      WHERE "migration_name" = $1 AND "finished_at" IS NULL AND "rolled_back_at" IS NULL`,
    [name],
  );
  await client.query(
    `INSERT INTO "_prisma_migrations" ("id", "checksum", "migration_name", "started_at", "finished_at", "applied_steps_count")
     VALUES ($1, $2, $3, now(), now(), 0)`,
    [crypto.randomUUID(), migration.checksum, name],
  );
  console.log(`Migration ${name} marked as applied.`);
}

function usage() {
  return 'Usage: prisma migrate deploy | prisma migrate resolve (--applied | --rolled-back) <migration>';
}

async function main(argv) {
  if (argv[0] === '--version' || argv[0] === '-v') {
    console.log('prisma (platform e2e stand-in) 0.0.0-e2e');
    return 0;
  }
  const [group, command, ...rest] = argv;
  if (group !== 'migrate' || !['deploy', 'resolve'].includes(command)) {
    console.error(usage());
    return 1;
  }
  const envName = datasourceEnv();
  console.log(`Prisma schema loaded from ${SCHEMA_PATH}`);
  const url = connectionString(envName);
  console.log(`Datasource "db": ${describe(url)}`);
  const migrations = localMigrations();
  let resolveArgs;
  if (command === 'resolve') {
    const [flag, name] = rest;
    if (!['--applied', '--rolled-back'].includes(flag) || !name) {
      console.error(usage());
      return 1;
    }
    resolveArgs = [flag, name];
  }
  const client = await connect(url);
  try {
    await client.query('SELECT pg_advisory_lock($1)', [ADVISORY_LOCK]);
    if (command === 'deploy') await deploy(client, migrations);
    else await resolve(client, migrations, ...resolveArgs);
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [ADVISORY_LOCK]).catch(() => {});
    await client.end().catch(() => {});
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    if (error instanceof CliError) {
      console.error(`Error: ${error.code}\n\n${error.message}`);
    } else {
      console.error(`Error: ${error.message}`);
    }
    process.exit(1);
  },
);
