// RFC 9162 §2.1 Merkle tree hashing and proof verification with SHA-256 (WebCrypto), as docs/audit-merkle.md
// specifies: leaf = SHA-256(0x00 ‖ data), node = SHA-256(0x01 ‖ left ‖ right). Indices and sizes are JavaScript numbers
// (exact up to 2^53) and are halved with Math.floor, never with the 32-bit shift operators.
import { concat, equalBytes, sha256 } from './canonical.js';

export const leafHash = (data) => sha256(concat(Uint8Array.of(0), data));
export const nodeHash = (left, right) => sha256(concat(Uint8Array.of(1), left, right));

const half = (n) => Math.floor(n / 2);
const odd = (n) => n % 2 === 1;
const powerOfTwo = (n) => { while (n > 1 && !odd(n)) n = half(n); return n === 1; };

/**
 * The root an inclusion proof leads to from `leaf` at `index` in a tree of `size` leaves (RFC 9162 §2.1.3.2), or null
 * when the path does not fit that index and size (too short, too long, index out of range).
 */
export async function rootFromInclusion(leaf, index, size, path) {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) return null;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of path) {
    if (sn === 0) return null;
    if (odd(fn) || fn === sn) {
      r = await nodeHash(p, r);
      while (!odd(fn) && fn !== 0) { fn = half(fn); sn = half(sn); }
    } else {
      r = await nodeHash(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 ? r : null;
}

/** RFC 9162 §2.1.4.2: whether `proof` shows that the tree of size n (root2) extends the tree of size m (root1). */
export async function verifyConsistency(m, n, root1, root2, proof) {
  if (m < 0 || n < m) return false;
  if (m === n) return proof.length === 0 && equalBytes(root1, root2);
  if (m === 0) return proof.length === 0 && equalBytes(root1, await sha256(new Uint8Array(0)));
  if (proof.length === 0) return false;
  // When m is a power of two the old root is itself a node of the new tree and the proof leaves it out.
  const path = powerOfTwo(m) ? [root1, ...proof] : proof;
  let fn = m - 1;
  let sn = n - 1;
  while (odd(fn)) { fn = half(fn); sn = half(sn); }
  let fr = path[0];
  let sr = path[0];
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (odd(fn) || fn === sn) {
      fr = await nodeHash(c, fr);
      sr = await nodeHash(c, sr);
      while (!odd(fn) && fn !== 0) { fn = half(fn); sn = half(sn); }
    } else {
      sr = await nodeHash(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 && equalBytes(fr, root1) && equalBytes(sr, root2);
}
