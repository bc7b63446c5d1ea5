// Node BullMQ's own view of mikrosync's queue, as Bull Board gets it: prints one JSON line.
//   node probe.js REDIS_URL PREFIX QUEUE workers|counts|pause|resume
'use strict';
const { Queue } = require('bullmq');

async function main() {
  const [redisUrl, prefix, name, what] = process.argv.slice(2);
  const url = new URL(redisUrl);
  const connection = {
    host: url.hostname,
    port: Number(url.port || 6379),
    db: Number((url.pathname || '/0').slice(1) || 0),
    password: url.password ? decodeURIComponent(url.password) : undefined,
    maxRetriesPerRequest: 1,
  };
  const queue = new Queue(name, { connection, prefix });
  try {
    let result;
    if (what === 'workers') {
      const workers = await queue.getWorkers();
      result = { workers: workers.map(w => ({ name: w.name, rawname: w.rawname })) };
    } else if (what === 'counts') {
      result = { counts: await queue.getJobCounts(), paused: await queue.isPaused() };
    } else if (what === 'pause') {
      await queue.pause();
      result = { paused: await queue.isPaused() };
    } else if (what === 'resume') {
      await queue.resume();
      result = { paused: await queue.isPaused() };
    } else {
      throw new Error(`unknown command ${what}`);
    }
    process.stdout.write(JSON.stringify(result) + '\n');
  } finally {
    await queue.close();
  }
}

main().catch(err => {
  process.stderr.write(String(err && err.stack ? err.stack : err) + '\n');
  process.exit(1);
});
