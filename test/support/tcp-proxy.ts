/**
 * A TCP proxy on 127.0.0.1 that can be paused: while paused, nothing passes either way (bytes and
 * closes are held back) and new connections wait, but no socket is closed. That is a network
 * partition, or a frozen peer, as a client sees it: requests get no answer, not a quick refusal.
 */
import { connect, createServer, type Socket } from 'node:net';

export interface TcpProxy {
  readonly port: number;
  pause(): void;
  resume(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  let paused = false;
  const sockets = new Set<Socket>();
  /** What was held back while paused, per direction, replayed in order on resume. */
  const held: Array<() => void> = [];

  const later = (action: () => void) => (paused ? held.push(action) : action());
  const forward = (from: Socket, to: Socket) => {
    from.on('data', (chunk: Buffer) => later(() => to.write(chunk)));
    from.on('end', () => later(() => to.end()));
    from.on('close', () => later(() => to.destroy()));
  };
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
  };

  const server = createServer((client) => {
    track(client);
    client.pause();
    later(() => {
      const upstream = connect(targetPort, targetHost);
      track(upstream);
      forward(client, upstream);
      forward(upstream, client);
      client.resume();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('proxy has no port');

  return {
    port: address.port,
    pause() {
      paused = true;
    },
    resume() {
      paused = false;
      for (const action of held.splice(0)) action();
    },
    async close() {
      held.length = 0;
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
