// An exclusive lock file holding our pid, so that two processes (say, parallel test workers) never
// start the same services twice; a lock left by a dead process is taken over.
import fs from 'node:fs';
import { livePid, sleep } from './processes.mjs';

/** Waits until `file` is ours; resolves with the function that releases it. */
export async function lock(file, log) {
  for (let waited = 0; ; waited += 200) {
    try {
      fs.writeFileSync(file, String(process.pid), { flag: 'wx' });
      return () => fs.rmSync(file, { force: true });
    } catch (e) {
      if (e.code !== 'EEXIST') throw e;
      if (!livePid(file)) {
        fs.rmSync(file, { force: true });
        continue;
      }
      if (waited === 0) log(`stack: waiting for another stack process (${file})`);
      await sleep(200);
    }
  }
}
