/**
 * The baseline: a bare `ws` server on node:http, doing what the gateway's WebSocket endpoint
 * does minus the gateway — the same upgrade (path and authToken read from the URL, same ws
 * options), then one answer per message: the bytes given on the command line (the gateway's
 * own response to the benchmark's Get, so both send the same bytes back) or, without them, an
 * echo. Prints {"msg":"listening","port":N}.
 */
import { createServer } from 'node:http';
import { WebSocketServer } from 'ws';

const reply = process.argv[2] ? Buffer.from(process.argv[2], 'base64') : undefined;
const wss = new WebSocketServer({ noServer: true, maxPayload: 16 * 1024 * 1024, clientTracking: false });
const server = createServer((_req, res) => {
  res.writeHead(404).end();
});

server.on('upgrade', (req, socket, head) => {
  socket.on('error', () => socket.destroy());
  const url = new URL(req.url ?? '/', 'http://bare.invalid');
  if (url.pathname !== '/v1/contract/command') {
    socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
    return;
  }
  void url.searchParams.get('authToken');
  wss.handleUpgrade(req, socket, head, (ws) => {
    ws.on('message', (data) => ws.send(reply ?? data, { binary: true }));
    ws.on('error', () => {});
  });
});

server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ msg: 'listening', port: server.address().port })}\n`);
});
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
