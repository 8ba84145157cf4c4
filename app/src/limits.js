'use strict';
// The container's CPU and memory limits, from its cgroup. The alert catalog's high_cpu and
// high_memory rules divide process_cpu_seconds_total and process_resident_memory_bytes by them
// (platform_cpu_limit_cores, platform_memory_limit_bytes): without them a 0.25-CPU container
// could never reach 85 % of one core. No limit set means the machine's own size.
const fs = require('node:fs');
const os = require('node:os');

function read(file) {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return null;
  }
}

/** cgroup v2 `cpu.max` ("25000 100000" -> 0.25 cores; "max 100000" -> null). */
function parseCpuMax(text) {
  const [quota, period] = (text || '').split(/\s+/);
  if (!quota || quota === 'max' || !Number(period)) return null;
  return Number(quota) / Number(period);
}

/** cgroup v2 `memory.max` or v1 `memory.limit_in_bytes`; "max" or a page-rounded 2^63 -> null. */
function parseMemoryMax(text, machineBytes = os.totalmem()) {
  if (!text || text === 'max') return null;
  const bytes = Number(text);
  return Number.isFinite(bytes) && bytes > 0 && bytes < machineBytes ? bytes : null;
}

/** The cgroup v2 directory of this process: the namespace root inside a container. */
function cgroupDir(root = '/sys/fs/cgroup') {
  const line = (read('/proc/self/cgroup') || '').split('\n').find((l) => l.startsWith('0::'));
  const own = line ? `${root}${line.slice(3)}` : root;
  return fs.existsSync(`${own}/cpu.max`) || fs.existsSync(`${own}/memory.max`) ? own : root;
}

function cpuLimitCores() {
  const dir = cgroupDir();
  let cores = parseCpuMax(read(`${dir}/cpu.max`));
  if (cores === null) {
    const quota = Number(read('/sys/fs/cgroup/cpu/cpu.cfs_quota_us'));
    const period = Number(read('/sys/fs/cgroup/cpu/cpu.cfs_period_us'));
    if (quota > 0 && period > 0) cores = quota / period;
  }
  return cores ?? os.availableParallelism();
}

function memoryLimitBytes() {
  const dir = cgroupDir();
  return (
    parseMemoryMax(read(`${dir}/memory.max`)) ??
    parseMemoryMax(read('/sys/fs/cgroup/memory/memory.limit_in_bytes')) ??
    os.totalmem()
  );
}

module.exports = { cpuLimitCores, memoryLimitBytes, parseCpuMax, parseMemoryMax };
