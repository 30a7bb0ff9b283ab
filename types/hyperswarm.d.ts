declare module "@hyperswarm/secret-stream" {
  const SecretStream: {
    new(isInitiator: boolean, rawStream?: unknown, options?: unknown): unknown
    keyPair(seed?: Uint8Array): { publicKey: Uint8Array; secretKey: Uint8Array }
  }
  export default SecretStream
}
