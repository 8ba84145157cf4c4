'use strict';
// Configuration from the environment only: what each process requires, how a bad environment
// is refused (one line, no secret in it), and how DATABASE_URL reaches pg.
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const { describe, test } = require('node:test');
const { Client } = require('pg');
const { ConfigError, loadConfig } = require('../src/config');
const { poolOptions } = require('../src/db');
const { APP_DIR, serviceEnv } = require('./helpers');

const DATABASE_URL = 'postgresql://shop_app:s3cret-Pw@db:5432/shop';
const full = serviceEnv({ DATABASE_URL, PORT: '3000' });
const without = (...names) => Object.fromEntries(Object.entries(full).filter(([name]) => !names.includes(name)));

describe('loadConfig', () => {
  test('reads every injected variable, with defaults for the app knobs', () => {
    const config = loadConfig('web', full);
    assert.equal(config.port, 3000);
    assert.equal(config.nodeEnv, 'test');
    assert.equal(config.logLevel, 'debug');
    assert.equal(config.databaseUrl, DATABASE_URL);
    assert.deepEqual(config.secrets, {
      paymentsApiKey: 'test-payments-key',
      emailApiKey: 'test-email-key',
      sessionSecret: 'test-session-secret',
    });
    assert.equal(config.shutdownDrainSeconds, 5);
    assert.equal(config.release, 'unknown');
    assert.ok(Object.isFrozen(config));
  });

  test('feature flags read as the platform renders them, with the product defaults', () => {
    assert.deepEqual(loadConfig('web', full).features, { newCheckout: false, ordersPageSize: 20 });
    const set = { ...full, FEATURE_NEW_CHECKOUT: 'true', FEATURE_ORDERS_PAGE_SIZE: '50' };
    assert.deepEqual(loadConfig('web', set).features, { newCheckout: true, ordersPageSize: 50 });
    assert.throws(() => loadConfig('web', { ...full, FEATURE_NEW_CHECKOUT: 'yes' }), {
      name: 'ConfigError',
      message: 'FEATURE_NEW_CHECKOUT must be true or false, got "yes"',
    });
    assert.throws(() => loadConfig('web', { ...full, FEATURE_ORDERS_PAGE_SIZE: '2.5' }), ConfigError);
  });

  test('web requires SESSION_SECRET; the worker, which is not given one, does not', () => {
    assert.throws(() => loadConfig('web', without('SESSION_SECRET')), {
      name: 'ConfigError',
      message: 'missing required environment variable SESSION_SECRET (see .env.example)',
    });
    assert.equal(loadConfig('worker', without('SESSION_SECRET', 'PORT')).secrets.sessionSecret, undefined);
  });

  test('every missing variable is named at once, an empty one counts as missing', () => {
    assert.throws(() => loadConfig('worker', { ...without('DATABASE_URL'), EMAIL_API_KEY: '' }), {
      message: 'missing required environment variables DATABASE_URL, EMAIL_API_KEY (see .env.example)',
    });
  });

  test('bad values are refused, and the message never carries a secret', () => {
    const cases = [
      [{ PORT: '80a' }, /^PORT must be an integer from 0 to 65535, got "80a"$/],
      [{ PORT: '70000' }, /^PORT must be an integer/],
      [{ LOG_LEVEL: 'verbose' }, /^LOG_LEVEL must be one of debug, info, warn, error/],
      [{ SHUTDOWN_DRAIN_SECONDS: '-1' }, /^SHUTDOWN_DRAIN_SECONDS must be a number/],
      [{ DATABASE_URL: 'mysql://shop:s3cret-Pw@db/shop' }, /^DATABASE_URL must be a postgresql:\/\/ URL$/],
    ];
    for (const [change, message] of cases) {
      assert.throws(
        () => loadConfig('web', { ...full, ...change }),
        (error) => {
          assert.ok(error instanceof ConfigError, error.stack);
          assert.match(error.message, message);
          assert.ok(!error.message.includes('s3cret'), error.message);
          assert.ok(!error.message.includes('\n'));
          return true;
        },
      );
    }
  });
});

describe('a process started with a bad environment', () => {
  for (const [script, env, missing] of [
    ['src/web.js', without('SESSION_SECRET', 'DATABASE_URL'), 'variables DATABASE_URL, SESSION_SECRET'],
    ['src/worker.js', without('PAYMENTS_API_KEY'), 'variable PAYMENTS_API_KEY'],
  ]) {
    test(`${script} exits 1 with one line on stderr naming ${missing}`, () => {
      const done = spawnSync(process.execPath, [script], { cwd: APP_DIR, env, encoding: 'utf8', timeout: 10_000 });
      assert.equal(done.status, 1, done.stdout + done.stderr);
      assert.equal(done.stdout, '');
      const role = script.includes('web') ? 'web' : 'worker';
      assert.equal(done.stderr, `shop-${role}: configuration error: missing required environment ${missing} (see .env.example)\n`);
    });
  }
});

describe('DATABASE_URL as pg reads it', () => {
  const ssl = (url) => new Client(poolOptions(url)).ssl;

  test("sslmode=require means libpq's require (encrypted, certificate not verified), as in Prisma", () => {
    assert.deepEqual(ssl(`${DATABASE_URL}?sslmode=require`), { rejectUnauthorized: false });
    assert.equal(ssl(`${DATABASE_URL}?sslmode=disable`), false);
    assert.equal(ssl(DATABASE_URL), false);
  });

  test("Prisma's schema parameter becomes the search_path", () => {
    const options = poolOptions(`${DATABASE_URL}?schema=shop`);
    assert.equal(options.connectionString, DATABASE_URL);
    assert.equal(options.options, '-c search_path=shop');
  });
});
