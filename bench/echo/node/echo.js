// The Node.js echo server of bench/echo (an optional row: bench/echo/run --servers ...,node).
//
// Idiomatic Node: net.createServer and socket.pipe(socket), which echoes every chunk with
// backpressure (pipe pauses reading while the write side is over its high-water mark). Node's
// net module runs on libuv, so this row is "libuv plus a JavaScript callback per read".
// TCP_NODELAY is on, as in every server of the benchmark.
//
// Usage: node echo.js PORT
'use strict';
const net = require('net');

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error('usage: node echo.js PORT');
  process.exit(2);
}

const server = net.createServer((socket) => {
  socket.setNoDelay(true);
  socket.on('error', (err) => {
    if (err.code !== 'ECONNRESET' && err.code !== 'EPIPE')
      console.error(`echo.js: ${err.code} on ${socket.remoteAddress}:${socket.remotePort}`);
  });
  socket.pipe(socket); // on the peer's EOF, pipe ends our side too
});
server.on('error', (err) => {
  console.error(`echo.js: ${err.code} in listen on 127.0.0.1:${port}`);
  process.exit(1);
});
server.listen({ host: '127.0.0.1', port, backlog: 1024 }, () => {
  console.error(`echo.js: node ${process.version}, listening on 127.0.0.1:${port}`);
});
