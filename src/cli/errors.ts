/** Errors the command line turns into exit code 2 with a one-sentence message. */
export class ControlPlaneUnreachable extends Error {}

/** The configuration store did not answer. */
export class StoreUnreachable extends Error {}
