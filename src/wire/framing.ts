/**
 * Bounded newline-delimited framing. Bytes are split on `\n`; a frame longer than `maxFrameBytes`
 * (without its newline) is reported once and nothing more is buffered: the caller must close.
 */

export const DEFAULT_MAX_FRAME_BYTES = 1024 * 1024;

import { isAscii } from 'node:buffer';

const NEWLINE = 0x0a;

export interface LineSink {
  /** A complete frame, without its trailing `\n` (and without a trailing `\r`). */
  line(frame: Buffer): void;
  /** The peer exceeded the frame limit; no more lines will be delivered. */
  overflow(bytesSeen: number): void;
  /**
   * Optional: an all-ASCII frame as text (already known to be valid UTF-8). When the sink has it, the
   * complete lines of an ASCII chunk are decoded to one string and handed over without a Buffer per line.
   */
  lineText?(frame: string): void;
}

/**
 * Incremental line splitter with a hard size bound. Chunks are only copied when a frame spans
 * several chunks; the common case (whole lines in one chunk) is sliced without copying.
 */
export class LineDecoder {
  /** Pieces of a frame spanning several chunks; created on first use (most connections never need it). */
  private pending: Buffer[] | undefined;
  private pendingBytes = 0;
  private failed = false;

  constructor(
    private readonly sink: LineSink,
    readonly maxFrameBytes: number = DEFAULT_MAX_FRAME_BYTES,
  ) {
    if (!Number.isInteger(maxFrameBytes) || maxFrameBytes < 16) {
      throw new TypeError('maxFrameBytes must be an integer >= 16');
    }
  }

  /** True once the frame limit was exceeded. */
  get overflowed(): boolean {
    return this.failed;
  }

  /** Bytes buffered waiting for a newline. */
  get buffered(): number {
    return this.pendingBytes;
  }

  push(chunk: Buffer): void {
    if (this.failed) return;
    let start = 0;
    if (this.pendingBytes === 0 && this.sink.lineText) start = this.pushAscii(chunk);
    for (;;) {
      const nl = chunk.indexOf(NEWLINE, start);
      if (nl === -1) break;
      const piece = chunk.subarray(start, nl);
      start = nl + 1;
      let frame: Buffer;
      if (this.pendingBytes === 0) {
        frame = piece;
      } else {
        this.pending!.push(piece);
        frame = Buffer.concat(this.pending!, this.pendingBytes + piece.length);
        this.pending = undefined;
        this.pendingBytes = 0;
      }
      if (frame.length > 0 && frame[frame.length - 1] === 0x0d) frame = frame.subarray(0, frame.length - 1);
      if (frame.length > this.maxFrameBytes) {
        this.fail(frame.length);
        return;
      }
      this.sink.line(frame);
      if (this.failed) return;
    }
    if (start < chunk.length) {
      const rest = chunk.length - start;
      if (this.pendingBytes + rest > this.maxFrameBytes + 1) {
        this.fail(this.pendingBytes + rest);
        return;
      }
      // Copy: the caller may reuse chunk memory, and a small tail must not pin a large chunk.
      (this.pending ??= []).push(Buffer.from(chunk.subarray(start)));
      this.pendingBytes += rest;
    }
  }

  /**
   * The fast path for the common case: the chunk's complete lines are ASCII, so byte offsets are character
   * offsets and one latin1 decode serves every line. Returns where the per-line path must continue.
   */
  private pushAscii(chunk: Buffer): number {
    const last = chunk.lastIndexOf(NEWLINE);
    if (last < 0 || !isAscii(chunk.subarray(0, last))) return 0;
    const text = chunk.toString('latin1', 0, last + 1);
    let start = 0;
    for (;;) {
      const nl = text.indexOf('\n', start);
      if (nl === -1) return start;
      const end = nl > start && text.charCodeAt(nl - 1) === 0x0d ? nl - 1 : nl;
      if (end - start > this.maxFrameBytes) {
        this.fail(end - start);
        return chunk.length;
      }
      const frame = text.slice(start, end);
      start = nl + 1;
      this.sink.lineText!(frame);
      if (this.failed) return chunk.length;
    }
  }

  private fail(bytes: number): void {
    this.failed = true;
    this.pending = undefined;
    this.pendingBytes = 0;
    this.sink.overflow(bytes);
  }
}
