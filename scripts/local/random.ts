// Seeded randomness for the local stand-ins and the generator: fault injection and synthetic
// traffic must replay exactly from a seed.

/** mulberry32: small, fast, good enough for traffic shapes and fault rates. Values in [0, 1). */
export function createRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
