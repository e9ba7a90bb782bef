// Small measuring tools shared by the benchmarks: percentiles, rounding, and the resident memory of
// a process tree (a gateway with cluster workers counts as one), sampled for its peak.
import fs from 'node:fs';

/** The p-th percentile of an ascending array (nearest rank). */
export const percentile = (sorted, p) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] : NaN;

export const round = (value, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits;

/** `rootPid` and its descendants (cluster workers), from /proc. */
function processTree(rootPid) {
  const children = new Map();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const ppid = Number(/^PPid:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${entry}/status`, 'utf8'))?.[1]);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push(Number(entry));
    } catch {
      // the process ended while we read it
    }
  }
  const tree = [];
  const stack = [rootPid];
  while (stack.length) {
    const pid = stack.pop();
    tree.push(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  return tree;
}

const readOr = (file, fallback) => {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return fallback;
  }
};

/** Resident memory of a process and all its descendants, in MB. */
export function treeRssMb(rootPid) {
  const kb = processTree(rootPid).reduce(
    (sum, pid) => sum + Number(/^VmRSS:\s+(\d+)/m.exec(readOr(`/proc/${pid}/status`, ''))?.[1] ?? 0),
    0,
  );
  return kb / 1024;
}

/** CPU seconds (user + system) used so far by a process and its live descendants. */
export function treeCpuSeconds(rootPid) {
  const ticks = processTree(rootPid).reduce((sum, pid) => {
    const fields = readOr(`/proc/${pid}/stat`, ') ').split(') ')[1]?.split(' ') ?? [];
    return sum + Number(fields[11] ?? 0) + Number(fields[12] ?? 0);
  }, 0);
  return ticks / 100;
}

/** Samples `pid`'s tree RSS every `everyMs` until stopped; `peak()` since the last `reset()`. */
export function rssSampler(pid, everyMs = 100) {
  let peak = 0;
  const sample = () => {
    peak = Math.max(peak, treeRssMb(pid));
  };
  sample();
  const timer = setInterval(sample, everyMs);
  return {
    peak: () => (sample(), peak),
    now: () => treeRssMb(pid),
    reset: () => {
      peak = 0;
      sample();
    },
    stop: () => clearInterval(timer),
  };
}
