/**
 * A service method that can also run synchronously: the Effect-returning function carries, as its
 * `unsafe` property, a plain function that does the same at once (the in-memory services have
 * one; the durable ones, which wait for the store, do not). A hot path calls `unsafe` when it is
 * there instead of running the effect. Because the capability belongs to the function, a
 * wrapper that replaces the method (`{ ...inner, deliver: ... }`) drops it with the method, and
 * its own code runs.
 */
export type WithUnsafe<F, U> = F & { readonly unsafe?: U | undefined }

/** `effectful`, carrying `unsafe` (when given) as its synchronous twin. */
export const withUnsafe = <F extends object, U>(effectful: F, unsafe: U | undefined): WithUnsafe<F, U> =>
  unsafe === undefined ? effectful : Object.assign(effectful, { unsafe })
