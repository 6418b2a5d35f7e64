/**
 * sfc32: a small, fast PRNG with 128 bits of state. The seed is the only source of choice in a
 * simulation; integer arithmetic only, so every machine draws the same sequence.
 *
 * The four words live in an Int32Array: every step of sfc32 is arithmetic modulo 2^32, which an
 * int32 store does by itself, and the strategy draws once per scheduling step. As four object
 * fields, two of the seeding constants (above 2^31) made the fields doubles, each draw a few ns more.
 */
export class Prng {
  private readonly s = new Int32Array(4);

  constructor(seed: number) {
    const s = this.s;
    s[0] = 0x9e3779b9;
    s[1] = 0x243f6a88;
    s[2] = 0xb7e15162;
    s[3] = (seed >>> 0) ^ Math.floor(seed / 4294967296);
    for (let i = 0; i < 15; i++) this.next();
  }

  /** Uniform 32-bit unsigned integer. */
  next(): number {
    const s = this.s;
    const a = s[0]!, b = s[1]!, c = s[2]!, d = s[3]!;
    const t = (((a + b) | 0) + d) | 0;
    s[3] = (d + 1) | 0;
    s[0] = b ^ (b >>> 9);
    s[1] = (c + (c << 3)) | 0;
    s[2] = (((c << 21) | (c >>> 11)) + t) | 0;
    return t >>> 0;
  }

  /** Uniform integer in [0, n). */
  below(n: number): number {
    return Math.floor((this.next() / 4294967296) * n);
  }
}
