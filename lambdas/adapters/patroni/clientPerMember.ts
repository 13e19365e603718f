import { Client, Dispatcher, errors } from 'undici';

/**
 * One undici `Client` per member, kept for as long as the poller runs. undici's `Agent` closes an origin's pool
 * once its last connection ends, and Patroni's HTTP/1.0 server ends every connection after its reply, so the
 * Agent built and destroyed a pool and a client for every request (with an error object for each destroy): a
 * fifth of a 1,000-cluster round's CPU and about half its peak memory. A `Client` whose connection closed simply
 * connects again on its next request. The map holds one small object per configured member and nothing else.
 */
export class ClientPerMember extends Dispatcher {
  private readonly clients = new Map<string, Client>();
  private closed = false;

  constructor(private readonly options: Client.Options) {
    super();
  }

  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    // As undici's own dispatchers do: once closed, a request fails rather than opening a client nobody closes.
    if (this.closed) throw new errors.ClientClosedError();
    const origin = String(options.origin);
    let client = this.clients.get(origin);
    if (!client) {
      client = new Client(origin, this.options);
      this.clients.set(origin, client);
    }
    return client.dispatch(options, handler);
  }

  override async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.clients.values()].map((client) => client.close()));
    this.clients.clear();
  }

  override async destroy(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.clients.values()].map((client) => client.destroy()));
    this.clients.clear();
  }
}
