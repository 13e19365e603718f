/**
 * Slack's pace for one channel: "about one message per second, with short bursts allowed". A token bucket: `burst`
 * messages at once, then one every `1000 / perSecond` ms. Ordinary incidents never wait; a storm's replies are
 * spread out instead of being answered with 429s (which the retries still honour when Slack sends them).
 */
export class ChannelPace {
  private tokens: number;
  private updatedAt: number;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly limits: { readonly burst: number; readonly perSecond: number },
    private readonly clock: () => number,
    private readonly wait: (ms: number) => Promise<unknown>,
  ) {
    this.tokens = limits.burst;
    this.updatedAt = clock();
  }

  /** Runs `send` once a token is free; turns are taken in the order asked for. */
  async paced<T>(send: () => Promise<T>): Promise<T> {
    const turn = this.queue.then(() => this.takeToken());
    this.queue = turn.catch(() => undefined);
    await turn;
    return send();
  }

  private async takeToken(): Promise<void> {
    this.refill();
    if (this.tokens < 1) {
      await this.wait(Math.ceil(((1 - this.tokens) / this.limits.perSecond) * 1000));
      this.refill();
    }
    this.tokens = Math.max(0, this.tokens - 1);
  }

  private refill(): void {
    const now = this.clock();
    this.tokens = Math.min(this.limits.burst, this.tokens + ((now - this.updatedAt) / 1000) * this.limits.perSecond);
    this.updatedAt = now;
  }
}
