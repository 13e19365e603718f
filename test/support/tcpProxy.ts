import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A loopback TCP proxy in front of a peer (the AWS emulator) that a test can cut and restore: cut drops every open
 * connection and refuses new ones, as a network partition or an endpoint outage does.
 */
export class CuttableProxy {
  private server: Server | null = null;
  private readonly open = new Set<Socket>();
  private cutNow = false;

  constructor(private readonly targetPort: number) {}

  /** Starts listening on an ephemeral loopback port; returns the proxy's `http://127.0.0.1:port` endpoint. */
  async start(): Promise<string> {
    this.server = createServer((client) => {
      if (this.cutNow) {
        client.destroy();
        return;
      }
      const upstream = connect(this.targetPort, '127.0.0.1');
      for (const socket of [client, upstream]) {
        this.open.add(socket);
        socket.on('close', () => this.open.delete(socket));
        socket.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server!.address() as { port: number }).port}`;
  }

  cut(): void {
    this.cutNow = true;
    for (const socket of this.open) socket.destroy();
  }

  restore(): void {
    this.cutNow = false;
  }

  async stop(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
