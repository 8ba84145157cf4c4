'use strict';
// Configuration comes only from the environment the platform injects: plain env from
// infra/product.py (NODE_ENV, LOG_LEVEL, PORT), the service's secrets and DATABASE_URL (the app
// role's). No config files, so the same image runs unchanged on every stack.
// Every name read here is listed in .env.example (test/env-example.test.js holds them together).

const LOG_LEVELS = ['debug', 'info', 'warn', 'error'];

// What each process refuses to start without: exactly what the platform injects into it
// (the worker gets no SESSION_SECRET and no PORT).
const REQUIRED = {
  web: ['DATABASE_URL', 'SESSION_SECRET', 'PAYMENTS_API_KEY', 'EMAIL_API_KEY'],
  worker: ['DATABASE_URL', 'PAYMENTS_API_KEY', 'EMAIL_API_KEY'],
};

// Feature flags: declared in infra/product.py (`flags`), set per stack under platform:features,
// injected into every process as FEATURE_<NAME>; the defaults here are the product's.
const FEATURES = {
  FEATURE_NEW_CHECKOUT: { key: 'newCheckout', type: 'bool', fallback: false },
  FEATURE_ORDERS_PAGE_SIZE: { key: 'ordersPageSize', type: 'int', fallback: 20 },
};

// Injected by the platform, with a default so a local run needs less typing.
const INJECTED_WITH_DEFAULT = ['NODE_ENV', 'LOG_LEVEL', 'PORT', 'METRICS_PORT', ...Object.keys(FEATURES)];

// The app's own knobs: never injected by the platform, all optional.
const OPTIONAL = [
  'APP_RELEASE',
  'SHUTDOWN_DRAIN_SECONDS',
  'WORKER_INTERVAL_SECONDS',
  'WORKER_HEARTBEAT_FILE',
  'WORKER_HEARTBEAT_MAX_AGE_SECONDS',
];

/** Every variable the app reads. */
const ALL_VARIABLES = [...new Set([...REQUIRED.web, ...REQUIRED.worker, ...INJECTED_WITH_DEFAULT, ...OPTIONAL])];

class ConfigError extends Error {
  name = 'ConfigError';
}

function number(env, name, fallback, { min = 0, max = Infinity, integer = false } = {}) {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
    const kind = integer ? 'an integer' : 'a number';
    throw new ConfigError(`${name} must be ${kind} from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

/** The flags as the platform renders them: true/false, or digits. */
function features(env) {
  const result = {};
  for (const [name, { key, type, fallback }] of Object.entries(FEATURES)) {
    const raw = env[name];
    if (raw === undefined || raw === '') {
      result[key] = fallback;
    } else if (type === 'bool') {
      if (raw !== 'true' && raw !== 'false') {
        throw new ConfigError(`${name} must be true or false, got "${raw}"`);
      }
      result[key] = raw === 'true';
    } else {
      result[key] = number(env, name, fallback, { min: 1, max: 1000, integer: true });
    }
  }
  return Object.freeze(result);
}

/** Only the worker's heartbeat settings: the liveness command needs nothing else. */
function heartbeatConfig(env = process.env) {
  return {
    heartbeatFile: env.WORKER_HEARTBEAT_FILE || '/tmp/shop-worker-heartbeat',
    heartbeatMaxAgeSeconds: number(env, 'WORKER_HEARTBEAT_MAX_AGE_SECONDS', 30, { min: 1 }),
  };
}

/**
 * The configuration of one process (`web` or `worker`), or a ConfigError whose message is one
 * line naming the variables at fault. Secret values never appear in a message.
 */
function loadConfig(role, env = process.env) {
  const missing = REQUIRED[role].filter((name) => !env[name]);
  if (missing.length > 0) {
    throw new ConfigError(
      `missing required environment variable${missing.length > 1 ? 's' : ''} ${missing.join(', ')} (see .env.example)`,
    );
  }
  if (!/^postgres(ql)?:\/\//.test(env.DATABASE_URL)) {
    throw new ConfigError('DATABASE_URL must be a postgresql:// URL');
  }
  const logLevel = env.LOG_LEVEL || 'info';
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`);
  }
  return Object.freeze({
    role,
    nodeEnv: env.NODE_ENV || 'production',
    logLevel,
    release: env.APP_RELEASE || 'unknown',
    databaseUrl: env.DATABASE_URL,
    secrets: Object.freeze({
      paymentsApiKey: env.PAYMENTS_API_KEY,
      emailApiKey: env.EMAIL_API_KEY,
      sessionSecret: env.SESSION_SECRET,
    }),
    // 0 picks a free port (tests); the platform always sets the declared one.
    port: number(env, 'PORT', 3000, { max: 65535, integer: true }),
    // The worker has no HTTP port: the platform gives it one for /metrics (unset: none; 0 picks
    // a free port, as tests do).
    metricsPort: number(env, 'METRICS_PORT', null, { max: 65535, integer: true }),
    shutdownDrainSeconds: number(env, 'SHUTDOWN_DRAIN_SECONDS', 5, { max: 300 }),
    workerIntervalSeconds: number(env, 'WORKER_INTERVAL_SECONDS', 5, { min: 0.05, max: 3600 }),
    features: features(env),
    ...heartbeatConfig(env),
  });
}

/** loadConfig for a process entry point: a bad environment is one line on stderr and exit 1. */
function loadConfigOrExit(role, env = process.env) {
  try {
    return loadConfig(role, env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`shop-${role}: configuration error: ${error.message}\n`);
    process.exit(1);
  }
}

module.exports = {
  ALL_VARIABLES,
  ConfigError,
  LOG_LEVELS,
  OPTIONAL,
  REQUIRED,
  heartbeatConfig,
  loadConfig,
  loadConfigOrExit,
};
