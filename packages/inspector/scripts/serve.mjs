// `pnpm inspector`: serves dist/ on the loopback interface (the page also works opened as a file).
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const page = join(dirname(fileURLToPath(import.meta.url)), '../dist/index.html');
const port = Number(process.env.PORT ?? 8417);
createServer((req, res) => {
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  if (path !== '/' && path !== '/index.html') return void res.writeHead(404).end('not found');
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(readFileSync(page));
}).listen(port, '127.0.0.1', () => {
  console.log(`corosync capture inspector: http://127.0.0.1:${port}/  (or open ${page} directly)`);
});
