// Loaded into a service by benchmarks (NODE_OPTIONS=--require …; Node refuses --cpu-prof there):
// the first SIGUSR2 starts a CPU profile, the next writes it into BENCH_CPU_PROFILE_DIR as
// <service>-<pid>-<n>.cpuprofile, so a profile covers exactly one measured window.
/* eslint-disable @typescript-eslint/no-require-imports -- a CommonJS preload, as --require takes */
const fs = require('node:fs');
const inspector = require('node:inspector');
const path = require('node:path');

const dir = process.env.BENCH_CPU_PROFILE_DIR;
if (dir) {
  // subgraphs/<name>/dist/main.js or gateway/dist/main.js → the service's name.
  const script = process.argv[1] ?? '';
  const service = path.basename(path.dirname(path.dirname(script))) || 'node';
  const session = new inspector.Session();
  session.connect();
  let running = false;
  let count = 0;
  process.on('SIGUSR2', () => {
    if (!running) {
      running = true;
      session.post('Profiler.enable', () => session.post('Profiler.start'));
      return;
    }
    running = false;
    session.post('Profiler.stop', (err, result) => {
      if (err) return;
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(
        path.join(dir, `${service}-${process.pid}-${count++}.cpuprofile`),
        JSON.stringify(result.profile),
      );
    });
  });
}
