/**
 * The benchmark's reference point: a bare `node:http` server that answers
 * `POST /v1/messages` the way the API does (parses the JSON body, answers 202 with a small JSON
 * body), and does nothing else. Run as its own process; prints `LISTENING <port>` on stdout.
 * Bound to loopback, stops on SIGTERM/SIGINT, when its stdin closes (its parent is gone) or after
 * BARE_HTTP_MAX_LIFE_MS.
 */
import http from 'node:http';

const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    let body: { message_id?: string; conversation_id?: string } = {};
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof body;
    } catch {
      res.writeHead(400, { 'content-type': 'application/json' }).end('{"status":400}');
      return;
    }
    const answer = JSON.stringify({ status: 'accepted', message_id: body.message_id, conversation_id: body.conversation_id, accepted_at: new Date().toISOString() });
    res.writeHead(202, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer) }).end(answer);
  });
});
server.keepAliveTimeout = 60_000;

const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdin.on('end', stop).resume();
setTimeout(() => process.exit(0), Number(process.env.BARE_HTTP_MAX_LIFE_MS ?? 600_000)).unref();

server.listen(0, '127.0.0.1', () => {
  const addr = server.address();
  process.stdout.write(`LISTENING ${typeof addr === 'object' && addr ? addr.port : 0}\n`);
});
