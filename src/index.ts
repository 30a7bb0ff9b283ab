/**
 * Jarvis as a library.
 *
 * - `Embedded` runs a whole node (the daemon's runtime) inside your process, in memory or over a
 *   data directory's durable store; `Runtime` is what it provides (send, events, health, …).
 * - `JarvisClient` is the typed IPC client for a running `jarvis` daemon: every method of `Api`,
 *   with the same Schemas and typed errors the daemon uses.
 * - `Daemon` serves the full daemon, IPC included, from your own process.
 *
 * @since 2.0.0
 */

/** @since 2.0.0 */
export * as Embedded from "./Embedded.js"
/** @since 2.1.0 */
export * as Jarvis from "./Jarvis.js"
/** @since 2.0.0 */
export * as Runtime from "./actors/Runtime.js"
/** @since 2.0.0 */
export * as JarvisClient from "./services/JarvisClient.js"
/** @since 2.0.0 */
export * as Daemon from "./daemon/Serve.js"
/** @since 2.0.0 */
export * as Identity from "./services/Identity.js"
/** @since 2.0.0 */
export * as RuntimeConfig from "./services/RuntimeConfig.js"
/** @since 2.0.0 */
export * as Transport from "./services/Transport.js"
/** @since 2.0.0 */
export * as MemoryTransport from "./services/MemoryTransport.js"
/** @since 2.0.0 */
export * as Events from "./services/Events.js"
/** @since 2.0.0 */
export * as EventLog from "./services/EventLog.js"
/** @since 2.0.0 */
export * as MessageStore from "./services/MessageStore.js"
/** @since 2.0.0 */
export * as ContactBook from "./services/ContactBook.js"
/** @since 2.0.0 */
export * as ContactCode from "./protocol/ContactCode.js"
/** @since 2.0.0 */
export * as Api from "./domain/Api.js"
/** @since 2.0.0 */
export * as Contact from "./domain/Contact.js"
/** @since 2.0.0 */
export * as Errors from "./domain/Errors.js"
/** @since 2.0.0 */
export * as Event from "./domain/Events.js"
/** @since 2.0.0 */
export * as History from "./domain/History.js"
/** @since 2.0.0 */
export * as Ids from "./domain/Ids.js"
/** @since 2.0.0 */
export * as Keys from "./domain/Keys.js"
/** @since 2.0.0 */
export * as Messages from "./domain/Messages.js"
