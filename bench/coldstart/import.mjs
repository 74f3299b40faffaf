// Prints how long `import('@corosync-ts/client')` takes in this fresh process, in ms.
const t0 = performance.now();
await import('@corosync-ts/client');
process.stdout.write(`${performance.now() - t0}\n`);
