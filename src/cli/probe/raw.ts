/** A raw connection for wire-level probes: send bytes, read reply lines, notice when the daemon closes. */
import type { Duplex } from 'node:stream';

export class RawConnection {
  #buf = '';
  #wake: (() => void) | undefined;
  closed = false;

  constructor(readonly socket: Duplex) {
    socket.on('data', (d: Buffer) => {
      if (this.#buf.length < 1 << 20) this.#buf += d.toString();
      this.#wake?.();
    });
    socket.on('close', () => { this.closed = true; this.#wake?.(); });
    socket.on('error', () => {});
  }

  send(data: string | Buffer): void {
    if (!this.closed) this.socket.write(data);
  }

  /** Next reply line, or undefined when the connection closed or the time ran out. */
  async line(timeoutMs: number): Promise<string | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const nl = this.#buf.indexOf('\n');
      if (nl >= 0) {
        const l = this.#buf.slice(0, nl);
        this.#buf = this.#buf.slice(nl + 1);
        return l;
      }
      const left = deadline - Date.now();
      if (this.closed || left <= 0) return undefined;
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.#wake = () => { clearTimeout(t); r(); };
      });
    }
  }

  /** True once the daemon has closed the connection (within the time). */
  async waitClosed(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed && Date.now() < deadline) {
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.min(200, deadline - Date.now()));
        this.#wake = () => { clearTimeout(t); r(); };
      });
      this.#buf = '';
    }
    return this.closed;
  }

  /** One JSON-RPC call; the parsed reply or undefined. */
  async call(id: number, method: string, params: unknown, timeoutMs: number): Promise<{ result?: Record<string, unknown>; error?: { data?: { code?: string }; message?: string } } | undefined> {
    this.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }) + '\n');
    const l = await this.line(timeoutMs);
    if (l === undefined) return undefined;
    try {
      return JSON.parse(l) as never;
    } catch {
      return undefined;
    }
  }

  destroy(): void {
    this.socket.destroy();
  }
}
