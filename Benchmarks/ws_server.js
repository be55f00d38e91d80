// The Node `ws` server of Benchmarks/listen_scale.py (issue 17), Debian's node-ws:
// listens on 127.0.0.1:PORT, echoes every client message, and broadcasts every line of
// stdin to every open client, as `wsc -l` does. Prints "listening PORT" once bound.
'use strict';
const { WebSocketServer } = require('/usr/share/nodejs/ws');
const readline = require('readline');

const port = Number(process.argv[2]);
const wss = new WebSocketServer({ host: '127.0.0.1', port, backlog: 511, perMessageDeflate: false });
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('error', () => {});
});
wss.on('listening', () => console.log(`listening ${port}`));
readline.createInterface({ input: process.stdin }).on('line', (line) => {
  for (const ws of wss.clients) ws.send(line);
});
