/** What every contender in the network benchmark provides. */
export interface Pair {
  /** Sends `count` messages of `size` bytes from A to B; resolves when B has received them all. */
  readonly blast: (count: number, size: number) => Promise<void>
  /** One message of `size` bytes from A to B and back. */
  readonly roundTrip: (size: number) => Promise<void>
  /** A protocol-level ping (link round trip without the application API), where there is one. */
  readonly ping?: (() => Promise<void>) | undefined
  readonly close: () => Promise<void>
}

export interface Contender {
  readonly name: string
  /** A connected pair. */
  readonly open: () => Promise<Pair>
  /** Milliseconds for one new connection: connect, handshake, first 100 B message received. */
  readonly connectOnce: () => Promise<number>
  readonly dispose: () => Promise<void>
}

export const deferred = <A = void>() => {
  let resolve!: (a: A) => void
  const promise = new Promise<A>((r) => (resolve = r))
  return { promise, resolve }
}
