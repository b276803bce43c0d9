import type { Readable, Writable } from 'node:stream';

/**
 * The body of one HTTP/2 request as it is sent to one attempt after another.
 * Bytes are kept while they fit in `limit`, so a later attempt can send the
 * whole body again; once more arrives, nothing is kept and the request can no
 * longer be retried. Reading starts with the first attempt, so a request that
 * never reached a server still has every byte.
 */
export class ReplayableBody {
  readonly #source: Readable;
  readonly #limit: number;
  #kept: Buffer[] | undefined = [];
  #size = 0;
  #ended: boolean;
  #reading = false;
  #sink: Writable | undefined;

  /** `ended`: the request headers carried END_STREAM, so there is no body. */
  constructor(source: Readable, limit: number, ended: boolean) {
    this.#source = source;
    this.#limit = limit;
    this.#ended = ended;
    // Nothing will be read from a bodiless request, but it must still end to close.
    if (ended) source.resume();
  }

  /** Every byte read so far is kept: a new attempt can carry the full body. */
  get replayable(): boolean {
    return this.#kept !== undefined;
  }

  /** The client has sent its whole body. */
  get complete(): boolean {
    return this.#ended;
  }

  /** No body at all: the request can be sent with END_STREAM on its headers. */
  get empty(): boolean {
    return this.#ended && this.#size === 0;
  }

  /** Sends the kept bytes to `sink`, then the rest as it arrives, ending it with the body. */
  attach(sink: Writable): void {
    this.#sink = sink;
    for (const chunk of this.#kept ?? []) sink.write(chunk);
    if (this.#ended) {
      if (!sink.writableEnded) sink.end();
      return;
    }
    if (!this.#reading) {
      this.#reading = true;
      this.#source.on('data', (chunk: Buffer) => this.#take(chunk));
      this.#source.once('end', () => {
        this.#ended = true;
        this.#sink?.end();
      });
    }
    this.#source.resume();
  }

  /** Stops sending to the current sink (its attempt is over); bytes keep being kept. */
  detach(): void {
    this.#sink = undefined;
  }

  #take(chunk: Buffer): void {
    this.#size += chunk.length;
    if (this.#kept) {
      if (this.#size <= this.#limit) this.#kept.push(chunk);
      else this.#kept = undefined;
    }
    const sink = this.#sink;
    if (sink && !sink.write(chunk)) {
      this.#source.pause();
      sink.once('drain', () => this.#source.resume());
    }
  }
}
