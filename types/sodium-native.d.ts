declare module "sodium-native" {
  type Bytes = Uint8Array
  export function crypto_aead_chacha20poly1305_ietf_encrypt(
    c: Bytes,
    m: Bytes,
    ad: Bytes | null,
    nsec: null,
    npub: Bytes,
    k: Bytes
  ): number
  export function crypto_aead_chacha20poly1305_ietf_decrypt(
    m: Bytes,
    nsec: null,
    c: Bytes,
    ad: Bytes | null,
    npub: Bytes,
    k: Bytes
  ): number
  export function crypto_aead_xchacha20poly1305_ietf_encrypt(
    c: Bytes,
    m: Bytes,
    ad: Bytes | null,
    nsec: null,
    npub: Bytes,
    k: Bytes
  ): number
  export function crypto_aead_xchacha20poly1305_ietf_decrypt(
    m: Bytes,
    nsec: null,
    c: Bytes,
    ad: Bytes | null,
    npub: Bytes,
    k: Bytes
  ): number
  export function crypto_scalarmult(q: Bytes, n: Bytes, p: Bytes): void
  export function crypto_scalarmult_base(q: Bytes, n: Bytes): void
  export function crypto_scalarmult_ed25519_base_noclamp(q: Bytes, n: Bytes): void
  export function crypto_core_ed25519_scalar_reduce(r: Bytes, s: Bytes): void
  export function crypto_sign_verify_detached(sig: Bytes, m: Bytes, pk: Bytes): boolean
  export function crypto_hash_sha256(out: Bytes, input: Bytes): void
  export function crypto_hash_sha512(out: Bytes, input: Bytes): void
  export function randombytes_buf(buf: Bytes): void
  export function sodium_memzero(buf: Bytes): void
}
